"""Run an eval's items, ``parallel`` at a time, each item its own engine run(s).

Parallelism is only this: concurrent ``Session.ask`` calls from a thread pool. Every backend turns
that into batched work (llama.cpp decodes the active runs together, vLLM batches concurrent
requests, the OpenAI-compatible backend sends them at once), and each run keeps its own budget.

Items go in setting order (every question of one budget, then the next budget), a slot refilled
as an item finishes. A finished item is written (rundir.append) by this thread before anything
else happens; on cancel (Ctrl-C, the UI's Stop) the runs in flight are cancelled, items that had
already finished are still written, and cancelled ones are not: a resume runs them again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

from s1app.budget import BudgetConfig
from s1app.errors import BackendError, StoreError
from s1app.eval.benches import Bench, Item
from s1app.eval.methods import Setting
from s1app.eval.outcome import RunOutcome, outcome_of
from s1app.eval.policies import Ask, run_item
from s1app.eval.privacy import redacted
from s1app.eval.prompts import with_instruction
from s1app.eval.records import ItemRecord
from s1app.eval.rundir import EvalRunDir
from s1app.events import Event
from s1app.loading import LoadedModel
from s1app.session import Session

POLL_S = 0.2
"""How often the waiting thread looks up from its futures (to notice a cancel)."""


class EvalCancelled(Exception):
    """The eval was cancelled while this item ran: the item is not recorded."""


class CancelScope:
    """The cancel flags of every run in flight; ``cancel_all`` stops them all, and any started later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: set[threading.Event] = set()
        self.cancelled = threading.Event()

    def new_flag(self) -> threading.Event:
        flag = threading.Event()
        with self._lock:
            if self.cancelled.is_set():
                flag.set()
            self._flags.add(flag)
        return flag

    def release(self, flag: threading.Event) -> None:
        with self._lock:
            self._flags.discard(flag)

    def cancel_all(self) -> None:
        with self._lock:
            self.cancelled.set()
            for flag in self._flags:
                flag.set()


class RunLog(Protocol):
    """Where a run's events are logged (s1app.store.RunRecorder fits)."""

    def record(self, event: Event) -> None: ...

    def close(self) -> None: ...


@dataclass
class EngineAsk:
    """The Ask that policies use: one single-turn Session.ask, logged when ``new_log`` is given."""

    model: LoadedModel
    max_answer_tokens: int
    scope: CancelScope
    new_log: Callable[[], RunLog] | None = None

    def __call__(self, item: Item, setting: Setting, *, seed: int | None = None,
                 stop_above_thinking_tokens: int | None = None) -> RunOutcome:
        config = BudgetConfig(max_thinking_tokens=setting.max_thinking_tokens, num_waits=setting.num_waits,
                              max_answer_tokens=self.max_answer_tokens, temperature=setting.temperature, seed=seed)
        flag = self.scope.new_flag()
        log = self.new_log() if self.new_log is not None else None
        try:
            events = Session(self.model).ask(with_instruction(item.question, setting.instruction), config, flag)
            outcome = outcome_of(_logged(events, item, log), stop_above_thinking_tokens=stop_above_thinking_tokens,
                                 stop=flag)
        finally:
            self.scope.release(flag)
            if log is not None:
                log.close()
        if self.scope.cancelled.is_set() or outcome.cancelled:
            raise EvalCancelled(item.item_id)
        if outcome.error:
            raise BackendError(f"The run for item {item.item_id} failed: {outcome.error} "
                               "(finished items are saved: fix the cause and resume).")
        return outcome


def _logged(events: Iterator[Event], item: Item, log: RunLog | None) -> Iterator[Event]:
    """The events, each also sent to ``log``: a private item's copy with its text taken out."""
    label = f"{item.item_id} (private benchmark: text not logged)"
    for event in events:
        if log is not None:
            log.record(redacted(event, label) if item.private else event)
        yield event


@dataclass(frozen=True, slots=True)
class ExecuteResult:
    written: int
    cancelled: bool


def execute(rundir: EvalRunDir, bench: Bench, ask: Ask, *, parallel: int, scope: CancelScope,
            on_record: Callable[[ItemRecord], None] | None = None) -> ExecuteResult:
    """Run every (setting, item) not yet in ``rundir``; append each graded item as it finishes.

    Returns when all are done or, after ``scope.cancel_all()``, when the runs in flight have
    stopped. An item's failure (the backend died, a prompt too long) cancels the rest and is
    re-raised once the finished items are written.
    """
    done = {record.key for record in rundir.records()}
    tasks = iter([(item, setting) for setting in rundir.settings for item in bench.items
                  if (setting.key, item.item_id) not in done])
    written = 0
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="s1app-eval") as pool:
        in_flight: set[Future] = set()

        def refill() -> None:
            while len(in_flight) < parallel and not scope.cancelled.is_set():
                task = next(tasks, None)
                if task is None:
                    return
                in_flight.add(pool.submit(run_item, task[0], task[1], ask))

        refill()
        while in_flight:
            finished, in_flight = wait(in_flight, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                error = future.exception()
                if error is None:
                    rundir.append(future.result())
                    written += 1
                    if on_record is not None:
                        on_record(future.result())
                elif not isinstance(error, EvalCancelled) and failure is None:
                    failure = error
                    scope.cancel_all()
            refill()
    if failure is not None:
        raise failure
    return ExecuteResult(written, scope.cancelled.is_set())


def store_run_log(store, warn: Callable[[str], None]) -> Callable[[], RunLog]:
    """A ``new_log`` for EngineAsk: a RunRecorder per run; a store failure warns once, the eval goes on."""
    from s1app.store import RunRecorder

    warned = threading.Event()

    def on_error(failure: StoreError) -> None:
        if not warned.is_set():
            warned.set()
            warn(f"{failure} The eval goes on; its runs are no longer all logged.")

    return lambda: RunRecorder(store, on_error=on_error)
