"""RunRecorder: subscribe to one run's events and keep its row in the store up to date.

The row is written on RunStarted (status "running"), updated at least once a second while text
streams and at once on every intervention, and finalized on RunFinished. Each write is one short
transaction holding the whole current state, so a process killed mid-run leaves a consistent row
that is at most ``flush_interval_s`` behind; the next open_store marks it "interrupted".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from s1app.errors import StoreError
from s1app.events import (
    AnswerDelta,
    Event,
    Intervention,
    RunFinished,
    RunStarted,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.store.db import Conversation, Store, utc_now
from s1app.store.liveness import writer_identity
from s1app.transcript import RunTranscript

FLUSH_INTERVAL_S = 0.5
"""Half the promised second, so a slow write or a gap between tokens still keeps the promise."""

_END_REASON_KINDS = {"budget": "cap", "loop": "loop-break"}


class RunRecorder:
    """Records one run. ``record`` never raises: on a store failure it remembers the StoreError in
    ``error``, calls ``on_error`` once, and ignores the rest of the run (the run itself goes on)."""

    def __init__(
        self,
        store: Store,
        conversation: Conversation | None = None,
        on_error: Callable[[StoreError], None] | None = None,
        *,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.conversation = conversation
        self.on_error = on_error
        self.flush_interval_s = flush_interval_s
        self.clock = clock
        self.transcript = RunTranscript()
        self.interventions: list[dict[str, Any]] = []
        self.error: StoreError | None = None
        self._written_interventions = 0
        self._last_write = 0.0
        self._started = False
        self._done = False

    @property
    def run_id(self) -> str | None:
        return self.transcript.run_id or None

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, event: Event) -> None:
        if self.error is not None or self._done:
            return
        self.transcript.add(event)
        try:
            self._handle(event)
        except StoreError as failure:
            self._fail(failure)

    def close(self) -> None:
        """End recording. A run that never reached RunFinished is kept as "interrupted"."""
        if self._started and not self._done and self.error is None:
            try:
                self._write(status="interrupted", finished_at=utc_now(),
                            error="recording stopped before the run finished")
            except StoreError as failure:
                self._fail(failure)
        self._done = True

    # -- events -------------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        match event:
            case RunStarted():
                self._insert()
            case RunFinished():
                self._finish(event)
            case ThinkingDelta(forced=False) | AnswerDelta(forced=False):
                if self.clock() - self._last_write >= self.flush_interval_s:
                    self._write()
            case WaitInserted(position_tokens=position, text=text):
                self._intervene("wait", position, text, "thinking", len(self.transcript.thinking))
            case ThinkingEnded(reason=reason, position_tokens=position, delimiter_text=delimiter) \
                    if reason in _END_REASON_KINDS:
                self._intervene(_END_REASON_KINDS[reason], position, delimiter, "delimiter", 0)
            case AnswerDelta(text=text, forced=True):
                offset = len(self.transcript.answer) - len(text)
                self._intervene("final-answer", self.transcript.thinking_tokens, text, "answer", offset)
            case _:
                # Forced thinking text, warnings, loop and cap markers: written at once.
                self._write()

    def _intervene(self, kind: str, position_tokens: int, text: str, section: str, char_offset: int) -> None:
        self.interventions.append({"kind": kind, "position_tokens": position_tokens, "text": text,
                                   "section": section, "char_offset": char_offset})
        self._write()

    # -- writes -------------------------------------------------------------------------------

    def _insert(self) -> None:
        pid, host = writer_identity()
        row = {
            **self._progress(), "id": self.transcript.run_id, "question": self.transcript.question,
            "model": self.transcript.model, "backend": self.transcript.backend, "format": self.transcript.format,
            "settings": json.dumps(self.transcript.settings, ensure_ascii=False),
            "prompt_tokens": self.transcript.prompt_tokens, "started_at": self.transcript.started_at,
            "status": "running", "writer_pid": pid, "writer_host": host,
        }
        conversation = self.conversation
        with self.store.transaction() as db:
            if conversation is not None:
                db["conversations"].insert(
                    {"id": conversation.id, "title": conversation.title or self.transcript.question[:200],
                     "source": conversation.source, "created_at": conversation.created_at},
                    ignore=True,
                )
                row["conversation_id"] = conversation.id
                row["turn"] = conversation.turns_recorded
            db["runs"].insert(row)
        if conversation is not None:
            conversation.turns_recorded += 1
        self._started = True
        self._last_write = self.clock()

    def _finish(self, finished: RunFinished) -> None:
        self._done = True
        if not self._started:
            return
        engine_interventions = [(i.kind, i.position_tokens, i.text) for i in finished.interventions]
        if engine_interventions != [(i["kind"], i["position_tokens"], i["text"]) for i in self.interventions]:
            # The engine's own list is authoritative; offsets are then unknown.
            self.interventions = [_from_engine(i) for i in finished.interventions]
            self._written_interventions = 0
            with self.store.transaction() as db:
                db.execute("delete from interventions where run_id = ?", [self.transcript.run_id])
        stats = asdict(finished.stats)
        stats.pop("prompt_tokens", None)
        self._write(**stats, status=self.transcript.status, error=finished.error,
                    finished_at=finished.finished_at or utc_now())

    def _write(self, **final: Any) -> None:
        if not self._started:
            return
        new_interventions = [{"run_id": self.transcript.run_id, "seq": seq, **item}
                             for seq, item in enumerate(self.interventions)][self._written_interventions:]
        with self.store.transaction() as db:
            db["runs"].update(self.transcript.run_id, {**self._progress(), **final})
            if new_interventions:
                db["interventions"].insert_all(new_interventions, replace=True)
        self._written_interventions = len(self.interventions)
        self._last_write = self.clock()

    def _progress(self) -> dict[str, Any]:
        transcript = self.transcript
        return {
            "thinking": transcript.thinking,
            "answer": transcript.answer,
            "segments": json.dumps([asdict(s) for s in transcript.segments], ensure_ascii=False),
            "thinking_tokens": transcript.thinking_tokens,
            "answer_tokens": transcript.answer_tokens,
            "waits_inserted": transcript.waits_inserted,
            "warnings": json.dumps(transcript.warnings, ensure_ascii=False),
            "updated_at": utc_now(),
        }

    def _fail(self, failure: StoreError) -> None:
        self.error = failure
        if self._started and not self._done:
            # Best effort, so the row does not stay "running" while this process lives: a
            # one-row status change often still fits where the growing text did not.
            try:
                with self.store.transaction() as db:
                    db["runs"].update(self.transcript.run_id, {"status": "interrupted", "error": str(failure)})
            except StoreError:
                pass  # the next open_store after this process ends marks it instead
        if self.on_error is not None:
            self.on_error(failure)


def _from_engine(intervention: Intervention) -> dict[str, Any]:
    return {"kind": intervention.kind, "position_tokens": intervention.position_tokens,
            "text": intervention.text, "section": None, "char_offset": None}
