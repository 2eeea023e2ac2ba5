"""A greedy budget x Waits sweep from one probed trajectory equals one run per setting, record for record.

The rules (s1app.eval.trajectory) on hand-fed trajectories (a real Run folding written events: each
case of where a setting's run ends), then the whole sweep on the real SmolLM2 through llama.cpp,
shared against separate runs; the vLLM version is in test_eval_trajectory_vllm.py.
"""

from __future__ import annotations

import pytest
from build_support import portable_cpu_build_only
from sweep_records import COMPARED, sweep_records

from s1app.cancel import CancelScope
from s1app.eval.benches import Bench, load_bench
from s1app.eval.plan import EvalPlan
from s1app.eval.runner import EngineAsk, RecordsInMemory, execute
from s1app.eval.shared import Task, plan_tasks, sharing_notes
from s1app.eval.trajectory import (
    Trajectory,
    shared_outcomes,
    trajectory_config,
    trajectory_cost,
)
from s1app.events import (
    AnswerDelta,
    AnswerProbed,
    LoopDetected,
    RunFinished,
    RunStarted,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.run import Run

WAIT, DELIMITER, FINAL = 2, 3, 2
"""Tokens of the hand-fed format's Wait, end-of-thinking delimiter and "Final Answer:"."""


class Trajectory_:
    """Writes a trajectory's events as the engine would: thinking, Waits, probes, one end."""

    def __init__(self, budget: int) -> None:
        self.events: list = [RunStarted("traj", "q", "m", "llama.cpp", "s1", {"max_thinking_tokens_effective": budget},
                                        5, "2026-01-01T00:00:00")]
        self.position = self.waits = 0

    def think(self, tokens: int) -> Trajectory_:
        self.events.append(ThinkingDelta("t" * tokens, tokens))
        self.position += tokens
        return self

    def wait(self) -> Trajectory_:
        self.waits += 1
        self.events += [WaitInserted(self.waits, self.position, "Wait", WAIT), ThinkingDelta("Wait", WAIT, forced=True)]
        self.position += WAIT
        return self

    def probe(self, kind: str, position: int, waits: int, answer: str) -> Trajectory_:
        forced = DELIMITER + (FINAL if kind == "budget" else 0)
        text = ("Final Answer: " if kind == "budget" else "") + answer
        self.events.append(AnswerProbed(position, kind, waits, text, answer, None, len(answer) + forced - DELIMITER,
                                        forced, "end-of-answer", 0.5))
        return self

    def end(self, reason: str, answer: str = "own") -> Run:
        if reason == "loop":
            self.events.append(LoopDetected(self.position, 4, "tttt"))
        if reason == "budget":
            self.events.append(ThinkingCapped(self.position, self.position))
        self.events.append(ThinkingEnded(reason, self.position, "<answer>", DELIMITER))
        if reason != "model":
            self.events.append(AnswerDelta("Final Answer: ", FINAL, forced=True))
        self.events += [AnswerDelta(answer, len(answer)), RunFinished("end-of-answer")]
        return Run(self.events).wait()


def ends(run: Run, points) -> dict:
    trajectory = Trajectory(run)
    return {point: (end.kind, end.position_tokens, end.waits)
            for point in points for end in [trajectory.end_of(*point)]}


def model_ends_at_20() -> Run:
    """Thinks 10, tries to stop (a Wait), thinks to 20, stops: budgets 0, 8, 16, 32; Waits 0, 1."""
    return (Trajectory_(32).probe("budget", 0, 0, "a").think(8).probe("budget", 8, 0, "b").think(2)
            .probe("stop", 10, 0, "c").wait().think(4).probe("budget", 16, 1, "d").think(4).end("model"))


def test_a_setting_ends_where_the_model_stops_before_its_budget():
    run = model_ends_at_20()
    assert ends(run, [(32, 1), (32, 0), (16, 0), (16, 1), (8, 1), (0, 1)]) == {
        (32, 1): ("own", 20, 1),  # the trajectory itself
        (32, 0): ("stop", 10, 0), (16, 0): ("stop", 10, 0),  # no Wait allowed: the model's first stop
        (16, 1): ("budget", 16, 1),  # the Wait fits, the budget ends it before the second stop
        (8, 1): ("budget", 8, 0), (0, 1): ("budget", 0, 0)}  # the budget runs out before any stop


def test_budget_zero_is_the_probe_before_thinking():
    outcome = Trajectory(model_ends_at_20()).outcome(0, 0)
    assert (outcome.answer, outcome.thinking_tokens, outcome.forced_tokens, outcome.thinking_end_reason) == (
        "Final Answer: a", 0, DELIMITER + FINAL, "budget")
    assert (outcome.answer_tokens, outcome.generated_tokens, outcome.spent_tokens) == (FINAL + 1, 1, 1)


def test_a_record_off_a_probe_counts_what_its_own_run_would():
    outcome = Trajectory(model_ends_at_20()).outcome(16, 1)  # 14 sampled + 2 Wait tokens, then capped
    assert (outcome.thinking_tokens, outcome.waits_inserted, outcome.forced_tokens) == (16, 1, WAIT + DELIMITER + FINAL)
    assert (outcome.answer, outcome.generated_tokens, outcome.spent_tokens) == ("Final Answer: d", 14 + 1, 1)
    stop = Trajectory(model_ends_at_20()).outcome(32, 0)
    assert (stop.answer, stop.forced_tokens, stop.thinking_end_reason, stop.generated_tokens) == ("c", DELIMITER, "model", 11)


def test_a_budget_inside_a_wait_caps_at_the_attempt_to_stop():
    run = (Trajectory_(32).think(10).probe("stop", 10, 0, "s").probe("budget", 10, 0, "b").wait().think(20)
           .end("budget"))
    assert ends(run, [(11, 1), (11, 0), (12, 1), (32, 1)]) == {
        (11, 1): ("budget", 10, 0),  # 10 + a 2-token Wait > 11: a run capped at 11 ends at 10
        (11, 0): ("stop", 10, 0), (12, 1): ("budget", 12, 1), (32, 1): ("own", 32, 1)}


def test_a_budget_reached_while_the_end_marker_was_matched_never_sees_that_stop():
    # A probe at 11 with no Wait yet, past the stop at 10: the marker's tokens were still held at 11.
    run = Trajectory_(32).think(10).probe("budget", 11, 0, "h").probe("stop", 10, 0, "s").wait().think(20).end("budget")
    assert ends(run, [(11, 0), (11, 1)]) == {(11, 0): ("budget", 11, 0), (11, 1): ("budget", 11, 0)}


def test_a_loop_ends_every_run_that_reaches_it_as_it_ended_the_trajectory():
    run = (Trajectory_(64).think(10).probe("stop", 10, 0, "s").wait().think(6).probe("budget", 18, 1, "b")
           .think(12).end("loop"))
    assert ends(run, [(64, 1), (30, 1), (29, 1), (18, 1), (64, 0)]) == {
        (64, 1): ("own", 30, 1), (30, 1): ("own", 30, 1),  # the loop at 30 is reached
        (29, 1): ("budget", 29, 1), (18, 1): ("budget", 18, 1), (64, 0): ("stop", 10, 0)}
    assert Trajectory(run).outcome(29, 1) is None  # no probe at 29: that setting needs a run of its own


def test_a_trajectory_capped_at_a_stop_cannot_say_what_stopping_there_answers():
    run = (Trajectory_(21).think(10).probe("stop", 10, 0, "s").wait().think(8).probe("budget", 16, 1, "b")
           .end("budget"))  # at 20 a Wait would not fit 21: capped there
    trajectory = Trajectory(run)
    assert ends(run, [(21, 2), (21, 1), (21, 0), (16, 1)]) == {
        (21, 2): ("own", 20, 1), (21, 1): ("stop", 20, 1), (21, 0): ("stop", 10, 0), (16, 1): ("budget", 16, 1)}
    assert trajectory.outcome(21, 2).answer == "Final Answer: own"
    outcomes = shared_outcomes(run, [(21, 1), (21, 2), (21, 0), (16, 1)])
    assert outcomes[(21, 1)] is None  # no probe where the model stopped at 20: a run of its own
    assert outcomes[(21, 2)].spent_tokens == trajectory_cost(run) - 1 - 1


def test_what_the_records_spent_adds_up_to_what_the_trajectory_sampled():
    run = model_ends_at_20()
    points = [(b, w) for b in (0, 8, 16, 32) for w in (0, 1)]
    outcomes = shared_outcomes(run, points)
    assert sum(outcome.spent_tokens for outcome in outcomes.values()) == trajectory_cost(run)
    assert outcomes[(8, 0)].spent_tokens == 1 and outcomes[(8, 1)].spent_tokens == 0  # one probe, charged once
    assert all(outcome.run_id == "traj" and outcome.shared for outcome in outcomes.values())


def test_the_trajectory_runs_to_the_largest_budget_and_wait_count_probed_at_each_budget():
    config = trajectory_config([(16, 0), (64, 2), (0, 1)], 32)
    assert (config.max_thinking_tokens, config.num_waits, config.temperature) == (64, 2, 0.0)
    assert (config.probes.at, config.probes.at_stops, config.probes.tokens) == ((0, 16, 64), True, 32)


def test_only_greedy_budget_forcing_shares_and_the_rest_says_why():
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf,majority", budgets="16,64", waits="0,1", votes="2")
    items = load_bench("gsm8k", 2).items
    tasks = plan_tasks(plan.settings(), items, set(), share=True)
    assert [len(task.settings) for task in tasks] == [4, 4, 1, 1, 1, 1]
    assert all(isinstance(task, Task) for task in tasks)
    assert [len(task.settings) for task in plan_tasks(plan.settings(), items, set(), share=False)] == [1] * 12
    done = {("budget-forcing:max=16:waits=0", items[0].item_id)}
    left = {task.item.item_id: len(task.settings) for task in plan_tasks(plan.settings(), items, done, share=True)
            if task.shared}
    assert left == {items[0].item_id: 3, items[1].item_id: 4}  # resume: what is left of each question
    notes = " ".join(sharing_notes(plan.settings(), separate_runs=False))
    assert "one shared trajectory" in notes and "majority: sampled" in notes


# A probe equals a separate run only where a token's logits do not depend on its batch: the
# batch-invariant portable CPU build (docs/reproducibility.md); other builds skip, saying why.
@portable_cpu_build_only
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_shared_sweep_equals_separate_runs_record_for_record(model):
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets="0,16,32,64,128", waits="0,1,2",
                                 max_answer_tokens=32)
    shared = sweep_records(model, plan, separate_runs=False, limit=3, parallel=8)
    separate = sweep_records(model, plan, separate_runs=True, limit=3, parallel=8)
    assert len(shared) == len(separate) == 45
    assert {key: [getattr(r, f) for f in COMPARED] for key, r in shared.items()} == {
        key: [getattr(r, f) for f in COMPARED] for key, r in separate.items()}
    assert all(record.shared and len(set(record.run_ids)) == 1 for record in shared.values())
    assert not any(record.shared for record in separate.values())
    assert len({record.run_ids for record in shared.values()}) == 3  # one trajectory per question
    assert sum(r.spent_tokens for r in shared.values()) < sum(r.generated_tokens for r in separate.values()) / 2


