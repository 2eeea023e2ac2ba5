"""The Gradio app's handlers, driven through gradio_client against a live app on the real model.

The app runs in-process on 127.0.0.1 (a free port) with the embedded SmolLM2 GGUF; budgets are
small (16-64 thinking tokens) so each run takes seconds.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Iterator

import pytest
from gradio_client import Client
from steered_backends import stopping_model

from s1app.backends.base import Finish, Piece, Sampling
from s1app.errors import BackendError
from s1app.session import Session
from s1app.store import get_run, list_runs, open_store
from s1app.ui.app import serve_in_background
from s1app.ui.context import UIContext, budget_config_from_ui

WAIT_QUESTION = "Is 17 prime?"  # greedy SmolLM2 tries to end thinking within ~15 tokens: Waits go in
LONG_QUESTION = "Write a long story about a dragon who learns to count."
CHAT_DEFAULTS = dict(model_name="", backend="", ignore_str="Wait", temperature=0, seed=None, min_thinking=0,
                     max_answer=24, gpu_layers=None)


class FaultInjectingBackend:
    """Test-only: the real llama.cpp backend, except every generate call fails after N tokens."""

    def __init__(self, real, fail_after_tokens: int) -> None:
        self._real = real
        self.fail_after_tokens = fail_after_tokens
        self.info = real.info

    def __getattr__(self, name):
        return getattr(self._real, name)

    def generate(self, prompt_ids: list[int], *, max_tokens: int, stop_token_ids: Collection[int],
                 sampling: Sampling, cancel: threading.Event | None = None, **options) -> Iterator[Piece | Finish]:
        stream = self._real.generate(prompt_ids, max_tokens=max_tokens, stop_token_ids=stop_token_ids,
                                     sampling=sampling, cancel=cancel, **options)
        try:
            for count, item in enumerate(stream):
                if count >= self.fail_after_tokens:
                    raise BackendError("injected fault: the backend died mid-stream")
                yield item
        finally:
            stream.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with open_store(tmp_path_factory.mktemp("ui-store") / "sessions.db") as opened:
        yield opened


@pytest.fixture(scope="module")
def app_url(model, store):
    faulty = FaultInjectingBackend(model.backend, fail_after_tokens=6)
    fault_model = model.with_backend(faulty)
    extra = {"fault-injector": fault_model, "stops-every-8": stopping_model(model, every_tokens=8)}
    ctx = UIContext(default_model=model, store=store, extra_models=extra)
    demo, url = serve_in_background(ctx)
    yield url
    demo.close()


@pytest.fixture
def client(app_url):
    return Client(app_url, verbose=False)


def status_of(html: str) -> dict[str, str]:
    """The status line's data attributes: state, thinking-tokens, budget, waits, stop-reason."""
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', html))


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def thinking_of(messages: list[dict]) -> str:
    blocks = [text_of(m) for m in messages if m["role"] == "assistant" and (m.get("metadata") or {}).get("title")]
    return blocks[-1] if blocks else ""


def ask(client: Client, question: str, **settings):
    return client.submit(question=question, **{**CHAT_DEFAULTS, **settings}, api_name="/chat")


def test_chat_streams_thinking_that_grows_then_answers(client):
    job = ask(client, "What is 2+3?", max_thinking=48, waits=0)
    lengths = [len(thinking_of(messages)) for messages, _status, _question in job]
    messages, status, _ = job.outputs()[-1]
    assert job.status().success
    grown = [length for length in lengths if length > 2]
    assert len(set(grown)) >= 2 and grown == sorted(grown), "thinking arrived in growing updates"
    info = status_of(status)
    assert info["state"] == "finished" and info["budget"] == "48"
    assert int(info["thinking-tokens"]) <= 48
    assert messages[0]["role"] == "user" and text_of(messages[-1]).strip()


def test_wait_counter_equals_the_engines_waits_for_the_same_run(client, store):
    job = ask(client, WAIT_QUESTION, max_thinking=64, waits=3, model_name="stops-every-8")  # it tries to stop
    counters = [int(status_of(status)["waits"]) for _messages, status, _ in job if "data-waits" in status]
    messages, status, _ = job.outputs()[-1]
    engine_waits = get_run(store, list_runs(store, limit=1)[0]["id"])["waits_inserted"]  # the engine's RunFinished
    assert engine_waits == 3
    assert counters[-1] == engine_waits == int(status_of(status)["waits"])
    assert counters == sorted(counters), "the counter only goes up"
    assert thinking_of(messages).count('s1-forced" title="written by the engine">Wait</mark>') == engine_waits


@pytest.mark.slow
def test_the_same_question_asked_in_the_ui_repeats_the_in_process_tokens(app_url, store, model):
    settings = dict(max_thinking=64, waits=2)
    config = budget_config_from_ui(**settings, ignore_str="Wait", temperature=0, seed=None, min_thinking=0,
                                   max_answer=CHAT_DEFAULTS["max_answer"], loop_detect=True)
    in_process = Session(model).ask(WAIT_QUESTION, config).wait().stats.token_ids_sha256
    digests = []
    for question in (WAIT_QUESTION, "Name a colour.", WAIT_QUESTION, WAIT_QUESTION):
        ask(Client(app_url, verbose=False), question, **settings).result()  # a new conversation each time
        if question == WAIT_QUESTION:
            digests.append(get_run(store, list_runs(store, limit=1)[0]["id"])["token_ids_sha256"])
    assert digests == [in_process] * 3


