"""Stream a tab's runs to its handler: each Run iterates in a worker (s1app.pump), the handler
renders the runs' views after every timed batch.

``watch_runs`` is what every streaming tab uses; ``cancel_scope`` ties the tab's runs to its Stop
button and to the browser leaving. Views read their Run directly (it is folded in the worker as
each event passes), so a batch only says "render now".
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from s1app.cancel import CancelScope
from s1app.errors import S1AppError
from s1app.pump import Pump, WorkFailed

if TYPE_CHECKING:
    from s1app.ui.context import UIContext
    from s1app.ui.render import RunView

K = TypeVar("K")
DEFAULT_INTERVAL_S = 0.1
log = logging.getLogger(__name__)


@contextmanager
def cancel_scope(ctx: UIContext, session_hash: str, tab: str) -> Iterator[CancelScope]:
    """The cancel scope of a tab's runs: cancelled by its Stop button, and when the handler ends
    for any reason (the browser went away included), so the engine never runs on for nobody."""
    scope = ctx.scopes.begin(session_hash, tab)
    try:
        yield scope
    finally:
        scope.cancel_all()
        ctx.scopes.end(session_hash, tab, scope)


def watch_runs(ctx: UIContext, views: dict[K, RunView]) -> Iterator[None]:
    """Iterate each view's Run in a worker; yield once at the start and once after every batch
    (render the views then). A run that raises shows its failure in its view."""
    pump: Pump = Pump()
    for key, view in views.items():
        pump.start_stream(key, lambda run=view.run: run)
    yield
    for batch in pump.batches(ctx.update_interval_s):
        for key, item in batch:
            if isinstance(item, WorkFailed):
                views[key].fail(describe_failure(item.error))
        yield


def describe_failure(error: BaseException) -> str:
    """What the page says when a run raised: the app's own message, or a short internal-error line."""
    if isinstance(error, S1AppError):
        return str(error)
    log.error("run failed", exc_info=error)
    return f"Internal error ({type(error).__name__}: {error}). The app is still running; see the server log."
