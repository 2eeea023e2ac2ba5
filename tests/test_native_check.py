"""A llama.cpp build is tried once in a child process before the app loads it, and `s1app doctor`
prints what a bug report needs. The build under test is the real one installed by make."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from build_support import portable_cpu_build_only

from s1app import native_check
from s1app.errors import NativeCrashError
from s1app.registry import locate_weights, resolve_model

SEGFAULT = [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"]  # a real native crash


@pytest.fixture
def gguf():
    return locate_weights(resolve_model(None))


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("S1APP_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("S1APP_SKIP_BUILD_CHECK", raising=False)
    return tmp_path


@portable_cpu_build_only
def test_a_never_seen_build_is_tried_in_a_child_process_once_then_remembered(gguf, fresh_cache, monkeypatch):
    native_check.ensure_build_works(gguf)
    markers = list((fresh_cache / "build-checks").glob("*.json"))
    assert len(markers) == 1
    report = json.loads(markers[0].read_text())["report"]
    assert report["ok"] and report["tokens"] == 32 and report["batch_invariant"] is True
    assert "AVX" in report["system_info"] or "NEON" in report["system_info"]

    def must_not_run(*_args):
        raise AssertionError("a build already checked was probed again")

    monkeypatch.setattr(native_check, "probe_build", must_not_run)
    native_check.ensure_build_works(gguf)


def test_a_build_that_crashes_is_refused_with_the_signal_and_the_rebuild_that_fixes_it(gguf, fresh_cache):
    with pytest.raises(NativeCrashError) as refused:
        native_check.ensure_build_works(gguf, probe_command=SEGFAULT)
    message = str(refused.value)
    assert "SIGSEGV" in message and "make run" in message and "CMAKE_ARGS" in message and "doctor" in message
    assert not (fresh_cache / "build-checks").exists(), "a crash is never remembered as good"


@pytest.mark.slow
@portable_cpu_build_only
def test_doctor_prints_the_machine_the_build_and_a_test_decode(fresh_cache):
    shown = subprocess.run([sys.executable, "-m", "s1app", "doctor", "--json"], capture_output=True, text=True,
                           timeout=300, check=True)
    report = json.loads(shown.stdout)
    assert report["system"]["cores"] >= 1 and report["system"]["python"].startswith("3.")
    assert "GGML_NATIVE=OFF" in report["llama_cpp"]["build"]["cmake_args"]
    assert report["packages"]["llama-cpp-python"] and report["backends"]["llamacpp"] == "available"
    assert report["probe"]["ok"] and report["probe"]["batch_invariant"] is True
    assert report["store"]["path"].endswith(".db") and any(row.get("default") for row in report["registry"])
    assert report["problems"] == []
    text = subprocess.run([sys.executable, "-m", "s1app", "doctor", "--no-probe"], capture_output=True, text=True,
                          timeout=120, check=True).stdout
    for section in ("system", "llama_cpp", "packages", "backends", "gpus", "store", "registry", "problems"):
        assert f"{section}\n" in text
