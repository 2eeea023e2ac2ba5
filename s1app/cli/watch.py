"""Watching one run in the terminal: the run computes in a worker thread (s1app.pump), the main
thread shows its events. Ctrl-C cancels the run and keeps what it produced (`ask` and `chat`); a
second Ctrl-C quits at once."""

from __future__ import annotations

from s1app.cancel import CancelScope
from s1app.cli.interrupts import first_ctrl_c_calls
from s1app.cli.terminal_view import TerminalView
from s1app.pump import Pump
from s1app.run import Run

REDRAW_INTERVAL_S = 1 / 30
"""How often the terminal takes what arrived: more often than the eye sees, less than per token."""


def watch(run: Run, scope: CancelScope, view: TerminalView | None) -> bool:
    """Stream ``run`` (made with a flag of ``scope``) into the view; True if Ctrl-C interrupted it.

    After Ctrl-C the view reads on, up to the run's own RunFinished, so nothing produced is lost.
    """
    pump: Pump = Pump()
    pump.start_stream("run", lambda: run)
    try:
        with first_ctrl_c_calls(scope.cancel_all) as interrupted:
            for _, event in pump.items(REDRAW_INTERVAL_S):
                if view is not None:
                    view.show(event)
            return interrupted.is_set()
    finally:
        if view is not None:
            view.close()
