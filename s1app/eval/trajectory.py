"""A greedy budget x Waits sweep read off ONE probed trajectory. Pure: a finished Run in, outcomes out.

Greedy decoding makes this exact: a run capped at B is the uncapped run's first B thinking tokens
plus the forced end, and a run allowed k Waits is the run allowed K > k Waits up to its (k+1)-th
attempt to stop. So one run with ``max_thinking_tokens = max(budgets)``, ``num_waits =
max(waits)`` and answer probes at every budget and at every attempt to stop (``trajectory_config``)
holds every setting's run. For setting (B, k) the run would, going through the trajectory's
attempts to stop s_1, s_2, ... in order (a Wait's position, then the trajectory's own end):

1. not see attempt j when B <= s_j (its budget runs out first; also when the trajectory's
   end-of-thinking text was still being matched at B: a budget probe at B after s_j says so):
   it is capped at B -> the "budget" probe at B (or the trajectory's own answer, its cap);
2. end there, when j > k (the model ends thinking) -> the "stop" probe at s_j, or the
   trajectory's own answer when s_j is the trajectory's own end;
3. be capped there, when the Wait would not fit (s_j + Wait tokens > B, the engine's rule in
   s1app.budget.after_thinking_round) -> the "budget" probe at s_j (the engine takes it: a listed
   budget lies inside that Wait), or the trajectory's own answer when it was capped there too;
4. else take the Wait and go on. Past the last attempt: a loop the trajectory detected at L ends
   every run with B >= L as it ended the trajectory (its own answer); the rest are capped at B.

A setting whose probe is missing (the trajectory was capped at an attempt to stop, so nothing
says what letting the model stop there would answer) comes out None: run it on its own.

Each outcome carries what a separate run would report (``generated_tokens``: the tokens that run
would sample) and, in ``spent_tokens``, what this one trajectory really sampled for it: the
probe's answer tokens; the trajectory's own record carries the trajectory's sampled tokens and
those of probes no setting read. ``wall_s`` is real time too: the probe's, or the trajectory's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from s1app.budget import BudgetConfig
from s1app.eval.outcome import RunOutcome
from s1app.events import AnswerProbed
from s1app.probes import ProbeSettings
from s1app.run import Run

Point = tuple[int, int]
"""(max thinking tokens, Waits): one setting of a budget-forcing sweep."""

SHAREABLE_ENDS = ("model", "budget", "loop")


def trajectory_config(points: Iterable[Point], max_answer_tokens: int) -> BudgetConfig:
    """The one greedy run that holds every point's run, probed at each budget and attempt to stop."""
    points = list(points)
    budgets = sorted({budget for budget, _ in points})
    return BudgetConfig(max_thinking_tokens=budgets[-1], num_waits=max(waits for _, waits in points),
                        max_answer_tokens=max_answer_tokens, temperature=0.0,
                        probes=ProbeSettings(at=tuple(budgets), at_stops=True, tokens=max_answer_tokens))


@dataclass(frozen=True, slots=True)
class _End:
    """Where one point's run ends on the trajectory: a probe's answer, or the trajectory's own."""

    kind: str
    """"budget" (capped), "stop" (the model ended thinking) or "own" (the trajectory's own end)."""
    position_tokens: int
    waits: int


