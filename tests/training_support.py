"""Helpers for the training tests: the embedded model's Hugging Face folder, and one real tiny
2-process training run (plus its resumed half) shared by every test that needs a checkpoint,
the test of relative paths included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def smollm2_folder() -> Path:
    """SmolLM2-135M dequantized from the embedded GGUF (converted once, cached by s1app.convert)."""
    from training.model import model_source

    return model_source("smollm2-135m").folder


def s1app_command(*args: str, timeout_s: int = 600, cwd: Path | str = PROJECT_ROOT) -> subprocess.CompletedProcess:
    """Run the real ``s1app`` CLI in a subprocess (torchrun needs its own processes anyway)."""
    return subprocess.run([sys.executable, "-m", "s1app", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout_s, env=os.environ.copy())


def read_log(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "train_log.jsonl").read_text().splitlines()]


@lru_cache(maxsize=1)
def tiny_training(root: str) -> subprocess.CompletedProcess:
    """``s1app train --config tiny-cpu --nproc 2 --output-dir tiny-cpu`` run in the folder ``root``
    (a relative output folder, as a person types it): 4 steps, checkpoints at steps 2 and 4."""
    Path(root).mkdir(parents=True, exist_ok=True)
    result = s1app_command("train", "--config", "tiny-cpu", "--nproc", "2", "--output-dir", "tiny-cpu", cwd=root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def tiny_run(root: str) -> Path:
    """The output folder of ``tiny_training(root)``."""
    tiny_training(root)
    return Path(root) / "tiny-cpu"


@lru_cache(maxsize=1)
def tiny_resumed_run(root: str) -> Path:
    """The same run resumed from its step-2 checkpoint into another folder."""
    output_dir = Path(root) / "tiny-cpu-resumed"
    checkpoint = tiny_run(root) / "checkpoint-000002"
    result = s1app_command("train", "--config", "tiny-cpu", "--nproc", "2", "--resume", str(checkpoint), "--output-dir", str(output_dir))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return output_dir
