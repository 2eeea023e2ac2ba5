"""The paper's methods as settings and policies, checked against a scripted Ask (no model needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from s1app.errors import ConfigError
from s1app.eval.benches import Item
from s1app.eval.methods import Setting, resolve_methods
from s1app.eval.outcome import RunOutcome
from s1app.eval.plan import EvalPlan
from s1app.eval.policies import run_item, sample_seed
from s1app.eval.metrics import summarize
from s1app.eval.prompts import LONG_THINKING, SHORT_THINKING


def plan(methods: str, budgets: str = "0,64,256", **options) -> EvalPlan:
    return EvalPlan.from_options(bench="gsm8k", methods=methods, budgets=budgets, **options)


def test_budget_forcing_caps_at_each_budget_times_each_wait_count():
    settings = plan("bf", "64,256", waits="0,2").settings()
    assert [(s.max_thinking_tokens, s.num_waits, s.requested_max_tokens) for s in settings] == [
        (64, 0, 64), (256, 0, 256), (64, 2, 64), (256, 2, 256)]
    assert len({s.key for s in settings}) == 4


def test_token_conditional_asks_in_the_prompt_and_caps_only_with_bf():
    free, forced = plan("tcc", "128").settings(), plan("tcc+bf", "128", ceiling_tokens=999).settings()
    assert free[0].instruction == forced[0].instruction == "Think for up to 128 tokens."
    assert free[0].max_thinking_tokens is None and forced[0].max_thinking_tokens == 128
    assert plan("tcc", "128", ceiling_tokens=999).settings()[0].max_thinking_tokens == 999


def test_step_conditional_asks_for_whole_steps_of_about_100_tokens():
    settings = plan("scc", "0,64,100,256", ceiling_tokens=999).settings()
    assert [s.instruction for s in settings] == [
        "Think for up to 0 steps.", "Think for up to 1 steps.", "Think for up to 3 steps."]  # 64 and 100: 1 step
    assert [(s.requested_max_tokens, s.max_thinking_tokens) for s in settings] == [(0, 999), (100, 999), (300, 999)]


def test_step_conditional_with_budget_forcing_caps_at_the_steps_tokens():
    settings = plan("scc+bf", "16,256").settings()
    assert [(s.instruction, s.max_thinking_tokens, s.requested_max_tokens) for s in settings] == [
        ("Think for up to 1 steps.", 100, 100), ("Think for up to 3 steps.", 300, 300)]
    assert [s.label for s in settings] == ["asked ≤ 1 steps, max 100", "asked ≤ 3 steps, max 300"]


def test_step_conditional_control_counts_runs_within_the_steps_tokens():
    """Hand-made runs: asked for 1 step (<= 100 tokens) the model thought 80 and 150; asked for 3, 290 and 310."""
    one, three = plan("scc", "100,300").settings()
    script = ScriptedAsk([(80, "Answer: 18"), (150, "Answer: 17"), (290, "Answer: 18"), (310, "Answer: 18")])
    records = [run_item(ITEM, setting, script) for setting in (one, one, three, three)]
    (summary,) = summarize(records, {one.key: one.label, three.key: three.label})
    assert summary.method == "step-conditional" and summary.control_pct == 50.0
    assert [(p.label, p.accuracy_pct, p.mean_thinking_tokens) for p in summary.points] == [
        ("asked ≤ 1 steps", 50.0, 115.0), ("asked ≤ 3 steps", 100.0, 300.0)]
    assert summary.performance_pct == 100.0 and summary.scaling_pct_per_token == pytest.approx(50 / 185)


def test_step_conditional_with_budget_forcing_is_always_in_range():
    (setting,) = plan("scc+bf", "200").settings()
    records = [run_item(ITEM, setting, ScriptedAsk([(tokens, "Answer: 18")])) for tokens in (200, 120, 0)]
    (summary,) = summarize(records)
    assert summary.control_pct == 100.0 and summary.method == "step-conditional+bf"


def test_class_conditional_has_a_short_and_a_long_prompt():
    short, long = plan("ccc", "128,512").settings()
    assert (short.instruction, short.requested_max_tokens) == (SHORT_THINKING, 128)
    assert (long.instruction, long.requested_min_tokens) == (LONG_THINKING, 512)


def test_no_intervention_is_one_point_with_nothing_requested():
    (setting,) = plan("none").settings()
    assert setting.max_thinking_tokens is None and setting.requested_max_tokens is None


def test_sampling_methods_run_at_temperature_one():
    rs = plan("rs", "64", max_tries=3).settings()[0]
    assert (rs.temperature, rs.max_tries, rs.policy) == (1.0, 3, "rejection")
    votes = plan("majority", "64", votes="1,4").settings()
    assert [(s.samples, s.policy, s.temperature) for s in votes] == [(1, "majority", 1.0), (4, "majority", 1.0)]


def test_method_names_and_aliases_resolve_in_order_without_duplicates():
    assert resolve_methods("bf, rs,budget-forcing") == ("budget-forcing", "rejection-sampling")
    assert resolve_methods("scc,scc+bf") == ("step-conditional", "step-conditional+bf")
    with pytest.raises(ConfigError, match="Unknown method 'beam'"):
        resolve_methods("bf,beam")


@pytest.mark.parametrize(("options", "phrase"), [
    ({"budgets": "0,1.5"}, "'1.5' is not one"),
    ({"budgets": "64,-1"}, "at least 0"),
    ({"budgets": " , "}, "Budgets is empty"),
    ({"waits": "one"}, "Waits must be whole numbers"),
    ({"votes": "0"}, "Votes must be at least 1"),
    ({"limit": 0}, "Limit must be at least 1"),
    ({"max_answer_tokens": 0}, "Max answer tokens must be at least 1"),
    ({"budgets": ",".join(str(b) for b in range(300))}, "at most 200"),
])
def test_bad_sweeps_are_refused_with_what_to_fix(options, phrase):
    with pytest.raises(ConfigError, match=phrase):
        EvalPlan.from_options(bench="gsm8k", methods="bf", **{"budgets": "64", **options})


def test_a_plan_survives_its_manifest():
    original = plan("bf,rs,majority", "0,64", waits="0,1", votes="2", max_tries=4, limit=5, ceiling_tokens=512)
    assert EvalPlan.from_json(original.to_json()) == original


@dataclass
class ScriptedAsk:
    """Answers from a script: each call pops (thinking tokens, answer text)."""

    script: list[tuple[int, str]]
    calls: list[dict] = field(default_factory=list)

    def __call__(self, item, setting, *, seed=None, stop_above_thinking_tokens=None) -> RunOutcome:
        thinking, answer = self.script.pop(0)
        self.calls.append({"seed": seed, "stop": stop_above_thinking_tokens})
        stopped = stop_above_thinking_tokens is not None and thinking > stop_above_thinking_tokens
        return RunOutcome(f"run{len(self.calls)}", "" if stopped else answer, thinking, 3, 0, 5,
                          thinking + 5, "model", "cancelled" if stopped else "end-of-answer", 0.5,
                          stopped_early=stopped)


ITEM = Item("q1", "What is 9*2?", "18", "number")


def test_rejection_sampling_keeps_the_first_try_that_fits_and_counts_every_try():
    setting = plan("rs", "64", max_tries=5).settings()[0]
    ask = ScriptedAsk([(200, "Final Answer: 17"), (90, "Final Answer: 17"), (40, "Final Answer: 18")])
    record = run_item(ITEM, setting, ask)
    assert (record.correct, record.extracted, record.accepted, record.runs) == (True, "18", True, 3)
    assert record.thinking_tokens == 40 and record.thinking_tokens_per_sample == (40,)
    assert record.generated_tokens == 205 + 95 + 45 and record.run_ids == ("run1", "run2", "run3")
    assert [c["stop"] for c in ask.calls] == [64, 64, 64]
    assert len({c["seed"] for c in ask.calls}) == 3  # a different, fixed sample each try


def test_rejection_sampling_with_no_try_that_fits_has_no_answer_and_is_out_of_range():
    setting = plan("rs", "64", max_tries=2).settings()[0]
    record = run_item(ITEM, setting, ScriptedAsk([(65, "18"), (70, "18")]))
    assert (record.correct, record.extracted, record.accepted, record.runs) == (False, None, False, 2)
    assert record.thinking_tokens_per_sample == (70,) and record.requested_max_tokens == 64


def test_majority_voting_votes_over_k_samples_and_counts_their_thinking():
    setting = plan("majority", "64", votes="3").settings()[0]
    record = run_item(ITEM, setting, ScriptedAsk([(60, "Answer: 18"), (50, "Answer: 17"), (40, "Answer: 18")]))
    assert (record.extracted, record.correct, record.thinking_tokens) == ("18", True, 150)
    assert record.thinking_tokens_per_sample == (60, 50, 40)


def test_greedy_settings_get_no_seed_and_sampled_ones_a_fixed_seed():
    ask = ScriptedAsk([(10, "Answer: 18")])
    run_item(ITEM, plan("bf", "64").settings()[0], ask)
    assert ask.calls[0]["seed"] is None
    assert sample_seed("q1", "rs:64", 0) == sample_seed("q1", "rs:64", 0) != sample_seed("q1", "rs:64", 1)


def test_the_item_record_holds_no_question_text():
    record = run_item(ITEM, plan("bf", "64").settings()[0], ScriptedAsk([(10, "Final Answer: 18")]))
    assert "9*2" not in str(record.to_json())


def test_settings_round_trip_through_json():
    for setting in plan("bf,tcc,scc,scc+bf,ccc,rs,majority", "16,64").settings():
        assert Setting.from_json(setting.to_json()) == setting
