"""Cost per update along a 16k-token run: does an update late in a long run cost what an early one does?

A run of ``--tokens`` thinking pieces (synthetic events of the engine's real shape, so the model
is not what is timed) goes through what the app does per update:
- the UI: render the Run's messages and status line (RunView), every
  ``--batch`` pieces (the 100 ms batch at ~100 tok/s is ~10 pieces);
- the store: a RunRecorder write every ``--flush`` pieces (its 0.5 s interval: ~50 pieces).
Each is timed per update and reported for the first and the last 1,000 tokens of the run, and
as the ratio last/first: 1.0 means an update costs the new text only. Real SQLite file, real
views.

    .venv/bin/python bench/bench_update_cost.py [--tokens 16384]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from s1app.events import RunStarted, ThinkingDelta
from s1app.store import RunRecorder, open_store
from s1app.run import Run
from s1app.ui.render import RunView

PIECE = "token "  # ~6 characters: a 16k-token run is ~100 KB of thinking


def run(tokens: int, batch: int, flush: int) -> tuple[list[float], list[float]]:
    """(UI update seconds, store write seconds), one per update, in run order."""
    started = RunStarted(uuid.uuid4().hex, "a long question", "bench", "none", "prompted",
                         {"max_thinking_tokens_effective": tokens}, 30, "2026-01-01T00:00:00+00:00")
    run = Run()
    view = RunView(run)
    run.add(started)
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "bench.db") as store:
        recorder = RunRecorder(store, run, flush_interval_s=float("inf"))
        recorder.record(started)
        ui_s, store_s = [], []
        for index in range(tokens):
            event = ThinkingDelta(PIECE, 1)
            run.add(event)  # the Run folds each event once, in the engine's worker
            recorder.record(event)
            if (index + 1) % batch == 0:
                begin = time.perf_counter()
                view.messages()
                view.status_html()
                ui_s.append(time.perf_counter() - begin)
            if (index + 1) % flush == 0:
                begin = time.perf_counter()
                recorder._write()  # what the recorder does at each flush interval
                store_s.append(time.perf_counter() - begin)
        recorder.close()
    return ui_s, store_s


def window(costs: list[float], every: int, first: bool, tokens: int = 1000) -> float:
    count = max(1, tokens // every)
    part = costs[:count] if first else costs[-count:]
    return statistics.median(part)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=16384)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--flush", type=int, default=50)
    args = parser.parse_args()
    ui_s, store_s = run(args.tokens, args.batch, args.flush)
    for name, costs, every in (("UI update (fold + render)", ui_s, args.batch), ("store write", store_s, args.flush)):
        early, late = window(costs, every, True), window(costs, every, False)
        print(f"{name}: median {early * 1e6:.0f} us per update over the first 1,000 tokens, "
              f"{late * 1e6:.0f} us over the last 1,000 of {args.tokens}; last/first {late / early:.2f}")


if __name__ == "__main__":
    main()
