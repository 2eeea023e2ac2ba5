"""Which samples each optimizer step sees, and at what learning rate: pure, so a resumed run
repeats the uninterrupted one exactly, and the same at any number of processes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from training.data import IGNORE_INDEX, Sample


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
