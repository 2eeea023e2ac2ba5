"""Measure what training bought, with the app's own engine: does the model use the s1 format?

    python -m training.measure --model NAME --label trained [--max-thinking N] [--waits K] \\
        [--questions training/data/heldout-gsm8k-test-50.jsonl] --out docs/training/NAME.json

Each question runs through ``Session.ask`` (greedy). Per run it records how thinking ended (the
engine's ThinkingEnded says): by the model itself with the s1 delimiter (``<|im_start|>``, the
start of ``<|im_start|>answer``), by the model ending its turn inside thinking (``<|im_end|>``:
an instruct model that never learned to close thinking), by the budget, or by a loop; then whether the answer ended on its
own, how many thinking tokens, and whether the answer is right (``s1app.eval.grading``).
"Uses the s1 format" = closed thinking with the delimiter, then answered and ended the answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from s1app.budget import BudgetConfig
from s1app.eval.grading import grade
from s1app.loading import LoadedModel, load_model
from s1app.session import Session
from training.data import load_rows

DEFAULT_QUESTIONS = "training/data/heldout-gsm8k-test-50.jsonl"


@dataclass
class RunRecord:
    question: str
    reference: str
    thinking_end: str
    """delimiter | end-of-turn | budget | loop | other"""
    stop_reason: str
    thinking_tokens: int
    waits_inserted: int
    answer: str
    extracted: str | None
    correct: bool

    @property
    def s1_format(self) -> bool:
        return self.thinking_end == "delimiter" and self.stop_reason == "end-of-answer"


def measure_one(model: LoadedModel, question: str, reference: str, config: BudgetConfig) -> RunRecord:
    run = Session(model).ask(question, config).wait()
    stats = run.stats
    assert stats is not None
    reason = stats.thinking_end_reason
    if reason == "model" and stats.waits_inserted == 0:
        thinking_end = run.thinking_closed_by or "other"
    else:
        thinking_end = {"model": "model (after Waits)", "budget": "budget", "loop": "loop"}.get(reason, "other")
    graded = grade(run.answer, reference)
    return RunRecord(question, reference, thinking_end, stats.stop_reason, stats.thinking_tokens,
                     stats.waits_inserted, run.answer, graded.extracted, bool(graded.correct))


def summarize(records: list[RunRecord]) -> dict[str, Any]:
    count = len(records)
    return {
        "runs": count,
        "s1_format_share": sum(record.s1_format for record in records) / count,
        "thinking_end": dict(Counter(record.thinking_end for record in records)),
        "mean_thinking_tokens": statistics.mean(record.thinking_tokens for record in records),
        "mean_waits": statistics.mean(record.waits_inserted for record in records),
        "answer_ended_share": sum(record.stop_reason == "end-of-answer" for record in records) / count,
        "accuracy": sum(record.correct for record in records) / count,
    }


def measure(model_spec: str, config: BudgetConfig, questions_file: str) -> tuple[dict[str, Any], list[RunRecord]]:
    loaded = load_model(model_spec, format="s1")
    records: list[RunRecord] = []
    for number, row in enumerate(load_rows(questions_file), 1):
        records.append(measure_one(loaded, row["question"], str(row["answer"]), config))
        last = records[-1]
        print(f"{number}: thinking {last.thinking_tokens} tokens, ended by {last.thinking_end}, correct {last.correct}",
              file=sys.stderr, flush=True)
    return summarize(records), records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training.measure", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--questions", default=DEFAULT_QUESTIONS)
    parser.add_argument("--max-thinking", type=int, default=1024, help="cap (a safety limit when measuring without forcing)")
    parser.add_argument("--waits", type=int, default=0)
    parser.add_argument("--max-answer", type=int, default=128)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    config = BudgetConfig(max_thinking_tokens=args.max_thinking, num_waits=args.waits, max_answer_tokens=args.max_answer)
    summary, records = measure(args.model, config, args.questions)
    result = {"label": args.label, "model": args.model, "settings": {"max_thinking_tokens": args.max_thinking,
              "waits": args.waits, "max_answer_tokens": args.max_answer}, "summary": summary,
              "runs": [{**asdict(record), "s1_format": record.s1_format} for record in records]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({"label": args.label, **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
