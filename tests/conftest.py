"""Shared fixtures. Tests run the real embedded model through real llama.cpp; nothing here is mocked."""

from __future__ import annotations

import atexit
import os
import shutil
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
