"""Bad input and faults: each a clear StoreError, the app goes on, no existing record damaged."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import pytest
from store_support import HandFed, scripted_run
from typer.testing import CliRunner

from s1app.cli import app
from s1app.errors import StoreError
from s1app.store import (
    count_runs,
    export_runs,
    get_run,
    import_runs,
    list_runs,
    open_store,
)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(store, events):
    failures = []
    recorder = HandFed(store, on_error=failures.append)
    for event in events:
        recorder.record(event)  # never raises
    return recorder, failures


@pytest.fixture
def store_with_one_run(tmp_path):
    path = tmp_path / "sessions.db"
    with open_store(path) as store:
        recorder, failures = record(store, scripted_run("The run that must survive"))
        assert not failures
    return path, recorder.run_id


def test_unwritable_db_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="is a file, not a folder.*--db"):
        open_store(blocker / "sessions.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_db_in_a_folder_without_write_permission_is_a_clear_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(StoreError, match="not writable.*--db"):
        open_store(folder / "sessions.db")


def test_file_that_is_not_sqlite_is_refused_and_not_changed(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my precious notes\n" * 200)
    before = digest(path)
    with pytest.raises(StoreError, match="not a SQLite database.*not changed"):
        open_store(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_sqlite_database_of_another_app_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("create table photos (id integer primary key)")
    conn.close()
    with pytest.raises(StoreError, match="not an s1app session log"):
        open_store(path)


def test_read_only_database_can_be_listed_but_refuses_to_record(store_with_one_run):
    path, run_id = store_with_one_run
    path.chmod(0o444)
    before = digest(path)
    with open_store(path) as store:
        assert store.read_only
        assert [run["id"] for run in list_runs(store)] == [run_id]
        recorder, failures = record(store, scripted_run())
        assert len(failures) == 1 and "read-only" in str(failures[0]) and recorder.error is failures[0]
    assert digest(path) == before


def test_export_into_a_missing_folder_is_a_clear_error(store_with_one_run, tmp_path):
    path, _ = store_with_one_run
    with open_store(path) as store, pytest.raises(StoreError, match="does not exist.*--out"):
        export_runs(store, tmp_path / "missing" / "runs.jsonl")
    assert not (tmp_path / "missing").exists()


def test_import_with_a_malformed_line_reports_its_number_and_imports_nothing(store_with_one_run, tmp_path):
    path, run_id = store_with_one_run
    good = tmp_path / "good.jsonl"
    with open_store(path) as store:
        export_runs(store, good)
    record_line = json.loads(good.read_text())
    lines = [json.dumps({**record_line, "id": f"run-{n}"}) for n in range(5)]
    lines[2] = '{"id": "broken", "question": '  # cut off mid-line
    lines[4] = json.dumps({**record_line, "id": "bad-status", "status": "done?"})
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with open_store(tmp_path / "target.db") as target:
        with pytest.raises(StoreError, match=r"2 malformed line\(s\), so nothing was imported.*line 3: not valid JSON.*line 5: 'status'"):
            import_runs(target, bad)
        assert count_runs(target) == 0


def test_disk_full_stops_recording_and_keeps_earlier_runs(store_with_one_run):
    path, run_id = store_with_one_run
    with open_store(path) as store:
        pages = store.conn.execute("pragma page_count").fetchone()[0]
        # A size limit on this connection behaves like a full disk (SQLITE_FULL).
        store.conn.execute(f"pragma max_page_count = {pages + 2}")
        recorder, failures = record(store, scripted_run("A run too big to fit", thinking_pieces=400, piece="x" * 200))
        assert len(failures) == 1 and "is full" in str(failures[0])
        assert get_run(store, run_id)["answer"] == "Final Answer: 5"
    with open_store(path) as store:
        assert store.conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        survivor = get_run(store, run_id)
        assert survivor["status"] == "finished" and survivor["thinking"].startswith("think ")
        statuses = {run["question"]: run["status"] for run in list_runs(store)}
        assert statuses.get("A run too big to fit", "interrupted") == "interrupted"


def test_ask_goes_on_without_logging_when_the_log_cannot_be_opened(model, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(app, ["ask", "What is 2+3?", "--max-thinking", "8", "--max-answer", "4",
                                      "--json", "--db", str(blocker / "sessions.db")])
    assert result.exit_code == 0, result.output
    warning = " ".join(result.stderr.split())  # rich wraps long lines
    assert warning.startswith("Warning: Cannot create the session log") and "Going on without recording" in warning
    assert json.loads(result.stdout)["status"] == "finished"

