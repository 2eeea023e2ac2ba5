"""The schema: created from empty, upgraded from every earlier version, refused when newer."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
import sqlite_utils
from store_support import HandFed, scripted_run

from s1app.errors import StoreError
from s1app.store import get_run, list_runs, open_store
from s1app.store.db import schema_version
from s1app.store.migrations import (
    MIGRATIONS,
    MIGRATIONS_TABLE,
    applied_migrations,
    migrate,
)


def test_new_database_gets_every_migration_in_order_and_wal(tmp_path):
    with open_store(tmp_path / "new" / "sessions.db") as store:
        assert applied_migrations(store.db) == [m.__name__ for m in MIGRATIONS]
        assert schema_version(store.db) == len(MIGRATIONS)
        assert store.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert {"conversations", "runs", "interventions", "probes", "runs_fts"} <= set(store.db.table_names())


def test_reopening_a_current_database_applies_nothing(tmp_path):
    path = tmp_path / "sessions.db"
    open_store(path).close()
    with open_store(path) as store:
        rows = list(store.db.query(f"select name from {MIGRATIONS_TABLE}"))
        assert len(rows) == len(MIGRATIONS)


@pytest.mark.parametrize("applied", range(1, len(MIGRATIONS)))
def test_upgrade_from_each_earlier_version_keeps_its_runs(tmp_path, applied):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrate(old, upto=MIGRATIONS[applied - 1].__name__)
    assert len(applied_migrations(old)) == applied
    old["runs"].insert({"id": "old-run", "question": "Is the old run kept?", "thinking": "yes, searchable",
                        "answer": "kept", "status": "finished", "started_at": "2026-01-01T00:00:00.000+00:00"})
    old.conn.close()

    with open_store(path) as store:
        assert schema_version(store.db) == len(MIGRATIONS)
        assert get_run(store, "old-run")["thinking"] == "yes, searchable"
        assert [r["id"] for r in list_runs(store, search="searchable")] == ["old-run"]
        recorder = HandFed(store)
        for event in scripted_run(probes=True):
            recorder.record(event)
        assert recorder.error is None
        assert get_run(store, recorder.run_id)["probes"] == recorder.fold.to_json()["probes"]


def test_database_from_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "sessions.db"
    open_store(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"insert into {MIGRATIONS_TABLE} (name, applied_at) values ('m999_from_the_future', 'x')")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="newer s1app.*m999_from_the_future.*upgrade s1app"):
        open_store(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
