"""The adaptive methods (stable, confident, nowait) as settings, and the tokens they save against
budget forcing at equal or better accuracy. Pure: hand-made records, no model."""

from __future__ import annotations

import pytest

from s1app.errors import ConfigError
from s1app.eval.benches import Item
from s1app.eval.methods import Setting
from s1app.eval.metrics import summarize, tokens_saved
from s1app.eval.plan import EvalPlan
from s1app.eval.records import ItemRecord
from s1app.eval.report import saved_rows, summary_markdown
from s1app.eval.runner import budget_config



def plan(methods: str, budgets: str = "64,256", **options) -> EvalPlan:
    return EvalPlan.from_options(bench="gsm8k", methods=methods, budgets=budgets, **options)


def test_stable_probes_every_n_and_stops_when_k_agree_under_each_budget():
    settings = plan("stable", probe_every=32, stable_k=3).settings()
    assert [(s.max_thinking_tokens, s.requested_max_tokens, s.probe_every, s.stop_when_stable) for s in settings] == [
        (64, 64, 32, 3), (256, 256, 32, 3)]
    assert [s.key for s in settings] == ["stable:max=64:every=32:k=3", "stable:max=256:every=32:k=3"]
    assert all(s.stop_when_confident is None for s in settings)


def test_confident_stops_at_a_probe_at_least_p_confident_under_each_budget():
    (setting,) = plan("deer", "128", confidence=0.75).settings()
    assert (setting.method, setting.max_thinking_tokens, setting.probe_every, setting.stop_when_confident) == (
        "confident", 128, 64, 0.75)
    assert setting.key == "confident:max=128:every=64:p=0.75" and setting.stop_when_stable == 0


def test_nowait_is_budget_forcing_with_the_nowait_suppress_list():
    settings = plan("nowait").settings()
    assert [(s.max_thinking_tokens, s.suppress, s.probe_every) for s in settings] == [
        (64, ("nowait",), 0), (256, ("nowait",), 0)]
    config = budget_config(ITEM, settings[0], max_answer_tokens=32, seed=None)
    assert tuple(config.suppress) == ("nowait",)
    assert Setting.from_json(settings[0].to_json()) == settings[0]


ITEM = Item("q1", "What is 9*2?", "18", "number")


def test_the_probes_extract_answers_as_the_item_is_graded():
    (stable,) = plan("stable", "64").settings()
    for kind in ("number", "math", "integer", "choice"):
        probes = budget_config(Item("q", "?", "1", kind), stable, max_answer_tokens=32, seed=None).probes
        assert (probes.answer_kind, probes.every, probes.stop_when_stable) == (kind, 64, 2)


def test_methods_without_probes_ask_exactly_as_before():
    (bf,) = plan("bf", "64").settings()
    config = budget_config(ITEM, bf, max_answer_tokens=32, seed=7)
    assert not config.probes.enabled and config.probes.answer_kind == "math"  # the default: nothing recorded changes
    assert (config.max_thinking_tokens, config.max_answer_tokens, config.seed) == (64, 32, 7)


def test_a_setting_written_before_the_adaptive_methods_still_loads():
    old = {"method": "budget-forcing", "key": "budget-forcing:max=64:waits=0", "label": "max 64",
           "max_thinking_tokens": 64, "num_waits": 0, "instruction": "", "requested_min_tokens": None,
           "requested_max_tokens": 64, "temperature": 0.0, "policy": "single", "samples": 1, "max_tries": 1}
    setting = Setting.from_json(old)
    assert (setting.probe_every, setting.stop_when_stable, setting.stop_when_confident, setting.suppress) == (
        0, 0, None, ())
    for new in plan("stable,confident", "16,64").settings():
        assert Setting.from_json(new.to_json()) == new


def test_a_plan_written_before_the_adaptive_methods_still_loads():
    data = plan("bf").to_json()
    for name in ("probe_every", "stable_k", "confidence"):
        del data["sweep"][name]
    assert EvalPlan.from_json(data) == plan("bf")
    tuned = plan("stable,confident", probe_every=16, stable_k=3, confidence=0.8)
    assert EvalPlan.from_json(tuned.to_json()) == tuned


@pytest.mark.parametrize(("options", "phrase"), [
    ({"probe_every": 0}, "Probe every must be at least 1"),
    ({"stable_k": 1}, "Stable k must be at least 2"),
    ({"confidence": 1.5}, "Confidence must be a probability"),
    ({"confidence": 0.0}, "Confidence must be a probability"),
])
def test_bad_stopping_rules_are_refused_with_what_to_fix(options, phrase):
    with pytest.raises(ConfigError, match=phrase):
        plan("stable,confident", **options)


