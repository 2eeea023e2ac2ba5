"""Answer probes on the real embedded model (SmolLM2 GGUF, llama.cpp): exact, and invisible to the run.

A probe at thinking position t decodes, on a fork (a copy of the run's KV stream in another
sequence slot), what a run capped at t would answer. The run's own tokens must not change, and
the probe must be that capped run token for token (its token_ids_sha256 is the capped run's).
"""

from __future__ import annotations

import pytest
from build_support import portable_cpu_build_only
from steered_backends import StopsEveryNTokens, steered

from s1app.budget import BudgetConfig
from s1app.loops import LoopSettings
from s1app.probes import ProbeSettings, holds_a_line
from s1app.session import Session

QUESTION = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?")
NO_LOOP_CHECK = LoopSettings(enabled=False)
ANSWER = 24


def ask(model, **config):
    return Session(model).ask(QUESTION, BudgetConfig(max_answer_tokens=ANSWER, loop=NO_LOOP_CHECK, **config)).wait()


@pytest.mark.slow
@portable_cpu_build_only
def test_probing_leaves_the_runs_tokens_unchanged_greedy_and_sampled(model):
    for sampling in ({}, {"temperature": 0.8, "seed": 11}):
        plain = ask(model, max_thinking_tokens=96, **sampling)
        probed = ask(model, max_thinking_tokens=96, probes=ProbeSettings(every=16, tokens=8), **sampling)
        assert probed.finished.token_ids_sha256 == plain.finished.token_ids_sha256
        assert (probed.thinking, probed.answer) == (plain.thinking, plain.answer)
        assert [p.position_tokens for p in probed.probes] == [16, 32, 48, 64, 80]
        assert all(p.kind == "budget" and p.answer_tokens <= 8 + 4 for p in probed.probes)


def test_only_probes_nothing_reads_end_at_their_answers_first_line():
    assert ProbeSettings(every=64).shown_only
    assert not any(settings.shown_only for settings in (
        ProbeSettings(), ProbeSettings(every=64, stop_when_stable=2), ProbeSettings(every=64, stop_when_confident=0.9),
        ProbeSettings(every=64, at=(100,)), ProbeSettings(every=64, at_stops=True), ProbeSettings(at=(0, 64))))
    assert [holds_a_line(text) for text in (" 18", "\n\n 18", " 18\n", "\n\n18.\nThe", " \n")] == [
        False, False, True, True, False]


@pytest.mark.slow
def test_a_shown_probe_ends_at_its_first_line_and_a_longer_cap_changes_nothing_before_it(model):
    short = ask(model, max_thinking_tokens=64, probes=ProbeSettings(every=16, tokens=ANSWER))
    for probe in short.probes:
        answer = probe.text.removeprefix("Final Answer:")
        assert answer.lstrip().count("\n") <= 1 and (not holds_a_line(answer) or answer.endswith("\n")), probe.text
        assert probe.stop_reason in ("answer-limit", "end-of-answer")
    # at_stops: probes that stand in for runs, so uncut (no Waits here, so no stop probes are taken)
    uncut = ask(model, max_thinking_tokens=64, probes=ProbeSettings(every=16, at_stops=True, tokens=ANSWER))
    assert [p.position_tokens for p in uncut.probes] == [p.position_tokens for p in short.probes] == [16, 32, 48]
    assert all(full.text.startswith(cut.text) for full, cut in zip(uncut.probes, short.probes))


@pytest.mark.slow
@portable_cpu_build_only
def test_a_probe_at_b_is_the_run_capped_at_b_token_for_token(model):
    probed = ask(model, max_thinking_tokens=80, probes=ProbeSettings(at=(0, 20, 40, 60), tokens=ANSWER))
    assert [p.position_tokens for p in probed.probes] == [0, 20, 40, 60]
    for probe in probed.probes:
        capped = ask(model, max_thinking_tokens=probe.position_tokens)
        assert probe.token_ids_sha256 == capped.finished.token_ids_sha256, probe.position_tokens
        assert probe.text == capped.answer
        assert probe.answer_tokens == capped.answer_tokens
        assert probe.forced_tokens == capped.forced_tokens - capped.thinking_tokens_forced
        assert probe.stop_reason == capped.stats.stop_reason
        assert probe.confidence is None or 0.0 < probe.confidence <= 1.0


