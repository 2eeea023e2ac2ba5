"""The s1 fine-tune as one recipe: plain PyTorch FSDP2, read top to bottom.

    torchrun --nproc-per-node N -m training.sft --config training/configs/NAME.yaml \\
        [--max-steps N] [--output-dir DIR] [--resume DIR]

(``s1app train --config NAME --nproc N`` runs exactly this.) Multi-node: torchrun's c10d
rendezvous, see training/slurm/sft.sbatch.

What it does, in order: read the config (flags over file); start one process group (NCCL on
GPUs, gloo on CPUs); tokenize the dataset in the s1 format (loss on thinking + answer only) and
report what the block size cuts; build the model sharded with ``fully_shard`` per decoder layer,
then the root (bf16 compute with fp32 weights on GPU, fp32 on CPU); AdamW (fused on CPU) with
linear warmup and cosine decay to 0; gradient accumulation so every optimizer step sees ``global_batch_size``
samples whatever the number of processes; log loss, lr, grad norm, tokens/s and step time to
``OUTPUT_DIR/train_log.jsonl``; save Hugging Face checkpoints that also resume exactly.

The loss of a step is the mean over every label token of the global batch (not a mean of
per-sample means), so it does not depend on how the batch is split across processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from s1app.errors import S1AppError
from training.checkpoint import checkpoint_dir, find_checkpoint, load_checkpoint, save_checkpoint
from training.config import TrainConfig, load_config
from training.data import IGNORE_INDEX, Sample, build_samples, label_token_counts, load_rows
from training.model import build_sharded_model, compute_dtype, cpu_supports_bf16, model_source
from training.steps import StepPlan, collate, learning_rate_factor, micro_batches

LOG_FILE = "train_log.jsonl"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="training.sft", description="s1 fine-tune (FSDP2). Flags override the config.")
    parser.add_argument("--config", required=True, help="training/configs/NAME.yaml, or just NAME")
    parser.add_argument("--max-steps", type=int, help="stop after N optimizer steps (the schedule is N steps long)")
    parser.add_argument("--output-dir", help="where checkpoints and train_log.jsonl go")
    parser.add_argument("--resume", help="a checkpoint folder, or an output folder (its newest checkpoint)")
    return parser.parse_args(argv)


LOSS_CHUNK_TOKENS = 4096


def summed_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy summed over the label tokens, in fp32.

    Taken in chunks of positions, each recomputed in backward: at a 32k block and Qwen's 152k
    vocabulary, fp32 logits for the whole sequence alone would take 20 GB of a GPU's memory.
    """
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    total = torch.zeros((), device=logits.device)
    for logit_chunk, label_chunk in zip(logits.split(LOSS_CHUNK_TOKENS, dim=1), labels.split(LOSS_CHUNK_TOKENS, dim=1)):
        total = total + checkpoint(_chunk_loss, logit_chunk, label_chunk, use_reentrant=False)
    return total


def _chunk_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE_INDEX, reduction="sum")


# -- the run ----------------------------------------------------------------------------------


def start_process_group() -> torch.device:
    """One process group for the job; a plain ``python -m training.sft`` is a world of one."""
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29511")):
        os.environ.setdefault(name, value)
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
        return device
    dist.init_process_group("gloo")
    return torch.device("cpu")


def cpu_threads(configured: int | None) -> int:
    """Threads per process: the config's, else OMP_NUM_THREADS (torchrun sets 1 for N > 1), else
    this node's cores shared by its processes."""
    if configured:
        return configured
    if os.environ.get("OMP_NUM_THREADS"):
        return int(os.environ["OMP_NUM_THREADS"])
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


@dataclass
class TrainingRun:
    """Everything the steps of one run share, built once by ``prepare``."""

    config: TrainConfig
    device: torch.device
    tokenizer: Any
    samples: list[Sample]
    label_counts: list[int]
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    plan: StepPlan
    output_dir: Path
    provenance: dict[str, Any]

    @property
    def is_rank0(self) -> bool:
        return dist.get_rank() == 0


