"""Helpers for the store tests: a hand-written event stream shaped like a real run, and a real Run
fed with it one event at a time.

The store only ever sees Runs and their events, so a scripted stream folded by the real Run is
its real input, not a mock: the stats and interventions come from the Run's own fold, as the
engine's do. The tests that need the model's own text use the `model` fixture instead.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from s1app.events import (
    AnswerDelta,
    AnswerProbed,
    Event,
    RunFinished,
    RunStarted,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.run import Run
from s1app.store import RunRecorder

DELIMITER = "\n</think>\n\n"


def scripted_run(question: str = "What is 2+3?", thinking_pieces: int = 20, piece: str = "think ",
                 run_id: str | None = None, probes: bool = False) -> list[Event]:
    """A run that thinks, gets one Wait, is capped, answers after a forced "Final Answer:".
    With ``probes``: a "stop" probe where the Wait went in and a "budget" probe before the cap
    (each arriving a little after its position, as the engine's do)."""
    run_id = run_id or uuid.uuid4().hex
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    half = thinking_pieces // 2
    events: list[Event] = [RunStarted(run_id, question, "scripted", "none", "prompted",
                                      {"max_thinking_tokens": thinking_pieces + 1, "num_waits": 1}, 10, now)]
    events += [ThinkingDelta(piece, 1) for _ in range(half)]
    events += [WaitInserted(1, half, "Wait", 1), ThinkingDelta("Wait", 1, forced=True)]
    events += [ThinkingDelta(piece, 1) for _ in range(thinking_pieces - half)]
    budget = thinking_pieces + 1
    if probes:
        events[half + 4:half + 4] = [probe(half, "stop", 0, " 5")]
        events.append(probe(budget, "budget", 1, "Final Answer: 5", confidence=None))
    events += [ThinkingCapped(budget, budget), ThinkingEnded("budget", budget, DELIMITER, 3),
               AnswerDelta("Final Answer:", 3, forced=True), AnswerDelta(" 5", 1)]
    events.append(RunFinished("end-of-answer", uuid.uuid4().hex, None, datetime.now(UTC).isoformat(timespec="milliseconds")))
    return events


def probe(position_tokens: int, kind: str, waits_before: int, text: str, confidence: float | None = 0.75) -> AnswerProbed:
    """An answer probe as the engine yields one (its answer: the last word of ``text``)."""
    forced = 3 if kind == "stop" else 6
    return AnswerProbed(position_tokens, kind, waits_before, text, text.split()[-1], confidence,
                        forced + len(text.split()), forced, "end-of-answer", 0.125, uuid.uuid4().hex * 2)


class HandFed:
    """A real Run and a real RunRecorder subscribed to it, fed one event at a time by the test
    (what the Run's iteration does: fold the event, then tell the recorder), any event the
    engine yields: deltas, interventions, AnswerProbed."""

    def __init__(self, store, *args, **options) -> None:
        self.fold = Run()
        self.recorder = RunRecorder(store, self.fold, *args, **options)

    def record(self, event: Event) -> None:
        self.fold.add(event)
        self.recorder.record(event)

    def close(self) -> None:
        self.recorder.close()

    @property
    def run_id(self) -> str | None:
        return self.recorder.run_id

    @property
    def error(self):
        return self.recorder.error

    def __enter__(self) -> HandFed:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
