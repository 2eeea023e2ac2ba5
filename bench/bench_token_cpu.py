"""CPU time per token of the reader side of a run: the engine, the Run's fold, the thread bridge and
the session log's recorder, over a scripted backend (no decoding), as ``s1app ask`` wires them.

Process CPU time, not wall time, so it holds on a loaded machine: what it measures is the Python
work each token costs beside llama.cpp's decode (about 8 ms a token here).

    .venv/bin/python bench/bench_token_cpu.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from scripted_backend import Call, scripted_engine  # noqa: E402  (the real engine over scripted tokens)

from s1app.budget import BudgetConfig  # noqa: E402
from s1app.pump import Pump  # noqa: E402
from s1app.store import RunLog, open_store  # noqa: E402

WORDS = "bicycle pedal chain gear wheel frame brake rider force motion spoke tire saddle crank lever".split()


def reader_cpu_us(text: str) -> tuple[int, float]:
    """(thinking tokens, CPU microseconds a token) of one run whose thinking is ``text``."""
    engine, backend = scripted_engine([Call(text, then="length"), Call("Yes.")])
    tokens = len(backend.tokenize(text))
    config = BudgetConfig(max_thinking_tokens=tokens, min_thinking_tokens=tokens, max_answer_tokens=8)
    with tempfile.TemporaryDirectory() as scratch, open_store(str(Path(scratch) / "log.db")) as store:
        started = time.process_time()
        run = engine.start(backend.tokenize("Q", prompt=True), config, question="Q")
        RunLog(store).attach(run)
        pump: Pump = Pump()
        pump.start_stream("run", lambda: run)
        for _ in pump.items(1 / 30):
            pass
        spent = time.process_time() - started
    return run.stats.thinking_tokens, spent / tokens * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1)  # varied words: repeated text would end thinking as a loop
    text = " ".join(f"{rng.choice(WORDS)}{rng.randrange(100)}" for _ in range(600))
    for repeat in range(args.repeats):
        tokens, cpu_us = reader_cpu_us(text)
        print(f"run {repeat + 1}: {tokens} thinking tokens, reader side {cpu_us:.1f} us CPU a token")


if __name__ == "__main__":
    main()
