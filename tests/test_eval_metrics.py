"""The paper's Control / Scaling / Performance and the per-setting costs, on hand-made records."""

from __future__ import annotations

import pytest

from s1app.eval.metrics import control, performance, scaling, scaling_per_doubling, summarize
from s1app.eval.records import ItemRecord


def record(setting: str, item: str, thinking: int, correct: bool, *, method: str = "budget-forcing",
           maximum: int | None = None, minimum: int | None = None, extracted: str | None = "1",
           generated: int = 10, wall_s: float = 1.0, samples: tuple[int, ...] | None = None) -> ItemRecord:
    return ItemRecord(
        item_id=item, method=method, setting=setting, settings={}, requested_min_tokens=minimum,
        requested_max_tokens=maximum, thinking_tokens=thinking,
        thinking_tokens_per_sample=samples if samples is not None else (thinking,), forced_tokens=0,
        waits_inserted=0, answer_tokens=5, generated_tokens=generated, runs=1, extracted=extracted,
        correct=correct, wall_s=wall_s, started_at="", finished_at="", run_ids=("r",))


def test_control_is_the_share_of_runs_inside_the_requested_range():
    records = [record("a", "1", 100, True, maximum=128), record("a", "2", 200, True, maximum=128),
               record("b", "1", 600, False, minimum=512), record("b", "2", 300, False, minimum=512)]
    assert control(records) == 50.0
    assert control([record("n", "1", 999, True)]) is None  # nothing was requested: no Control


def test_control_counts_each_sample_of_a_vote():
    assert control([record("m", "1", 90, True, maximum=64, samples=(30, 60))]) == 100.0
    assert control([record("m", "1", 90, True, maximum=64, samples=(30, 65))]) == 50.0


def test_scaling_is_the_average_slope_over_all_pairs():
    # slopes: (0,0)-(100,10) = 0.1; (0,0)-(200,10) = 0.05; (100,10)-(200,10) = 0  -> mean 0.05
    assert scaling([(0, 0.0), (100, 10.0), (200, 10.0)]) == pytest.approx(0.05)
    assert scaling([(100, 30.0), (200, 10.0)]) == pytest.approx(-0.2)  # inverse scaling is negative
    assert scaling([(100, 30.0)]) is None
    assert scaling([(100, 30.0), (100, 40.0)]) is None  # no pair with different thinking


def test_scaling_per_doubling_uses_log2_thinking_and_skips_zero():
    # 64 -> 128 -> 256: each doubling +10 points; the 0-token point has no log
    assert scaling_per_doubling([(0, 0.0), (64, 10.0), (128, 20.0), (256, 30.0)]) == pytest.approx(10.0)


def test_performance_is_the_best_accuracy():
    assert performance([(10, 20.0), (20, 56.7), (30, 40.0)]) == 56.7
    assert performance([]) is None


def test_summary_per_setting_and_per_method_with_known_numbers():
    records = [
        record("bf:64", "1", 64, False, maximum=64, extracted=None, generated=80, wall_s=2.0),
        record("bf:64", "2", 60, True, maximum=64, generated=70, wall_s=1.0),
        record("bf:256", "1", 250, True, maximum=256, generated=300, wall_s=3.0),
        record("bf:256", "2", 256, True, maximum=256, generated=300, wall_s=3.0),
        record("rs:64", "1", 65, False, method="rejection-sampling", maximum=64, extracted=None),
        record("rs:64", "2", 40, True, method="rejection-sampling", maximum=64),
    ]
    bf, rs = summarize(records, {"bf:64": "max 64", "bf:256": "max 256", "rs:64": "≤ 64"})
    low, high = bf.points
    assert (low.label, low.items, low.correct, low.accuracy_pct, low.mean_thinking_tokens) == ("max 64", 2, 1, 50.0, 62.0)
    assert low.answerless == 1 and low.control_pct == 100.0
    assert low.generated_tokens_per_correct == 150.0 and low.seconds_per_correct == 3.0
    assert (high.accuracy_pct, high.mean_thinking_tokens) == (100.0, 253.0)
    assert bf.control_pct == 100.0 and bf.performance_pct == 100.0
    assert bf.scaling_pct_per_token == pytest.approx(50.0 / 191.0)
    assert rs.control_pct == 50.0 and rs.scaling_pct_per_token is None


def test_a_setting_with_no_correct_answer_has_no_cost_per_correct():
    (method,) = summarize([record("s", "1", 10, False)])
    assert method.points[0].generated_tokens_per_correct is None
    assert method.points[0].seconds_per_correct is None
