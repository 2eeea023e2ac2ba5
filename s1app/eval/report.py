"""The summary as rows of text: for the terminal table, the UI's tables, summary.md and summary.json.

Units are in the headers: accuracy and Control in percent, Scaling in accuracy points per thinking
token and per doubling of thinking tokens, costs per correct answer. The adaptive methods get a
third table: each setting against budget forcing at equal or better accuracy (metrics.tokens_saved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from s1app.eval.metrics import MethodSummary

POINT_HEADERS = ["method", "setting", "items", "accuracy %", "avg thinking tokens", "answer-less",
                 "control %", "tokens / correct", "engine s / correct"]
METHOD_HEADERS = ["method", "Control %", "Scaling (pts / thinking token)", "Scaling (pts / doubling)",
                  "Performance %", "settings"]
SAVED_HEADERS = ["method", "setting", "accuracy %", "avg thinking tokens", "matches budget forcing", "against",
                 "its accuracy %", "its avg thinking tokens", "thinking saved %"]


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _slope(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4g}"


def point_rows(methods: Sequence[MethodSummary]) -> list[list[str]]:
    return [
        [m.method, p.label, str(p.items), _number(p.accuracy_pct), _number(p.mean_thinking_tokens),
         str(p.answerless), _number(p.control_pct, 0), _number(p.generated_tokens_per_correct, 0),
         _number(p.seconds_per_correct, 2)]
        for m in methods for p in m.points
    ]


def method_rows(methods: Sequence[MethodSummary]) -> list[list[str]]:
    return [
        [m.method, _number(m.control_pct, 0), _slope(m.scaling_pct_per_token), _slope(m.scaling_pct_per_doubling),
         _number(m.performance_pct), str(len(m.points))]
        for m in methods
    ]


def saved_rows(methods: Sequence[MethodSummary]) -> list[list[str]]:
    """One row per adaptive setting: what it matches of budget forcing, and the tokens it saves."""
    labels = {p.setting: p.label for m in methods for p in m.points}
    return [
        [m.method, labels.get(saved.setting, saved.setting), _number(saved.accuracy_pct),
         _number(saved.mean_thinking_tokens), ", ".join(labels.get(key, key) for key in saved.matched) or "none",
         "—" if saved.against is None else labels.get(saved.against, saved.against),
         _number(saved.against_accuracy_pct), _number(saved.against_mean_thinking_tokens),
         "—" if saved.saved_pct is None else f"{saved.saved_pct:+.1f}"]
        for m in methods for saved in m.tokens_saved
    ]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(methods: Sequence[MethodSummary], title: str) -> str:
    parts = [f"# {title}", markdown_table(METHOD_HEADERS, method_rows(methods)),
             markdown_table(POINT_HEADERS, point_rows(methods))]
    saved = saved_rows(methods)
    if saved:
        parts += ["## Adaptive stopping against budget forcing at equal or better accuracy",
                  markdown_table(SAVED_HEADERS, saved)]
    return "\n\n".join(parts) + "\n"


def summary_json(methods: Sequence[MethodSummary]) -> list[dict[str, Any]]:
    return [asdict(m) for m in methods]
