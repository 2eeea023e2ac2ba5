"""How one item under one Setting becomes one graded ItemRecord: a run, rejection sampling, or a vote.

Policies only ask (through an ``Ask`` function, which runs the engine) and grade; they never see a
backend. Sampled runs get a seed fixed by the item, the setting and the attempt, so a rerun (or a
resumed eval) draws the same samples.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from s1app.eval.benches import Item
from s1app.eval.grading import Grade, grade
from s1app.eval.methods import Setting
from s1app.eval.outcome import RunOutcome
from s1app.eval.records import ItemRecord


class Ask(Protocol):
    def __call__(self, item: Item, setting: Setting, *, seed: int | None = None,
                 stop_above_thinking_tokens: int | None = None) -> RunOutcome:
        """Run the engine once on ``item`` under ``setting`` and return the run's outcome."""


@dataclass(frozen=True, slots=True)
class _Graded:
    counted: list[RunOutcome]
    """The runs whose answer counts (the accepted try; the samples voted on)."""
    every_run: list[RunOutcome]
    grade: Grade
    accepted: bool | None = None


def sample_seed(item_id: str, setting_key: str, attempt: int) -> int:
    return zlib.crc32(f"{item_id}|{setting_key}|{attempt}".encode()) & 0x7FFFFFFF


def run_item(item: Item, setting: Setting, ask: Ask) -> ItemRecord:
    started_at = utc_now()
    if setting.policy == "rejection":
        graded = _rejection_sampling(item, setting, ask)
    elif setting.policy == "majority":
        graded = _majority_vote(item, setting, ask)
    else:
        return outcome_record(item, setting, ask(item, setting, seed=_seed_for(item, setting, 0)), started_at)
    return _record(item, setting, graded, started_at)


def outcome_record(item: Item, setting: Setting, outcome: RunOutcome, started_at: str) -> ItemRecord:
    """One run's outcome under ``setting``, graded: a single-run setting's record."""
    return _record(item, setting, _Graded([outcome], [outcome], grade(outcome.answer, item.reference, item.kind)),
                   started_at)


def _seed_for(item: Item, setting: Setting, attempt: int) -> int | None:
    return sample_seed(item.item_id, setting.key, attempt) if setting.temperature > 0 else None


def _rejection_sampling(item: Item, setting: Setting, ask: Ask) -> _Graded:
    """Sample until a try's thinking fits ``requested_max_tokens``; a try that passes it is stopped
    there. No try fitting within ``max_tries``: the item has no answer (and is outside the range)."""
    budget = setting.requested_max_tokens
    tries: list[RunOutcome] = []
    for attempt in range(setting.max_tries):
        outcome = ask(item, setting, seed=_seed_for(item, setting, attempt), stop_above_thinking_tokens=budget)
        tries.append(outcome)
        if not outcome.stopped_early and (budget is None or outcome.thinking_tokens <= budget):
            return _Graded([outcome], tries, grade(outcome.answer, item.reference, item.kind), accepted=True)
    return _Graded([tries[-1]], tries, Grade(None, False), accepted=False)


def _majority_vote(item: Item, setting: Setting, ask: Ask) -> _Graded:
    samples = [ask(item, setting, seed=_seed_for(item, setting, attempt)) for attempt in range(setting.samples)]
    grades = [grade(sample.answer, item.reference, item.kind) for sample in samples]
    return _Graded(samples, samples, majority(grades))


def majority(grades: Sequence[Grade]) -> Grade:
    """The most common extracted answer (ties: the one seen first); answer-less samples do not vote."""
    votes = Counter(g.extracted for g in grades if g.extracted is not None)
    if not votes:
        return Grade(None, False)
    winner = votes.most_common(1)[0][0]
    return Grade(winner, any(g.correct for g in grades if g.extracted == winner))


def _record(item: Item, setting: Setting, graded: _Graded, started_at: str) -> ItemRecord:
    counted, every_run = graded.counted, graded.every_run
    return ItemRecord(
        item_id=item.item_id,
        method=setting.method,
        setting=setting.key,
        settings={"max_thinking_tokens": setting.max_thinking_tokens, "num_waits": setting.num_waits,
                  "instruction": setting.instruction, "temperature": setting.temperature,
                  "samples": setting.samples, "max_tries": setting.max_tries},
        requested_min_tokens=setting.requested_min_tokens,
        requested_max_tokens=setting.requested_max_tokens,
        thinking_tokens=sum(run.thinking_tokens for run in counted),
        thinking_tokens_per_sample=tuple(run.thinking_tokens for run in counted),
        forced_tokens=sum(run.forced_tokens for run in counted),
        waits_inserted=sum(run.waits_inserted for run in counted),
        answer_tokens=sum(run.answer_tokens for run in counted),
        generated_tokens=sum(run.generated_tokens for run in every_run),
        runs=len(every_run),
        extracted=graded.grade.extracted,
        correct=bool(graded.grade.correct),
        wall_s=round(sum(run.wall_s for run in every_run), 3),
        started_at=started_at,
        finished_at=utc_now(),
        run_ids=tuple(run.run_id for run in every_run),
        accepted=graded.accepted,
        thinking_end_reason=counted[0].thinking_end_reason if len(counted) == 1 else None,
        shared=all(run.shared for run in every_run),
        spent_tokens=(sum(run.generated_tokens if run.spent_tokens is None else run.spent_tokens for run in every_run)
                      if any(run.shared for run in every_run) else None),
    )


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
