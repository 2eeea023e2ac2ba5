"""CancelScope: the cancel flags of a group of runs, stopped together.

One type for every front end: Ctrl-C in a terminal, a UI tab's Stop button (and the browser
leaving), the Benchmark tab's Stop and `s1app eval`'s Ctrl-C each cancel a scope. A run gets its
own flag from the scope (``new_flag``: the engine checks it); ``cancel_all`` sets every flag in
flight, and any handed out later, so nothing started after a Stop runs on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CancelScope:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: set[threading.Event] = set()
        self.cancelled = threading.Event()

    def new_flag(self) -> threading.Event:
        """A run's cancel flag: already set when the scope was cancelled."""
        flag = threading.Event()
        with self._lock:
            if self.cancelled.is_set():
                flag.set()
            self._flags.add(flag)
        return flag

    def release(self, flag: threading.Event) -> None:
        """The run is over: the scope forgets its flag."""
        with self._lock:
            self._flags.discard(flag)

    @contextmanager
    def flag(self) -> Iterator[threading.Event]:
        """``new_flag`` for the length of a ``with`` block, released at its end."""
        flag = self.new_flag()
        try:
            yield flag
        finally:
            self.release(flag)

    def cancel_all(self) -> int:
        """Cancel every run in flight and any started later; returns how many were in flight."""
        with self._lock:
            self.cancelled.set()
            for flag in self._flags:
                flag.set()
            return len(self._flags)
