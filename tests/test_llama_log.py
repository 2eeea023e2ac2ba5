"""llama.cpp's own log goes through Python logging: quiet by default, shown with --verbose, quoted on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASK = ["ask", "What is 2 + 2?", "--max-thinking", "4", "--max-answer", "4", "--no-log", "--json"]


def s1app(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "s1app", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "S1APP_VERBOSE": ""})


@pytest.mark.slow
def test_ask_leaves_llama_cpps_log_off_stderr_unless_verbose():
    quiet = s1app(*ASK)
    assert quiet.returncode == 0, quiet.stderr
    assert "llama_context" not in quiet.stderr and "compute buffer" not in quiet.stderr
    verbose = s1app("--verbose", *ASK)
    assert verbose.returncode == 0, verbose.stderr
    assert "llama_context" in verbose.stderr and "compute buffer" in verbose.stderr
    assert json.loads(verbose.stdout)["question"] == "What is 2 + 2?", "the log stays off stdout"


def test_a_model_llama_cpp_cannot_load_is_reported_with_what_llama_cpp_said(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 64)
    result = s1app("ask", "Hi", "--model", str(broken), "--no-log")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "llama.cpp could not load" in result.stderr
    assert "llama.cpp's last log lines:" in result.stderr and "failed to read header" in result.stderr
