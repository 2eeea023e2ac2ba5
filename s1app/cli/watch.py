"""Watching one run in the terminal: the run computes in a worker thread, the main thread shows
and logs its events. Ctrl-C cancels the run and keeps what it produced (`ask` and `chat`); a
second Ctrl-C quits at once."""

from __future__ import annotations

import threading

from s1app.cli.interrupts import first_ctrl_c_calls
from s1app.cli.terminal_view import TerminalView
from s1app.run_fold import Run
from s1app.store import RunRecorder
from s1app.threaded import ThreadedStream


def watch(run: Run, cancel: threading.Event, view: TerminalView | None, recorder: RunRecorder | None) -> bool:
    """Stream ``run`` into the view and the session log; True if Ctrl-C interrupted it.

    The recorder is always closed: a run cut short is logged as such, never left "running".
    """
    try:
        with first_ctrl_c_calls(cancel.set) as interrupted:
            for event in ThreadedStream(lambda: run):  # after Ctrl-C: up to the run's own RunFinished
                if recorder is not None:
                    recorder.record(event)
                if view is not None:
                    view.show(event)
            return interrupted.is_set()
    finally:
        if recorder is not None:
            recorder.close()
        if view is not None:
            view.close(run.finished)