@portable_cpu_build_only
def test_a_stop_probe_is_the_run_that_let_the_model_end_thinking_there(model):
    """The model tries to stop every 12 tokens (steered); the run with 2 Waits, probed at each
    attempt, holds the runs with 0 and 1 Waits."""
    stopping = steered(model, StopsEveryNTokens, every_tokens=12)
    trajectory = ask(stopping, max_thinking_tokens=200, num_waits=2, probes=ProbeSettings(at_stops=True, tokens=ANSWER))
    stops = [p for p in trajectory.probes if p.kind == "stop"]
    assert [p.waits_before for p in stops] == [0, 1]
    for probe in stops:
        separate = ask(stopping, max_thinking_tokens=200, num_waits=probe.waits_before)
        assert separate.thinking_end_reason == "model"
        assert probe.position_tokens == separate.thinking_tokens
        assert probe.token_ids_sha256 == separate.finished.token_ids_sha256
        assert probe.text == separate.answer


@portable_cpu_build_only
def test_stable_ends_thinking_at_the_probe_and_answers_with_it(model):
    run = ask(model, max_thinking_tokens=256, probes=ProbeSettings(every=16, tokens=ANSWER, stop_when_stable=2))
    assert run.thinking_end_reason == "stable"
    last = run.probes[-1]
    assert run.thinking_tokens == last.position_tokens < 256
    assert run.probes[-2].extracted == last.extracted and last.extracted
    assert run.answer == last.text
    assert run.finished.token_ids_sha256 == last.token_ids_sha256  # the run is the capped run at the stop
    assert [i.kind for i in run.interventions] == ["probe-stop", "final-answer"]


@portable_cpu_build_only
def test_a_rule_that_never_fires_keeps_the_hard_budget(model):
    run = ask(model, max_thinking_tokens=48, probes=ProbeSettings(every=16, tokens=8, stop_when_confident=1.0))
    assert run.thinking_end_reason == "budget" and run.thinking_tokens == 48


def test_probes_stop_with_a_cancelled_run(model):
    import threading

    cancel = threading.Event()
    run = Session(model).ask(QUESTION, BudgetConfig(max_thinking_tokens=400, loop=NO_LOOP_CHECK,
                                                    probes=ProbeSettings(every=8, tokens=64)), cancel=cancel)
    for event in run:
        if run.probes:
            cancel.set()
    assert run.status == "cancelled"
    assert run.thinking_tokens < 400


@pytest.mark.parametrize("settings, phrase", [
    ({"every": -1}, "probe interval"),
    ({"tokens": 0}, "probe tokens"),
    ({"every": 16, "stop_when_stable": 1}, "at least 2"),
    ({"every": 16, "stop_when_confident": 0.0}, "above 0 and at most 1"),
    ({"every": 16, "stop_when_confident": 1.5}, "above 0 and at most 1"),
    ({"stop_when_stable": 3}, "probe interval"),
    ({"at": (-4,)}, "probe position"),
])
def test_bad_probe_settings_say_what_to_fix(settings, phrase):
    from s1app.errors import ConfigError

    with pytest.raises(ConfigError, match=phrase):
        ProbeSettings(**settings)


class SlotsOnly:
    """Stands in for llama.cpp's context (not under test): this test is about which waiting calls
    the decoder admits into its sequence slots, nothing is decoded."""

    sequences = 4


def test_forks_wait_behind_runs_and_hold_at_most_half_the_slots():
    import threading

    from s1app.backends.batch_decoder import BatchDecoder, DecodeCall

    def call(fork: bool) -> DecodeCall:
        return DecodeCall([1, 2, 3], 8, 8, frozenset(), int, str, threading.Event(), fork=fork)

    decoder = BatchDecoder(SlotsOnly(), threading.Condition())
    forks, runs = [call(True) for _ in range(3)], [call(False) for _ in range(2)]
    decoder._waiting = [forks[0], runs[0], forks[1], runs[1], forks[2]]
    admitted = decoder._admissible(free=4)
    assert admitted == [runs[0], runs[1], forks[0], forks[1]]  # runs first; forks fill at most 2 of 4
    decoder._slots[0].call, decoder._slots[1].call = forks[0], forks[1]
    decoder._waiting = [forks[2]]
    assert decoder._admissible(free=2) == []  # two forks already hold half the slots


@portable_cpu_build_only
def test_with_a_landing_a_probe_is_the_run_whose_budget_holds_the_landing(model):
    landing = "Okay, time is up."
    landing_tokens = len(model.backend.tokenize(landing))
    probed = ask(model, max_thinking_tokens=80, landing=landing, probes=ProbeSettings(at=(32,), tokens=ANSWER))
    (probe,) = probed.probes
    capped = ask(model, max_thinking_tokens=32 + landing_tokens, landing=landing)
    assert probe.token_ids_sha256 == capped.finished.token_ids_sha256
    assert probe.text == capped.answer
