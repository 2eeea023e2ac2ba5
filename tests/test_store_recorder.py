"""RunRecorder: real engine runs land in the store exactly, written as they stream."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict

import pytest
import sqlite_utils
from steered_backends import stopping_model
from store_support import HandFed, scripted_run

from s1app.budget import BudgetConfig
from s1app.events import ThinkingDelta, WaitInserted
from s1app.loops import LoopSettings
from s1app.session import Session
from s1app.store import RunLog, get_run, list_runs, open_store, text_chunks

NO_LOOP_CHECK = LoopSettings(enabled=False)


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "sessions.db") as opened:
        yield opened


def record_real_run(model, store, config, question="What is 2+3?"):
    run = Session(model).ask(question, config, log=RunLog(store))
    run.wait()
    return run


def test_real_run_with_waits_and_cap_is_stored_exactly_with_forced_text_marked(model, store):
    config = BudgetConfig(max_thinking_tokens=100, num_waits=50, loop=NO_LOOP_CHECK, max_answer_tokens=8)
    run = record_real_run(stopping_model(model, every_tokens=10), store, config)  # it tries to stop
    assert run.stats.waits_inserted >= 1
    expected = run.to_json()

    record = get_run(store, run.run_id)
    for key in ("question", "model", "backend", "format", "settings", "thinking", "answer", "status", "error",
                "started_at", "finished_at", "warnings"):
        assert record[key] == expected[key], key
    for key, value in asdict(run.stats).items():
        if key != "prompt_tokens":
            assert record[key] == value, key
    assert record["segments"] == [s.to_dict() for s in run.segments]
    # The interventions are the engine's own, and their offsets point at the forced text.
    assert [(i["kind"], i["position_tokens"], i["text"]) for i in record["interventions"]] == \
        [(i.kind, i.position_tokens, i.text) for i in run.interventions]
    kinds = [i["kind"] for i in record["interventions"]]
    assert kinds.count("wait") == run.stats.waits_inserted and "cap" in kinds and "final-answer" in kinds
    sections = {"thinking": record["thinking"], "answer": record["answer"], "delimiter": record["interventions"][-2]["text"]}
    for intervention in record["interventions"]:
        text = sections[intervention["section"]]
        assert text[intervention["char_offset"]:].startswith(intervention["text"])
    # Re-rendering marks exactly the engine's text: the forced segments are the interventions.
    assert "".join(s["text"] for s in record["segments"] if s["forced"]) == \
        "".join(i["text"] for i in record["interventions"])
    assert "".join(s["text"] for s in record["segments"] if s["section"] == "thinking") == record["thinking"]


def test_cancelled_real_run_is_recorded_as_cancelled_with_its_text(model, store):
    cancel = threading.Event()
    run = Session(model).ask("Tell me a long story about a dragon.",
                             BudgetConfig(max_thinking_tokens=2000, loop=NO_LOOP_CHECK, max_answer_tokens=8),
                             cancel=cancel, log=RunLog(store))
    for event in run:
        if isinstance(event, ThinkingDelta) and run.thinking_tokens >= 8:
            cancel.set()
    record = get_run(store, run.run_id)
    assert record["status"] == "cancelled" and record["stop_reason"] == "cancelled"
    assert record["thinking"] and record["thinking"] == run.thinking


def fresh_view(store, run_id):
    """What another process's reader sees right now, on a separate connection: the row, with the
    text a running run keeps in chunks merged in (as get_run and export do)."""
    db = sqlite_utils.Database(sqlite3.connect(store.path))
    try:
        return text_chunks.merged(db, next(db.query("select * from runs where id = ?", [run_id])))
    finally:
        db.conn.close()


def test_run_is_written_on_start_then_every_flush_interval_and_on_every_intervention(store):
    now = [0.0]
    recorder = HandFed(store, flush_interval_s=1.0, clock=lambda: now[0])
    events = scripted_run(thinking_pieces=6)
    run_id = events[0].run_id
    recorder.record(events[0])
    assert fresh_view(store, run_id)["status"] == "running"

    recorder.record(events[1])  # within the interval: not written yet
    assert fresh_view(store, run_id)["thinking"] == ""
    now[0] = 1.0
    recorder.record(events[2])  # a second later: written
    assert fresh_view(store, run_id)["thinking"] == "think think "

    wait_at = next(i for i, e in enumerate(events) if isinstance(e, WaitInserted))
    for event in events[3:wait_at + 2]:  # the WaitInserted and its forced "Wait": written at once
        recorder.record(event)
    row = fresh_view(store, run_id)
    assert row["thinking"].endswith("think Wait") and row["waits_inserted"] == 1
    for event in events[wait_at + 2:]:
        recorder.record(event)
    row = fresh_view(store, run_id)
    assert row["status"] == "finished" and row["answer"] == "Final Answer: 5"


def test_recorder_closed_before_the_run_finished_marks_it_interrupted(store):
    events = scripted_run()
    with HandFed(store) as recorder:
        for event in events[:13]:  # started, 10 pieces, the Wait; never finished
            recorder.record(event)
    record = get_run(store, recorder.run_id)
    assert record["status"] == "interrupted" and record["thinking"] == "think " * 10 + "Wait"


def test_a_chat_is_one_conversation_with_its_turns_in_order(store):
    conversation = store.new_conversation(source="chat")
    recorders = []
    for question in ("What is 2+3?", "And 3+4?"):
        recorders.append(HandFed(store, conversation))
        for event in scripted_run(question):
            recorders[-1].record(event)
    assert store.db["conversations"].count == 1
    runs = {run["id"]: run for run in list_runs(store)}
    assert [runs[r.run_id]["turn"] for r in recorders] == [0, 1]
    record = get_run(store, recorders[1].run_id)
    assert record["conversation"]["id"] == conversation.id
    assert record["conversation"]["title"] == "What is 2+3?" and record["conversation"]["source"] == "chat"
