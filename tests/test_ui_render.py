"""The UI's pure parts: a Run -> chat messages / status line, and the timed batching pump."""

from __future__ import annotations

import threading

from s1app.events import (
    AnswerDelta,
    RunFinished,
    RunStarted,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.pump import Pump, WorkFailed
from s1app.run import Run
from s1app.ui.render import RunView, record_messages


def view_of(events, clock=None) -> RunView:
    """A view of a Run that folded ``events`` (as the engine's worker folds them)."""
    run = Run(clock=clock) if clock is not None else Run()
    view = RunView(run)
    feed(view, events)
    return view


def feed(view: RunView, events) -> None:
    for event in events:
        view.run.add(event)


def run_events():
    return [
        RunStarted("r1", "2+3?", "m", "llamacpp", "prompted", {"max_thinking_tokens_effective": 6}, 10, "t"),
        ThinkingDelta("Two <b>plus</b>", 2),
        ThinkingDelta(" three.", 1),
        WaitInserted(1, 3, "Wait", 1),
        ThinkingDelta("Wait", 1, forced=True),
        ThinkingDelta(" five", 2),
        ThinkingCapped(6, 6),
        ThinkingEnded("budget", 6, "</think>", 1),
        AnswerDelta("Final Answer:", 2, forced=True),
        AnswerDelta(" 5", 1),
        RunFinished("end-of-answer"),
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_forced_text_is_marked_and_model_text_is_escaped():
    view = view_of(run_events())
    thinking, answer = view.messages()
    assert thinking["metadata"]["status"] == "done"
    assert "1 Wait forced" in thinking["metadata"]["title"]
    assert "&lt;b&gt;plus&lt;/b&gt;" in thinking["content"]
    assert '<mark class="s1-forced" title="written by the engine">Wait</mark>' in thinking["content"]
    assert "&lt;/think&gt;</mark>" in thinking["content"]
    assert answer["content"].startswith('<mark class="s1-forced" title="written by the engine">Final Answer:</mark>')


def test_thinking_block_is_pending_while_the_model_thinks():
    view = view_of(run_events()[:3])
    (thinking,) = view.messages()
    assert thinking["metadata"]["status"] == "pending"
    assert 'data-state="running"' in view.status_html()


def test_incremental_rendering_equals_rendering_everything_at_once():
    events = run_events()
    whole = view_of(events)
    stepwise = view_of([])
    for event in events:
        feed(stepwise, [event])
        stepwise.messages()
    assert stepwise.messages() == whole.messages()


def test_status_line_carries_tokens_budget_waits_and_stop_reason():
    view = view_of(run_events())
    status = view.status_html()
    for attribute in ('data-state="finished"', 'data-thinking-tokens="6"', 'data-budget="6"', 'data-waits="1"',
                      'data-stop-reason="end-of-answer"'):
        assert attribute in status
    assert "Waits inserted: 1" in status and " tok/s" in status


def test_live_tokens_per_second_counts_sampled_tokens_only():
    clock = FakeClock()
    view = view_of(run_events()[:2], clock)  # first sampled delta: 2 tokens
    clock.now += 1.0
    feed(view, run_events()[2:5])  # 1 more sampled, then a forced Wait
    assert view.run.tokens_per_s == 2.0  # (3 sampled - 1) / 1 s


def test_a_failed_run_keeps_its_partial_thinking_and_says_why():
    view = view_of(run_events()[:3])
    feed(view, [RunFinished("error", error="backend died")])
    messages = view.messages()
    assert "Two" in messages[0]["content"]
    assert "backend died" in messages[-1]["content"]
    assert 'data-state="failed"' in view.status_html()


def test_a_stored_record_replays_with_forced_text_marked():
    record = {"question": "2+3?", "thinking_tokens": 4, "waits_inserted": 1, "thinking_end_reason": "model",
              "segments": [{"section": "thinking", "text": "so", "forced": False},
                           {"section": "thinking", "text": "Wait", "forced": True},
                           {"section": "delimiter", "text": "</think>", "forced": True},
                           {"section": "answer", "text": "5", "forced": False}]}
    user, thinking, answer = record_messages(record)
    assert user["content"] == "2+3?"
    assert thinking["content"].count("s1-forced") == 2
    assert answer["content"] == "5"


def test_the_pump_batches_by_time_and_delivers_every_event_once_in_order():
    release = threading.Event()

    def produce(count):
        def events():
            for index in range(count):
                yield ThinkingDelta(str(index), 1)
                if index == count // 2:
                    release.wait()
        return events

    frozen = 0.0  # the pump's clock never reaches the interval again after the first batch
    pump = Pump(clock=lambda: frozen)
    pump.start_stream("a", produce(200))
    pump.start_stream("b", produce(100))
    batches = []
    for batch in pump.batches(interval_s=0.05):
        batches.append(batch)
        release.set()
    by_key = {"a": [], "b": []}
    for batch in batches:
        for key, event in batch:
            by_key[key].append(event.text)
    assert by_key["a"] == [str(i) for i in range(200)]
    assert by_key["b"] == [str(i) for i in range(100)]
    # The first item goes out at once; with the clock stopped, everything after it is held and
    # sent together when the runs end: exactly one batch per interval of the pump's clock.
    assert len(batches) == 2


def test_the_pump_hands_over_a_runs_exception():
    def broken():
        yield ThinkingDelta("x", 1)
        raise ValueError("boom")

    pump = Pump()
    pump.start_stream("only", broken)
    items = [item for batch in pump.batches(0.01) for _, item in batch]
    assert items[0] == ThinkingDelta("x", 1)
    assert isinstance(items[1], WorkFailed) and str(items[1].error) == "boom"
