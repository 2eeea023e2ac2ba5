"""Per question: the thinking position at which the probed answer first became right and stayed so.

One greedy run per question, held to ``--max-thinking`` tokens (loop detection on, as the app
runs), with a probe every ``--every`` tokens. Each probe is graded against the reference by the
eval grader; the table says, per question, the probes' answers in order, where the answer first
became right for good (— if it never did), and whether the run's own answer was right. Prints a
Markdown table (docs/evaluation.md keeps one).

    .venv/bin/python bench/probe_positions.py [--bench gsm8k] [--limit 30] [--max-thinking 512] [--every 32]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor

from s1app.budget import BudgetConfig
from s1app.eval.benches import load_bench
from s1app.eval.grading import grade
from s1app.loading import load_model
from s1app.probes import ProbeSettings
from s1app.session import Session


def settled_at(positions: list[int], right: list[bool]) -> int | None:
    """The first position from which every probe is right (None: the last one is wrong, or none)."""
    settled = None
    for position, correct in zip(positions, right):
        if not correct:
            settled = None
        elif settled is None:
            settled = position
    return settled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", default="gsm8k")
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--max-thinking", type=int, default=512)
    parser.add_argument("--every", type=int, default=32)
    parser.add_argument("--probe-tokens", type=int, default=48)
    parser.add_argument("--model", default=None)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    bench, model = load_bench(args.bench, args.limit), load_model(args.model)

    def one(item):
        config = BudgetConfig(max_thinking_tokens=args.max_thinking, max_answer_tokens=args.probe_tokens,
                              probes=ProbeSettings(every=args.every, tokens=args.probe_tokens, answer_kind=item.kind))
        run = Session(model).ask(item.question, config).wait()
        right = [bool(grade(p.text, item.reference, item.kind).correct) for p in run.probes]
        return item, run, right

    with ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(one, bench.items))
    print(f"| question | reference | probed answers (every {args.every} tokens) | right for good from | "
          "thinking | run's answer right |")
    print("|---|---:|---|---:|---:|:-:|")
    settled_count = 0
    for item, run, right in results:
        positions = [p.position_tokens for p in run.probes]
        settled = settled_at(positions, right)
        settled_count += settled is not None
        answers = " ".join(f"{p.extracted or '∅'}{'✓' if ok else ''}" for p, ok in zip(run.probes, right)) or "—"
        final = grade(run.answer, item.reference, item.kind).correct
        print(f"| {item.item_id} | {item.reference} | {answers} | {settled if settled is not None else '—'} | "
              f"{run.thinking_tokens} ({run.thinking_end_reason}) | {'✓' if final else '✗'} |")
    print(f"\n{settled_count} of {len(results)} questions: the probed answer became right and stayed so.")


if __name__ == "__main__":
    main()
