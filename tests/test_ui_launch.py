"""`s1app ui` / `python app.py`: loopback by default, no network or share link without a login, clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from store_support import scripted_run

from s1app.cli.ui_access import check_exposure, login_from, parse_login, read_auth_file
from s1app.errors import ConfigError, ExposureError
from s1app.ui.app import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET_QUESTION = "What is the launch code of project kumquat?"


@pytest.mark.parametrize(
    ("host", "share", "login", "insecure", "outcome"),
    [("127.0.0.1", False, None, False, "starts"), ("localhost", False, None, False, "starts"),
     ("::1", False, None, False, "starts"), ("0.0.0.0", False, None, False, "refuses"),
     ("192.168.1.5", False, None, False, "refuses"), ("127.0.0.1", True, None, False, "refuses"),
     ("0.0.0.0", False, ("a", "b"), False, "starts"), ("127.0.0.1", True, ("a", "b"), False, "starts"),
     ("0.0.0.0", False, None, True, "warns"), ("127.0.0.1", True, None, True, "warns")],
)
def test_the_app_starts_or_refuses_by_where_it_listens_and_whether_it_has_a_login(host, share, login, insecure, outcome):
    if outcome == "refuses":
        with pytest.raises(ExposureError) as refusal:
            check_exposure(host, share, login, insecure)
        for way_out in ("--auth USER:PASS", "--auth-file", "$S1APP_AUTH", "--insecure-no-auth"):
            assert way_out in str(refusal.value)
    else:
        warning = check_exposure(host, share, login, insecure)
        assert (warning is not None and "--insecure-no-auth" in warning) is (outcome == "warns")


def test_a_login_is_user_colon_password_from_the_option_or_a_password_file(tmp_path):
    assert parse_login("alice:s3:cret", "--auth") == ("alice", "s3:cret")
    with pytest.raises(ConfigError, match="USER:PASS"):
        parse_login("alice", "--auth")
    password_file = tmp_path / "login"
    password_file.write_text("\nbob:hunter2\n", encoding="utf-8")
    assert read_auth_file(password_file) == ("bob", "hunter2")
    assert login_from(None, password_file) == ("bob", "hunter2")
    assert login_from(None, None) is None
    with pytest.raises(ConfigError, match="not both"):
        login_from("a:b", password_file)
    with pytest.raises(ConfigError, match="Cannot read the password file"):
        read_auth_file(tmp_path / "missing")


def run_app(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_app_py_refuses_the_network_or_a_share_link_without_a_login_before_loading_anything(tmp_path):
    for args in (["--host", "0.0.0.0"], ["--share"], ["--host", "10.1.2.3", "--auth", "nocolon"]):
        result = run_app(*args, "--db", str(tmp_path / "s.db"))
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert ("Refusing to serve" in result.stderr) is (args[-1] != "nocolon")
    unreadable = run_app("--host", "0.0.0.0", "--db", str(tmp_path / "s.db"), env={"S1APP_AUTH": "alice"})
    assert unreadable.returncode == 2 and "$S1APP_AUTH" in unreadable.stderr, "the login is read from the env var"


@pytest.mark.slow
def test_a_model_that_does_not_exist_fails_with_a_message_not_a_traceback(tmp_path):
    result = run_app("--model", "/no/such/model.gguf", "--db", str(tmp_path / "s.db"))
    assert result.returncode != 0
    assert "Unknown model '/no/such/model.gguf'" in result.stderr and "Traceback" not in result.stderr


def wait_until_up(server: subprocess.Popen, url: str) -> None:
    """Poll until the server answers HTTP at all (a 401 counts: it is up)."""
    deadline = time.monotonic() + 400  # generous: the CPU may be shared; nothing asserts a duration
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "the app did not come up"
            time.sleep(0.5)


def http_status_and_body(url: str, data: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=None if data is None else json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


@pytest.mark.slow
def test_app_py_starts_on_the_embedded_model_on_loopback(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--db", str(tmp_path / "s.db")],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(server, f"http://127.0.0.1:{port}/")
        status, page = http_status_and_body(f"http://127.0.0.1:{port}/")
        assert status == 200 and "s1app" in page
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "smollm2-135m" in output and "WARNING" not in output


@pytest.mark.slow
def test_an_unauthenticated_request_to_an_app_with_a_login_gets_no_data(tmp_path):
    """A real `s1app ui` with $S1APP_AUTH on 127.0.0.1, its session log holding one run: without
    the login, the page, its config and its API give nothing of it; with the login, the same API does."""
    from s1app.run import Run
    from s1app.store import RunLog, open_store

    db = tmp_path / "s.db"
    with open_store(db) as store:
        seeded = Run(scripted_run(SECRET_QUESTION))
        RunLog(store).attach(seeded)
        seeded.wait()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "s1app", "ui", "--port", str(port), "--db", str(db)], cwd=ROOT,
                              env={**os.environ, "S1APP_AUTH": "alice:wonderland"},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(server, f"{url}/")
        page_status, page = http_status_and_body(f"{url}/")
        # The login page: its config has no components. (Gradio 6.31 still embeds its API schema in
        # it, endpoint names and widget choices such as the registry's model names: no session data.)
        assert page_status == 200 and '"auth_required":true' in page.replace(" ", "") and "kumquat" not in page
        assert http_status_and_body(f"{url}/config")[0] == 401
        assert http_status_and_body(f"{url}/gradio_api/info")[0] == 401
        refused, body = http_status_and_body(f"{url}/gradio_api/call/history_list", {"data": [""]})
        assert refused == 401 and "kumquat" not in body
        assert http_status_and_body(f"{url}/gradio_api/queue/join", {"data": [""], "fn_index": 0,
                                                                     "session_hash": "x"})[0] == 401

        from gradio_client import Client

        table, _status = Client(f"{url}/", auth=("alice", "wonderland"), verbose=False).predict(
            "", api_name="/history_list")
        assert SECRET_QUESTION in json.dumps(table), "with the login the same API reads the session log"
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_the_idle_queue_polls_every_10_ms_not_every_1_ms(model):
    """Gradio 6 polls its queue every 1 ms when idle (~7 % of a core here, taken from llama.cpp).
    build_app slows that through private attributes: if a Gradio upgrade renames them, this fails."""
    from s1app.ui.app import PROGRESS_POLL_S, QUEUE_POLL_S, build_app
    from s1app.ui.context import UIContext

    demo = build_app(UIContext(default_model=model))
    assert demo._queue.sleep_when_free == QUEUE_POLL_S
    assert demo._queue.progress_update_sleep_when_free == PROGRESS_POLL_S