def prepare(config: TrainConfig, device: torch.device) -> TrainingRun:
    """Data in the s1 format, the sharded model, AdamW and its warmup + cosine schedule."""
    is_rank0 = dist.get_rank() == 0
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads(config.cpu_threads))
    compute = compute_dtype(config.dtype, device.type, cpu_supports_bf16())
    accumulation = config.gradient_accumulation_steps(dist.get_world_size())
    torch.manual_seed(config.seed)
    source = model_source(config.model) if is_rank0 else None  # rank 0 dequantizes a GGUF once
    dist.barrier()
    source = source or model_source(config.model)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.folder)
    rows = load_rows(config.dataset, config.dataset_split)[: config.max_samples]
    samples, report = build_samples(rows, tokenizer, config.block_size, config.trajectory, config.dataset)
    model = build_sharded_model(source.folder, attention=config.attention, gradient_checkpointing=config.gradient_checkpointing,
                                compute=compute, device=device, is_rank0=is_rank0)
    decay = [p for p in model.parameters() if p.ndim >= 2]  # no weight decay on norms and biases (as HF Trainer)
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
        fused=device.type == "cpu" or None,  # CPU: one fused pass, not ~10 per tensor (~1.2 s of a 5.5 s step)
    )
    plan = StepPlan(len(samples), config.global_batch_size, config.epochs, config.seed, config.max_steps)
    warmup_steps = math.ceil(config.warmup_ratio * plan.total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate_factor(step, plan.total_steps, warmup_steps))
    # A relative folder (given with --output-dir or the config's own default) is the user's: it
    # starts at the current folder, never at the project's (which may be site-packages).
    output_dir = Path(config.output_dir).expanduser().resolve()
    if is_rank0:
        print(f"output: {output_dir}" + ("" if Path(config.output_dir).is_absolute() else " (relative to the current folder)"))
        print(f"data: {report.summary()}")
        print(f"{plan.total_steps} steps of {config.global_batch_size} samples: {dist.get_world_size()} processes x "
              f"{accumulation} micro-batches of {config.micro_batch_size}, {compute} compute on {device.type}")
        output_dir.mkdir(parents=True, exist_ok=True)
    provenance = {"base_model": config.model, "source_gguf": source.source_gguf, "format": "s1", "config": asdict(config)}
    return TrainingRun(config, device, tokenizer, samples, label_token_counts(samples), model, optimizer, scheduler, plan,
               output_dir, provenance)


def train_step(run: TrainingRun, step: int) -> dict[str, Any]:
    """One optimizer step over the global batch; returns its log record."""
    started = time.perf_counter()
    rank, world_size = dist.get_rank(), dist.get_world_size()
    indices = run.plan.batch(step)
    label_tokens = sum(run.label_counts[index] for index in indices)
    pad_id = run.tokenizer.pad_token_id if run.tokenizer.pad_token_id is not None else run.tokenizer.eos_token_id
    loss_sum = torch.zeros((), device=run.device)
    passes = micro_batches(indices, rank, world_size, run.config.micro_batch_size)
    for number, micro in enumerate(passes):
        run.model.set_requires_gradient_sync(number == len(passes) - 1)  # reduce-scatter once per step
        loss = summed_loss(run.model, collate([run.samples[index] for index in micro], pad_id, run.device))
        # FSDP averages gradients over processes, hence x world_size: the step's gradient is the
        # mean over all label tokens of the global batch.
        (loss * world_size / label_tokens).backward()
        loss_sum += loss.detach()
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.max_grad_norm)
    learning_rate = run.scheduler.get_last_lr()[0]
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    dist.all_reduce(loss_sum)
    step_s = time.perf_counter() - started
    tokens = sum(len(run.samples[index].input_ids) for index in indices)
    return {"step": step + 1, "epoch": round((step + 1) / run.plan.steps_per_epoch, 4),
            "loss": loss_sum.item() / label_tokens, "lr": learning_rate, "grad_norm": _full(grad_norm),
            "tokens": tokens, "label_tokens": label_tokens, "tokens_per_s": tokens / step_s, "step_s": step_s,
            "world_size": world_size}


def train(config: TrainConfig, device: torch.device, resume: str | None) -> None:
    """The whole run: prepare, resume if asked, then step, log and save to the end."""
    resume_from = find_checkpoint(resume) if resume else None
    run = prepare(config, device)
    settings = asdict(config)
    start_step = 0
    if resume_from is not None:
        start_step = load_checkpoint(resume_from, model=run.model, optimizer=run.optimizer, scheduler=run.scheduler, settings=settings)
        if run.is_rank0:
            print(f"resumed from {resume_from} at step {start_step}")
    progress = _progress_bar(run.is_rank0, start_step, run.plan.total_steps)
    run.model.train()
    for step in range(start_step, run.plan.total_steps):
        record = train_step(run, step)
        if run.is_rank0:
            with (run.output_dir / LOG_FILE).open("a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            progress.set_postfix(loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}")
            progress.update(1)
        done = step + 1
        if done == run.plan.total_steps or (config.save_every_steps and done % config.save_every_steps == 0):
            path = checkpoint_dir(run.output_dir, done)
            save_checkpoint(path, model=run.model, optimizer=run.optimizer, scheduler=run.scheduler, step=done,
                            settings=settings, tokenizer=run.tokenizer, provenance=run.provenance,
                            save_dtype=torch.bfloat16 if config.save_dtype == "bf16" else torch.float32)
            if run.is_rank0:
                print(f"saved {path}")
    progress.close()


def _full(value: torch.Tensor) -> float:
    """A scalar that may be a DTensor (FSDP2's grad norm) as a float."""
    return float(value.full_tensor() if hasattr(value, "full_tensor") else value)


def _progress_bar(enabled: bool, start: int, total: int):
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc="steps", disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = start_process_group()
    try:
        config = load_config(args.config, max_steps=args.max_steps, output_dir=args.output_dir)
        train(config, device, args.resume)
    except S1AppError as failure:
        if dist.get_rank() == 0:
            print(f"Error: {failure}", file=sys.stderr)
        return 2
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
