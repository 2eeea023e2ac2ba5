"""The run record: one run as a plain dict, the same shape for get_run, JSONL export and import.

Rows keep JSON columns as text; records hold them parsed. The writer's pid/host are the
store's own bookkeeping and stay out of records.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from s1app.events import InterventionKind, Section
from s1app.run import RunStatus
from s1app.store.probe_records import probes_problem, rows_of_record

STATUSES = (*get_args(RunStatus), "interrupted")
"""A Run's statuses, and the store's own: a run whose writer died before it finished."""
INTERVENTION_KINDS = get_args(InterventionKind)
SECTIONS = get_args(Section)

JSON_COLUMNS = ("settings", "segments", "warnings")
RUN_COLUMNS = (
    "id", "conversation_id", "turn", "question", "model", "backend", "format", "settings",
    "prompt_tokens", "thinking", "answer", "segments", "thinking_tokens", "thinking_tokens_sampled",
    "thinking_tokens_forced", "forced_tokens", "waits_inserted", "answer_tokens",
    "answer_tokens_sampled", "thinking_end_reason", "stop_reason", "time_to_first_token_s",
    "tokens_per_s", "wall_s", "token_ids_sha256", "started_at", "finished_at", "updated_at", "status", "error",
    "warnings",
)
"""The runs columns a record carries (all but the writer's pid/host)."""

INTERVENTION_FIELDS = ("kind", "position_tokens", "text", "section", "char_offset")
CONVERSATION_FIELDS = ("id", "title", "source", "created_at")

RECORD_COLUMNS = tuple(c for c in RUN_COLUMNS if c != "conversation_id")
"""Run columns copied into a record as they are (the conversation comes as a nested object)."""
RUN_RECORD_KEYS = RECORD_COLUMNS + ("conversation", "interventions", "probes")
"""The keys of a full run record, in export order."""

Rows = list[dict[str, Any]]

SUMMARY_COLUMNS = (
    "id", "started_at", "status", "model", "backend", "format", "question", "thinking_tokens",
    "waits_inserted", "answer_tokens", "wall_s", "conversation_id", "turn",
)


def record_from_rows(run: dict[str, Any], interventions: list[dict[str, Any]],
                     conversation: dict[str, Any] | None, probes: list[dict[str, Any]]) -> dict[str, Any]:
    """A record from its rows (``probes``: already record entries, see probe_records.probes_of)."""
    record: dict[str, Any] = {}
    for column in RECORD_COLUMNS:
        value = run[column]
        record[column] = json.loads(value) if column in JSON_COLUMNS and value is not None else value
    record["conversation"] = {key: conversation[key] for key in CONVERSATION_FIELDS} if conversation else None
    record["interventions"] = [{key: row[key] for key in INTERVENTION_FIELDS} for row in interventions]
    record["probes"] = probes
    return record


def rows_from_record(record: dict[str, Any]) -> tuple[dict[str, Any], Rows, Rows, dict[str, Any] | None]:
    """(run row, intervention rows, probe rows, conversation row or None) for a validated record."""
    conversation = record.get("conversation")
    run = {column: record.get(column) for column in RECORD_COLUMNS}
    for column in JSON_COLUMNS:
        run[column] = json.dumps(run[column] if run[column] is not None else ([] if column != "settings" else {}),
                                 ensure_ascii=False)
    run["conversation_id"] = conversation["id"] if conversation else None
    interventions = [{"run_id": record["id"], "seq": seq, **{key: item.get(key) for key in INTERVENTION_FIELDS}}
                     for seq, item in enumerate(record.get("interventions") or [])]
    return run, interventions, rows_of_record(record), ({key: conversation.get(key) for key in CONVERSATION_FIELDS} if conversation else None)


def validate_record(record: Any) -> str | None:
    """What is wrong with an imported record, or None. Unknown extra keys are allowed."""
    if not isinstance(record, dict):
        return "a run record must be a JSON object"
    for key in ("id", "question", "started_at"):
        if not isinstance(record.get(key), str) or not record[key]:
            return f"'{key}' must be a non-empty string"
    if record.get("status") not in STATUSES:
        return f"'status' must be one of {', '.join(STATUSES)}"
    for key in ("settings",):
        if record.get(key) is not None and not isinstance(record[key], dict):
            return f"'{key}' must be an object"
    for key in ("segments", "warnings", "interventions"):
        if record.get(key) is not None and not isinstance(record[key], list):
            return f"'{key}' must be a list"
    for segment in record.get("segments") or []:
        if not isinstance(segment, dict) or segment.get("section") not in SECTIONS \
                or not isinstance(segment.get("text"), str) or not isinstance(segment.get("forced"), bool):
            return "each segment must be {\"section\": thinking|delimiter|answer, \"text\": str, \"forced\": bool}"
    for item in record.get("interventions") or []:
        if not isinstance(item, dict) or item.get("kind") not in INTERVENTION_KINDS or not isinstance(item.get("text"), str):
            return f"each intervention needs 'kind' ({', '.join(INTERVENTION_KINDS)}) and 'text'"
    problem = probes_problem(record.get("probes"))
    if problem:
        return problem
    conversation = record.get("conversation")
    if conversation is not None and (not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str)
                                     or not isinstance(conversation.get("created_at"), str)):
        return "'conversation' must be null or an object with 'id' and 'created_at'"
    for key in RUN_COLUMNS:
        value = record.get(key)
        if key not in JSON_COLUMNS and value is not None and not isinstance(value, (str, int, float)):
            return f"'{key}' must be a string or a number"
    return None
