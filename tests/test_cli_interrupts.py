"""Ctrl-C in a command: the first one only calls the command's stop, the second quits."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from s1app.cli.interrupts import first_ctrl_c_calls


def test_the_first_ctrl_c_calls_stop_and_raises_nothing_the_second_raises_keyboard_interrupt():
    stops = []
    with pytest.raises(KeyboardInterrupt):
        with first_ctrl_c_calls(lambda: stops.append("stop")) as pressed:
            os.kill(os.getpid(), signal.SIGINT)
            assert stops == ["stop"] and pressed.is_set()  # handled: the code here goes on
            os.kill(os.getpid(), signal.SIGINT)
    assert stops == ["stop"]


def test_the_previous_handler_is_back_afterwards():
    before = signal.getsignal(signal.SIGINT)
    with first_ctrl_c_calls(lambda: None):
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def work() -> None:
        with first_ctrl_c_calls(lambda: None) as pressed:
            seen.append((signal.getsignal(signal.SIGINT), pressed.is_set()))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [(before, False)]
