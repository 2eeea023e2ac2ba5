"""RunLog: where a front end's runs are logged, the one path every front end uses.

The CLI, the UI and eval each make one RunLog and pass it to ``Session.ask(..., log=)``; the run
is then recorded as it streams (a RunRecorder subscribed to the Run). When the log cannot be
written, the front end is warned once, with one message, and its runs go on unrecorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from s1app.errors import StoreError
from s1app.run import Run
from s1app.store.db import Conversation, Store
from s1app.store.recorder import RunRecorder

log = logging.getLogger(__name__)


def log_failure_message(failure: StoreError) -> str:
    return f"session log: {failure} Runs go on, but are not recorded until the log can be written again."


def _log_warning(message: str) -> None:
    log.warning("%s", message)


@dataclass(frozen=True)
class RunLog:
    """Runs recorded into ``store`` (in ``conversation``, a multi-turn chat, when given)."""

    store: Store
    conversation: Conversation | None = None
    warn: Callable[[str], None] = _log_warning
    """Told once, the first time a run cannot be written."""
    _warned: threading.Event = field(default_factory=threading.Event, compare=False)

    def attach(self, run: Run, *, private_label: str | None = None) -> RunRecorder:
        """Record ``run`` as it streams; ``private_label``: keep that instead of the question, and
        none of the model's text (see RunRecorder)."""
        return RunRecorder.attach(self.store, run, self.conversation, self._failed, private_label=private_label)

    def in_conversation(self, conversation: Conversation | None) -> RunLog:
        """The same log (and the same one-time warning) for the runs of one conversation."""
        return replace(self, conversation=conversation)

    def new_conversation(self, source: str) -> RunLog:
        return self.in_conversation(self.store.new_conversation(source=source))

    def _failed(self, failure: StoreError) -> None:
        if not self._warned.is_set():
            self._warned.set()
            self.warn(log_failure_message(failure))
