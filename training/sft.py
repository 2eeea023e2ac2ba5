"""The s1 fine-tune as one recipe: plain PyTorch FSDP2, read top to bottom.

    torchrun --nproc-per-node N -m training.sft --config training/configs/NAME.yaml \\
        [--max-steps N] [--output-dir DIR] [--resume DIR]

(``s1app train --config NAME --nproc N`` runs exactly this.) Multi-node: torchrun's c10d
rendezvous, see training/slurm/sft.sbatch.

What it does, in order: read the config (flags over file); start one process group (NCCL on
GPUs, gloo on CPUs); tokenize the dataset in the s1 format (loss on thinking + answer only) and
report what the block size cuts; build the model sharded with ``fully_shard`` per decoder layer,
then the root (bf16 compute with fp32 weights on GPU, fp32 on CPU); AdamW with linear warmup and
cosine decay to 0; gradient accumulation so every optimizer step sees ``global_batch_size``
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

import torch
import torch.distributed as dist
import torch.nn.functional as F

from s1app.errors import S1AppError
from training.checkpoint import checkpoint_dir, find_checkpoint, load_checkpoint, save_checkpoint
from training.config import TrainConfig, load_config
from training.data import IGNORE_INDEX, PROJECT_ROOT, Sample, build_samples, label_token_counts, load_rows
from training.model import build_sharded_model, compute_dtype, cpu_supports_bf16, model_source

LOG_FILE = "train_log.jsonl"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="training.sft", description="s1 fine-tune (FSDP2). Flags override the config.")
    parser.add_argument("--config", required=True, help="training/configs/NAME.yaml, or just NAME")
    parser.add_argument("--max-steps", type=int, help="stop after N optimizer steps (the schedule is N steps long)")
    parser.add_argument("--output-dir", help="where checkpoints and train_log.jsonl go")
    parser.add_argument("--resume", help="a checkpoint folder, or an output folder (its newest checkpoint)")
    return parser.parse_args(argv)


# -- which samples each step sees -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepPlan:
    """The data order: a seeded permutation per epoch, cut into global batches. Pure, so resume is exact."""

    samples: int
    global_batch_size: int
    epochs: int
    seed: int
    max_steps: int | None = None

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.samples / self.global_batch_size)

    @property
    def total_steps(self) -> int:
        return self.max_steps or self.epochs * self.steps_per_epoch

    def batch(self, step: int) -> list[int]:
        """Sample indices of optimizer step ``step`` (0-based). The last batch of an epoch is
        topped up from the epoch's start, so every process runs the same number of passes."""
        epoch, index = divmod(step, self.steps_per_epoch)
        order = torch.randperm(self.samples, generator=torch.Generator().manual_seed(self.seed + epoch)).tolist()
        wrapped = order * math.ceil((index + 1) * self.global_batch_size / self.samples)
        return wrapped[index * self.global_batch_size:(index + 1) * self.global_batch_size]


def learning_rate_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """Linear warmup to 1 over ``warmup_steps``, then cosine decay to 0 at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def micro_batches(indices: list[int], rank: int, world_size: int, micro_batch_size: int) -> list[list[int]]:
    mine = indices[rank::world_size]
    return [mine[start:start + micro_batch_size] for start in range(0, len(mine), micro_batch_size)]


def collate(samples: list[Sample], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded input ids, labels (padding is IGNORE_INDEX) and the attention mask."""
    width = max(len(sample.input_ids) for sample in samples)
    ids = torch.full((len(samples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(samples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(samples), width), dtype=torch.long)
    for row, sample in enumerate(samples):
        ids[row, :len(sample.input_ids)] = torch.tensor(sample.input_ids)
        labels[row, :len(sample.labels)] = torch.tensor(sample.labels)
        mask[row, :len(sample.input_ids)] = 1
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": mask.to(device)}


def summed_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Next-token cross-entropy summed over the label tokens (fp32 logits)."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(),
                           ignore_index=IGNORE_INDEX, reduction="sum")


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
    local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_processes))
    dist.init_process_group("gloo")
    return torch.device("cpu")


