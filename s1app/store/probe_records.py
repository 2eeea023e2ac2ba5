"""A run's answer probes in the session log (the ``probes`` table, migration m006_probes).

A record's ``probes`` is a list in the run's order, each exactly ``s1app.run.probe_json(probe)``:
``{"thinking_tokens", "kind", "waits_before", "text", "extracted", "confidence", "answer_tokens",
"forced_tokens", "stop_reason", "seconds", "token_ids_sha256"}``, so a recorded run's probes
equal ``Run.to_json()["probes"]`` of the live run. A private run's probes (GPQA) keep their
numbers, with ``text`` "" and ``extracted`` None: the model's answer is not logged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, get_args

import sqlite_utils

from s1app.events import AnswerProbed, ProbeKind
from s1app.run import probe_json

TABLE = "probes"
PROBE_FIELDS = ("thinking_tokens", *(f.name for f in fields(AnswerProbed) if f.name != "position_tokens"))
"""The keys of one probe in a record, in probe_json's order (a test holds them equal)."""
PROBE_KINDS = get_args(ProbeKind)
COUNT_FIELDS = ("thinking_tokens", "waits_before", "answer_tokens", "forced_tokens")
TEXT_FIELDS = ("text", "stop_reason", "token_ids_sha256")


def probe_rows(run_id: str, probes: Sequence[AnswerProbed], first_seq: int, *, private: bool) -> list[dict[str, Any]]:
    """Rows for ``probes``, the run's probes from index ``first_seq`` on."""
    rows = []
    for seq, probe in enumerate(probes, start=first_seq):
        row = {"run_id": run_id, "seq": seq, **probe_json(probe)}
        if private:
            row.update(text="", extracted=None)
        rows.append(row)
    return rows


def probes_of(db: sqlite_utils.Database, run_id: str) -> list[dict[str, Any]]:
    """A run's probes as record entries, in order."""
    return list(db.query(f"select {', '.join(PROBE_FIELDS)} from {TABLE} where run_id = ? order by seq", [run_id]))


def rows_of_record(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for a validated record's probes (an export from before probes has none)."""
    return [{"run_id": record["id"], "seq": seq, **{key: probe[key] for key in PROBE_FIELDS}}
            for seq, probe in enumerate(record.get("probes") or [])]


def probes_problem(probes: Any) -> str | None:
    """What is wrong with an imported record's ``probes``, naming the probe and its field, or None."""
    if probes is None:
        return None
    if not isinstance(probes, list):
        return "'probes' must be a list"
    for index, probe in enumerate(probes):
        problem = _probe_problem(probe)
        if problem:
            return f"probes[{index}]: {problem}"
    return None


def _probe_problem(probe: Any) -> str | None:
    if not isinstance(probe, dict):
        return "a probe must be a JSON object"
    missing = [key for key in PROBE_FIELDS if key not in probe]
    if missing:
        return f"'{missing[0]}' is missing (a probe has {', '.join(PROBE_FIELDS)})"
    for key in COUNT_FIELDS:
        if not _is_count(probe[key]):
            return f"'{key}' must be a whole number, 0 or more"
    if probe["kind"] not in PROBE_KINDS:
        return f"'kind' must be one of {', '.join(PROBE_KINDS)}"
    for key in TEXT_FIELDS:
        if not isinstance(probe[key], str):
            return f"'{key}' must be a string"
    if probe["extracted"] is not None and not isinstance(probe["extracted"], str):
        return "'extracted' must be a string or null"
    confidence = probe["confidence"]
    if confidence is not None and not (_is_number(confidence) and 0 <= confidence <= 1):
        return "'confidence' must be a number from 0 to 1, or null"
    if not (_is_number(probe["seconds"]) and probe["seconds"] >= 0):
        return "'seconds' must be a number, 0 or more"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
