"""Select N training questions from a pool the s1 paper's way, seeded and reproducible.

    python -m training.curate POOL --n 1000 --out selection.jsonl [--seed 0] \\
        [--eval-file math500.jsonl ...] [--reference-model NAME ...] [--classifier heuristic]
    s1app curate ...                                                   # the same

Stages, each dropping rows and counting them in the report:

1. quality: a missing question or trace; formatting artifacts (Asymptote ``[asy]`` figures,
   image references) the model could never see;
2. decontamination: an 8-gram shared with an eval question (``--eval-file``);
3. difficulty: rows a reference model answers correctly (``--reference-model``, through the
   app's engine and grading; rows without a gradable reference answer, such as proofs, stay);
   longer traces (counted with the tokenizer) rank harder;
4. diversity: a domain per row (pluggable ``--classifier``); domains are drawn uniformly, and
   within a domain a question of trace-length rank r (0 = longest) with weight 2^-r.

The reference notebooks were not reproducible; here the same pool and seed give the same rows.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from s1app.errors import S1AppError
from training.data import load_rows
from training.decontaminate import Decontaminator, questions_in_files
from training.difficulty import Solver, reference_solver
from training.domains import Classifier, heuristic_domain, load_classifier
from training.pool import has_failed_trajectory, question_of, reference_answer_of, trace_of

ARTIFACTS: dict[str, re.Pattern[str]] = {
    "asymptote figure": re.compile(r"\[asy\]", re.IGNORECASE),
    "image reference": re.compile(r"!\[[^\]]*\]\(|<img\b|\\includegraphics|\b[\w-]+\.(?:png|jpe?g|gif|svg)\b", re.IGNORECASE),
}


def quality_problem(row: dict[str, Any]) -> str | None:
    """Why the row is unusable ("missing question", "asymptote figure", ...), or None."""
    if not question_of(row).strip():
        return "missing question"
    if has_failed_trajectory(row) or not trace_of(row).strip():
        return "missing trace"
    for name, pattern in ARTIFACTS.items():
        if pattern.search(question_of(row)) or pattern.search(trace_of(row)):
            return name
    return None


def pick_rank(rng: random.Random, count: int) -> int:
    """A rank in [0, count) drawn with probability proportional to 2^-rank (exactly, in O(1))."""
    u = rng.random() * (1.0 - 2.0 ** -count)
    return min(count - 1, int(-math.log2(1.0 - u)))


def select_diverse(domains: list[str], lengths: list[int], n: int, seed: int) -> list[int]:
    """Indices of up to ``n`` rows: a uniformly drawn domain, then a 2^-rank pick by trace length."""
    rng = random.Random(seed)
    by_domain: dict[str, list[int]] = {}
    for index, domain in enumerate(domains):
        by_domain.setdefault(domain, []).append(index)
    for indices in by_domain.values():
        indices.sort(key=lambda index: (-lengths[index], index))  # rank 0 = longest trace
    chosen: list[int] = []
    open_domains = sorted(by_domain)
    while len(chosen) < n and open_domains:
        domain = rng.choice(open_domains)
        candidates = by_domain[domain]
        chosen.append(candidates.pop(pick_rank(rng, len(candidates))))
        if not candidates:
            open_domains.remove(domain)
    return chosen


@dataclass
class CurationReport:
    pool: int
    seed: int
    dropped: dict[str, int] = field(default_factory=dict)
    """Rows each stage removed: quality reasons, decontamination, difficulty."""
    examples: dict[str, list[str]] = field(default_factory=dict)
    """Up to three question openings per drop reason, to check a filter by eye."""
    domains_in_pool: dict[str, int] = field(default_factory=dict)
    """Domains of the rows that survived the filters."""
    domains_selected: dict[str, int] = field(default_factory=dict)
    selected: int = 0

    def drop(self, reason: str, row: dict[str, Any]) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(question_of(row)[:80])


def curate(rows: list[dict[str, Any]], n: int, *, seed: int = 0, decontaminator: Decontaminator | None = None,
           solver: Solver | None = None, count_tokens: Callable[[str], int] | None = None,
           classify: Classifier = heuristic_domain) -> tuple[list[dict[str, Any]], CurationReport]:
    """The selected rows (unchanged, in selection order) and what each stage did."""
    report = CurationReport(pool=len(rows), seed=seed)
    survivors: list[dict[str, Any]] = []
    for row in rows:
        reason = quality_problem(row)
        if reason is None and decontaminator is not None and decontaminator.overlap(question_of(row)):
            reason = "decontamination (8-gram overlap with an eval set)"
        reference = reference_answer_of(row) if solver is not None else ""
        if reason is None and reference and solver(question_of(row), reference):
            reason = "difficulty (a reference model answers it)"
        if reason is None:
            survivors.append(row)
        else:
            report.drop(reason, row)
    count = count_tokens or (lambda text: len(text.split()))
    domains = [classify(row) for row in survivors]
    chosen = select_diverse(domains, [count(trace_of(row)) for row in survivors], n, seed)
    report.domains_in_pool = dict(Counter(domains).most_common())
    report.domains_selected = dict(Counter(domains[index] for index in chosen).most_common())
    report.selected = len(chosen)
    return [survivors[index] for index in chosen], report


def _token_counter(model: str | None) -> Callable[[str], int]:
    """Token counts with a model's tokenizer through the app's backend (default: the embedded model)."""
    from s1app.loading import load_model

    backend = load_model(model).backend
    return lambda text: len(backend.tokenize(text))


def run(pool: str, n: int, out: str, *, seed: int = 0, eval_files: list[str] | None = None,
        reference_models: list[str] | None = None, classifier: str | None = None, tokenizer: str | None = None,
        max_thinking_tokens: int = 512) -> CurationReport:
    """Read the pool, curate, write the selection (.jsonl) and ``<out>.report.json``."""
    rows = load_rows(pool)
    solvers = [reference_solver(model, max_thinking_tokens=max_thinking_tokens) for model in reference_models or []]
    solver = (lambda question, reference: any(solve(question, reference) for solve in solvers)) if solvers else None
    decontaminator = Decontaminator(questions_in_files(eval_files)) if eval_files else None
    selected, report = curate(rows, n, seed=seed, decontaminator=decontaminator, solver=solver,
                              count_tokens=_token_counter(tokenizer), classify=load_classifier(classifier))
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in selected), encoding="utf-8")
    notes = {"eval_files": eval_files or [], "reference_models": reference_models or [],
             "decontaminated": bool(eval_files), "difficulty_filtered": bool(reference_models)}
    out_path.with_suffix(".report.json").write_text(json.dumps({**asdict(report), **notes}, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training.curate", description="Select N questions from a pool (s1's recipe).")
    parser.add_argument("pool", help=".json/.jsonl/.parquet pool, or a hub dataset name")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--out", required=True, help="selection .jsonl (a .report.json is written beside it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-file", action="append", help="eval questions to decontaminate against (repeatable)")
    parser.add_argument("--reference-model", action="append", help="drop questions this model solves (repeatable)")
    parser.add_argument("--classifier", help="heuristic (default), column:NAME, or module:function")
    parser.add_argument("--tokenizer", help="model whose tokenizer counts trace length (default: the embedded model)")
    args = parser.parse_args(argv)
    try:
        report = run(args.pool, args.n, args.out, seed=args.seed, eval_files=args.eval_file,
                     reference_models=args.reference_model, classifier=args.classifier, tokenizer=args.tokenizer)
    except S1AppError as failure:
        print(f"Error: {failure}", file=sys.stderr)
        return 2
    print(f"selected {report.selected} of {report.pool}; dropped {report.dropped}; domains {report.domains_selected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
