"""Open the session log: find its path, check the file, apply migrations, mark dead runs.

Every failure a person can cause (a path that cannot be created, a file that is not SQLite, a
database from a newer s1app, a read-only file, a full disk) becomes a StoreError that says what
to do. Opening never writes to a file it has not recognized as an s1app database, so a wrong
--db cannot damage anything.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import platformdirs
import sqlite_utils

from s1app.errors import StoreError
from s1app.store.migrations import MIGRATIONS, migrate, pending_migrations, unknown_migrations

BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's transaction (ours last milliseconds)."""
WAL_RETRY_PAUSE_S = 0.05


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("s1app", appauthor=False)) / "sessions.db"


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """``path``, else $S1APP_DB, else the per-user default."""
    chosen = path or os.environ.get("S1APP_DB") or default_db_path()
    return Path(chosen).expanduser()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Conversation:
    """A multi-turn chat. Its row is written together with its first run, so an empty chat
    leaves nothing behind."""

    id: str
    source: str
    title: str | None
    created_at: str
    turns_recorded: int = 0


class Store:
    """One open session log. Safe to share between threads (the compare view records two runs
    at once); writes are short transactions serialized by a lock here and by SQLite's own lock
    between processes."""

    def __init__(self, path: Path, conn: sqlite3.Connection, read_only: bool) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self.read_only = read_only
        self.lock = threading.RLock()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction. BEGIN IMMEDIATE takes the write lock up front, so two writers
        queue on the busy timeout instead of failing when a read upgrades to a write."""
        if self.read_only:
            raise StoreError(read_only_message(self.path))
        with self.lock:
            try:
                with immediate_transaction(self.db):
                    yield self.db
            except sqlite3.Error as failure:
                raise store_error(failure, self.path) from failure

    @contextmanager
    def reading(self) -> Iterator[sqlite_utils.Database]:
        with self.lock:
            try:
                yield self.db
            except sqlite3.Error as failure:
                raise store_error(failure, self.path) from failure

    def open_reader(self) -> sqlite_utils.Database:
        """A second, read-only connection: long reads (export) then never hold up recording."""
        try:
            return sqlite_utils.Database(_connect(self.path, read_only=True), execute_plugins=False)
        except sqlite3.Error as failure:
            raise store_error(failure, self.path) from failure

    def new_conversation(self, source: str = "chat", title: str | None = None) -> Conversation:
        return Conversation(uuid.uuid4().hex, source, title, utc_now())


@contextmanager
def immediate_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    # sqlite-utils' write methods join an open transaction, so everything inside is one commit.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def open_store(path: str | os.PathLike | None = None) -> Store:
    """Open (creating if needed) the session log at ``path`` (see resolve_db_path).

    Applies pending migrations and marks runs whose writer died as "interrupted". A file without
    write permission opens read-only: listing and export work, recording raises StoreError.
    """
    from s1app.store.liveness import mark_interrupted_runs

    db_path = resolve_db_path(path)
    if db_path.is_dir():
        raise StoreError(f"The session log path {db_path} is a directory: pass a file path with --db or S1APP_DB.")
    read_only = db_path.exists() and not _writable(db_path)
    if not db_path.exists():
        _create_parent(db_path)
    try:
        conn = _connect(db_path, read_only)
    except sqlite3.Error as failure:
        raise store_error(failure, db_path) from failure
    store = Store(db_path, conn, read_only)
    try:
        _check_is_sqlite(store)
        _check_schema_is_known(store)
        if not read_only:
            _configure(store)
            _migrate(store)
            mark_interrupted_runs(store)
        elif pending_migrations(store.db):
            raise StoreError(
                f"The session log {db_path} is read-only and was written by an older s1app, so it "
                "cannot be upgraded: make the file writable once, or pass another --db."
            )
    except BaseException:
        conn.close()
        raise
    return store


def _writable(path: Path) -> bool:
    # Root passes os.access for any file, so also honour a file whose write bits are all off:
    # someone made it read-only on purpose.
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _create_parent(path: Path) -> None:
    blocking_file = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking_file is not None:
        raise StoreError(
            f"Cannot create the session log {path}: {blocking_file} is a file, not a folder. "
            "Pass a writable path with --db or S1APP_DB, or --no-log."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as failure:
        raise StoreError(
            f"Cannot create the folder for the session log {path} ({failure.strerror or failure}): "
            "pass a writable path with --db or S1APP_DB, or --no-log."
        ) from failure
    if not os.access(path.parent, os.W_OK):
        raise StoreError(
            f"Cannot create the session log {path}: the folder is not writable. Pass a writable "
            "path with --db or S1APP_DB, or --no-log."
        )


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    uri = path.absolute().as_uri() + ("?mode=ro" if read_only else "")
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)


def _check_is_sqlite(store: Store) -> None:
    try:
        store.conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as failure:
        raise store_error(failure, store.path) from failure


def _check_schema_is_known(store: Store) -> None:
    unknown = unknown_migrations(store.db)
    if unknown:
        raise StoreError(
            f"The session log {store.path} was written by a newer s1app (schema steps "
            f"{', '.join(unknown)} are unknown here): upgrade s1app, or pass another --db."
        )
    if store.db.table_names() and "runs" not in store.db.table_names():
        raise StoreError(
            f"{store.path} is a SQLite database but not an s1app session log: pass another --db."
        )


def _configure(store: Store) -> None:
    try:
        # WAL: readers never block the writer, and a killed process loses at most its open
        # transaction. synchronous=NORMAL is still safe against process crashes in WAL mode.
        _switch_to_wal(store.conn)
        store.conn.execute("pragma synchronous=normal")
        store.conn.execute("pragma foreign_keys=on")
    except sqlite3.Error as failure:
        raise store_error(failure, store.path) from failure


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """``pragma journal_mode=wal``, retried while another process holds the new file: SQLite
    answers "database is locked" at once here, without waiting out the busy timeout (seen when two
    processes create one database at the same moment)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as failure:
            if "locked" not in str(failure) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_PAUSE_S)


