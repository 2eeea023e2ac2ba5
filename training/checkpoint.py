"""Checkpoints: a Hugging Face folder anyone can load, plus the state to resume exactly.

``OUTPUT_DIR/checkpoint-000315/`` holds:

- ``config.json``, ``model*.safetensors``, tokenizer files, ``chat_template.jinja``: loadable
  by ``transformers`` and vLLM as is (weights in the config's ``save_dtype``);
- ``resume/``: model and optimizer state in fp32, sharded (``torch.distributed.checkpoint``),
  so a 32B job saves without gathering its optimizer on one GPU, and may resume at another
  world size;
- ``trainer_state.json``: the step, the scheduler, and the settings that fix the data order;
- ``s1app_training.json``: provenance for export (base model, source GGUF, format).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)

from s1app.errors import CheckpointError, ConfigError
from training.model import PROVENANCE_FILE

TRAINER_STATE = "trainer_state.json"
RESUME_DIR = "resume"
DATA_ORDER_KEYS = ("dataset", "dataset_split", "trajectory", "max_samples", "block_size", "global_batch_size", "seed")
"""Settings a resumed run must share with the saved one, or its batches would differ."""


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    return output_dir / f"checkpoint-{step:06d}"


def save_checkpoint(path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                    step: int, settings: dict[str, Any], tokenizer: Any, provenance: dict[str, Any],
                    save_dtype: torch.dtype) -> None:
    """Collective: every process calls it. Rank 0 writes the Hugging Face files."""
    is_rank0 = dist.get_rank() == 0
    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if is_rank0:
        from huggingface_hub import save_torch_state_dict

        path.mkdir(parents=True, exist_ok=True)
        if model.config.tie_word_embeddings:
            full.pop("lm_head.weight", None)  # the same tensor as the embeddings: saved once
        save_torch_state_dict({name: tensor.to(save_dtype) for name, tensor in full.items()}, path, max_shard_size="5GB")
        config = copy.deepcopy(model.config)
        config.use_cache = True
        config.dtype = save_dtype
        config.save_pretrained(path)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(path)
        tokenizer.save_pretrained(path)
        (path / PROVENANCE_FILE).write_text(json.dumps({**provenance, "step": step}, indent=2) + "\n", encoding="utf-8")
    del full
    model_state, optimizer_state = get_state_dict(model, optimizer)
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=path / RESUME_DIR)
    if is_rank0:
        state = {"step": step, "scheduler": scheduler.state_dict(), "settings": settings}
        (path / TRAINER_STATE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    dist.barrier()


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, or the newest one inside a run's output folder."""
    folder = Path(path).expanduser()
    if is_checkpoint(folder):
        return folder
    candidates = sorted(child for child in folder.glob("checkpoint-*") if is_checkpoint(child)) if folder.is_dir() else []
    if candidates:
        return candidates[-1]
    raise CheckpointError(
        f"{folder} is not a training checkpoint (no {TRAINER_STATE} and {RESUME_DIR}/): pass a checkpoint-NNNNNN "
        "folder written by training.sft, or the output folder that holds them."
    )


def is_checkpoint(folder: Path) -> bool:
    return (folder / TRAINER_STATE).is_file() and (folder / RESUME_DIR / ".metadata").is_file()


def load_checkpoint(path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any,
                    settings: dict[str, Any]) -> int:
    """Restore model, optimizer and scheduler from ``path``; returns the step to continue after."""
    state = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
    changed = [key for key in DATA_ORDER_KEYS if state["settings"].get(key) != settings.get(key)]
    if changed:
        was = {key: state["settings"].get(key) for key in changed}
        raise ConfigError(
            f"Cannot resume {path} exactly: {changed} differ from the saved run ({was}). Resume with the config "
            "it was trained with (flags like --max-steps and --output-dir may change)."
        )
    model_state, optimizer_state = get_state_dict(model, optimizer)
    saved = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(saved, checkpoint_id=path / RESUME_DIR)
    set_state_dict(model, optimizer, model_state_dict=saved["model"], optim_state_dict=saved["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"])


def read_provenance(folder: Path) -> dict[str, Any]:
    file = folder / PROVENANCE_FILE
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else {}
