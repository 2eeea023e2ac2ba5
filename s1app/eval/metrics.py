"""The paper's test-time scaling metrics, pure functions over item records (s1 paper, §3.2).

A method's evaluation runs make a set A of points (average thinking tokens, accuracy), one per
setting. Over A:

- Control: the share of runs whose thinking tokens fall inside the range that was asked for
  (a setting that asked for nothing, e.g. no intervention, does not count). Percent.
- Scaling: the average slope over ALL pairs a < b of A, (f(b) - f(a)) / (b - a), in accuracy
  points per thinking token; and the same average over log2(thinking tokens), in accuracy points
  per doubling of thinking (the paper's plots are log-scale; it does not say which unit its
  Table 3 uses). Pairs at the same average thinking have no slope and are left out; so are points
  under 1 thinking token from the per-doubling slope. None with fewer than two usable points.
- Performance: the best accuracy on A. Percent.

Accuracy is in percent, so slopes are in percentage points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from s1app.eval.records import ItemRecord


@dataclass(frozen=True, slots=True)
class PointSummary:
    """One setting: one point of a method's curve, with what it cost."""

    method: str
    setting: str
    label: str
    items: int
    correct: int
    accuracy_pct: float
    mean_thinking_tokens: float
    answerless: int
    """Items with no extractable answer."""
    control_pct: float | None
    generated_tokens_per_correct: float | None
    """Every token sampled for the setting (rejected tries too) / correct answers; None with none correct."""
    seconds_per_correct: float | None
    """Engine seconds summed over the setting's runs / correct answers."""


@dataclass(frozen=True, slots=True)
class MethodSummary:
    method: str
    points: tuple[PointSummary, ...]
    control_pct: float | None
    scaling_pct_per_token: float | None
    scaling_pct_per_doubling: float | None
    performance_pct: float | None


def in_range(thinking_tokens: int, minimum: int | None, maximum: int | None) -> bool:
    return (minimum is None or thinking_tokens >= minimum) and (maximum is None or thinking_tokens <= maximum)


def control(records: Iterable[ItemRecord]) -> float | None:
    """Percent of counted runs inside their requested range; None when no run asked for a range."""
    inside = total = 0
    for record in records:
        if record.requested_min_tokens is None and record.requested_max_tokens is None:
            continue
        for tokens in record.thinking_tokens_per_sample:
            total += 1
            inside += in_range(tokens, record.requested_min_tokens, record.requested_max_tokens)
    return None if total == 0 else 100.0 * inside / total


def scaling(points: Sequence[tuple[float, float]]) -> float | None:
    """Average slope over all pairs of (thinking tokens, accuracy %) points with different thinking."""
    slopes = [(yb - ya) / (xb - xa) for (xa, ya), (xb, yb) in combinations(points, 2) if xb != xa]
    return sum(slopes) / len(slopes) if slopes else None


def scaling_per_doubling(points: Sequence[tuple[float, float]]) -> float | None:
    """The same average slope with thinking tokens on a log2 axis: accuracy points per doubling."""
    return scaling([(math.log2(x), y) for x, y in points if x >= 1])


def performance(points: Sequence[tuple[float, float]]) -> float | None:
    return max((y for _, y in points), default=None)


def summarize_point(records: Sequence[ItemRecord], label: str) -> PointSummary:
    correct = sum(record.correct for record in records)
    count = len(records)
    return PointSummary(
        method=records[0].method,
        setting=records[0].setting,
        label=label,
        items=count,
        correct=correct,
        accuracy_pct=100.0 * correct / count,
        mean_thinking_tokens=sum(record.thinking_tokens for record in records) / count,
        answerless=sum(not record.answered for record in records),
        control_pct=control(records),
        generated_tokens_per_correct=sum(r.generated_tokens for r in records) / correct if correct else None,
        seconds_per_correct=sum(r.wall_s for r in records) / correct if correct else None,
    )


def summarize(records: Iterable[ItemRecord], labels: dict[str, str] | None = None) -> list[MethodSummary]:
    """One summary per method (in order of first appearance), its points in setting order.

    ``labels`` maps setting keys to display labels; the setting key is used where one is missing.
    """
    by_setting: dict[str, list[ItemRecord]] = {}
    for record in records:
        by_setting.setdefault(record.setting, []).append(record)
    if labels:  # the plan's order, not the order items happened to finish in
        by_setting = {key: by_setting[key] for key in labels if key in by_setting}
    by_method: dict[str, list[list[ItemRecord]]] = {}
    for group in by_setting.values():
        by_method.setdefault(group[0].method, []).append(group)
    return [_method_summary(method, groups, labels or {}) for method, groups in by_method.items()]


def _method_summary(method: str, groups: list[list[ItemRecord]], labels: dict[str, str]) -> MethodSummary:
    points = tuple(summarize_point(group, labels.get(group[0].setting, group[0].setting)) for group in groups)
    curve = [(point.mean_thinking_tokens, point.accuracy_pct) for point in points]
    return MethodSummary(
        method=method,
        points=points,
        control_pct=control(record for group in groups for record in group),
        scaling_pct_per_token=scaling(curve),
        scaling_pct_per_doubling=scaling_per_doubling(curve),
        performance_pct=performance(curve),
    )
