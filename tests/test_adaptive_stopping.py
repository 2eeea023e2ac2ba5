"""The stopping rules (stable, confident) on the real model, its probes' answers scripted.

The real SmolLM2 thinks (steered so that it never ends thinking on its own, see
steered_backends.ScriptedProbes); each answer probe answers a scripted text at a scripted
probability. So where a rule must stop is known: the test asserts the engine stops exactly there,
with the probe's answer as the run's, and that the hard budget still caps when no rule fires.
"""

from __future__ import annotations

import json

import pytest
from steered_backends import probed_model

from s1app.budget import BudgetConfig
from s1app.cancel import CancelScope
from s1app.eval.benches import load_bench
from s1app.eval.metrics import summarize
from s1app.eval.plan import EvalPlan
from s1app.eval.runner import EngineAsk, RecordsInMemory, execute
from s1app.loops import LoopSettings
from s1app.probes import ProbeSettings
from s1app.run import Run
from s1app.session import Session

QUESTION = "What is 12 times 7?"
NO_LOOP_CHECK = LoopSettings(enabled=False)



def ask(model, answers, *, budget: int, **rule):
    steered = probed_model(model, answers)
    config = BudgetConfig(max_thinking_tokens=budget, max_answer_tokens=16, loop=NO_LOOP_CHECK,
                          probes=ProbeSettings(every=16, answer_kind="number", **rule))
    return Session(steered).ask(QUESTION, config).wait(), steered.backend


@pytest.mark.slow
def test_stable_ends_thinking_at_the_probe_that_agrees_with_the_one_before(model):
    run, backend = ask(model, [(" 3", 0.5), (" 5", 0.5), (" 8", 0.5), (" 8", 0.5), (" 8", 0.5)],
                       budget=128, stop_when_stable=2)
    assert [p.position_tokens for p in run.probes] == [16, 32, 48, 64]
    assert [p.extracted for p in run.probes] == ["3", "5", "8", "8"]
    assert run.thinking_end_reason == "stable" and run.thinking_tokens == 64
    assert run.answer == run.probes[-1].text == "Final Answer: 8"
    assert run.stats.stop_reason == "end-of-answer"
    assert len(backend.answers) == 1  # no probe after the stop


def test_stable_needs_k_probes_in_a_row(model):
    run, _ = ask(model, [(" 3", 0.5), (" 8", 0.5), (" 5", 0.5), (" 8", 0.5), (" 8", 0.5), (" 8", 0.5)],
                 budget=128, stop_when_stable=3)
    assert run.thinking_end_reason == "stable" and run.thinking_tokens == 96  # probes 4, 5, 6 agree
    assert run.answer == run.probes[-1].text == "Final Answer: 8"


def test_confident_ends_thinking_at_the_first_probe_at_least_p_confident(model):
    # the second probe is sure of itself but gives no answer: that never stops thinking
    answers = [(" 3", 0.5), (" no idea", 0.99), (" 5", 0.8), (" 8", 0.95), (" 8", 0.99)]
    run, backend = ask(model, answers, budget=128, stop_when_confident=0.9)
    assert [p.confidence for p in run.probes] == pytest.approx([0.5, None, 0.8, 0.95])
    assert run.thinking_end_reason == "confident" and run.thinking_tokens == 64
    assert run.answer == run.probes[-1].text == "Final Answer: 8"
    assert len(backend.answers) == 1


@pytest.mark.parametrize("rule", [{"stop_when_stable": 2}, {"stop_when_confident": 0.9}])
def test_the_budget_still_caps_when_no_rule_fires(model, rule):
    run, _ = ask(model, [(" 3", 0.5), (" 5", 0.5), (" 8", 0.5)], budget=64, **rule)
    assert [p.position_tokens for p in run.probes] == [16, 32, 48]  # none at the cap itself
    assert run.thinking_end_reason == "budget" and run.thinking_tokens == 64
    assert run.answer.startswith("Final Answer:") and run.answer not in {p.text for p in run.probes}
    assert run.stats.answer_tokens_sampled >= 1  # the model answered, after its budget


