"""One engine run, as eval needs it: fold the run's events into a RunOutcome.

``outcome_of`` is the only place eval reads events. It folds them with the RunFold that the
engine, views and store use, and takes what eval grades and counts from it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from s1app.events import Event
from s1app.run_fold import RunFold


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run_id: str
    answer: str
    """The answer section's text (forced "Final Answer:" included): what gets graded."""
    thinking_tokens: int
    forced_tokens: int
    waits_inserted: int
    answer_tokens: int
    generated_tokens: int
    """Tokens the model sampled (thinking and answer): the compute the run cost."""
    thinking_end_reason: str | None
    stop_reason: str
    wall_s: float
    error: str | None = None
    stopped_early: bool = False
    """The policy stopped it (rejection sampling: thinking ran past the budget)."""

    @property
    def cancelled(self) -> bool:
        return self.stop_reason == "cancelled" and not self.stopped_early


def outcome_of(
    events: Iterable[Event],
    *,
    stop_above_thinking_tokens: int | None = None,
    stop: threading.Event | None = None,
) -> RunOutcome:
    """Read a run to its end. With ``stop_above_thinking_tokens``, set ``stop`` (the run's cancel
    flag) as soon as thinking passes that many tokens; the run then ends early, marked so."""
    fold = RunFold()
    stopped_early = False
    for event in events:
        fold.add(event)
        if (stop_above_thinking_tokens is not None and not stopped_early
                and fold.thinking_tokens > stop_above_thinking_tokens and stop is not None):
            stopped_early = True
            stop.set()
    finished = fold.finished
    if finished is None:
        raise RuntimeError("the engine's event stream ended without RunFinished")
    stats = finished.stats
    return RunOutcome(
        run_id=fold.run_id,
        answer=fold.answer,
        thinking_tokens=stats.thinking_tokens,
        forced_tokens=stats.forced_tokens,
        waits_inserted=stats.waits_inserted,
        answer_tokens=stats.answer_tokens,
        generated_tokens=stats.thinking_tokens_sampled + stats.answer_tokens_sampled,
        thinking_end_reason=stats.thinking_end_reason,
        stop_reason=stats.stop_reason,
        wall_s=stats.wall_s,
        error=finished.error,
        stopped_early=stopped_early,
    )
