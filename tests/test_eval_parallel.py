"""Running items at once changes nothing but speed: each run gets exactly the tokens it gets alone
(greedy), and each keeps its own budget and Waits. On the real embedded model."""

from __future__ import annotations

import threading

import pytest
from build_support import portable_cpu_build_only

from s1app.budget import BudgetConfig
from s1app.cancel import CancelScope
from s1app.eval.harness import new_job, run_job
from s1app.eval.plan import EvalPlan
from s1app.session import Session

QUESTIONS = ["Is 17 prime?", "What is 12 times 12?", "Name a color.", "How many legs does a spider have?"]
CONFIGS = [BudgetConfig(max_thinking_tokens=8, max_answer_tokens=12),
           BudgetConfig(max_thinking_tokens=40, num_waits=2, max_answer_tokens=12),
           BudgetConfig(max_thinking_tokens=24, max_answer_tokens=12),
           BudgetConfig(max_thinking_tokens=60, num_waits=1, max_answer_tokens=12)]


def transcript_of(model, question: str, config: BudgetConfig) -> dict:
    run = Session(model).ask(question, config).wait()
    stats = run.stats
    return {"thinking": run.thinking, "answer": run.answer, "thinking_tokens": stats.thinking_tokens,
            "waits": stats.waits_inserted, "forced": stats.forced_tokens, "end": stats.thinking_end_reason}


@pytest.mark.slow
@portable_cpu_build_only
def test_concurrent_runs_get_exactly_the_tokens_they_get_alone_and_keep_their_own_budgets(model):
    alone = [transcript_of(model, q, c) for q, c in zip(QUESTIONS, CONFIGS)]
    together: list[dict | None] = [None] * len(QUESTIONS)

    def run(index: int) -> None:
        together[index] = transcript_of(model, QUESTIONS[index], CONFIGS[index])

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(QUESTIONS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert together == alone
    for result, config in zip(together, CONFIGS):
        assert result["thinking_tokens"] <= config.max_thinking_tokens
        assert result["waits"] <= config.num_waits
        if result["end"] == "budget":
            assert result["thinking_tokens"] == config.max_thinking_tokens


@pytest.mark.slow
def test_an_eval_with_parallel_items_grades_the_same_as_one_at_a_time(model, tmp_path):
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets="8,32", limit=3, max_answer_tokens=16)
    results = []
    for parallel in (1, 3):
        job = new_job(plan, tmp_path / f"p{parallel}", loader=lambda spec, backend=None: model)
        run_job(job, parallel=parallel, scope=CancelScope())
        results.append({r.key: (r.thinking_tokens, r.forced_tokens, r.answer_tokens, r.extracted, r.correct)
                        for r in job.rundir.records()})
    assert len(results[0]) == 6 and results[0] == results[1]
