"""RunRecorder: subscribe to one Run and keep its row in the store up to date.

The row is written on RunStarted (status "running"), updated at least once a second while text
streams and at once on every intervention and answer probe, and finalized on RunFinished. While
the run streams, each write appends only the text that arrived since the last one
(``text_chunks``) with the counters, new interventions and new probes, in one short
transaction: a process killed mid-run leaves a consistent run at most ``flush_interval_s``
behind (the next open_store marks it "interrupted").
The whole text goes into the runs row once, when the run ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from s1app.errors import StoreError
from s1app.events import AnswerDelta, Event, RunFinished, RunStarted, ThinkingDelta
from s1app.run import Run
from s1app.store import probe_records, text_chunks
from s1app.store.db import Conversation, Store, utc_now
from s1app.store.liveness import writer_identity

FLUSH_INTERVAL_S = 0.5
"""Half the promised second, so a slow write or a gap between tokens still keeps the promise."""


class RunRecorder:
    """Records one run, reading what it writes from the Run it listens to (``attach``).

    ``record`` never raises: on a store failure it remembers the StoreError in ``error``, calls
    ``on_error`` once, and ignores the rest of the run (the run itself goes on). With
    ``private_label`` the log keeps that label instead of the question and none of the model's
    text (a private benchmark's item: GPQA); counts and the engine's forced text stay, and its
    probes keep their numbers but not their text nor extracted answer.
    """

    def __init__(
        self,
        store: Store,
        run: Run,
        conversation: Conversation | None = None,
        on_error: Callable[[StoreError], None] | None = None,
        *,
        private_label: str | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.fold = run
        self.conversation = conversation
        self.on_error = on_error
        self.private_label = private_label
        self.flush_interval_s = flush_interval_s
        self.clock = clock
        self.error: StoreError | None = None
        self._written_interventions = 0
        self._written_probes = 0
        self._chunk_cursor = (0, 0)
        """(segment, part) of the fold written up to."""
        self._chunks_written = 0
        self._last_write = 0.0
        self._started = False
        self._done = False

    @property
    def run_id(self) -> str | None:
        return self.fold.run_id or None

    @classmethod
    def attach(cls, store: Store, run: Run, conversation: Conversation | None = None,
               on_error: Callable[[StoreError], None] | None = None, **options: Any) -> RunRecorder:
        """A recorder subscribed to ``run``: each event is written after the Run has folded it, and
        the recorder is closed when the run's stream ends, however it ends."""
        recorder = cls(store, run, conversation, on_error, **options)
        run.subscribe(recorder.record, recorder.close)
        return recorder

    def record(self, event: Event) -> None:
        """Write what ``event`` changed (already folded into the Run)."""
        if self.error is not None or self._done:
            return
        try:
            self._handle(event)
        except StoreError as failure:
            self._fail(failure)

    def close(self) -> None:
        """End recording. A run that never reached RunFinished is kept as "interrupted"."""
        if self._started and not self._done and self.error is None:
            try:
                self._write(final=True, status="interrupted", finished_at=utc_now(),
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
            case _:
                # Forced text, interventions, probes, warnings, loop and cap markers: written at once.
                self._write()

    # -- writes -------------------------------------------------------------------------------

    def _insert(self) -> None:
        pid, host = writer_identity()
        started = self.fold.started
        row = {
            **self._progress(), "id": started.run_id, "question": self.private_label or started.question,
            "model": started.model,
            "backend": started.backend, "format": started.format,
            "settings": json.dumps(started.settings, ensure_ascii=False), "prompt_tokens": started.prompt_tokens,
            "started_at": started.started_at, "status": "running", "writer_pid": pid, "writer_host": host,
        }
        conversation = self.conversation
        with self.store.transaction() as db:
            if conversation is not None:
                db["conversations"].insert(
                    {"id": conversation.id, "title": conversation.title or started.question[:200],
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
        stats = asdict(self.fold.stats)
        stats.pop("prompt_tokens", None)
        self._write(final=True, **stats, status=self.fold.status, error=finished.error,
                    finished_at=finished.finished_at or utc_now())

    def _write(self, *, final: bool = False, **fields: Any) -> None:
        """One transaction: the new text as chunks (or, when ``final``, the whole text in the row),
        the counters, ``fields``, and the interventions and probes not written yet."""
        if not self._started:
            return
        run_id = self.fold.run_id
        interventions = [{"run_id": run_id, "seq": seq, **asdict(item)}
                         for seq, item in enumerate(self.fold.interventions)][self._written_interventions:]
        chunks = [] if final else self._new_chunks()
        probes_folded = len(self.fold.probes)
        probes = probe_records.probe_rows(run_id, self.fold.probes[self._written_probes:probes_folded],
                                          self._written_probes, private=self.private_label is not None)
        with self.store.transaction() as db:
            if chunks:
                db[text_chunks.TABLE].insert_all(chunks)
            row = {**self._progress(), **fields}
            if final:
                segments = [{**s.to_dict(), "text": self._shown(s.text, s.forced)} for s in self.fold.segments]
                row.update(thinking="".join(s["text"] for s in segments if s["section"] == "thinking"),
                           answer="".join(s["text"] for s in segments if s["section"] == "answer"),
                           segments=json.dumps(segments, ensure_ascii=False))
                db.execute(f"delete from {text_chunks.TABLE} where run_id = ?", [run_id])
            db["runs"].update(run_id, row)
            if interventions:
                db["interventions"].insert_all(interventions, replace=True)
            if probes:
                db[probe_records.TABLE].insert_all(probes, replace=True)
        self._written_interventions = len(self.fold.interventions)
        self._written_probes = probes_folded
        self._last_write = self.clock()

    def _new_chunks(self) -> list[dict[str, Any]]:
        """The text folded in since the last write, one chunk per segment it touches."""
        segments = self.fold.segments
        index, part = self._chunk_cursor
        chunks = []
        while index < len(segments):
            segment = segments[index]
            if len(segment.parts) > part:
                chunks.append({"run_id": self.fold.run_id, "seq": self._chunks_written + len(chunks),
                               "section": segment.section, "forced": int(segment.forced),
                               "text": self._shown("".join(segment.parts[part:]), segment.forced)})
            if index == len(segments) - 1:
                part = len(segment.parts)  # the last segment may still grow
                break
            index, part = index + 1, 0
        self._chunk_cursor = (index, part)
        self._chunks_written += len(chunks)
        return chunks

    def _shown(self, text: str, forced: bool) -> str:
        """What the log may keep of a stretch of text: a private run keeps only the engine's own."""
        return text if forced or self.private_label is None else ""

    def _progress(self) -> dict[str, Any]:
        fold = self.fold
        return {
            "thinking_tokens": fold.thinking_tokens,
            "answer_tokens": fold.answer_tokens,
            "waits_inserted": fold.waits_inserted,
            "warnings": json.dumps(fold.warnings, ensure_ascii=False),
            "updated_at": utc_now(),
        }

    def _fail(self, failure: StoreError) -> None:
        self.error = failure
        if self._started and not self._done:
            # Best effort, so the row does not stay "running" while this process lives: a
            # one-row status change often still fits where the growing text did not.
            try:
                with self.store.transaction() as db:
                    db["runs"].update(self.fold.run_id, {"status": "interrupted", "error": str(failure)})
            except StoreError:
                pass  # the next open_store after this process ends marks it instead
        if self.on_error is not None:
            self.on_error(failure)

