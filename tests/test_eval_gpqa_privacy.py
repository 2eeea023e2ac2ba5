"""GPQA Diamond never appears in plain text: not in the temp dir, the JSONL, the session log or the output.

The GPQA authors ask that the questions never be published in plain text. An eval of two GPQA
items runs through the CLI with its temp dir, run folder and session log all under one folder;
then every file there (and the process's output) is searched for pieces of those questions and
their options. Failures report file names only, never the text searched for.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from s1app.eval.gpqa import diamond_rows

SNIPPET_CHARS = 24


def snippets(prompt: str) -> list[str]:
    """Distinctive pieces of a question and its options (short options like "4" would match anything)."""
    pieces = []
    for line in prompt.splitlines():
        text = line[3:] if line[1:3] == ") " else line  # drop an option's "A) "
        text = text.strip()
        if len(text) >= SNIPPET_CHARS:
            pieces += [text[:SNIPPET_CHARS], text[len(text) // 2: len(text) // 2 + SNIPPET_CHARS]]
    return pieces


@pytest.mark.slow
def test_a_gpqa_eval_leaves_no_question_text_anywhere(tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    db = tmp_path / "sessions.db"
    result = subprocess.run(
        [sys.executable, "-m", "s1app", "eval", "--bench", "gpqa", "--limit", "2", "--method", "bf",
         "--budgets", "8", "--max-answer", "12", "--out", str(tmp_path / "out"), "--db", str(db)],
        capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, "the eval failed (its output is not shown: it could quote a question)"

    needles = [s.encode() for _, prompt, _ in diamond_rows()[:2] for s in snippets(prompt)]
    assert len(needles) >= 8
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "items.jsonl" for path in files) and any(path.name == "sessions.db" for path in files)
    leaking = [str(path) for path in files if any(needle in path.read_bytes() for needle in needles)]
    output_leaks = any(needle.decode() in result.stdout + result.stderr for needle in needles)
    assert leaking == [] and output_leaks is False

    records = [json.loads(line) for line in next(tmp_path.rglob("items.jsonl")).read_text().splitlines()]
    assert [r["item_id"] for r in records] == [f"gpqa-{record_id}" for record_id, _, _ in diamond_rows()[:2]]
    assert all(r["extracted"] in (None, "A", "B", "C", "D") for r in records)
    with sqlite3.connect(db) as conn:
        runs = conn.execute("select question, thinking, answer from runs").fetchall()
        stored = conn.execute("select item_id, extracted from eval_items").fetchall()
    assert len(runs) == 2 and all(thinking == "" and answer.strip() in ("", "Final Answer:")
                                  for _, thinking, answer in runs)
    assert all(question.startswith("gpqa-rec") for question, _, _ in runs)
    assert sorted(item for item, _ in stored) == sorted(r["item_id"] for r in records)
