"""`python app.py`: binds loopback by default, warns when exposed without a login, fails cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import app
from s1app.ui.app import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("host", "share", "auth", "warns"),
    [("127.0.0.1", False, None, False), ("localhost", False, None, False), ("::1", False, None, False),
     ("0.0.0.0", False, None, True), ("192.168.1.5", False, None, True), ("0.0.0.0", False, ("a", "b"), False),
     ("127.0.0.1", True, None, True)],
)
def test_exposing_the_app_without_auth_prints_a_warning(host, share, auth, warns):
    assert (app.exposure_warning(host, share, auth) is not None) is warns


def test_auth_must_be_user_colon_password():
    assert app.parse_auth("alice:s3:cret") == ("alice", "s3:cret")
    with pytest.raises(SystemExit, match="USER:PASS"):
        app.parse_auth("alice")


def test_a_model_that_does_not_exist_fails_with_a_message_not_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "app.py", "--model", "/no/such/model.gguf", "--db", str(tmp_path / "s.db")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Unknown model '/no/such/model.gguf'" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_app_py_starts_on_the_embedded_model_on_loopback(tmp_path):
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--db", str(tmp_path / "s.db")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200 and "s1app" in page.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the app did not come up"
                time.sleep(0.5)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "smollm2-135m" in output and "WARNING" not in output


def test_the_idle_queue_polls_every_10_ms_not_every_1_ms(model):
    """Gradio 6 polls its queue every 1 ms when idle (~7 % of a core here, taken from llama.cpp).
    build_app slows that through private attributes: if a Gradio upgrade renames them, this fails."""
    from s1app.ui.app import PROGRESS_POLL_S, QUEUE_POLL_S, build_app
    from s1app.ui.context import UIContext

    demo = build_app(UIContext(default_model=model))
    assert demo._queue.sleep_when_free == QUEUE_POLL_S
    assert demo._queue.progress_update_sleep_when_free == PROGRESS_POLL_S
