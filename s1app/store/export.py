"""Export runs as JSONL, CSV or Markdown (streamed, one run in memory at a time); import JSONL.

Import is all-or-nothing per file: every line is checked first, and if any line is malformed
nothing is imported and the bad line numbers are reported. Runs whose id is already in the store
are skipped, so importing the same file twice is harmless.
"""

from __future__ import annotations

import csv
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from s1app.errors import StoreError
from s1app.store import probe_records
from s1app.store.db import Store
from s1app.store.queries import iter_runs
from s1app.store.records import RUN_RECORD_KEYS, rows_from_record, validate_record

EXPORT_FORMATS = ("jsonl", "csv", "md")
FORCED_OPEN, FORCED_CLOSE = "⟦", "⟧"
"""Markdown marks the text the engine forced (a Wait, the end of thinking, "Final Answer:")."""

IMPORT_BATCH_RUNS = 500
"""Runs per import transaction: long enough to be fast, short enough not to block recording."""
MAX_REPORTED_LINES = 10


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped_existing: int


def export_runs(store: Store, out: str | os.PathLike | TextIO, format: str = "jsonl", search: str | None = None) -> int:
    """Write every run (matching ``search``) to ``out``, a path or an open text file; return the count.

    Written to a path, the file appears only when the export is complete.
    """
    if format not in EXPORT_FORMATS:
        raise StoreError(f"Unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}.")
    write = {"jsonl": _write_jsonl, "csv": _write_csv, "md": _write_markdown}[format]
    if isinstance(out, (str, os.PathLike)):
        with _replaced_on_success(Path(out)) as stream:
            return write(iter_runs(store, search), stream)
    return write(iter_runs(store, search), out)


@contextmanager
def _replaced_on_success(path: Path) -> Iterator[TextIO]:
    folder = path.parent
    if not folder.is_dir():
        raise StoreError(f"Cannot export to {path}: the folder {folder} does not exist. Create it or choose another --out.")
    partial = folder / f".{path.name}.{uuid.uuid4().hex[:8]}.partial"
    try:
        handle = partial.open("x", encoding="utf-8", newline="")  # plain open: the user's umask applies
    except OSError as failure:
        raise StoreError(f"Cannot export to {path} ({failure.strerror or failure}): choose another --out.") from failure
    try:
        with handle:
            yield handle
        os.replace(partial, path)
    except OSError as failure:
        raise StoreError(f"Cannot export to {path} ({failure.strerror or failure}): choose another --out.") from failure
    finally:
        partial.unlink(missing_ok=True)


def _write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


CSV_COLUMNS = tuple(key for key in RUN_RECORD_KEYS if key not in ("conversation", "probes")) + (
    "conversation_id", "probe_count", "probe_answers")
"""A run per row. Probes are summed up (their count; each one's position, kind, answer and
confidence as JSON), not carried whole: the JSONL export carries them whole."""
PROBE_ANSWER_FIELDS = ("thinking_tokens", "kind", "extracted", "confidence")


