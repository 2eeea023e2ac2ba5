"""Shared fixtures. Tests run the real embedded model through real llama.cpp; nothing here is mocked."""

from __future__ import annotations

import os
import tempfile

import pytest

# Tests never reach a hub or phone home, and never write to the user's real session log.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("S1APP_DB", os.path.join(tempfile.mkdtemp(prefix="s1app-test-db-"), "sessions.db"))
# The llama.cpp build check (s1app.native_check) runs once per test session, not into the user's cache.
os.environ.setdefault("S1APP_CACHE_DIR", tempfile.mkdtemp(prefix="s1app-test-cache-"))


@pytest.fixture(scope="session")
def model():
    """The embedded default model (SmolLM2-135M GGUF), loaded once for the whole test session."""
    from s1app.loading import load_model

    return load_model()
