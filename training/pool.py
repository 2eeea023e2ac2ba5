"""Reading a question pool row whatever its schema (s1K, s1K-1.1, the 59K pool, s1k_questions.json,
GSM8K / MATH-style files): its question, its reasoning trace, its reference answer."""

from __future__ import annotations

from typing import Any

from s1app.eval.grading import extract_answer

QUESTION_FIELDS = ("question", "problem")
TRAJECTORY_FIELDS = ("thinking_trajectories", "deepseek_thinking_trajectory", "gemini_thinking_trajectory")
"""Columns of pools made with a teacher model (s1K, s1K-1.1, the 59K pool): empty means the call failed."""
TRACE_FIELDS = (*TRAJECTORY_FIELDS, "thinking", "cot")


def first_text(row: dict[str, Any], fields: tuple[str, ...]) -> str:
    """The first non-empty of ``fields`` as text (a list of strings is joined by newlines)."""
    for field in fields:
        value = row.get(field)
        if isinstance(value, list):
            value = "\n".join(str(part) for part in value)
        if value is not None and str(value).strip():
            return str(value)
    return ""


def question_of(row: dict[str, Any]) -> str:
    return first_text(row, QUESTION_FIELDS)


def trace_of(row: dict[str, Any]) -> str:
    """The reasoning trace; a pool without traces (s1k_questions.json) falls back to the solution."""
    return first_text(row, TRACE_FIELDS) or first_text(row, ("solution",))


def has_failed_trajectory(row: dict[str, Any]) -> bool:
    """The row has a teacher trajectory column, and it is empty (an API error in the pool)."""
    return any(field in row for field in TRAJECTORY_FIELDS) and not first_text(row, TRAJECTORY_FIELDS)


def reference_answer_of(row: dict[str, Any]) -> str:
    """The answer to grade against: an answer column, else the answer extracted from the solution."""
    direct = first_text(row, ("answer", "gt"))
    if direct:
        return direct.rpartition("####")[2].strip() if "####" in direct else direct.strip()
    solution = first_text(row, ("solution",))
    return (extract_answer(solution) or "") if solution else ""
