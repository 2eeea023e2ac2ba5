"""Shared fixtures. Tests run the real embedded model through real llama.cpp; nothing here is mocked."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile

import pytest


def _session_dir(prefix: str) -> str:
    """A temporary folder for this test session, removed when it ends (exports there are GBs)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


# Tests never reach a hub or phone home, and never write to the user's real session log.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("S1APP_DB", os.path.join(_session_dir("s1app-test-db-"), "sessions.db"))
# The llama.cpp build check (s1app.native_check) runs once per test session, not into the user's cache.
os.environ.setdefault("S1APP_CACHE_DIR", _session_dir("s1app-test-cache-"))
# Nor do they see, or add to, the models a person registered (training's export writes there).
os.environ.setdefault("S1APP_USER_MODELS_DIR", _session_dir("s1app-test-user-models-"))


@pytest.fixture(scope="session")
def model():
    """The embedded default model (SmolLM2-135M GGUF), loaded once for the whole test session."""
    from s1app.loading import load_model

    return load_model()


@pytest.fixture
def s1app(capfd, monkeypatch):
    """``s1app ARGS`` through its entry point (``s1app.cli.main``, what the console script and
    ``python -m s1app`` call) in this process, its output captured: a CompletedProcess of the exit
    status, stdout and stderr. An exception the entry point lets through fails the test, as a
    traceback would. Tests of the process itself (signals, pipes, start-up) run a subprocess."""
    from s1app.cli import main

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capfd.readouterr()
        try:
            main(list(args))
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        captured = capfd.readouterr()
        return subprocess.CompletedProcess(["s1app", *args], status, captured.out, captured.err)

    return run
