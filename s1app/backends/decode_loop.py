"""The one thread of this process on which llama.cpp decodes, for every loaded model.

llama.cpp here runs its matmuls on an OpenMP thread team, which is tied to the thread that calls
it: one calling thread for the whole process keeps one team, sized to the cores, instead of a
team per caller oversubscribing them (measured: docs/benchmarks.md). Each loaded model has a
BatchDecoder; the loop steps every decoder that has work, round robin, and sleeps when none has.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache

from s1app.backends.batch_decoder import BatchDecoder
from s1app.errors import BackendError

log = logging.getLogger(__name__)


class DecodeLoop:
    def __init__(self) -> None:
        self.wake = threading.Condition()
        self._decoders: list[BatchDecoder] = []
        self._tasks: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True, name="s1app-llamacpp-decode")
        self._thread.start()

    def add(self, decoder: BatchDecoder) -> None:
        with self.wake:
            self._decoders.append(decoder)

    def remove(self, decoder: BatchDecoder) -> None:
        with self.wake:
            if decoder in self._decoders:
                self._decoders.remove(decoder)

    def call(self, work):
        """Run ``work()`` on the decode thread between steps; its result or exception comes back here
        (model set-up and tear-down, which must not race a step)."""
        done = threading.Event()
        outcome: list = []

        def task() -> None:
            try:
                outcome.append((True, work()))
            except BaseException as failure:  # re-raised in the caller's thread
                outcome.append((False, failure))
            done.set()

        with self.wake:
            self._tasks.append(task)
            self.wake.notify_all()
        done.wait()
        succeeded, value = outcome[0]
        if not succeeded:
            raise value
        return value

    def _serve(self) -> None:
        while True:
            with self.wake:
                while not self._tasks and not any(decoder.has_work() for decoder in self._decoders):
                    self.wake.wait()
                tasks, self._tasks = self._tasks, []
                busy = [decoder for decoder in self._decoders if decoder.has_work()]
            for task in tasks:
                task()
            for decoder in busy:
                try:
                    decoder.step()
                except Exception as failure:  # a bug must end the runs, not the process's decoding
                    log.exception("llama.cpp decode step failed")
                    decoder.fail_all(BackendError(f"llama.cpp decoding failed: {failure!r}"))


@lru_cache(maxsize=1)
def decode_loop() -> DecodeLoop:
    return DecodeLoop()
