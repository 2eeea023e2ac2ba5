"""A llama.cpp build is tried once, in a child process, before the app loads it in-process.

A native crash (for example llama.cpp's AMX kernels segfaulting on Sapphire Rapids, llama.cpp
issue 20824) would otherwise take the app down without a word. The first time a build and model
are seen together, a child process loads the model and decodes a few tokens
(``python -m s1app.native_probe``). If the child dies of a signal, the app raises
NativeCrashError naming the crash and the rebuild that fixes it. A good result is remembered in
the user's cache, keyed by the build's library files and the model file, so the check costs one
child process (about a second for a small model) once per build.
``S1APP_SKIP_BUILD_CHECK=1`` skips it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from s1app.errors import NativeCrashError

PROBE_TIMEOUT_S = 300
BUILD_RECORD = "s1app-llama-build.json"
"""Written into the venv by scripts/llama_cpp_wheel.py: the flags the installed build used."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    returncode: int
    report: dict
    """The probe's JSON (empty when it printed none)."""
    stderr_tail: str

    @property
    def crash_signal(self) -> str | None:
        """The signal that killed the child (SIGSEGV, SIGILL, ...), None if it exited."""
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.report.get("ok"))


def build_record() -> dict:
    """How the installed llama-cpp-python was built (empty when not built by our Makefile)."""
    record = Path(sys.prefix) / BUILD_RECORD
    return json.loads(record.read_text()) if record.exists() else {}


def llama_cpp_library_dir() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def check_key(model_path: str) -> str:
    """Identifies (this build's native libraries, this machine's CPU, this model file)."""
    parts = [platform.machine(), _cpu_model()]
    library_dir = llama_cpp_library_dir()
    if library_dir is not None and library_dir.is_dir():
        for library in sorted(library_dir.iterdir()):
            stat = library.stat()
            parts.append(f"{library.name}:{stat.st_size}:{stat.st_mtime_ns}")
    model = Path(model_path).resolve()
    stat = model.stat()
    parts.append(f"{model}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def checks_dir() -> Path:
    root = os.environ.get("S1APP_CACHE_DIR") or platformdirs.user_cache_dir("s1app", appauthor=False)
    return Path(root) / "build-checks"


def probe_build(model_path: str, command: list[str] | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> ProbeResult:
    """Run the probe (or ``command``) in a child process and collect what it said."""
    command = command or [sys.executable, "-m", "s1app.native_probe", model_path]
    environ = {**os.environ, "S1APP_SKIP_BUILD_CHECK": "1"}
    try:
        child = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=environ, check=False)
    except subprocess.TimeoutExpired as timeout:
        tail = (timeout.stderr or b"")[-2000:]
        return ProbeResult(-signal.SIGKILL, {"timeout_s": timeout_s}, tail.decode("utf-8", "replace") if isinstance(tail, bytes) else tail)
    report: dict = {}
    for line in reversed(child.stdout.splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            break
    return ProbeResult(child.returncode, report, child.stderr[-2000:])


def crash_message(model_path: str, result: ProbeResult) -> str:
    flags = build_record().get("cmake_args", "unknown (not built by this project's Makefile)")
    what = result.crash_signal if "timeout_s" not in result.report else f"no answer within {result.report['timeout_s']} s"
    return (
        f"llama.cpp crashed ({what}) while test-decoding {Path(model_path).name} in a child process, so the app "
        f"did not load it. This llama.cpp build does not run on this CPU ({_cpu_model()}); it was built with "
        f"CMAKE_ARGS={flags}. Fix: rebuild for the portable target with 'rm -rf .venv && make run' (no CMAKE_ARGS "
        "set), or rebuild with your own flags, e.g. CMAKE_ARGS=\"-DGGML_AVX2=OFF\" make run. 's1app doctor' prints "
        "what a bug report needs."
    )


def ensure_build_works(model_path: str, probe_command: list[str] | None = None) -> None:
    """Raise NativeCrashError if this build crashes on this machine; check each build once.

    ``probe_command`` replaces the child's command (tests give it one that crashes for real)."""
    if os.environ.get("S1APP_SKIP_BUILD_CHECK") == "1":
        return
    marker = checks_dir() / f"{check_key(model_path)}.json"
    if marker.exists():
        return
    result = probe_build(model_path, probe_command)
    if result.crash_signal is not None:
        raise NativeCrashError(crash_message(model_path, result))
    if result.ok:  # anything else (a Python error, a bad file) is left to the in-process load to report
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"model": str(model_path), "report": result.report}, indent=2) + "\n")


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith(("model name", "Hardware", "Model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
