"""Crash safety (a real generation SIGKILLed mid-stream) and concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils
from store_support import HandFed, scripted_run

from s1app.store import get_run, list_runs, open_store, text_chunks

S1APP = Path(sys.executable).with_name("s1app")
TESTS = Path(__file__).parent


def running_row(db: Path) -> dict | None:
    """The run as another reader sees it right now (None before the database exists)."""
    if not db.exists():
        return None
    reader = sqlite_utils.Database(sqlite3.connect(f"file:{db}?mode=ro", uri=True))
    try:
        row = next(reader.query("select * from runs"), None)
        return text_chunks.merged(reader, row) if row else None  # its text while it streams: chunks
    except sqlite3.OperationalError:
        return None  # still being created
    finally:
        reader.conn.close()


@pytest.mark.slow
def test_sigkilled_generation_keeps_its_partial_run_and_is_marked_interrupted_on_reopen(tmp_path):
    db = tmp_path / "sessions.db"
    child = subprocess.Popen(
        [str(S1APP), "ask", "Tell me a long story about a dragon and a knight.", "--max-thinking", "4000",
         "--no-loop-detect", "--max-answer", "8", "--json", "--db", str(db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        snapshots: list[str] = []
        deadline = time.monotonic() + 300  # generous: the CPU may be shared; no timing is asserted
        while len(snapshots) < 3 and time.monotonic() < deadline and child.poll() is None:
            row = running_row(db)
            if row and row["thinking"] and (not snapshots or row["thinking"] != snapshots[-1]):
                snapshots.append(row["thinking"])
            time.sleep(0.05)
        assert len(snapshots) == 3, "the run was not written as it streamed"
        assert snapshots[1].startswith(snapshots[0]) and snapshots[2].startswith(snapshots[1])

        # A run streaming in another live process is not mistaken for a dead one.
        with open_store(db) as store:
            assert list_runs(store)[0]["status"] == "running"

        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    with open_store(db) as store:
        assert store.conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        (summary,) = list_runs(store)
        record = get_run(store, summary["id"])
    assert record["status"] == "interrupted" and record["finished_at"]
    assert record["thinking"].startswith(snapshots[-1])
    assert record["thinking_tokens"] > 0 and record["question"].startswith("Tell me a long story")


WRITER = textwrap.dedent("""
    import sys
    from store_support import HandFed, scripted_run
    from s1app.store import RunRecorder, open_store
    db, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open_store(db) as store:
        for n in range(runs):
            # flush_interval_s=0: a write per event, the most contention two writers can make
            recorder = HandFed(store, flush_interval_s=0)
            for event in scripted_run(f"{name} question {n}", thinking_pieces=12, piece=name + " "):
                recorder.record(event)
            assert recorder.error is None, recorder.error
""")


def test_two_processes_recording_into_one_new_database_lose_nothing(tmp_path):
    db = tmp_path / "shared.db"
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), name, "40"], env=env,
                                stderr=subprocess.PIPE, text=True) for name in ("alpha", "beta")]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors
    with open_store(db) as store:
        assert store.conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        runs = list_runs(store, limit=1000)
        assert len(runs) == 80 and {run["status"] for run in runs} == {"finished"}
        for name in ("alpha", "beta"):
            assert len(list_runs(store, limit=1000, search=name)) == 40
            record = get_run(store, next(r["id"] for r in runs if r["question"] == f"{name} question 7"))
            assert record["thinking"] == f"{name} " * 6 + "Wait" + f"{name} " * 6
            assert [i["kind"] for i in record["interventions"]] == ["wait", "cap", "final-answer"]


def test_two_runs_streaming_at_once_in_one_process_share_a_store(tmp_path):
    failures: list = []

    def stream_runs(store, name):
        for n in range(25):
            recorder = HandFed(store, flush_interval_s=0, on_error=failures.append)
            for event in scripted_run(f"{name} {n}", thinking_pieces=10, piece=name + " "):
                recorder.record(event)

    with open_store(tmp_path / "sessions.db") as store:
        threads = [threading.Thread(target=stream_runs, args=(store, name)) for name in ("left", "right")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        runs = list_runs(store, limit=100)
        assert len(runs) == 50 and {run["status"] for run in runs} == {"finished"}


def test_opening_a_new_log_while_another_process_is_still_creating_it_waits_instead_of_failing(tmp_path):
    """`pragma journal_mode=wal` answers "database is locked" at once, ignoring the busy timeout,
    while another connection holds a write lock on a file not yet in WAL mode (the moment another
    process is creating the log). This made the two-writer test above fail once in CI."""
    db = tmp_path / "new.db"
    creator = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")  # a write lock on a file still in rollback-journal mode
    release = threading.Timer(0.5, lambda: creator.execute("COMMIT"))
    release.start()
    try:
        with open_store(db) as store:
            assert store.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
            assert list_runs(store) == []
    finally:
        release.join()
        creator.close()
