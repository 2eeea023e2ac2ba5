"""The summary as rows of text: for the terminal table, the UI's tables, summary.md and summary.json.

Units are in the headers: accuracy and Control in percent, Scaling in accuracy points per thinking
token and per doubling of thinking tokens, costs per correct answer.
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


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(methods: Sequence[MethodSummary], title: str) -> str:
    return "\n\n".join([
        f"# {title}",
        markdown_table(METHOD_HEADERS, method_rows(methods)),
        markdown_table(POINT_HEADERS, point_rows(methods)),
    ]) + "\n"


def summary_json(methods: Sequence[MethodSummary]) -> list[dict[str, Any]]:
    return [asdict(m) for m in methods]