def _write_csv(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for record in records:
        probes = record["probes"]
        flat = {**record, "conversation_id": (record["conversation"] or {}).get("id"), "probe_count": len(probes),
                "probe_answers": [{key: probe[key] for key in PROBE_ANSWER_FIELDS} for probe in probes]}
        writer.writerow([json.dumps(flat[key], ensure_ascii=False) if isinstance(flat[key], (dict, list)) else flat[key]
                         for key in CSV_COLUMNS])
        count += 1
    return count


def _write_markdown(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    out.write(f"# s1app runs\n\nText between {FORCED_OPEN} and {FORCED_CLOSE} was written by the engine "
              "(budget forcing), not sampled from the model.\n")
    count = 0
    for record in records:
        out.write("\n" + markdown_run(record))
        count += 1
    return count


def markdown_run(record: dict[str, Any]) -> str:
    title = record["question"].strip().splitlines()[0] if record["question"].strip() else "(empty question)"
    thinking = marked_text(record, ("thinking", "delimiter"))
    answer = marked_text(record, ("answer",))
    return (
        f"## {title}\n\n"
        f"- run `{record['id']}` · {record['started_at']} · {record['status']} · "
        f"{record['model']} ({record['backend']}, {record['format']})\n"
        f"- thinking {record['thinking_tokens']} tokens · waits {record['waits_inserted']} · "
        f"answer {record['answer_tokens']} tokens · stop {record['stop_reason']}"
        + (f" · wall {record['wall_s']:.2f} s" if record["wall_s"] is not None else "") + "\n"
        f"- settings: `{json.dumps(record['settings'], ensure_ascii=False)}`\n"
        + (f"- error: {record['error']}\n" if record["error"] else "")
        + f"\n**Question**\n\n{_fenced(record['question'])}\n**Thinking**\n\n{_fenced(thinking)}\n**Answer**\n\n{_fenced(answer)}"
        + markdown_probes(record["probes"])
    )


def markdown_probes(probes: list[dict[str, Any]]) -> str:
    """The probes as a table: where, which kind, what the run would have answered, how sure."""
    if not probes:
        return ""
    rows = [f"| {p['thinking_tokens']} | {p['kind']} | {p['waits_before']} | {_cell(p['extracted'])} | "
            + ("—" if p["confidence"] is None else f"{p['confidence']:.2f}") + " |" for p in probes]
    return ("\n**Probes** (what the run would answer if thinking stopped there)\n\n"
            "| thinking tokens | kind | waits before | answer | confidence |\n|---:|---|---:|---|---:|\n"
            + "\n".join(rows) + "\n")


def _cell(text: str | None) -> str:
    """Text as one Markdown table cell."""
    if text is None or not text.strip():
        return "—"
    return " ".join(text.split()).replace("|", "\\|")


def marked_text(record: dict[str, Any], sections: tuple[str, ...]) -> str:
    """The text of ``sections`` with forced spans between the markers."""
    return "".join(f"{FORCED_OPEN}{s['text']}{FORCED_CLOSE}" if s["forced"] else s["text"]
                   for s in record["segments"] or [] if s["section"] in sections)


def _fenced(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}text\n{text}\n{fence}\n"


# -- import ---------------------------------------------------------------------------------------


def import_runs(store: Store, path: str | os.PathLike) -> ImportReport:
    """Import a JSONL export. All-or-nothing: any malformed line means nothing is imported."""
    path = Path(path)
    problems = [f"line {number}: {problem}" for number, _, problem in _read_lines(path) if problem]
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED_LINES]) + ("; ..." if len(problems) > MAX_REPORTED_LINES else "")
        raise StoreError(f"{path}: {len(problems)} malformed line(s), so nothing was imported ({shown}). "
                         "Fix or remove those lines and import again.")
    imported = skipped = 0
    batch: list[dict[str, Any]] = []
    for _, record, _ in _read_lines(path):
        if record is not None:
            batch.append(record)
        if len(batch) >= IMPORT_BATCH_RUNS:
            added = _import_batch(store, batch)
            imported, skipped, batch = imported + added, skipped + len(batch) - added, []
    if batch:
        added = _import_batch(store, batch)
        imported, skipped = imported + added, skipped + len(batch) - added
    return ImportReport(imported, skipped)


def _read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record or None, problem or None) for each line, streamed."""
    try:
        handle = path.open("rb")
    except OSError as failure:
        raise StoreError(f"Cannot read {path} ({failure.strerror or failure}): check the path.") from failure
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None, "not UTF-8 text"
                continue
            if not line.strip():
                yield number, None, None
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as failure:
                yield number, None, f"not valid JSON ({failure.msg})"
                continue
            problem = validate_record(record)
            yield number, None if problem else record, problem


def _import_batch(store: Store, records: list[dict[str, Any]]) -> int:
    added = 0
    with store.transaction() as db:
        for record in records:
            if db.execute("select 1 from runs where id = ?", [record["id"]]).fetchone():
                continue
            run, interventions, probes, conversation = rows_from_record(record)
            if conversation is not None:
                db["conversations"].insert(conversation, ignore=True)
            db["runs"].insert(run)
            if interventions:
                db["interventions"].insert_all(interventions)
            if probes:
                db[probe_records.TABLE].insert_all(probes)
            added += 1
    return added
