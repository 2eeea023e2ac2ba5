"""The UI's pure parts: a Run -> chat messages / status line, and the timed batching pump."""

from __future__ import annotations

import re
import threading

from s1app.events import (
    AnswerDelta,
    AnswerProbed,
    RunFinished,
    RunStarted,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.pump import Pump, WorkFailed
from s1app.run import Run
from s1app.run import probe_json
from s1app.ui.probe_strip import strip_html
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


def probe(position: int, text: str, extracted: str | None, kind: str = "budget") -> AnswerProbed:
    return AnswerProbed(position, kind, 0, text, extracted, 0.5, 6, 8, "end-of-answer", 0.25, "digest")


def entries_of(strip: str) -> list[dict[str, str]]:
    """Each entry's data attributes, in order."""
    return [dict(re.findall(r'data-([a-z-]+)="([^"]*)"', entry)) for entry in re.findall(r"<details [^>]*>", strip)]


PROBES = [probe(16, "Final Answer: 4", "4"), probe(32, "Final Answer: 5", "5"),
          probe(40, "Final Answer: 5", "5", kind="stop"), probe(48, "Final Answer: 5", "5"),
          probe(64, "Final Answer: I am not sure", None)]


def test_the_strip_has_one_entry_per_probe_at_its_position_with_its_answer():
    strip = strip_html([probe_json(p) for p in PROBES])
    entries = entries_of(strip)
    assert [e["thinking-tokens"] for e in entries] == ["16", "32", "40", "48", "64"]
    assert [e["answer"] for e in entries] == ["4", "5", "5", "5", ""]
    assert [e["kind"] for e in entries] == ["budget", "budget", "stop", "budget", "budget"]
    assert "16 tok → 4</summary>" in strip and "stop 40 tok → 5" in strip
    assert "<i>no answer found</i>" in strip
    marked_up = strip_html([probe_json(probe(8, "Final Answer: <b>", "<b>"))])
    assert "→ &lt;b&gt;</summary>" in marked_up and "<b>" not in marked_up, "the model's text is escaped"
    assert "\n" not in strip, "one line: the Chatbot's Markdown keeps it one raw HTML block"


def test_an_answer_that_differs_from_the_previous_probes_is_marked_as_a_change():
    strip = strip_html([probe_json(p) for p in PROBES])
    assert [e["changed"] for e in entries_of(strip)] == ["no", "yes", "no", "no", "yes"]
    assert 'data-changes="2"' in strip and strip.count("s1-changed") == 2 and strip.count("Δ") == 2


def test_with_a_reference_each_entry_is_coloured_right_or_wrong():
    strip = strip_html([probe_json(p) for p in PROBES], reference="5")
    assert [e["correct"] for e in entries_of(strip)] == ["no", "yes", "yes", "yes", "no"]
    assert strip.count("s1-right") == 3 and strip.count("s1-wrong") == 2
    assert "16 tok → 4 ✗</summary>" in strip and "48 tok → 5 ✓</summary>" in strip
    ungraded = strip_html([probe_json(p) for p in PROBES], reference="  ")
    assert "s1-right" not in ungraded and "s1-wrong" not in ungraded and "✓" not in ungraded


def test_the_reference_is_compared_by_math_equivalence():
    half = [probe_json(probe(16, "Final Answer: \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"))]
    assert "s1-right" in strip_html(half, reference="0.5")
    assert "s1-wrong" in strip_html(half, reference="0.6")


def test_opening_an_entry_shows_the_probes_whole_text_and_how_it_was_taken():
    texts = re.findall(r'<div class="s1-probe-text">(.*?)</div>', strip_html(
        [probe_json(probe(16, "Final Answer: 5\n\nbecause <2+3>", "5"))]))
    assert texts == ["Final Answer: 5<br><br>because &lt;2+3&gt;"]
    meta = re.search(r'<div class="s1-probe-meta">(.*?)</div>', strip_html([probe_json(PROBES[2])])).group(1)
    assert meta.startswith("40 thinking tokens · stands for a run let to stop here")
    assert "confidence 0.50" in meta and "6 answer tokens" in meta and "end-of-answer" in meta


def test_a_live_run_shows_the_strip_between_its_thinking_and_its_answer_and_it_grows():
    events = run_events()
    view = view_of(events[:4])
    assert len(view.messages()) == 1, "no probes yet: no strip"
    feed(view, [PROBES[0]])
    thinking, strip = view.messages()
    assert "metadata" in thinking and entries_of(strip["content"])[0]["thinking-tokens"] == "16"
    feed(view, [PROBES[3], *events[4:]])
    messages = view.messages()
    assert len(entries_of(messages[1]["content"])) == 2 and "Final Answer:" in messages[2]["content"]


def test_a_live_strip_and_a_stored_runs_strip_are_the_same():
    view = view_of([*run_events()[:4], *PROBES, *run_events()[4:]])
    view.reference = "5"
    record = {"question": "2+3?", "segments": [], "probes": view.run.to_json()["probes"]}
    assert record_messages(record, reference="5")[2]["content"] == view.messages()[1]["content"]
    assert len(record_messages({"question": "2+3?", "segments": []})) == 2, "a record without probes has no strip"


def test_a_failure_of_llama_cpp_shows_its_last_log_lines_and_a_setting_error_does_not(model):
    from s1app.errors import ConfigError, ModelFormatError
    from s1app.llama_log import recent_llama_log
    from s1app.ui.render import error_status_html

    assert recent_llama_log(), "loading the model logged through llama.cpp's callback"
    shown = error_status_html(ModelFormatError("llama.cpp could not load broken.gguf"))
    assert "llama.cpp's last log lines" in shown and "<pre>" in shown
    assert "<details" not in error_status_html(ConfigError("Max thinking must be a whole number"))