def record(setting: str, item: str, thinking: int, correct: bool, method: str = "budget-forcing") -> ItemRecord:
    return ItemRecord(item_id=item, method=method, setting=setting, settings={}, requested_min_tokens=None,
                      requested_max_tokens=None, thinking_tokens=thinking, thinking_tokens_per_sample=(thinking,),
                      forced_tokens=0, waits_inserted=0, answer_tokens=5, generated_tokens=thinking + 5, runs=1,
                      extracted="1", correct=correct, wall_s=1.0, started_at="", finished_at="", run_ids=("r",))


def setting_records(setting: str, thinking: list[int], correct: list[bool], method: str = "budget-forcing"):
    return [record(setting, f"q{n}", t, c, method) for n, (t, c) in enumerate(zip(thinking, correct))]


BF = {  # accuracy 0 / 50 / 75 / 100 %, average thinking 0 / 60 / 200 / 400
    "bf:0": setting_records("bf:0", [0, 0, 0, 0], [False] * 4),
    "bf:64": setting_records("bf:64", [60] * 4, [True, True, False, False]),
    "bf:256": setting_records("bf:256", [200] * 4, [True, True, True, False]),
    "bf:1024": setting_records("bf:1024", [400] * 4, [True] * 4),
}


def test_an_adaptive_setting_is_measured_against_the_cheapest_forcing_at_the_accuracy_it_matches():
    stable = setting_records("stable:1024", [100, 100, 200, 100], [True, True, True, False], "stable")  # 75 %, 125
    saved = tokens_saved(stable, BF.values())
    assert saved.matched == ("bf:0", "bf:64", "bf:256") and saved.against == "bf:256"
    assert (saved.accuracy_pct, saved.against_accuracy_pct) == (75.0, 75.0)
    assert (saved.mean_thinking_tokens, saved.against_mean_thinking_tokens) == (125.0, 200.0)
    assert saved.saved_pct == pytest.approx(37.5) and saved.items == 4


def test_ties_in_accuracy_go_to_the_cheaper_forcing_and_thinking_more_saves_a_negative_share():
    same = {"bf:a": setting_records("bf:a", [300] * 2, [True, False]),
            "bf:b": setting_records("bf:b", [100] * 2, [True, False])}
    stable = setting_records("stable", [150, 150], [False, True], "stable")
    saved = tokens_saved(stable, same.values())
    assert saved.against == "bf:b" and saved.saved_pct == pytest.approx(-50.0)


def test_matching_only_forcing_that_thought_nothing_leaves_nothing_to_save():
    stable = setting_records("stable", [50] * 4, [False] * 4, "stable")
    saved = tokens_saved(stable, BF.values())
    assert saved.matched == ("bf:0",) and saved.against == "bf:0" and saved.saved_pct is None


def test_an_adaptive_setting_below_every_forcing_matches_none():
    saved = tokens_saved(setting_records("stable", [10] * 2, [False] * 2, "stable"),
                         [setting_records("bf:64", [60] * 2, [True, False])])
    assert (saved.matched, saved.against, saved.saved_pct, saved.items) == ((), None, None, 0)


def test_pairs_are_compared_over_the_questions_both_finished():
    stable = setting_records("stable", [100, 100], [True, False], "stable")  # q0, q1 only (a run still going)
    saved = tokens_saved(stable, [BF["bf:1024"]])  # 4 questions, all right; on q0 and q1: 100 %
    assert saved.matched == ()
    saved = tokens_saved(stable, [BF["bf:64"]])  # on q0 and q1: 100 % vs stable's 50 %: no match either
    assert saved.matched == ()
    saved = tokens_saved(stable, [BF["bf:256"][2:]])  # q2, q3 only: no question in common
    assert saved.matched == () and saved.items == 0


def test_the_summary_reports_tokens_saved_for_adaptive_methods_only():
    stable = setting_records("stable:1024", [100, 100, 200, 100], [True, True, True, False], "stable")
    labels = {"bf:0": "max 0", "bf:64": "max 64", "bf:256": "max 256", "bf:1024": "max 1024",
              "stable:1024": "max 1024, 2 agree"}
    methods = summarize([r for group in BF.values() for r in group] + stable, labels)
    bf, adaptive = methods
    assert bf.tokens_saved == () and [s.setting for s in adaptive.tokens_saved] == ["stable:1024"]
    assert saved_rows(methods) == [["stable", "max 1024, 2 agree", "75.0", "125.0", "max 0, max 64, max 256",
                                    "max 256", "75.0", "200.0", "+37.5"]]
    markdown = summary_markdown(methods, "t")
    assert "equal or better accuracy" in markdown and "| +37.5 |" in markdown
    assert "equal or better accuracy" not in summary_markdown([bf], "t")
