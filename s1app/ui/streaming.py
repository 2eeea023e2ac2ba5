"""Run event streams in worker threads and hand their events to a UI handler in timed batches.

``watch_runs`` is what every tab's handler uses: it starts its runs (logged on the way), feeds
each run's events to its RunView, and hands control back after every batch so the handler can
render; ``stop_flag`` ties the runs to the tab's Stop button and to the browser leaving.

Why threads: the engine must never wait for the browser. A Gradio generator handler only
advances when Gradio asks for the next update, so driving the engine from inside it would pause
generation for every round-trip. Here the engine runs free in a worker; the handler wakes every
``interval_s`` (50-100 ms) and renders everything that arrived since: one update per batch, not
per token.

Several runs can share one pump (the compare tab runs two at once); each event is tagged with
the key its run was started under.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from s1app.errors import S1AppError
from s1app.events import Event

if TYPE_CHECKING:
    from s1app.ui.context import UIContext
    from s1app.ui.render import RunView

K = TypeVar("K")
DEFAULT_INTERVAL_S = 0.1
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunFailed:
    """A run's stream raised instead of finishing (a bad setting, a model that failed to load)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class _Done:
    pass


class EventPump(Generic[K]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: queue.Queue = queue.Queue()
        self._running = 0
        self._clock = clock

    def start(self, key: K, produce: Callable[[], Iterator[Event]]) -> None:
        """Run ``produce()`` in a daemon thread; its events (or its exception) come out tagged ``key``."""
        self._running += 1
        threading.Thread(target=self._work, args=(key, produce), daemon=True, name=f"s1app-ui-{key}").start()

    def _work(self, key: K, produce: Callable[[], Iterator[Event]]) -> None:
        try:
            for event in produce():
                self._items.put((key, event))
        except BaseException as failure:  # handed to the UI thread, which shows it
            self._items.put((key, RunFailed(failure)))
        finally:
            self._items.put((key, _Done()))

    def batches(self, interval_s: float = DEFAULT_INTERVAL_S) -> Iterator[list[tuple[K, Event | RunFailed]]]:
        """Yield what arrived, at most once per ``interval_s``, until every started run is done.

        The first item after a quiet spell (prompt evaluation) goes out at once; later ones are
        held until the interval has passed. Every item is yielded exactly once.
        """
        pending: list = []
        last_flush = self._clock() - interval_s
        while self._running:
            wait_s = None if not pending else max(0.0, last_flush + interval_s - self._clock())
            try:
                item = self._items.get(timeout=wait_s)
            except queue.Empty:
                item = None
            while item is not None:
                if isinstance(item[1], _Done):
                    self._running -= 1
                else:
                    pending.append(item)
                try:
                    item = self._items.get_nowait()
                except queue.Empty:
                    item = None
            now = self._clock()
            if pending and (now - last_flush >= interval_s or not self._running):
                yield pending
                pending, last_flush = [], now
        if pending:
            yield pending


@contextmanager
def stop_flag(ctx: UIContext, session_hash: str, tab: str) -> Iterator[threading.Event]:
    """The cancel flag of a tab's runs: set by its Stop button, and when the handler ends for any
    reason (the browser went away included), so the engine never runs on for nobody."""
    flag = ctx.stop_flags.begin(session_hash, tab)
    try:
        yield flag
    finally:
        flag.set()
        ctx.stop_flags.end(session_hash, tab, flag)


def watch_runs(ctx: UIContext, runs: dict[K, tuple[RunView, Callable[[], Iterator[Event]]]],
               conversation: Any = None) -> Iterator[None]:
    """Start each run (``start()`` makes its events, in a worker) and feed them to its view.

    Yields once at the start and once after every batch: render the views then.
    """
    pump: EventPump = EventPump()
    for key, (_view, start) in runs.items():
        pump.start(key, lambda start=start: ctx.record(start(), conversation=conversation))
    yield
    for batch in pump.batches(ctx.update_interval_s):
        for key, item in batch:
            view = runs[key][0]
            if isinstance(item, RunFailed):
                view.fail(describe_failure(item.error))
            else:
                view.add((item,))
        yield


def describe_failure(error: BaseException) -> str:
    """What the page says when a run raised: the app's own message, or a short internal-error line."""
    if isinstance(error, S1AppError):
        return str(error)
    log.error("run failed", exc_info=error)
    return f"Internal error ({type(error).__name__}: {error}). The app is still running; see the server log."
