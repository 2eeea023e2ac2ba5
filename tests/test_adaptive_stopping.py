"""The stopping rules (stable, confident) on the real model, its probes' answers scripted.

The real SmolLM2 thinks (steered so that it never ends thinking on its own, see
steered_backends.ScriptedProbes); each answer probe answers a scripted text at a scripted
probability. So where a rule must stop is known: the test asserts the engine stops exactly there,
with the probe's answer as the run's, and that the hard budget still caps when no rule fires.
"""

from __future__ import annotations

import pytest
from steered_backends import probed_model

from s1app.budget import BudgetConfig
from s1app.loops import LoopSettings
from s1app.probes import ProbeSettings
from s1app.session import Session

QUESTION = "What is 12 times 7?"
NO_LOOP_CHECK = LoopSettings(enabled=False)


def ask(model, answers, *, budget: int, **rule):
    steered = probed_model(model, answers)
    config = BudgetConfig(max_thinking_tokens=budget, max_answer_tokens=16, loop=NO_LOOP_CHECK,
                          probes=ProbeSettings(every=16, answer_kind="number", **rule))
    return Session(steered).ask(QUESTION, config).wait(), steered.backend


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
