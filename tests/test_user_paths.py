"""A path the user types is the user's: relative to the folder the command runs in, never the project's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from training_support import tiny_training

from s1app.cli.paths import absolute_if_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def s1app_in(folder: Path, *args: str, timeout_s: int = 600) -> subprocess.CompletedProcess:
    """The real `s1app` CLI run from ``folder`` (this checkout's code, whatever the folder)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "S1APP_USER_MODELS_DIR": str(folder / "user-models")}
    return subprocess.run([sys.executable, "-m", "s1app", *args], cwd=folder, capture_output=True, text=True,
                          timeout=timeout_s, env=env)


@pytest.mark.slow
def test_train_into_a_relative_folder_then_export_from_it_in_the_same_folder(tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "training-runs"  # the training tests' shared run, made in root
    trained = tiny_training(str(root))
    assert (root / "tiny-cpu" / "checkpoint-000004").is_dir()
    assert f"output: {root / 'tiny-cpu'} (relative to the current folder)" in trained.stdout
    assert not (PROJECT_ROOT / "tiny-cpu").exists(), "nothing is written into the project's folder"

    exported = s1app_in(root, "export-model", "tiny-cpu/checkpoint-000004", "--out", "tiny.gguf", "--name", "paths-test",
                        "-q", "f16")
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-3000:]
    assert (root / "tiny.gguf").stat().st_size > 1_000_000


def test_logs_export_writes_where_the_user_stands(tmp_path):
    result = s1app_in(tmp_path, "logs", "export", "--db", "sessions.db", "--out", "runs.jsonl")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sessions.db").exists() and (tmp_path / "runs.jsonl").exists()


def test_an_eval_run_keeps_a_typed_file_path_absolute_so_resume_finds_it_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "items.jsonl").write_text('{"question": "1+1?", "answer": "2"}\n', encoding="utf-8")
    assert absolute_if_file("items.jsonl", (".jsonl", ".json")) == str(tmp_path / "items.jsonl")
    assert absolute_if_file("models/my.gguf", (".gguf",)) == str(tmp_path / "models" / "my.gguf")
    for name in ("gsm8k", "smollm2-135m", "hf:owner/repo/file.gguf", None):
        assert absolute_if_file(name, (".jsonl", ".json", ".gguf")) == name, "names stay names"
