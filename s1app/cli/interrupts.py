"""Ctrl-C while a command runs: the first one asks the work to stop and keep what it has, a
second one quits at once.

A handler that only sets a flag, rather than Python's KeyboardInterrupt, which lands at any
bytecode of the main thread: inside a queue's get (the item taken is lost), a session-log write,
a terminal redraw. The work stops through the flag it already honours, at a point of its choosing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def first_ctrl_c_calls(stop: Callable[[], None]) -> Iterator[threading.Event]:
    """While inside: the first Ctrl-C calls ``stop()``; the next raises KeyboardInterrupt.

    Yields the event that says whether Ctrl-C came. Outside the main thread (where Python
    delivers signals) it installs nothing and the event stays clear.
    """
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def on_interrupt(signum, frame) -> None:
        if pressed.is_set():
            raise KeyboardInterrupt
        pressed.set()
        stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)
