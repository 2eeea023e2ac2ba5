"""Which llama.cpp build the tests run on, for the asserts only the portable CPU build can promise.

The default build (scripts/llama_cpp_wheel.py) is a CPU build with llamafile off: every matrix
product is batch-invariant, so runs repeat exactly alone or batched. The README also invites
GPU builds (CUDA, ROCm, Vulkan, Metal) and a native one; those run the app and the rest of the
suite, but cannot promise batch invariance, so the tests that assert it skip there, saying why.
"""

from __future__ import annotations

import pytest

from s1app.native_check import build_record

GPU_OR_NATIVE = ("GGML_CUDA", "GGML_HIP", "GGML_VULKAN", "GGML_METAL", "GGML_SYCL", "GGML_NATIVE")


def cmake_settings(cmake_args: str) -> dict[str, str]:
    """``-DNAME=VALUE`` settings of a CMAKE_ARGS string; a later one wins, as in CMake."""
    settings = {}
    for word in cmake_args.split():
        if word.startswith("-D") and "=" in word:
            name, value = word[2:].split("=", 1)
            settings[name.upper()] = value.upper()
    return settings


def why_not_portable_cpu_build() -> str | None:
    """None on a portable CPU build with llamafile off; else why its results may differ."""
    record = build_record()
    if not record:
        return "llama-cpp-python was not built by this project's Makefile (no build record): its flags are unknown"
    settings = cmake_settings(record.get("cmake_args", ""))
    enabled = [name for name in GPU_OR_NATIVE if settings.get(name) in ("ON", "1", "TRUE")]
    if enabled:
        return f"this llama.cpp build has {', '.join(enabled)} on: it cannot promise batch-invariant results"
    if settings.get("GGML_LLAMAFILE") not in ("OFF", "0", "FALSE"):
        return "this llama.cpp build has llamafile on: its matrix products are not batch-invariant"
    return None


portable_cpu_build_only = pytest.mark.skipif(why_not_portable_cpu_build() is not None,
                                             reason=why_not_portable_cpu_build() or "")
