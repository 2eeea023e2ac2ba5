"""`s1app train`, `s1app curate`, `s1app export-model`: the training/ pipeline from the app's CLI.

``train`` wraps torchrun: one node (``--standalone``), or one of ``--nnodes`` nodes that meet at
torchrun's c10d rendezvous on the first node (training/slurm/sft.sbatch runs it on each); ``curate`` and
``export-model`` call training.curate / training.export. They need the train extra
(``pip install -e '.[train]'``); nothing is imported from training/ until a command runs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Annotated, Optional

import typer

from s1app.errors import ConfigError


def _require_training() -> None:
    missing = [name for name in ("torch", "transformers", "gguf", "yaml") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"Training needs the train extra ({', '.join(missing)} missing): pip install -e '.[train]'.")


DEFAULT_RENDEZVOUS_PORT = 29500
DEFAULT_RENDEZVOUS_ID = "s1-sft"


@dataclass(frozen=True, slots=True)
class Nodes:
    """Where this torchrun stands in a job: one node, or one of ``count`` nodes meeting at
    ``master_addr:master_port`` (c10d rendezvous, so every node runs the same command and the
    rendezvous hands out the ranks). ``rendezvous_id`` keeps two jobs on one endpoint apart."""

    count: int = 1
    master_addr: str | None = None
    master_port: int = DEFAULT_RENDEZVOUS_PORT
    rendezvous_id: str = DEFAULT_RENDEZVOUS_ID

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError("--nnodes must be at least 1.")
        if self.count > 1 and not self.master_addr:
            raise ConfigError(
                f"--nnodes {self.count} needs --master-addr HOST: the first node's address, where the nodes "
                "meet (every node passes the same --master-addr and --master-port)."
            )
        if not 0 < self.master_port < 65536:
            raise ConfigError(f"--master-port must be a TCP port (1-65535), got {self.master_port}.")

    def torchrun_flags(self) -> list[str]:
        if self.count == 1:
            return ["--standalone"]
        return ["--nnodes", str(self.count), "--rdzv-id", self.rendezvous_id, "--rdzv-backend", "c10d",
                "--rdzv-endpoint", f"{self.master_addr}:{self.master_port}"]


def torchrun_command(config: str, nproc: int, max_steps: int | None, output_dir: str | None, resume: str | None,
                     nodes: Nodes = Nodes()) -> list[str]:
    command = [sys.executable, "-m", "torch.distributed.run", *nodes.torchrun_flags(), "--nproc-per-node", str(nproc),
               "-m", "training.sft", "--config", config]
    for flag, value in (("--max-steps", max_steps), ("--output-dir", output_dir), ("--resume", resume)):
        if value is not None:
            command += [flag, str(value)]
    return command


def train(
    config: Annotated[str, typer.Option("--config", "-c", help="training/configs/NAME.yaml, or NAME (tiny-cpu, small-cpu, s1-32b, ...).")],
    nproc: Annotated[int, typer.Option("--nproc", help="Processes on this node (one per GPU; on a CPU, 1 is fastest).")] = 1,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Stop after N optimizer steps.")] = None,
    output_dir: Annotated[Optional[str], typer.Option("--output-dir", help="Checkpoints and train_log.jsonl go here.")] = None,
    resume: Annotated[Optional[str], typer.Option("--resume", help="A checkpoint folder, or a run's output folder.")] = None,
    nnodes: Annotated[int, typer.Option("--nnodes", help="Nodes in the job; run the same command on each.")] = 1,
    master_addr: Annotated[Optional[str], typer.Option("--master-addr", help="With --nnodes > 1: the first node's address, where the nodes meet.")] = None,
    master_port: Annotated[int, typer.Option("--master-port", help="With --nnodes > 1: the port the nodes meet on.")] = DEFAULT_RENDEZVOUS_PORT,
    rdzv_id: Annotated[str, typer.Option("--rdzv-id", help="With --nnodes > 1: a job id (the same on every node; SLURM's job id).")] = DEFAULT_RENDEZVOUS_ID,
) -> None:
    """Fine-tune with the s1 recipe (FSDP2): torchrun --nproc-per-node N -m training.sft, on one node
    or, with --nnodes, on each node of a job (ranks come from torchrun's c10d rendezvous)."""
    _require_training()
    from training.checkpoint import find_checkpoint
    from training.config import load_config

    if nproc < 1:
        raise ConfigError("--nproc must be at least 1.")
    nodes = Nodes(nnodes, master_addr, master_port, rdzv_id)
    # fail before launching
    load_config(config, max_steps=max_steps, output_dir=output_dir).gradient_accumulation_steps(nproc * nnodes)
    if resume is not None:
        find_checkpoint(resume)
    result = subprocess.run(torchrun_command(config, nproc, max_steps, output_dir, resume, nodes), env=os.environ.copy())
    raise typer.Exit(result.returncode)


def curate(
    pool: Annotated[str, typer.Argument(help="A .json/.jsonl/.parquet pool, or a hub dataset name.")],
    out: Annotated[str, typer.Option("--out", help="Selection .jsonl; a .report.json is written beside it.")],
    n: Annotated[int, typer.Option("--n", help="How many questions to select.")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    eval_file: Annotated[Optional[list[str]], typer.Option("--eval-file", help="Eval questions to decontaminate against (repeatable).")] = None,
    reference_model: Annotated[Optional[list[str]], typer.Option("--reference-model", help="Drop questions this model solves (repeatable).")] = None,
    classifier: Annotated[Optional[str], typer.Option("--classifier", help="heuristic, column:NAME, or module:function.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option("--tokenizer", help="Model whose tokenizer counts trace length.")] = None,
) -> None:
    """Select N training questions from a pool: quality, decontamination, difficulty, diversity."""
    from training.curate import run

    report = run(pool, n, out, seed=seed, eval_files=eval_file, reference_models=reference_model,
                 classifier=classifier, tokenizer=tokenizer)
    typer.echo(f"selected {report.selected} of {report.pool} -> {out}; dropped {report.dropped}")


def export_model(
    checkpoint: Annotated[str, typer.Argument(help="A checkpoint-NNNNNN folder written by training.sft.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Registry name (default: RUN-STEP).")] = None,
    quantization: Annotated[str, typer.Option("--quantization", "-q", help="f32 | f16 | bf16 | q8_0 | q4_0.")] = "q8_0",
    out: Annotated[Optional[str], typer.Option("--out", help="GGUF path (default: the user registry's folder).")] = None,
    pre_tokenizer: Annotated[Optional[str], typer.Option("--pre-tokenizer", help="llama.cpp pre-tokenizer name, for a model not from a GGUF.")] = None,
) -> None:
    """Write a checkpoint as a GGUF and register it as an s1 model: then `s1app ask --model NAME`."""
    _require_training()
    from training.export import export_and_register

    path, registered = export_and_register(checkpoint, name, quantization, out, pre_tokenizer)
    typer.echo(f"wrote {path}\nregistered {registered!r} (format s1): s1app ask \"...\" --model {registered}")
