"""Pump: work done in worker threads, handed to one reading thread in timed batches.

The one thread-to-reader bridge of the app. The CLI watches a run with it (its main thread stays
free for Ctrl-C), every UI tab streams its runs with it, and the Benchmark tab its eval.

Why threads: the work must never wait for its reader. A Gradio generator handler only advances
when Gradio asks for the next update, so driving the engine from inside it would pause generation
for every round-trip; a terminal redraw must not hold up decoding either. Here the work runs free
in a daemon worker; the reader wakes every ``interval_s`` and takes everything that arrived since:
one update per batch, not per token.

Several works can share one pump (the compare tab runs two runs at once); each item is tagged
with the key its work was started under. A work that raises hands its exception to the reader as
``WorkFailed``; nothing it emitted before is lost.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class WorkFailed:
    """A work raised instead of finishing (a bad setting, a model that failed to load, a bug)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class _Done:
    pass


class Pump(Generic[K]):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._running = 0
        self._clock = clock

    def start(self, key: K, work: Callable[[Callable[[Any], None]], None]) -> None:
        """Run ``work(emit)`` in a daemon thread; what it emits (or its exception) comes out tagged ``key``."""
        self._running += 1
        threading.Thread(target=self._work, args=(key, work), daemon=True, name=f"s1app-{key}").start()

    def start_stream(self, key: K, produce: Callable[[], Iterable[Any]]) -> None:
        """Iterate ``produce()`` in a daemon thread; each item comes out tagged ``key``."""

        def work(emit: Callable[[Any], None]) -> None:
            for item in produce():
                emit(item)

        self.start(key, work)

    def _work(self, key: K, work: Callable[[Callable[[Any], None]], None]) -> None:
        try:
            work(lambda item: self._items.put((key, item)))
        except BaseException as failure:  # handed to the reading thread
            self._items.put((key, WorkFailed(failure)))
        finally:
            self._items.put((key, _Done()))

    def batches(self, interval_s: float) -> Iterator[list[tuple[K, Any]]]:
        """Yield what arrived, at most once per ``interval_s``, until every started work is done.

        The first item after a quiet spell (prompt evaluation) goes out at once; later ones are
        held until the interval has passed. Every item is yielded exactly once, in order.
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

    def items(self, interval_s: float) -> Iterator[tuple[K, Any]]:
        """The same items one by one, a work's failure re-raised here."""
        for batch in self.batches(interval_s):
            for key, item in batch:
                if isinstance(item, WorkFailed):
                    raise item.error
                yield key, item
