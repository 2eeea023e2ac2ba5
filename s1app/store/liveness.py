"""Tell a run whose process died from one still streaming in another process.

A running row carries its writer's pid and host, and ``updated_at``, a heartbeat refreshed on
every write (at least once a second while tokens flow). When a store opens, a running row is
marked "interrupted" if
- it was written on this host by a pid that no longer exists (SIGKILL, power cut, crash), or
- its heartbeat is older than STALE_AFTER_S: written on another host (a copied file), or by a
  pid that has since been reused by an unrelated process, or
- it has no writer (it was imported).
A run streaming in another live process on this host is left alone.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from s1app.store import text_chunks
from s1app.store.db import Store

STALE_AFTER_S = 3600.0
"""A live run writes every second while it streams; an hour of silence means its writer is gone."""


def writer_identity() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


def process_alive(pid: int) -> bool:
    if os.name == "nt":
        # os.kill(pid, 0) would terminate the process on Windows; rely on the heartbeat there.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def writer_is_gone(pid: int | None, host: str | None, updated_at: str | None, now: datetime) -> bool:
    if updated_at:
        try:
            silent_s = (now - datetime.fromisoformat(updated_at)).total_seconds()
        except ValueError:
            silent_s = STALE_AFTER_S + 1
        if silent_s > STALE_AFTER_S:
            return True
    if pid is None:
        return True  # no writer at all: e.g. a running row that came in through import
    this_pid, this_host = writer_identity()
    if host == this_host:
        return pid != this_pid and not process_alive(pid)
    return False


def mark_interrupted_runs(store: Store) -> list[str]:
    """Mark the running rows whose writer is gone as interrupted; return their ids."""
    now = datetime.now(UTC)
    with store.reading() as db:
        running = list(db.query("select id, writer_pid, writer_host, updated_at from runs where status = 'running'"))
    gone = [row["id"] for row in running
            if writer_is_gone(row["writer_pid"], row["writer_host"], row["updated_at"], now)]
    if gone:
        with store.transaction() as db:
            for run_id in gone:
                # The status guard keeps a run that finished meanwhile as it is.
                db.execute(
                    "update runs set status = 'interrupted', finished_at = coalesce(finished_at, updated_at), "
                    "error = coalesce(error, 'the process recording this run stopped before it finished') "
                    "where id = ? and status = 'running'",
                    [run_id],
                )
                text_chunks.settle(db, run_id)
    return gone
