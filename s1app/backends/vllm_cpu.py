"""vLLM's CPU set-up, as environment variables: what the in-process backend sets on a machine
without CUDA (each only where unset), and what a ``vllm serve`` beside it needs to give the same
tokens. Importable without vLLM."""

from __future__ import annotations

import os


def cpu_engine_environment() -> dict[str, str]:
    return {
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",  # otherwise one of two cores sits idle
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; plenty for one small model's runs
        # The model in the engine's process, not in a worker process of its own: beside a worker
        # the engine process busy-waits (sched_yield) for each step and takes a core from the model;
        # one process fewer also starts in ~24 s instead of ~33 s here (docs/backends.md).
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "OMP_NUM_THREADS": str(len(os.sched_getaffinity(0))),  # without it vLLM runs that model on one thread
    }
