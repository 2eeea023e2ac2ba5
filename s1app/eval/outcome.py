"""One engine run, as eval needs it: read a Run to its end into a RunOutcome.

``outcome_of`` is the only place eval reads a run. It takes what eval grades and counts from the
Run, the one fold the engine, views and store read too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from s1app.run import Run


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
    spent_tokens: int | None = None
    """Tokens really sampled for it when read off a shared trajectory (s1app.eval.trajectory);
    None: a run of its own, which spent ``generated_tokens``."""
    shared: bool = False
    """Read off a shared trajectory, not a run of its own."""

    @property
    def cancelled(self) -> bool:
        return self.stop_reason == "cancelled" and not self.stopped_early


def outcome_of(
    run: Run,
    *,
    stop_above_thinking_tokens: int | None = None,
    stop: threading.Event | None = None,
) -> RunOutcome:
    """Read a run to its end. With ``stop_above_thinking_tokens``, set ``stop`` (the run's cancel
    flag) as soon as thinking passes that many tokens; the run then ends early, marked so."""
    stopped_early = False
    for _ in run:
        if (stop_above_thinking_tokens is not None and not stopped_early
                and run.thinking_tokens > stop_above_thinking_tokens and stop is not None):
            stopped_early = True
            stop.set()
    stats = run.stats
    if stats is None:
        raise RuntimeError("the engine's event stream ended without RunFinished")
    return RunOutcome(
        run_id=run.run_id,
        answer=run.answer,
        thinking_tokens=stats.thinking_tokens,
        forced_tokens=stats.forced_tokens,
        waits_inserted=stats.waits_inserted,
        answer_tokens=stats.answer_tokens,
        generated_tokens=stats.thinking_tokens_sampled + stats.answer_tokens_sampled,
        thinking_end_reason=stats.thinking_end_reason,
        stop_reason=stats.stop_reason,
        wall_s=stats.wall_s,
        error=run.finished.error if run.finished else None,
        stopped_early=stopped_early,
    )