def test_stop_cancels_the_run_and_keeps_what_it_produced(client, store):
    job = ask(client, LONG_QUESTION, max_thinking=2000, waits=0)
    for messages, _status, _ in job:
        if len(thinking_of(messages)) > 20:
            break
    client.predict(api_name="/chat_stop")
    job.result()  # the job ends: the handler returned
    outputs = job.outputs()
    messages, status, _ = outputs[-1]
    info = status_of(status)
    assert info["state"] == "cancelled" and info["stop-reason"] == "cancelled"
    assert int(info["thinking-tokens"]) < 2000
    assert len(thinking_of(messages)) > 20, "the partial thinking is kept"
    states = [status_of(output[1])["state"] for output in outputs]
    # nothing after the first cancelled update says otherwise (the run's last events may come in a later batch)
    assert set(states[states.index("cancelled"):]) == {"cancelled"}, states
    assert list_runs(store, limit=1)[0]["status"] == "cancelled"


def test_a_client_that_cancels_its_job_stops_the_engine(client, store):
    job = ask(client, LONG_QUESTION + " Make it very long.", max_thinking=2000, waits=0)
    for messages, _status, _ in job:
        if len(thinking_of(messages)) > 10:
            break
    job.cancel()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        newest = list_runs(store, limit=1)[0]
        if "Make it very long" in newest["question"] and newest["status"] != "running":
            break
        time.sleep(0.2)
    assert newest["status"] == "cancelled" and newest["thinking_tokens"] < 2000


def test_follow_up_questions_continue_the_conversation(client):
    first = ask(client, "What is 2+3?", max_thinking=16, waits=0).result()[0]
    second = client.predict(question="And times 2?", history=first, max_thinking=16, waits=0,
                            **{k: v for k, v in CHAT_DEFAULTS.items()}, api_name="/chat")[0]
    users = [text_of(m) for m in second if m["role"] == "user"]
    assert users == ["What is 2+3?", "And times 2?"]


def test_compare_streams_both_sides_at_once(client):
    job = client.submit(question="What is 3+4?", model_a="", backend_a="", max_thinking_a=16, waits_a=0,
                        model_b="", backend_b="", max_thinking_b=48, waits_b=1, ignore_str="Wait", temperature=0,
                        seed=None, max_answer=24, api_name="/compare")
    both_streaming = False
    for _chat_a, status_a, _chat_b, status_b, _rows in job:
        a, b = status_of(status_a), status_of(status_b)
        if int(a.get("thinking-tokens", 0)) > 0 and int(b.get("thinking-tokens", 0)) > 0 and "running" in (a["state"], b["state"]):
            both_streaming = True
    chat_a, status_a, chat_b, status_b, summary = job.outputs()[-1]
    assert both_streaming, "the two sides produced thinking while at least one was still running"
    assert status_of(status_a)["budget"] == "16" and status_of(status_b)["budget"] == "48"
    assert thinking_of(chat_a) and thinking_of(chat_b)
    rows = summary["data"]
    assert len(rows) == 2 and {row[0][:1] for row in rows} == {"A", "B"}
    assert all(row[-1] in ("end-of-answer", "answer-limit") for row in rows)


def test_sweep_returns_one_row_per_budget(client):
    rows_seen = []
    job = client.submit(question="What is 1+1?", reference="2", budgets_text="0, 16, 32", waits_text="",
                        model_name="", backend="", max_answer=16, api_name="/sweep")
    for table, _plot, _status in job:
        rows_seen.append(len(table["data"]) if table and table.get("data") and table["data"][0] else 0)
    table, plot, status = job.outputs()[-1]
    rows = table["data"]
    assert [row[0] for row in rows] == [0, 16, 32]
    assert all(row[2] <= row[0] for row in rows), "thinking never exceeds the budget"
    assert all(row[7] in ("yes", "no") for row in rows)
    assert plot is not None
    assert rows_seen == sorted(rows_seen) and 'data-rows="3"' in status


def test_an_empty_question_shows_an_error_and_the_app_stays_up(client):
    _messages, status, _ = client.predict(question="   ", max_thinking=16, waits=0, **CHAT_DEFAULTS, api_name="/chat")
    assert status_of(status)["state"] == "failed" and "question is empty" in status
    _messages, status, _ = client.predict(question="Hi", max_thinking=8, waits=0, **CHAT_DEFAULTS, api_name="/chat")
    assert status_of(status)["state"] == "finished"


@pytest.mark.parametrize(
    ("max_thinking", "waits", "message"),
    [(100_000, 0, "(100000) is above the model"), (-5, 0, "Max thinking tokens must be at least 0"),
     (12.5, 0, "must be a whole number"), (8, -2, "Waits must be at least 0")],
)
def test_settings_out_of_range_are_refused_with_a_message(client, max_thinking, waits, message):
    _messages, status, _ = client.predict(question="Hi", max_thinking=max_thinking, waits=waits, **CHAT_DEFAULTS,
                                          api_name="/chat")
    assert status_of(status)["state"] == "failed" and message in status


