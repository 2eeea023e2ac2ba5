"""A running run's text, kept as appended chunks until the run ends (see m004 in migrations.py).

The recorder appends what arrived since its last write; ``settle`` folds the chunks into the runs
row's thinking / answer / segments once (at the end, or when a dead writer's run is marked
interrupted) and deletes them; readers of a run that has not settled yet merge them on the fly.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from s1app.segments import Segment, append_text

TABLE = "run_text_chunks"


def text_from_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """thinking, answer and segments (the runs columns) from a run's chunks, joined as the Run joins text."""
    segments: list[Segment] = []
    for chunk in chunks:
        append_text(segments, chunk["section"], chunk["text"], bool(chunk["forced"]))
    return {
        "thinking": "".join(s.text for s in segments if s.section == "thinking"),
        "answer": "".join(s.text for s in segments if s.section == "answer"),
        "segments": json.dumps([s.to_dict() for s in segments], ensure_ascii=False),
    }


def chunks_of(db: sqlite_utils.Database, run_id: str) -> list[dict[str, Any]]:
    return list(db.query(f"select section, forced, text from {TABLE} where run_id = ? order by seq", [run_id]))


def merged(db: sqlite_utils.Database, run: dict[str, Any]) -> dict[str, Any]:
    """The run row with its text, whether it has settled or still lives in chunks."""
    chunks = chunks_of(db, run["id"])
    return {**run, **text_from_chunks(chunks)} if chunks else run


def settle(db: sqlite_utils.Database, run_id: str) -> None:
    """Move a run's chunks into its runs row (one full-text index update) and drop them."""
    chunks = chunks_of(db, run_id)
    if chunks:
        db["runs"].update(run_id, text_from_chunks(chunks))
        db.execute(f"delete from {TABLE} where run_id = ?", [run_id])
