"""`s1app train`, `s1app curate`, `s1app export-model`: the training/ pipeline from the app's CLI.

``train`` wraps torchrun for one node (multi-node: training/slurm/sft.sbatch); ``curate`` and
``export-model`` call training.curate / training.export. They need the train extra
(``pip install -e '.[train]'``); nothing is imported from training/ until a command runs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Annotated, Optional

import typer

from s1app.errors import ConfigError


def _require_training() -> None:
    missing = [name for name in ("torch", "transformers", "gguf", "yaml") if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(f"Training needs the train extra ({', '.join(missing)} missing): pip install -e '.[train]'.")


def torchrun_command(config: str, nproc: int, max_steps: int | None, output_dir: str | None, resume: str | None) -> list[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
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
) -> None:
    """Fine-tune with the s1 recipe (FSDP2), one node: torchrun --nproc-per-node N -m training.sft."""
    _require_training()
    from training.checkpoint import find_checkpoint
    from training.config import load_config

    if nproc < 1:
        raise ConfigError("--nproc must be at least 1.")
    load_config(config, max_steps=max_steps, output_dir=output_dir).gradient_accumulation_steps(nproc)  # fail before launching
    if resume is not None:
        find_checkpoint(resume)
    result = subprocess.run(torchrun_command(config, nproc, max_steps, output_dir, resume), env=os.environ.copy())
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