def test_a_model_path_that_does_not_exist_shows_an_error(client):
    settings = {**CHAT_DEFAULTS, "model_name": "/no/such/model.gguf"}
    _messages, status, _ = client.predict(question="Hi", max_thinking=8, waits=0, **settings, api_name="/chat")
    assert status_of(status)["state"] == "failed"
    assert "/no/such/model.gguf" in status and "Unknown model" in status


def test_a_backend_failing_mid_stream_keeps_the_partial_run_and_says_so(client, store):
    settings = {**CHAT_DEFAULTS, "model_name": "fault-injector"}
    messages, status, _ = client.predict(question="What is 2+3?", max_thinking=32, waits=0, **settings, api_name="/chat")
    info = status_of(status)
    assert info["state"] == "failed" and "injected fault" in status
    assert thinking_of(messages).strip(), "the thinking produced before the failure is kept"
    assert "injected fault" in text_of(messages[-1])
    newest = list_runs(store, limit=1)[0]
    assert newest["status"] == "failed"
    _messages, status, _ = client.predict(question="Hi", max_thinking=8, waits=0, **CHAT_DEFAULTS, api_name="/chat")
    assert status_of(status)["state"] == "finished", "the app is still up"


def test_two_users_at_once_each_get_their_own_run_and_stop(app_url):
    first, second = Client(app_url, verbose=False), Client(app_url, verbose=False)
    long_job = ask(first, LONG_QUESTION, max_thinking=2000, waits=0)
    short_job = ask(second, "What is 5+5?", max_thinking=24, waits=0)
    for messages, _status, _ in long_job:
        if len(thinking_of(messages)) > 10:
            break
    second_messages, second_status, _ = short_job.result()
    first.predict(api_name="/chat_stop")
    long_job.result()
    assert status_of(second_status)["state"] == "finished"
    assert status_of(long_job.outputs()[-1][1])["state"] == "cancelled"
    assert text_of(second_messages[0]) == "What is 5+5?"
    assert text_of(long_job.outputs()[-1][0][0]) == LONG_QUESTION


def test_history_lists_replays_and_exports_the_ui_runs(client, store, tmp_path):
    rows, status = client.predict(search="", api_name="/history_list")
    total = int(re.search(r'data-runs="(\d+)"', status).group(1))
    assert total >= 1 and len(rows["data"]) == min(total, 100)
    run = get_run(store, rows["data"][0][0])
    assert run["question"] == rows["data"][0][4]
    path, status = client.predict(search="", export_format="jsonl", api_name="/history_export")
    with open(path, encoding="utf-8") as exported:
        assert sum(1 for line in exported if line.strip()) == total


@pytest.mark.slow
def test_chat_with_a_probe_interval_streams_the_strip_and_keeps_the_runs_tokens(client, app_url, store):
    job = ask(client, "What is 2+3?", max_thinking=64, waits=0, probe_every=16, probe_tokens=24, reference="5")
    strips = [[text_of(m) for m in messages if "s1-probes" in text_of(m)] for messages, _status, _ in job]
    live = [bool(strip) for strip, (_m, status, _q) in zip(strips, job.outputs(), strict=True)
            if status_of(status).get("state") == "running"]
    messages, status, _ = job.outputs()[-1]
    probed = get_run(store, list_runs(store, limit=1)[0]["id"])
    final = [text_of(m) for m in messages if "s1-probes" in text_of(m)]
    assert status_of(status)["state"] == "finished" and len(final) == 1
    positions = re.findall(r'<details [^>]*data-thinking-tokens="(\d+)"', final[0])
    assert positions == [str(p) for p in range(16, int(status_of(status)["thinking-tokens"]), 16)]
    assert len(re.findall(r'data-correct="(?:yes|no)"', final[0])) == len(positions), "the reference grades each"
    counts = [len(re.findall("<details ", strip[0])) if strip else 0 for strip in strips]
    assert counts == sorted(counts), "the strip only grows"
    assert any(live), "entries appear while the model still thinks"
    ask(Client(app_url, verbose=False), "What is 2+3?", max_thinking=64, waits=0).result()  # a new conversation
    plain = get_run(store, list_runs(store, limit=1)[0]["id"])
    assert probed["token_ids_sha256"] == plain["token_ids_sha256"], "probing leaves the run's tokens as they were"


@pytest.mark.parametrize(("fields", "message"), [
    (dict(probe_every=16, stop_when_stable=1), "at least 2 probes that agree"),
    (dict(probe_every=16, stop_when_confident="sure"), "probability such as 0.9"),
    (dict(probe_every=-4), "Probe interval must be at least 0"),
])
def test_bad_probe_fields_are_refused_in_the_status_line(client, fields, message):
    _messages, status, _ = client.predict(question="Hi", max_thinking=8, waits=0, **CHAT_DEFAULTS, **fields,
                                          api_name="/chat")
    assert status_of(status)["state"] == "failed" and message in status
