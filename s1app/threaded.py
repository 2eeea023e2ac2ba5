"""Streams produced in one thread and read in another.

- ThreadedStream: run an event stream in a fresh worker thread so the caller's thread stays free
  to cancel it. Ctrl-C in a terminal lands in the main thread; it only interrupts the reader,
  which sets the cancel flag and keeps reading (the stream survives the interrupt) until the
  run's own RunFinished arrives: nothing produced is lost.
- InterleavingWorker: one long-lived thread that advances several streams in turn, for work
  that must always happen on the same thread (llama.cpp decoding: see backends/llamacpp.py).
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
        self._abandoned = threading.Event()
        self.done = False

    def pump(self, produce: Callable[[], Iterator]) -> None:
        """Producer side: run ``produce()`` to its end (or until the reader abandons it)."""
        items = None
        try:
            items = produce()
            for item in items:
                if self._abandoned.is_set():
                    break
                self._queue.put(item)
        except BaseException as failure:  # handed to the reading thread, which re-raises it
            self._queue.put(_Failure(failure))
        finally:
            if items is not None and hasattr(items, "close"):
                items.close()
            self._queue.put(_DONE)

    def step(self, job: list) -> bool:
        """Producer side, one item at a time: job is [channel, iterator or None, produce].

        Returns False once the producer is finished (ended, failed or abandoned).
        """
        try:
            if job[1] is None:
                job[1] = job[2]()
            if self._abandoned.is_set():
                raise StopIteration
            self._queue.put(next(job[1]))
            return True
        except StopIteration:
            pass
        except BaseException as failure:  # handed to the reading thread, which re-raises it
            self._queue.put(_Failure(failure))
        if job[1] is not None and hasattr(job[1], "close"):
            job[1].close()
        self._queue.put(_DONE)
        return False

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

    def abandon(self) -> None:
        """Reader side: stop the producer and wait until it has stopped."""
        self._abandoned.set()
        self._finish()

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


class InterleavingWorker:
    """One long-lived daemon thread that advances every stream given to it, one item each in turn.

    ``stream`` hands it a producer and yields the producer's items in the caller's thread.
    Streams started together progress together (round robin), all on this one thread.
    """

    def __init__(self, name: str) -> None:
        self._new: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, daemon=True, name=name).start()

    def _serve(self) -> None:
        active: list[tuple[_Channel, Iterator | None, Callable[[], Iterator]]] = []
        while True:
            if not active:
                active.append(self._new.get())
            while not self._new.empty():
                active.append(self._new.get())
            for job in list(active):
                if not job[0].step(job):
                    active.remove(job)

    def stream(self, produce: Callable[[], Iterator[T]]) -> Iterator[T]:
        """Closing the returned iterator early stops the producer before it returns."""
        channel = _Channel()
        self._new.put([channel, None, produce])
        try:
            while True:
                try:
                    item = channel.next()
                except StopIteration:
                    return
                yield item
        finally:
            channel.abandon()
