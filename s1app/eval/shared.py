"""Which of an eval's (item, setting) pairs share one greedy trajectory, and their records from it.

Budget forcing at temperature 0 shares: one trajectory per question covers all of that question's
(budget, Waits) settings still to do (s1app.eval.trajectory says why that is exact, and how each
record is read off it). Everything else runs one setting at a time (its policy: one run,
rejection sampling, a vote): sampled runs differ from seed to seed, so nothing can be shared; and
so does every setting when the caller asks for separate runs. A trajectory's answer probes decode
beside it in a second sequence slot, so the runner counts a shared task twice against
``parallel`` (s1app.eval.runner).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from s1app.eval.benches import Item
from s1app.eval.methods import Setting
from s1app.eval.policies import Ask, outcome_record, run_item, utc_now
from s1app.eval.records import ItemRecord
from s1app.eval.trajectory import Point, shared_outcomes
from s1app.run import Run


@runtime_checkable
class TrajectoryAsk(Protocol):
    """An Ask that can also run one probed trajectory for many points (runner.EngineAsk)."""

    shares_trajectories: bool
    """False where a shared trajectory would not be exact (a template that reads the budget)."""

    def trajectory(self, item: Item, points: Sequence[Point]) -> Run:
        """The finished trajectory covering ``points``; raises EvalCancelled when cancelled."""


@dataclass(frozen=True, slots=True)
class Task:
    """What one worker runs: one item under one setting, or one trajectory for several."""

    item: Item
    settings: tuple[Setting, ...]

    @property
    def shared(self) -> bool:
        return len(self.settings) > 1

    @property
    def probed(self) -> bool:
        """Whether its run decodes probes beside it (a shared trajectory, or a stopping rule's)."""
        return self.shared or any(setting.probe_every for setting in self.settings)


def shares(setting: Setting) -> bool:
    """Whether a setting can be read off a shared greedy trajectory."""
    return (setting.method == "budget-forcing" and setting.policy == "single" and setting.temperature == 0
            and not setting.instruction and setting.max_thinking_tokens is not None)


def plan_tasks(settings: Sequence[Setting], items: Sequence[Item], done: Collection[tuple[str, str]], *,
               share: bool) -> list[Task]:
    """The work left, in setting order; with ``share``, an item's shareable settings are one task
    (placed where its first one would have run)."""
    order: list[tuple[Item, list[Setting]]] = []
    groups: dict[str, list[Setting]] = {}
    for setting in settings:
        for item in items:
            if (setting.key, item.item_id) in done:
                continue
            if share and shares(setting):
                if item.item_id not in groups:
                    groups[item.item_id] = []
                    order.append((item, groups[item.item_id]))
                groups[item.item_id].append(setting)
            else:
                order.append((item, [setting]))
    return [Task(item, tuple(group)) for item, group in order]


def run_task(task: Task, ask: Ask) -> list[ItemRecord]:
    if not task.shared:
        return [run_item(task.item, task.settings[0], ask)]
    return run_shared(task.item, task.settings, ask)


def run_shared(item: Item, settings: Sequence[Setting], ask: Ask) -> list[ItemRecord]:
    """One trajectory, then each setting's record read off it; a setting no probe answers gets a
    run of its own (trajectory.py says when)."""
    started_at = utc_now()
    points = [point_of(setting) for setting in settings]
    outcomes = shared_outcomes(ask.trajectory(item, points), points)
    return [outcome_record(item, setting, outcomes[point] or ask(item, setting), started_at)
            for setting, point in zip(settings, points)]


def point_of(setting: Setting) -> Point:
    return (setting.max_thinking_tokens, setting.num_waits)


def sharing_notes(settings: Sequence[Setting], *, separate_runs: bool) -> list[str]:
    """What the runner will share and what not, in a line each (for the CLI and the UI)."""
    notes = []
    shared = [setting for setting in settings if shares(setting)]
    if len(shared) > 1 and separate_runs:
        notes.append(f"budget forcing: one run per setting ({len(shared)} per question), as asked.")
    elif len(shared) > 1:
        notes.append(f"budget forcing (greedy): one shared trajectory per question covers its {len(shared)} "
                     "settings, each answer read by a probe at its budget or Wait (--separate-runs: one run each).")
    sampled = list(dict.fromkeys(setting.method for setting in settings if setting.temperature > 0))
    if sampled:
        notes.append(f"{', '.join(sampled)}: sampled (temperature > 0), so one run per setting "
                     "(a shared trajectory is exact only when greedy).")
    return notes
