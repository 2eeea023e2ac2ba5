"""Helpers for the store tests: a hand-written event stream shaped like a real run.

The store only ever sees events, so a scripted stream is its real input, not a mock; the tests
that need the model's own text use the `model` fixture instead.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from s1app.events import (
    AnswerDelta,
    Event,
    Intervention,
    RunFinished,
    RunStarted,
    RunStats,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)

DELIMITER = "\n</think>\n\n"


def scripted_run(question: str = "What is 2+3?", thinking_pieces: int = 20, piece: str = "think ",
                 run_id: str | None = None) -> list[Event]:
    """A run that thinks, gets one Wait, is capped, answers after a forced "Final Answer:"."""
    run_id = run_id or uuid.uuid4().hex
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    half = thinking_pieces // 2
    events: list[Event] = [RunStarted(run_id, question, "scripted", "none", "prompted",
                                      {"max_thinking_tokens": thinking_pieces + 1, "num_waits": 1}, 10, now)]
    events += [ThinkingDelta(piece, 1) for _ in range(half)]
    events += [WaitInserted(1, half, "Wait", 1), ThinkingDelta("Wait", 1, forced=True)]
    events += [ThinkingDelta(piece, 1) for _ in range(thinking_pieces - half)]
    budget = thinking_pieces + 1
    events += [ThinkingCapped(budget, budget), ThinkingEnded("budget", budget, DELIMITER, 3),
               AnswerDelta("Final Answer:", 3, forced=True), AnswerDelta(" 5", 1)]
    stats = RunStats(thinking_tokens=budget, thinking_tokens_sampled=thinking_pieces, thinking_tokens_forced=1,
                     forced_tokens=7, waits_inserted=1, answer_tokens=4, answer_tokens_sampled=1, prompt_tokens=10,
                     thinking_end_reason="budget", stop_reason="end-of-answer", time_to_first_token_s=0.01,
                     tokens_per_s=100.0, wall_s=0.25)
    interventions = (Intervention("wait", half, "Wait"), Intervention("cap", budget, DELIMITER),
                     Intervention("final-answer", budget, "Final Answer:"))
    events.append(RunFinished(stats, interventions, None, datetime.now(UTC).isoformat(timespec="milliseconds")))
    return events
