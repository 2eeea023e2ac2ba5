"""Run an event stream in a worker thread, so the caller's thread stays free to cancel it.

Ctrl-C in a terminal lands in the main thread; if the engine ran there it would be interrupted
inside a C call. Here the engine runs in a worker, Ctrl-C only interrupts the reader, which sets
the cancel flag and keeps reading (the stream survives the interrupt) until the run's own
RunFinished arrives: nothing produced is lost.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadedStream(Generic[T]):
    """Iterate what ``produce()`` yields, computed in a daemon thread; its exceptions re-raise here."""

    def __init__(self, produce: Callable[[], Iterator[T]]) -> None:
        self._items: queue.Queue = queue.Queue()
        self._done = False
        threading.Thread(target=self._work, args=(produce,), daemon=True, name="s1app-run").start()

    def _work(self, produce: Callable[[], Iterator[T]]) -> None:
        try:
            for item in produce():
                self._items.put(item)
        except BaseException as failure:  # handed to the reading thread, which re-raises it
            self._items.put(_Failure(failure))
        finally:
            self._items.put(_DONE)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._items.get()
        if item is _DONE:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            raise item.error
        return item
