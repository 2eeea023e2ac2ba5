"""A stream produced in one thread and read in another.

ThreadedStream runs an event stream in a fresh worker thread so the caller's thread stays free to
cancel it: Ctrl-C in a terminal only sets the run's cancel flag (s1app.cli.interrupts), and the
reader keeps reading until the run's own RunFinished arrives, so nothing produced is lost.
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


class _Channel:
    """Items from a producing thread to a reading thread, then the producer's error or the end."""

    def __init__(self, buffer: int = 0) -> None:
        self._queue: queue.Queue = queue.Queue(buffer)
        self.done = False

    def pump(self, produce: Callable[[], Iterator]) -> None:
        """Producer side: run ``produce()`` to its end."""
        items = None
        try:
            items = produce()
            for item in items:
                self._queue.put(item)
        except BaseException as failure:  # handed to the reading thread, which re-raises it
            self._queue.put(_Failure(failure))
        finally:
            if items is not None and hasattr(items, "close"):
                items.close()
            self._queue.put(_DONE)

    def next(self):
        """Reader side: the next item; StopIteration at the end; re-raises the producer's error."""
        if self.done:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self.done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finish()
            raise item.error
        return item

    def _finish(self) -> None:
        while not self.done:
            if self._queue.get() is _DONE:
                self.done = True


class ThreadedStream(Generic[T]):
    """Iterate what ``produce()`` yields, computed in a daemon thread; its exceptions re-raise here."""

    def __init__(self, produce: Callable[[], Iterator[T]]) -> None:
        self._channel = _Channel()
        threading.Thread(target=self._channel.pump, args=(produce,), daemon=True, name="s1app-run").start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return self._channel.next()