def train(config: TrainConfig, device: torch.device, resume: str | None) -> None:
    rank, world_size = dist.get_rank(), dist.get_world_size()
    is_rank0 = rank == 0
    say = print if is_rank0 else (lambda *args, **kwargs: None)
    accumulation = config.gradient_accumulation_steps(world_size)
    compute = compute_dtype(config.dtype, device.type, cpu_supports_bf16())
    output_dir = Path(config.output_dir) if Path(config.output_dir).is_absolute() else PROJECT_ROOT / config.output_dir
    resume_from = find_checkpoint(resume) if resume else None
    torch.manual_seed(config.seed)

    # The model's folder (rank 0 dequantizes a GGUF once; the others then find it), tokenizer, data.
    source = model_source(config.model) if is_rank0 else None
    dist.barrier()
    source = source or model_source(config.model)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.folder)
    rows = load_rows(config.dataset, config.dataset_split)[: config.max_samples]
    samples, report = build_samples(rows, tokenizer, config.block_size, config.trajectory, config.dataset)
    label_counts = label_token_counts(samples)
    say(f"data: {report.summary()}")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    model = build_sharded_model(source.folder, attention=config.attention, gradient_checkpointing=config.gradient_checkpointing,
                                compute=compute, device=device, is_rank0=is_rank0)
    decay = [p for p in model.parameters() if p.ndim >= 2]  # no weight decay on norms and biases (as HF Trainer)
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
    )
    plan = StepPlan(len(samples), config.global_batch_size, config.epochs, config.seed, config.max_steps)
    warmup_steps = math.ceil(config.warmup_ratio * plan.total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate_factor(step, plan.total_steps, warmup_steps))
    settings = asdict(config)
    start_step = 0
    if resume_from is not None:
        start_step = load_checkpoint(resume_from, model=model, optimizer=optimizer, scheduler=scheduler, settings=settings)
        say(f"resumed from {resume_from} at step {start_step}")
    say(f"{plan.total_steps} steps of {config.global_batch_size} samples: {world_size} processes x "
        f"{accumulation} micro-batches of {config.micro_batch_size}, {compute} compute on {device.type}")

    provenance = {"base_model": config.model, "source_gguf": source.source_gguf, "format": "s1", "config": settings}
    save_dtype = torch.bfloat16 if config.save_dtype == "bf16" else torch.float32
    log_path = output_dir / LOG_FILE
    if is_rank0:
        output_dir.mkdir(parents=True, exist_ok=True)
    progress = _progress_bar(is_rank0, start_step, plan.total_steps)
    model.train()
    for step in range(start_step, plan.total_steps):
        started = time.perf_counter()
        indices = plan.batch(step)
        label_tokens = sum(label_counts[index] for index in indices)
        loss_sum = torch.zeros((), device=device)
        passes = micro_batches(indices, rank, world_size, config.micro_batch_size)
        for number, micro in enumerate(passes):
            model.set_requires_gradient_sync(number == len(passes) - 1)  # reduce-scatter once per step
            loss = summed_loss(model, collate([samples[index] for index in micro], pad_id, device))
            # Gradients are averaged over processes, hence x world_size: the step's gradient is the
            # mean over all label tokens of the global batch.
            (loss * world_size / label_tokens).backward()
            loss_sum += loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        learning_rate = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        dist.all_reduce(loss_sum)
        step_s = time.perf_counter() - started
        tokens = sum(len(samples[index].input_ids) for index in indices)
        record = {"step": step + 1, "epoch": round((step + 1) / plan.steps_per_epoch, 4),
                  "loss": loss_sum.item() / label_tokens, "lr": learning_rate, "grad_norm": _full(grad_norm),
                  "tokens": tokens, "label_tokens": label_tokens, "tokens_per_s": tokens / step_s, "step_s": step_s,
                  "world_size": world_size}
        if is_rank0:
            with log_path.open("a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            progress.set_postfix(loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}")
            progress.update(1)
        last = step + 1 == plan.total_steps
        if last or (config.save_every_steps and (step + 1) % config.save_every_steps == 0):
            path = checkpoint_dir(output_dir, step + 1)
            save_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, step=step + 1, settings=settings,
                            tokenizer=tokenizer, provenance=provenance, save_dtype=save_dtype)
            say(f"saved {path}")
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
