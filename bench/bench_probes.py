"""Answer probes on llama.cpp: what a shared greedy sweep saves, and what probes cost the run.

(a) a sweep of 11 budgets (0, 100, ..., 1000) on 3 GSM8K questions, answers capped at 64 tokens,
    one question at a time: wall of one shared trajectory per question / wall of one run per
    setting (goal <= 0.35), and whether the 33 records are identical;
(b) one run held to 1024 thinking tokens (min = max = 1024, the loop check off) probed every 64
    tokens: the run's own thinking tokens/s with the probes / without (goal >= 0.85);
(c) ``s1app eval --method budget-forcing --budgets 0,64,128,256,512,1024 --max-answer 64`` on 16
    GSM8K questions, as a person runs it: wall shared / ``--separate-runs`` (goal <= 0.65), and
    whether the two summaries are identical (timings left out).

Each side gets a fresh backend (nothing cached). Ratios come from one run of each side and are
printed, not asserted; ``--quick`` shrinks every size so the script runs in well under a minute
(a smoke test of the script, not a measurement).

    flock -x /tmp/s1app-cpu.lock .venv/bin/python bench/bench_probes.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from s1app.backends import BackendOptions, create_backend
from s1app.budget import BudgetConfig
from s1app.cancel import CancelScope
from s1app.eval.benches import load_bench
from s1app.eval.plan import EvalPlan
from s1app.eval.runner import EngineAsk, RecordsInMemory, execute
from s1app.events import ThinkingDelta, ThinkingEnded
from s1app.loading import prepare
from s1app.loops import LoopSettings
from s1app.probes import ProbeSettings
from s1app.registry import locate_weights, resolve_model
from s1app.session import Session

COMPARED = ("thinking_tokens", "forced_tokens", "waits_inserted", "answer_tokens", "generated_tokens", "extracted",
            "correct", "thinking_end_reason")
FULL = {"a": (3, "0,100,200,300,400,500,600,700,800,900,1000", 64), "b": (1024, 64),
        "c": (16, "0,64,128,256,512,1024", 64)}
QUICK = {"a": (1, "0,16,32", 16), "b": (96, 32), "c": (2, "0,16,32", 16)}


def fresh_model(parallel: int = 4):
    entry = resolve_model(None)
    options = BackendOptions(context_length=4096, parallel=parallel)
    return prepare(create_backend(entry.backend, locate_weights(entry), entry.name, options), entry)


def sweep(questions: int, budgets: str, max_answer: int, separate_runs: bool) -> tuple[float, dict]:
    model = fresh_model()
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets=budgets, max_answer_tokens=max_answer)
    records, scope = RecordsInMemory(plan.settings()), CancelScope()
    started = time.perf_counter()
    execute(records, load_bench("gsm8k", questions), EngineAsk(model, max_answer, scope), parallel=1, scope=scope,
            separate_runs=separate_runs)
    wall_s = time.perf_counter() - started
    model.backend.close()
    return wall_s, {record.key: [getattr(record, f) for f in COMPARED] for record in records.kept}


def thinking_rate(tokens: int, probe_every: int) -> tuple[float, str, str]:
    """Thinking tokens/s of one held run (first thinking token to the end of thinking), its digest,
    and what it held: thinking tokens, how thinking ended, probes and their answer tokens."""
    model = fresh_model()
    question = load_bench("gsm8k", 1).items[0].question
    probes = ProbeSettings(every=probe_every) if probe_every else ProbeSettings()  # default probe tokens
    # The loop check off, as in bench_fork.py: held to min = max, this model repeats itself, and a
    # loop break would end the run long before its 1024 tokens.
    config = BudgetConfig(max_thinking_tokens=tokens, min_thinking_tokens=tokens, max_answer_tokens=16, probes=probes,
                          loop=LoopSettings(enabled=False))
    run = Session(model).ask(question, config)
    first = ended = None
    for event in run:
        if isinstance(event, ThinkingDelta) and first is None:
            first = time.perf_counter()
        if isinstance(event, ThinkingEnded):
            ended = time.perf_counter()
    model.backend.close()
    held = (f"{run.stats.thinking_tokens} thinking tokens ({run.thinking_end_reason}), {len(run.probes)} probes of "
            f"{sum(p.answer_tokens for p in run.probes)} answer tokens")
    return (run.stats.thinking_tokens_sampled - 1) / (ended - first), run.stats.token_ids_sha256, held


def cli_eval(questions: int, budgets: str, max_answer: int, separate_runs: bool) -> tuple[float, list]:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "s1app", "eval", "--bench", "gsm8k", "--limit", str(questions), "--method",
                   "budget-forcing", "--budgets", budgets, "--max-answer", str(max_answer), "--out", out, "--no-log"]
        started = time.perf_counter()
        result = subprocess.run(command + (["--separate-runs"] if separate_runs else []), capture_output=True, text=True,
                                check=False)
        wall_s = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"s1app eval failed:\n{result.stderr[-3000:]}")
        (folder,) = [path for path in Path(out).iterdir() if path.is_dir()]
        methods = json.loads((folder / "summary.json").read_text())["methods"]
    timing = ("seconds_per_correct",)
    return wall_s, [{**m, "points": [{k: v for k, v in p.items() if k not in timing} for p in m["points"]]}
                    for m in methods]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the script runs (< 1 minute)")
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run, e.g. b")
    parser.add_argument("--rounds", type=int, default=3, help="(b): alternated rounds, median taken (one run is noisy)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    for part in args.parts:
        {"a": part_a, "b": lambda size: part_b(size, args.rounds), "c": part_c}[part](sizes[part])


def part_a(size: tuple) -> None:
    questions, budgets, max_answer = size
    shared_s, shared = sweep(questions, budgets, max_answer, separate_runs=False)
    separate_s, separate = sweep(questions, budgets, max_answer, separate_runs=True)
    print(f"(a) sweep of budgets {budgets} on {questions} question(s): shared {shared_s:.1f} s / separate "
          f"{separate_s:.1f} s = {shared_s / separate_s:.2f} (goal <= 0.35); records identical: {shared == separate}")



def part_b(size: tuple, rounds: int) -> None:
    tokens, every = size
    ratios, same = [], True
    for round_number in range(rounds):
        sides = [0, every] if round_number % 2 == 0 else [every, 0]  # neither side always first
        measured = {side: thinking_rate(tokens, side) for side in sides}
        ratios.append(measured[every][0] / measured[0][0])
        same = same and measured[every][1] == measured[0][1]
        print(f"    round {round_number + 1}: {measured[every][0]:.1f} / {measured[0][0]:.1f} tok/s = {ratios[-1]:.2f}"
              f"  (probed: {measured[every][2]})")
    print(f"(b) {tokens} thinking tokens, a probe every {every}: median {statistics.median(ratios):.2f} "
          f"(goal >= 0.85); same tokens: {same}")


def part_c(size: tuple) -> None:
    questions, budgets, max_answer = size
    shared_s, shared_summary = cli_eval(questions, budgets, max_answer, separate_runs=False)
    separate_s, separate_summary = cli_eval(questions, budgets, max_answer, separate_runs=True)
    print(f"(c) s1app eval, budgets {budgets}, {questions} questions: shared {shared_s:.1f} s / separate "
          f"{separate_s:.1f} s = {shared_s / separate_s:.2f} (goal <= 0.65); summaries identical: "
          f"{shared_summary == separate_summary}")


if __name__ == "__main__":
    main()
