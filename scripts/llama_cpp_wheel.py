"""Build llama-cpp-python once per set of build flags, and install that build into a venv.

    python scripts/llama_cpp_wheel.py install     # what `make` runs (with the venv's python)
    python scripts/llama_cpp_wheel.py show        # the flags and wheelhouse it would use

Why this exists:
- llama.cpp's default build is ``GGML_NATIVE=ON``: it compiles for the building CPU, and on
  Intel Sapphire Rapids it compiles an AMX matmul path that segfaults on the first decode
  (llama.cpp issue 20824). So we build for an explicit, portable target per architecture
  (``portable_cmake_args``).
- The default build also leaves llamafile's sgemm on, which serves batches of 2+ tokens with
  other kernels than single tokens: a token's logits would then depend on what else was in its
  batch, and a run could change with what ran before it. With ``GGML_LLAMAFILE=OFF`` every
  matmul goes through ggml's per-row dot products and the result is batch-invariant (see
  docs/reproducibility.md; ``s1app doctor`` checks it).
- pip's wheel cache keys a built wheel by the sdist only, not by ``CMAKE_ARGS``, so a wheel
  built with other flags would be reused silently. Our wheelhouse keys each wheel by
  (version, flags, platform, Python): another set of flags is another folder.

A person's own ``CMAKE_ARGS`` (CUDA, ROCm, Vulkan, Metal, native) is appended after ours, so
each ``-D`` they give wins. ``S1APP_LLAMA_PORTABLE=0`` drops ours entirely (llama.cpp's own
defaults plus theirs). Standard library only: it runs before anything else is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

LLAMA_CPP_VERSION = "0.3.36"
RECORD_NAME = "s1app-llama-build.json"
"""Written into the venv (sys.prefix): which build is installed there; s1app doctor reads it."""

# Every portable build: no -march=native, and batch-invariant matmuls (see the module docstring).
COMMON = ["-DGGML_NATIVE=OFF", "-DGGML_LLAMAFILE=OFF"]
X86_64_V3 = ["-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON", "-DGGML_BMI2=ON"]
X86_64_V2 = ["-DGGML_AVX=OFF", "-DGGML_AVX2=OFF", "-DGGML_FMA=OFF", "-DGGML_F16C=OFF", "-DGGML_BMI2=OFF"]


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux names them (empty where unknown)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags: set[str] = set()
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
        return flags
    if sys.platform == "darwin":
        query = subprocess.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                               capture_output=True, text=True, check=False)
        return {flag.lower() for flag in query.stdout.split()}
    return set()


def portable_cmake_args(system: str, machine: str, flags: set[str]) -> list[str]:
    """The explicit CPU target we build for, per operating system and architecture."""
    machine = machine.lower()
    if machine in ("x86_64", "amd64"):
        # x86-64-v3 (Haswell, 2013, and every AMD Zen): AVX2/FMA/F16C/BMI2, no AVX-512, no AMX.
        # A CPU without AVX2 gets the SSE baseline instead of an illegal instruction.
        return COMMON + (X86_64_V3 if "avx2" in flags else X86_64_V2)
    if machine in ("arm64", "aarch64"):
        if system == "Darwin":
            return COMMON + ["-DGGML_METAL=ON", "-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16"]
        # Graviton, Ampere, Raspberry Pi 5 have the dot-product extension; older cores (Pi 4) do not.
        return COMMON + ["-DGGML_CPU_ARM_ARCH=" + ("armv8.2-a+dotprod" if "asimddp" in flags else "armv8-a")]
    return COMMON


def chosen_cmake_args(environ: dict[str, str]) -> tuple[str, str]:
    """(CMAKE_ARGS to build with, where they came from)."""
    own = environ.get("CMAKE_ARGS", "").strip()
    if environ.get("S1APP_LLAMA_PORTABLE", "1") == "0":
        return own, "CMAKE_ARGS only (S1APP_LLAMA_PORTABLE=0)"
    portable = " ".join(portable_cmake_args(platform.system(), platform.machine(), cpu_flags()))
    if own:
        return f"{portable} {own}", "portable default + CMAKE_ARGS from the environment"
    return portable, "portable default"


def build_key(cmake_args: str) -> str:
    identity = {
        "version": LLAMA_CPP_VERSION,
        "cmake_args": cmake_args,
        "system": platform.system(),
        "machine": platform.machine(),
        "python": f"{sys.implementation.name}{sys.version_info.major}.{sys.version_info.minor}",
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def wheelhouse() -> Path:
    root = os.environ.get("S1APP_WHEELHOUSE")
    if root:
        return Path(root)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "s1app" / "llama-cpp-wheels"


def build_wheel(cmake_args: str, target: Path) -> Path:
    """Compile llama-cpp-python with ``cmake_args`` into ``target`` (skipped when already there)."""
    wheels = sorted(target.glob("llama_cpp_python-*.whl"))
    if wheels:
        return wheels[-1]
    print(f"Building llama-cpp-python {LLAMA_CPP_VERSION} from source (3-8 minutes on 2 cores)\n"
          f"  CMAKE_ARGS={cmake_args}\n  into {target}", flush=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
    try:
        environ = {**os.environ, "CMAKE_ARGS": cmake_args, "FORCE_CMAKE": "1"}
        environ.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", "llama-cpp-python",
             f"llama-cpp-python=={LLAMA_CPP_VERSION}", "-w", str(scratch)],
            env=environ, check=True,
        )
        built = next(scratch.glob("llama_cpp_python-*.whl"))
        (scratch / "build.json").write_text(json.dumps({"cmake_args": cmake_args}, indent=2) + "\n")
        scratch.rename(target)  # whole or not at all: an interrupted build leaves no wheel behind
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target / built.name


def installed_record() -> dict:
    record = Path(sys.prefix) / RECORD_NAME
    return json.loads(record.read_text()) if record.exists() else {}


def install() -> None:
    cmake_args, origin = chosen_cmake_args(dict(os.environ))
    key = build_key(cmake_args)
    if installed_record().get("key") == key and _llama_cpp_installed():
        return
    wheel = build_wheel(cmake_args, wheelhouse() / key)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True)
    # llama-cpp-python's own dependencies, without letting pip touch the wheel just installed.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "numpy>=1.20", "typing-extensions>=4.5",
                    "diskcache>=5.6.1", "jinja2>=2.11.3"], check=True)
    record = {"key": key, "version": LLAMA_CPP_VERSION, "cmake_args": cmake_args, "origin": origin, "wheel": str(wheel)}
    (Path(sys.prefix) / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n")
    print(f"llama-cpp-python {LLAMA_CPP_VERSION} installed: {origin}\n  CMAKE_ARGS={cmake_args}", flush=True)


def _llama_cpp_installed() -> bool:
    query = subprocess.run([sys.executable, "-m", "pip", "show", "-q", "llama-cpp-python"], capture_output=True, check=False)
    return query.returncode == 0


def show() -> None:
    cmake_args, origin = chosen_cmake_args(dict(os.environ))
    key = build_key(cmake_args)
    print(json.dumps({"cmake_args": cmake_args, "origin": origin, "key": key,
                      "wheelhouse": str(wheelhouse() / key), "installed": installed_record()}, indent=2))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "install"
    if command == "install":
        install()
    elif command == "show":
        show()
    else:
        sys.exit(f"usage: {sys.argv[0]} install|show")
