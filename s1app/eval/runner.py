"""Run an eval's items, ``parallel`` at a time, each item its own engine run(s).

Parallelism is only this: concurrent ``Session.ask`` calls from a thread pool. Every backend turns
that into batched work (llama.cpp decodes the active runs together, vLLM batches concurrent
requests, the OpenAI-compatible backend sends them at once), and each run keeps its own budget.

Items go in setting order (every question of one budget, then the next budget), a slot refilled
as an item finishes; greedy budget forcing runs one shared trajectory per question instead, which
yields all of its settings' records at once (s1app.eval.shared). A finished item is written
(rundir.append) by this thread before anything else happens; on cancel (Ctrl-C, the UI's Stop) the runs in flight are cancelled, items that had
already finished are still written, and cancelled ones are not: a resume runs them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from s1app.budget import BudgetConfig
from s1app.cancel import CancelScope
from s1app.errors import BackendError
from s1app.eval.benches import Bench, Item
from s1app.eval.methods import Setting
from s1app.eval.outcome import RunOutcome, outcome_of
from s1app.eval.policies import Ask
from s1app.eval.privacy import private_label
from s1app.eval.prompts import with_instruction
from s1app.eval.records import ItemRecord
from s1app.eval.shared import TrajectoryAsk, plan_tasks, run_task
from s1app.eval.trajectory import Point, trajectory_config
from s1app.loading import LoadedModel
from s1app.probes import ProbeSettings
from s1app.run import Run
from s1app.session import Session

if TYPE_CHECKING:
    from s1app.store import RunLog

POLL_S = 0.2
"""How often the waiting thread looks up from its futures (to notice a cancel)."""


class EvalCancelled(Exception):
    """The eval was cancelled while this item ran: the item is not recorded."""


def budget_config(item: Item, setting: Setting, *, max_answer_tokens: int, seed: int | None) -> BudgetConfig:
    """How ``setting`` asks ``item``: cap, Waits, temperature; answer probes and their stopping rule,
    the probes' answers extracted as the item is graded; its suppress list."""
    probes = ProbeSettings(every=setting.probe_every, answer_kind=item.kind, stop_when_stable=setting.stop_when_stable,
                           stop_when_confident=setting.stop_when_confident) if setting.probe_every else ProbeSettings()
    return BudgetConfig(max_thinking_tokens=setting.max_thinking_tokens, num_waits=setting.num_waits,
                        max_answer_tokens=max_answer_tokens, temperature=setting.temperature, seed=seed,
                        probes=probes, suppress=tuple(setting.suppress))


@dataclass
class EngineAsk:
    """The Ask that policies use: one single-turn Session.ask, logged when ``log`` is given
    (a private item's run with its text taken out, see RunRecorder)."""

    model: LoadedModel
    max_answer_tokens: int
    scope: CancelScope
    log: RunLog | None = None
    on_run: Callable[[Run], None] | None = None
    """Told of each run as it starts (in the worker thread): a view can watch it live."""

    def __call__(self, item: Item, setting: Setting, *, seed: int | None = None,
                 stop_above_thinking_tokens: int | None = None) -> RunOutcome:
        config = budget_config(item, setting, max_answer_tokens=self.max_answer_tokens, seed=seed)
        return self._ask(item, setting.instruction, config, stop_above_thinking_tokens)[1]

    @property
    def shares_trajectories(self) -> bool:
        """A template that reads the thinking budget (Seed-OSS) prompts each budget differently."""
        return "thinking_budget" not in self.model.format_tokens.format.template_switches

    def trajectory(self, item: Item, points: Sequence[Point]) -> Run:
        """One greedy trajectory probed at every point's budget and Wait (s1app.eval.trajectory)."""
        return self._ask(item, "", trajectory_config(points, self.max_answer_tokens), None)[0]

    def _ask(self, item: Item, instruction: str, config: BudgetConfig,
             stop_above_thinking_tokens: int | None) -> tuple[Run, RunOutcome]:
        with self.scope.flag() as flag:
            run = Session(self.model).ask(with_instruction(item.question, instruction), config, cancel=flag)
            if self.log is not None:
                self.log.attach(run, private_label=private_label(item) if item.private else None)
            if self.on_run is not None:
                self.on_run(run)
            outcome = outcome_of(run, stop_above_thinking_tokens=stop_above_thinking_tokens, stop=flag)
        if self.scope.cancelled.is_set() or outcome.cancelled:
            raise EvalCancelled(item.item_id)
        if outcome.error:
            raise BackendError(f"The run for item {item.item_id} failed: {outcome.error} "
                               "(finished items are saved: fix the cause and resume).")
        return run, outcome


class Records(Protocol):
    """Where finished items go: an eval run's folder (rundir.EvalRunDir) or a list in memory."""

    settings: list[Setting]

    def records(self) -> list[ItemRecord]: ...

    def append(self, record: ItemRecord) -> None: ...


@dataclass
class RecordsInMemory:
    """Records kept only in memory: the Sweep tab's one-question plan (nothing to resume)."""

    settings: list[Setting]
    kept: list[ItemRecord] = field(default_factory=list)

    def records(self) -> list[ItemRecord]:
        return list(self.kept)

    def append(self, record: ItemRecord) -> None:
        self.kept.append(record)


@dataclass(frozen=True, slots=True)
class ExecuteResult:
    written: int
    cancelled: bool


def execute(rundir: Records, bench: Bench, ask: Ask, *, parallel: int, scope: CancelScope,
            on_record: Callable[[ItemRecord], None] | None = None, separate_runs: bool = False) -> ExecuteResult:
    """Run every (setting, item) not yet in ``rundir``; append each graded item as it finishes.

    Greedy budget-forcing settings of one item share one trajectory (s1app.eval.shared) unless
    ``separate_runs`` (or the Ask cannot). A probed task (a trajectory, or a stopping rule's run)
    holds two of the ``parallel`` slots: its run and its probe (llama.cpp gives probes at most half
    its sequences, so this keeps each probe beside its run instead of queued behind other runs).

    Returns when all are done or, after ``scope.cancel_all()``, when the runs in flight have
    stopped. An item's failure (the backend died, a prompt too long) cancels the rest and is
    re-raised once the finished items are written.
    """
    share = not separate_runs and isinstance(ask, TrajectoryAsk) and ask.shares_trajectories
    done = {record.key for record in rundir.records()}
    tasks = plan_tasks(rundir.settings, bench.items, done, share=share)
    written = 0
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="s1app-eval") as pool:
        in_flight: dict[Future, int] = {}

        def refill() -> None:
            while tasks and not scope.cancelled.is_set():
                slots = min(2, parallel) if tasks[0].probed else 1
                if sum(in_flight.values()) + slots > parallel:
                    return
                in_flight[pool.submit(run_task, tasks.pop(0), ask)] = slots

        refill()
        while in_flight:
            finished, _ = wait(in_flight, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                del in_flight[future]
                error = future.exception()
                if error is None:
                    for record in future.result():
                        rundir.append(record)
                        written += 1
                        if on_record is not None:
                            on_record(record)
                elif not isinstance(error, EvalCancelled) and failure is None:
                    failure = error
                    scope.cancel_all()
            refill()
    if failure is not None:
        raise failure
    return ExecuteResult(written, scope.cancelled.is_set())
