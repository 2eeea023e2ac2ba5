"""What one forced Wait costs inside a run: the time from WaitInserted to the model's next token,
against the median time between two tokens of the same run.

(b) of bench_engine.py compares a whole run with Waits against a raw loop on another fresh model;
this measures the Wait itself, on one model, in one run: a Wait is a new generate call that
evaluates only the Wait's tokens on top of the cached context.

    .venv/bin/python bench/bench_wait_gap.py [--repeats 3] [--waits 4] [--tokens 400]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_engine import fresh_model

from s1app.budget import BudgetConfig
from s1app.events import RunStarted, ThinkingDelta, ThinkingEnded, WaitInserted
from s1app.loops import LoopSettings
from s1app.session import Session

QUESTION = "What is 2+3?"


def one_run(model, tokens: int, waits: int) -> tuple[float, list[float], float]:
    """(seconds to the end of thinking, ms from each Wait to the next token, median ms between tokens)."""
    config = BudgetConfig(max_thinking_tokens=tokens, num_waits=waits, loop=LoopSettings(enabled=False),
                          max_answer_tokens=1)
    started = ended = 0.0
    last: float | None = None
    wait_at: float | None = None
    gaps, intervals = [], []
    for event in model.engine.start(Session(model).prompt_ids(QUESTION), config, question=QUESTION):
        now = time.perf_counter()
        if isinstance(event, RunStarted):
            started = now
        elif isinstance(event, WaitInserted):
            wait_at = now
        elif isinstance(event, ThinkingDelta) and not event.forced:
            if wait_at is not None:
                gaps.append((now - wait_at) * 1000)
                wait_at = None
            elif last is not None:
                intervals.append((now - last) * 1000)
            last = now
        elif isinstance(event, ThinkingEnded):
            ended = now
    return ended - started, gaps, statistics.median(intervals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--waits", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    model = fresh_model()
    for repeat in range(args.repeats):
        seconds, gaps, interval = one_run(model, args.tokens, args.waits)
        print(f"run {repeat + 1}: {args.tokens} thinking tokens in {seconds:.2f} s; Wait -> next token "
              f"{', '.join(f'{gap:.0f}' for gap in gaps)} ms; median between tokens {interval:.1f} ms")
    model.backend.close()


if __name__ == "__main__":
    main()
