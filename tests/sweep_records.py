"""Test-only: one eval plan's item records, from shared trajectories or separate runs, for the
sweep-equality tests on llama.cpp (test_eval_trajectory.py) and vLLM (vllm_worker.py)."""

from __future__ import annotations

from s1app.cancel import CancelScope
from s1app.eval.benches import load_bench
from s1app.eval.plan import EvalPlan
from s1app.eval.runner import EngineAsk, RecordsInMemory, execute

COMPARED = ("thinking_tokens", "forced_tokens", "waits_inserted", "answer_tokens", "generated_tokens", "extracted",
            "correct", "thinking_end_reason")
"""What a shared sweep's record must share with the separate run's."""


def sweep_records(model, plan: EvalPlan, *, separate_runs: bool, limit: int, parallel: int) -> dict:
    """The first ``limit`` GSM8K questions under ``plan``: record key -> item record."""
    records, scope = RecordsInMemory(plan.settings()), CancelScope()
    execute(records, load_bench("gsm8k", limit), EngineAsk(model, plan.max_answer_tokens, scope), parallel=parallel,
            scope=scope, separate_runs=separate_runs)
    return {record.key: record for record in records.kept}
