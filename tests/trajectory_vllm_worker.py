"""Runs a greedy budget x Waits sweep on one in-process vLLM engine (the embedded GGUF, converted),
shared and in separate runs, and prints both sets of records as one JSON line; run by
tests/test_eval_trajectory_vllm.py in the Python that has vLLM. Not a test file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s1app.backends import BackendOptions, create_backend
from s1app.cancel import CancelScope
from s1app.eval.benches import load_bench
from s1app.eval.plan import EvalPlan
from s1app.eval.runner import EngineAsk, RecordsInMemory, execute
from s1app.loading import prepare
from s1app.registry import locate_weights, resolve_model

COMPARED = ("thinking_tokens", "forced_tokens", "waits_inserted", "answer_tokens", "generated_tokens", "extracted",
            "correct", "thinking_end_reason", "shared")


def main() -> None:
    questions, budgets, waits = (int(sys.argv[1]), sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (2, "0,16,32,64", "0,1")
    entry = resolve_model(None)
    backend = create_backend("vllm", locate_weights(entry), entry.name, BackendOptions(context_length=2048))
    loaded = prepare(backend, entry)
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets=budgets, waits=waits, max_answer_tokens=16)
    report = {}
    for name, separate in (("shared", False), ("separate", True)):
        records, scope = RecordsInMemory(plan.settings()), CancelScope()
        execute(records, load_bench("gsm8k", questions), EngineAsk(loaded, 16, scope), parallel=2, scope=scope,
                separate_runs=separate)
        report[name] = {"|".join(record.key): {f: getattr(record, f) for f in COMPARED} for record in records.kept}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