class Trajectory:
    """One finished trajectory, ready to answer for any point (B, k) it covers."""

    def __init__(self, run: Run) -> None:
        stats = run.stats
        if stats is None or stats.thinking_end_reason not in SHAREABLE_ENDS:
            raise ValueError("a shared trajectory must have finished, ending thinking by model, budget or loop")
        self.run, self.stats = run, stats
        self.budget = run.budget_tokens if run.budget_tokens is not None else stats.thinking_tokens
        self.wait_tokens = stats.thinking_tokens_forced // stats.waits_inserted if stats.waits_inserted else 0
        self.waits = [i.position_tokens for i in run.interventions if i.kind == "wait"]
        self.end_reason, self.end_position = stats.thinking_end_reason, stats.thinking_tokens
        self.probes: dict[tuple[str, int, int], AnswerProbed] = {}
        for probe in run.probes:
            self.probes.setdefault((probe.kind, probe.position_tokens, probe.waits_before), probe)

    def end_of(self, budget: int, waits_allowed: int) -> _End:
        """Where the run of point (budget, waits_allowed) ends (the rules in the module docstring)."""
        budget = min(budget, self.budget)  # a budget past the context is clipped as the trajectory's was
        attempts = self.waits + ([self.end_position] if self.end_reason != "loop" and self._stopped_at_end() else [])
        for waits, position in enumerate(attempts):
            if not self._sees(position, budget, waits):
                return self._capped(budget, waits)
            if waits >= waits_allowed:
                own = waits == len(self.waits) and self.end_reason == "model"
                return _End("own" if own else "stop", position, waits)
            if position + self.wait_tokens > budget or waits == len(self.waits):
                return self._capped(position, waits)
        if self.end_reason == "loop" and budget >= self.end_position:
            return _End("own", self.end_position, len(self.waits))
        return self._capped(budget, len(attempts))

    def outcome(self, budget: int, waits_allowed: int) -> RunOutcome | None:
        """The point's outcome, as its own run would report it; None when no probe says."""
        end = self.end_of(budget, waits_allowed)
        if end.kind == "own":
            return self._own()
        probe = self.probes.get((end.kind, end.position_tokens, end.waits))
        if probe is None:
            return None
        answer_sampled = probe_sampled_tokens(self.run, probe)
        return RunOutcome(
            run_id=self.run.run_id, answer=probe.text, thinking_tokens=end.position_tokens,
            forced_tokens=end.waits * self.wait_tokens + probe.forced_tokens, waits_inserted=end.waits,
            answer_tokens=probe.answer_tokens,
            generated_tokens=end.position_tokens - end.waits * self.wait_tokens + answer_sampled,
            thinking_end_reason="model" if end.kind == "stop" else "budget", stop_reason=probe.stop_reason,
            wall_s=probe.seconds, spent_tokens=answer_sampled, shared=True)

    def _stopped_at_end(self) -> bool:
        """Whether the trajectory's own end was an attempt to stop (the model's, or one whose Wait did not fit)."""
        return self.end_reason == "model" or self.end_position < self.budget

    def _sees(self, position: int, budget: int, waits: int) -> bool:
        """Whether a run capped at ``budget`` gets to the attempt to stop at ``position``."""
        return budget > position and ("budget", budget, waits) not in self.probes

    def _capped(self, position: int, waits: int) -> _End:
        own = (self.end_reason == "budget" and position == self.end_position and waits == len(self.waits))
        return _End("own" if own else "budget", position, waits)

    def _own(self) -> RunOutcome:
        stats = self.stats
        return RunOutcome(
            run_id=self.run.run_id, answer=self.run.answer, thinking_tokens=stats.thinking_tokens,
            forced_tokens=stats.forced_tokens, waits_inserted=stats.waits_inserted, answer_tokens=stats.answer_tokens,
            generated_tokens=stats.thinking_tokens_sampled + stats.answer_tokens_sampled,
            thinking_end_reason=stats.thinking_end_reason, stop_reason=stats.stop_reason, wall_s=stats.wall_s,
            spent_tokens=stats.thinking_tokens_sampled + stats.answer_tokens_sampled, shared=True)


def shared_outcomes(run: Run, points: Iterable[Point]) -> dict[Point, RunOutcome | None]:
    """Every point's outcome read off ``run`` (None: run that point on its own). What was spent is
    counted once: a probe (or the trajectory's own end) read by several points is charged to the
    first; the trajectory's own record (else the first) carries the rest of what it sampled."""
    trajectory = Trajectory(run)
    outcomes: dict[Point, RunOutcome | None] = {}
    charged: set[_End] = set()
    for point in dict.fromkeys(points):
        end, outcome = trajectory.end_of(*point), trajectory.outcome(*point)
        if outcome is not None and end in charged:
            outcome = replace(outcome, spent_tokens=0, wall_s=0.0)
        charged.add(end)
        outcomes[point] = outcome
    owner = next((p for p in outcomes if trajectory.end_of(*p).kind == "own"), None)
    owner = owner or next((p for p, o in outcomes.items() if o is not None), None)
    if owner is not None:
        unread = trajectory_cost(run) - sum(o.spent_tokens for o in outcomes.values() if o is not None)
        outcomes[owner] = replace(outcomes[owner], spent_tokens=outcomes[owner].spent_tokens + unread)
    return outcomes


def probe_sampled_tokens(run: Run, probe: AnswerProbed) -> int:
    """The answer tokens a probe sampled (its forced "Final Answer:" and delimiter left out)."""
    return probe.answer_tokens - (probe.forced_tokens - run.delimiter_tokens)


def trajectory_cost(run: Run) -> int:
    """Every token the trajectory and its probes sampled: what the shared sweep really cost."""
    return run.sampled_tokens + sum(probe_sampled_tokens(run, probe) for probe in run.probes)


def separate_cost(outcomes: Iterable[RunOutcome]) -> int:
    """What running each point on its own would have sampled."""
    return sum(outcome.generated_tokens for outcome in outcomes)
