"""Read the log: list and search runs (newest first), get one run, stream all of them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlite_utils

from s1app.errors import StoreError
from s1app.store import text_chunks
from s1app.store.db import Store, store_error
from s1app.store.probe_records import probes_of
from s1app.store.records import SUMMARY_COLUMNS, record_from_rows


def _search_clause(db: sqlite_utils.Database, search: str | None) -> tuple[str, list[Any]]:
    """A WHERE clause matching ``search`` in question, thinking or answer (all words, any order)."""
    if not search or not search.strip():
        return "", []
    # quote_fts turns free text into a safe FTS5 query: "2+3" or a stray quote is not syntax.
    return "where rowid in (select rowid from runs_fts where runs_fts match ?)", [db.quote_fts(search)]


def list_runs(store: Store, limit: int = 20, search: str | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Run summaries, newest first (see SUMMARY_COLUMNS)."""
    with store.reading() as db:
        where, params = _search_clause(db, search)
        return list(db.query(
            f"select {', '.join(SUMMARY_COLUMNS)} from runs {where} order by started_at desc, id limit ? offset ?",
            [*params, limit, offset],
        ))


def count_runs(store: Store, search: str | None = None) -> int:
    with store.reading() as db:
        where, params = _search_clause(db, search)
        return db.execute(f"select count(*) from runs {where}", params).fetchone()[0]


def get_run(store: Store, run_id: str) -> dict[str, Any]:
    """The full record of the run with this id, or with this unique id prefix."""
    with store.reading() as db:
        rows = list(db.query("select * from runs where id = ?", [run_id]))
        if not rows and run_id:
            rows = list(db.query("select * from runs where id like ? escape '\\' limit 2",
                                 [run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]))
        if not rows:
            raise StoreError(f"No run {run_id!r} in the session log {store.path}: `s1app logs list` shows the ids.")
        if len(rows) > 1:
            raise StoreError(f"More than one run starts with {run_id!r}: give more of the id.")
        return _full_record(db, rows[0])


def iter_runs(store: Store, search: str | None = None) -> Iterator[dict[str, Any]]:
    """Every matching run as a full record, oldest first, read one at a time from its own
    read-only connection (one consistent snapshot; recording goes on meanwhile)."""
    reader = store.open_reader()
    try:
        reader.conn.execute("begin")  # one snapshot for the whole export
        where, params = _search_clause(reader, search)
        for row in reader.query(f"select * from runs {where} order by started_at, id", params):
            yield _full_record(reader, row)
    except sqlite3.Error as failure:
        raise store_error(failure, store.path) from failure
    finally:
        reader.conn.close()


def _full_record(db: sqlite_utils.Database, run: dict[str, Any]) -> dict[str, Any]:
    run = text_chunks.merged(db, run)  # a run still streaming keeps its text in chunks
    interventions = list(db.query("select * from interventions where run_id = ? order by seq", [run["id"]]))
    conversation = None
    if run["conversation_id"]:
        conversation = next(db.query("select * from conversations where id = ?", [run["conversation_id"]]), None)
    return record_from_rows(run, interventions, conversation, probes_of(db, run["id"]))