def _migrate(store: Store) -> None:
    if not pending_migrations(store.db):
        return
    # Two processes opening a new database at once: BEGIN IMMEDIATE makes the second wait,
    # and it then finds nothing pending. Each upgrade is all-or-nothing.
    with store.transaction() as db:
        migrate(db)


def schema_version(db: sqlite_utils.Database) -> int:
    """How many of this code's migrations the database has (len(MIGRATIONS) when current)."""
    return len(MIGRATIONS) - len(pending_migrations(db))


def read_only_message(path: Path) -> str:
    return (
        f"The session log {path} is read-only, so this run is not recorded: make it writable, "
        "or pass another --db (or --no-log)."
    )


def store_error(failure: sqlite3.Error, path: Path) -> StoreError:
    """Translate SQLite's error into one that says what to do."""
    code = (getattr(failure, "sqlite_errorcode", None) or 0) & 0xFF  # primary code of an extended one
    text = str(failure)
    if code == sqlite3.SQLITE_FULL or "disk is full" in text:
        return StoreError(
            f"The session log {path} is full (disk full or size limit): free some space or pass "
            "another --db. Records already written are intact."
        )
    if code == sqlite3.SQLITE_READONLY or "readonly database" in text:
        return StoreError(read_only_message(path))
    if code == sqlite3.SQLITE_NOTADB or "not a database" in text:
        return StoreError(
            f"{path} is not a SQLite database, so it cannot be the session log: move it away or "
            "pass another --db. The file was not changed."
        )
    if code == sqlite3.SQLITE_BUSY or "database is locked" in text:
        return StoreError(
            f"The session log {path} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s: "
            "try again, or pass another --db."
        )
    if code == sqlite3.SQLITE_CANTOPEN or "unable to open" in text:
        return StoreError(f"Cannot open the session log {path}: pass a writable path with --db or S1APP_DB, or --no-log.")
    return StoreError(f"The session log {path} failed ({text}): pass another --db, or --no-log.")