@pytest.mark.slow
def test_an_eval_of_the_adaptive_methods_on_two_gsm8k_questions(model):
    """The real model, unsteered: every adaptive run probes every 16 tokens under its ceiling,
    extracts as GSM8K is graded (numbers), and a run a rule stopped is graded on its probe's answer."""
    methods = "stable,confident,bf,nowait"
    plan = EvalPlan.from_options(bench="gsm8k", methods=methods, budgets="32,64", limit=2, max_answer_tokens=32,
                                 probe_every=16, confidence=0.05)
    started: list[Run] = []
    scope = CancelScope()
    ask = EngineAsk(model, plan.max_answer_tokens, scope, on_run=started.append)
    records = RecordsInMemory(plan.settings())
    result = execute(records, load_bench("gsm8k", 2), ask, parallel=1, scope=scope)
    assert result.written == 2 * len(plan.settings()) and not result.cancelled
    runs = {run.run_id: run for run in started}
    stopped = []
    for record in records.records():
        (run,) = (runs[run_id] for run_id in record.run_ids)
        probes = run.started.settings["probes"]
        if record.method in ("stable", "confident"):
            assert probes["answer_kind"] == "number" and probes["every"] == 16
            assert {p.position_tokens for p in run.probes} <= set(range(16, record.settings["max_thinking_tokens"], 16))
            assert run.thinking_tokens <= record.settings["max_thinking_tokens"]
        else:
            assert not any(probes[rule] for rule in ("every", "stop_when_stable"))  # no stopping rule
            # budget forcing reads its budgets off one shared trajectory: probes only at its budgets
            assert {p.position_tokens for p in run.probes} <= set(plan.sweep.budgets)
        if record.method == "nowait":
            assert tuple(run.started.settings["suppress"]) == ("nowait",)
        if run.thinking_end_reason in ("stable", "confident"):
            stopped.append(record.method)
            probe = run.probes[-1]  # the run's answer is the probe's, continued if the probe stopped at its cap
            assert run.answer.startswith(probe.text) and (run.answer == probe.text) == (probe.stop_reason != "answer-limit")
            assert run.thinking_tokens == run.probes[-1].position_tokens
    assert "confident" in stopped  # at p = 0.05 the first probe with a number ends thinking
    labels = {setting.key: setting.label for setting in plan.settings()}
    summary = {m.method: m for m in summarize(records.records(), labels)}
    assert summary["stable"].control_pct == summary["confident"].control_pct == 100.0
    bf_keys = {s.key for s in plan.settings() if s.method == "budget-forcing"}
    for saved in summary["stable"].tokens_saved + summary["confident"].tokens_saved:
        assert set(saved.matched) <= bf_keys and (saved.against is None) == (saved.matched == ())


@pytest.mark.slow
def test_the_eval_command_runs_adaptive_methods_and_reports_tokens_saved(tmp_path, s1app):
    result = s1app("eval", "--bench", "gsm8k", "--limit", "1", "--method", "confident,bf", "--budgets", "16,32",
                   "--probe-every", "8", "--confidence", "0.05", "--max-answer", "16", "--out", str(tmp_path), "--no-log")
    assert result.returncode == 0, result.stderr
    (folder,) = [path for path in tmp_path.iterdir() if path.is_dir()]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["plan"]["sweep"]["probe_every"], manifest["plan"]["sweep"]["confidence"]) == (8, 0.05)
    methods = {m["method"]: m for m in json.loads((folder / "summary.json").read_text())["methods"]}
    saved = methods["confident"]["tokens_saved"]
    assert [s["setting"] for s in saved] == ["confident:max=16:every=8:p=0.05", "confident:max=32:every=8:p=0.05"]
    assert methods["budget-forcing"]["tokens_saved"] == []
    assert "thinking saved %" in result.stdout and "equal or better accuracy" in (folder / "summary.md").read_text()


@pytest.mark.parametrize(("args", "phrase"), [
    (["--bench", "gsm8k", "--method", "confident", "--confidence", "1.5"], "Confidence must be a probability"),
    (["--bench", "gsm8k", "--method", "stable", "--stable-k", "1"], "Stable k must be at least 2"),
    (["--resume", "no-such-run", "--probe-every", "16"], "leave out --probe-every"),
])
def test_the_eval_command_refuses_bad_stopping_rules_before_loading_a_model(tmp_path, args, phrase, s1app):
    result = s1app("eval", *args, "--out", str(tmp_path), "--no-log")
    assert result.returncode != 0 and phrase in result.stderr + result.stdout
    assert not any(tmp_path.iterdir())