@portable_cpu_build_only
def test_a_cancelled_trajectory_writes_nothing_and_a_resume_redoes_what_is_missing(model):
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets="0,16", max_answer_tokens=8)
    bench, records = load_bench("gsm8k", 2), RecordsInMemory(plan.settings())
    scope = CancelScope()
    cancelled = execute(records, bench, EngineAsk(model, 8, scope, on_run=lambda run: scope.cancel_all()),
                        parallel=2, scope=scope)
    assert cancelled.cancelled and cancelled.written == 0 and records.kept == []
    scope = CancelScope()
    assert execute(records, bench, EngineAsk(model, 8, scope), parallel=2, scope=scope).written == 4
    assert all(record.shared for record in records.kept) and len({r.run_ids for r in records.kept}) == 2
    dropped = records.kept.pop(0)
    scope = CancelScope()
    assert execute(records, bench, EngineAsk(model, 8, scope), parallel=2, scope=scope).written == 1
    redone = records.kept[-1]  # the one setting left: a run of its own, the same record
    assert not redone.shared and [getattr(redone, f) for f in COMPARED] == [getattr(dropped, f) for f in COMPARED]


@portable_cpu_build_only
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_budgets_on_either_side_of_an_attempt_to_stop_match_separate_runs(model):
    # GSM8K item 3 tries to stop at 120 thinking tokens (greedy, SmolLM2): budgets just below, at
    # and past that stop, with and without a Wait, as separate runs see them.
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets="119,120,121,122,123,128", waits="0,1",
                                 max_answer_tokens=16)
    item = load_bench("gsm8k", 4).items[3]
    run = EngineAsk(model, 16, CancelScope()).trajectory(item, [(128, 1)])
    assert [i.position_tokens for i in run.interventions if i.kind == "wait"] == [120], "this build's tokens differ"

    def records(separate_runs: bool) -> dict:
        kept, scope = RecordsInMemory(plan.settings()), CancelScope()
        bench = Bench("one", (item,), "", "")
        execute(kept, bench, EngineAsk(model, 16, scope), parallel=4, scope=scope, separate_runs=separate_runs)
        return {r.key: [getattr(r, f) for f in COMPARED] for r in kept.kept}

    shared = records(False)
    assert shared == records(True)
    ends = {key[0]: (r[0], r[-1]) for key, r in shared.items()}  # (thinking tokens, how thinking ended)
    assert ends["budget-forcing:max=120:waits=0"] == (120, "budget")  # the budget runs out first
    assert ends["budget-forcing:max=121:waits=0"] == (120, "model")  # room for the stop: the model ends it
