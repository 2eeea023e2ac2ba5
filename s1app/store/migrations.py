"""The schema, grown by named migration functions applied in order (the simonw/llm pattern).

Each function runs once per database; its name is then recorded in ``_s1app_migrations``.
Never edit or reorder a released migration: add the next ``m0NN_...`` function instead. A database holding a
migration name this code does not know was written by a newer s1app (see ``unknown_migrations``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

MIGRATIONS_TABLE = "_s1app_migrations"
Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []


def migration(function: Migration) -> Migration:
    MIGRATIONS.append(function)
    return function


@migration
def m001_initial(db: sqlite_utils.Database) -> None:
    db["conversations"].create(
        {"id": str, "title": str, "source": str, "created_at": str},
        pk="id",
        not_null={"created_at"},
    )
    db["runs"].create(
        {
            "id": str,
            "conversation_id": str,
            "turn": int,
            "question": str,
            "model": str,
            "backend": str,
            "format": str,
            "settings": str,  # JSON: every resolved BudgetConfig field
            "prompt_tokens": int,
            "thinking": str,
            "answer": str,
            "segments": str,  # JSON: the text in order with forced flags, for exact re-rendering
            "thinking_tokens": int,
            "thinking_tokens_sampled": int,
            "thinking_tokens_forced": int,
            "forced_tokens": int,
            "waits_inserted": int,
            "answer_tokens": int,
            "answer_tokens_sampled": int,
            "thinking_end_reason": str,
            "stop_reason": str,
            "time_to_first_token_s": float,
            "tokens_per_s": float,
            "wall_s": float,
            "started_at": str,
            "finished_at": str,
            "updated_at": str,  # the writer's heartbeat: set on every write
            "status": str,
            "error": str,
            "warnings": str,  # JSON list
            "writer_pid": int,  # who writes a running row, to tell a live writer from a dead one
            "writer_host": str,
        },
        pk="id",
        not_null={"question", "status", "started_at"},
        defaults={"thinking": "", "answer": "", "segments": "[]", "settings": "{}", "warnings": "[]"},
        foreign_keys=[("conversation_id", "conversations", "id")],
    )
    db["runs"].create_index(["started_at"])
    db["runs"].create_index(["status"])
    db["runs"].create_index(["conversation_id"])
    db["interventions"].create(
        {
            "run_id": str,
            "seq": int,
            "kind": str,
            "position_tokens": int,
            "text": str,
            "section": str,  # where the forced text sits: thinking | delimiter | answer
            "char_offset": int,  # its first character within that section's text
        },
        pk=("run_id", "seq"),
        not_null={"kind", "text"},
        foreign_keys=[("run_id", "runs", "id")],
    )


@migration
def m002_runs_fts(db: sqlite_utils.Database) -> None:
    # External-content FTS5 kept in step by triggers, so the text is not stored twice.
    db["runs"].enable_fts(["question", "thinking", "answer"], create_triggers=True, tokenize="porter")


@migration
def m003_runs_token_ids_sha256(db: sqlite_utils.Database) -> None:
    """Which tokens a run produced, as a digest: equal digests, equal runs (reproducibility checks)."""
    db["runs"].add_column("token_ids_sha256", str)


@migration
def m004_text_chunks_while_running(db: sqlite_utils.Database) -> None:
    """While a run streams, its new text is appended as chunks (each write costs the new text only);
    the runs row gets the whole text once, when the run ends. The full-text index is then updated
    only when the text columns change, not on every counter update of a running row."""
    db["run_text_chunks"].create(
        {"run_id": str, "seq": int, "section": str, "forced": int, "text": str},
        pk=("run_id", "seq"),
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.execute("drop trigger if exists runs_au")
    db.execute(
        'create trigger "runs_au" after update of "question", "thinking", "answer" on "runs" begin '
        'insert into "runs_fts" ("runs_fts", rowid, "question", "thinking", "answer") '
        "values('delete', old.rowid, old.\"question\", old.\"thinking\", old.\"answer\"); "
        'insert into "runs_fts" (rowid, "question", "thinking", "answer") '
        'values (new.rowid, new."question", new."thinking", new."answer"); end'
    )


@migration
def m005_eval_items(db: sqlite_utils.Database) -> None:
    # An eval run (s1app eval) grades many items; each item is one or more runs (rejection
    # sampling's tries, majority voting's samples). The runs themselves stay in `runs`.
    db["eval_runs"].create(
        {
            "id": str,
            "bench": str,
            "methods": str,  # JSON list
            "model": str,
            "backend": str,
            "plan": str,  # JSON: the whole EvalPlan, as in the run folder's manifest
            "out_dir": str,  # the run folder (items.jsonl, summary, plot)
            "created_at": str,
        },
        pk="id",
        not_null={"bench", "created_at"},
    )
    db["eval_items"].create(
        {
            "eval_run_id": str,
            "setting": str,
            "item_id": str,
            "method": str,
            "extracted": str,  # the graded answer (GPQA: a letter); never the question or the model's text
            "correct": int,
            "thinking_tokens": int,
            "forced_tokens": int,
            "waits_inserted": int,
            "answer_tokens": int,
            "generated_tokens": int,
            "wall_s": float,
            "finished_at": str,
            "record": str,  # JSON: the whole item record, as in items.jsonl
        },
        pk=("eval_run_id", "setting", "item_id"),
        not_null={"method", "record"},
        foreign_keys=[("eval_run_id", "eval_runs", "id")],
    )
    db["eval_item_runs"].create(
        {"run_id": str, "eval_run_id": str, "setting": str, "item_id": str, "attempt": int},
        pk="run_id",
    )
    db["eval_item_runs"].create_index(["eval_run_id", "setting", "item_id"])


@migration
def m006_probes(db: sqlite_utils.Database) -> None:
    """A run's answer probes (AnswerProbed events), in order: what it would answer if thinking
    stopped at ``thinking_tokens``. The primary key (run_id, seq) is the index on run_id."""
    db["probes"].create(
        {
            "run_id": str,
            "seq": int,  # order within the run (the Run's, which is position order)
            "thinking_tokens": int,  # AnswerProbed.position_tokens
            "kind": str,  # budget | stop
            "waits_before": int,
            "text": str,  # a private run's probes keep "" (see RunRecorder)
            "extracted": str,  # NULL: no answer found, or a private run
            "confidence": float,
            "answer_tokens": int,
            "forced_tokens": int,
            "stop_reason": str,
            "seconds": float,
            "token_ids_sha256": str,
        },
        pk=("run_id", "seq"),
        not_null={"thinking_tokens", "kind", "text"},
        foreign_keys=[("run_id", "runs", "id")],
    )


@migration
def m007_eval_item_runs_many_items(db: sqlite_utils.Database) -> None:
    """A run may stand for several eval items: a shared budget-forcing trajectory is the run of
    every (budget, Waits) setting of its question, so the link's key becomes the whole row."""
    db["eval_item_runs"].transform(pk=("run_id", "eval_run_id", "setting", "item_id"))


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    if not db[MIGRATIONS_TABLE].exists():
        return []
    return [row["name"] for row in db.query(f"select name from {MIGRATIONS_TABLE} order by rowid")]


def unknown_migrations(db: sqlite_utils.Database) -> list[str]:
    """Migration names in the database that this code does not have: a newer s1app wrote it."""
    known = {function.__name__ for function in MIGRATIONS}
    return [name for name in applied_migrations(db) if name not in known]


def pending_migrations(db: sqlite_utils.Database) -> list[Migration]:
    applied = set(applied_migrations(db))
    return [function for function in MIGRATIONS if function.__name__ not in applied]


def migrate(db: sqlite_utils.Database, upto: str | None = None) -> list[str]:
    """Apply every pending migration in order (or those up to and including ``upto``).

    Run it inside one write transaction (db.open_store does) so that an upgrade is all-or-nothing
    and two processes opening a new database at once do not both migrate. Returns the names applied.
    """
    db[MIGRATIONS_TABLE].create({"name": str, "applied_at": str}, pk="name", if_not_exists=True)
    applied: list[str] = []
    for function in pending_migrations(db):
        function(db)
        db.execute(
            f"insert into {MIGRATIONS_TABLE} (name, applied_at) values (?, ?)",
            [function.__name__, datetime.now(UTC).isoformat(timespec="seconds")],
        )
        applied.append(function.__name__)
        if function.__name__ == upto:
            break
    return applied
