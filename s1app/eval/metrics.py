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

For the adaptive methods (stable, confident, nowait) one more number: the thinking tokens each of
their settings saves against budget forcing at equal or better accuracy (``tokens_saved``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from s1app.eval.methods import ADAPTIVE_METHODS
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
class TokensSaved:
    """One adaptive setting against budget forcing at equal or better accuracy (see ``tokens_saved``)."""

    setting: str
    matched: tuple[str, ...]
    """The budget-forcing settings (keys) whose accuracy it matches or beats."""
    against: str | None
    """The one it is measured against; None when it matches none."""
    items: int
    """Questions both finished (the numbers below are over these)."""
    accuracy_pct: float | None
    against_accuracy_pct: float | None
    mean_thinking_tokens: float | None
    against_mean_thinking_tokens: float | None
    saved_pct: float | None
    """Percent of ``against``'s thinking tokens saved (negative: it thought more); None with nothing
    to compare (no match, or a match that thought 0 tokens)."""


@dataclass(frozen=True, slots=True)
class MethodSummary:
    method: str
    points: tuple[PointSummary, ...]
    control_pct: float | None
    scaling_pct_per_token: float | None
    scaling_pct_per_doubling: float | None
    performance_pct: float | None
    tokens_saved: tuple[TokensSaved, ...] = ()
    """Adaptive methods only: each setting against budget forcing in the same eval run."""


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


def tokens_saved(adaptive: Sequence[ItemRecord], budget_forcing: Iterable[Sequence[ItemRecord]]) -> TokensSaved:
    """Thinking tokens one adaptive setting saves against budget forcing at equal or better accuracy.

    ``adaptive``: one setting's records; ``budget_forcing``: the records of each budget-forcing
    setting of the same eval run. Each pair is compared over the questions both finished. The
    adaptive setting *matches* a budget-forcing setting when it answers at least as many of those
    questions correctly. It is measured *against* the matched setting with the highest accuracy
    (of those, the one with the fewest average thinking tokens): the cheapest way budget forcing
    reaches the accuracy level the adaptive setting matches. (Not the cheapest match outright:
    budget 0 is matched whenever it is no better, and thinking 0 tokens it leaves nothing to save.)
    Saved = 100 x (its average thinking - the adaptive setting's) / its average thinking.
    """
    pairs = [_on_common_items(adaptive, group) for group in budget_forcing]
    matched = [(mine, theirs) for mine, theirs in pairs if mine and _correct(mine) >= _correct(theirs)]
    if not matched:
        return TokensSaved(adaptive[0].setting, (), None, 0, None, None, None, None, None)
    mine, theirs = min(matched, key=lambda pair: (-_correct(pair[1]), _mean_thinking(pair[1])))
    own, spent = _mean_thinking(mine), _mean_thinking(theirs)
    return TokensSaved(
        setting=adaptive[0].setting, matched=tuple(theirs[0].setting for _, theirs in matched),
        against=theirs[0].setting, items=len(mine),
        accuracy_pct=_accuracy(mine), against_accuracy_pct=_accuracy(theirs),
        mean_thinking_tokens=own, against_mean_thinking_tokens=spent,
        saved_pct=100.0 * (spent - own) / spent if spent > 0 else None,
    )


def _on_common_items(one: Sequence[ItemRecord],
                     other: Sequence[ItemRecord]) -> tuple[list[ItemRecord], list[ItemRecord]]:
    common = {r.item_id for r in one} & {r.item_id for r in other}
    return [r for r in one if r.item_id in common], [r for r in other if r.item_id in common]


def _correct(records: Sequence[ItemRecord]) -> int:
    return sum(record.correct for record in records)


def _accuracy(records: Sequence[ItemRecord]) -> float:
    return 100.0 * _correct(records) / len(records)


def _mean_thinking(records: Sequence[ItemRecord]) -> float:
    return sum(record.thinking_tokens for record in records) / len(records)


def summarize_point(records: Sequence[ItemRecord], label: str) -> PointSummary:
    correct = _correct(records)
    count = len(records)
    return PointSummary(
        method=records[0].method,
        setting=records[0].setting,
        label=label,
        items=count,
        correct=correct,
        accuracy_pct=_accuracy(records),
        mean_thinking_tokens=_mean_thinking(records),
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
    forcing = by_method.get("budget-forcing", [])
    return [_method_summary(method, groups, labels or {}, forcing) for method, groups in by_method.items()]


def _method_summary(method: str, groups: list[list[ItemRecord]], labels: dict[str, str],
                    forcing: list[list[ItemRecord]]) -> MethodSummary:
    points = tuple(summarize_point(group, labels.get(group[0].setting, group[0].setting)) for group in groups)
    curve = [(point.mean_thinking_tokens, point.accuracy_pct) for point in points]
    return MethodSummary(
        method=method,
        points=points,
        control_pct=control(record for group in groups for record in group),
        scaling_pct_per_token=scaling(curve),
        scaling_pct_per_doubling=scaling_per_doubling(curve),
        performance_pct=performance(curve),
        tokens_saved=tuple(tokens_saved(group, forcing) for group in groups) if method in ADAPTIVE_METHODS else (),
    )
