"""The per-item record: one question under one setting, graded. One JSONL line, one store row.

A record never holds a question or the model's text: the item's id says which question it was,
``run_ids`` say which runs of the session log hold the text (none of it for GPQA), and the
extracted answer is what was graded (GPQA: a letter).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from s1app.errors import EvalRunError


@dataclass(frozen=True, slots=True)
class ItemRecord:
    item_id: str
    method: str
    setting: str
    """The setting's key within its eval run (see methods.Setting)."""
    settings: dict[str, Any]
    """What the item was asked under: max_thinking_tokens, num_waits, instruction, temperature, ..."""
    requested_min_tokens: int | None
    requested_max_tokens: int | None
    thinking_tokens: int
    """The thinking this answer cost (majority voting: summed over the samples voted on)."""
    thinking_tokens_per_sample: tuple[int, ...]
    """Each counted run's thinking tokens: Control is measured over these."""
    forced_tokens: int
    waits_inserted: int
    answer_tokens: int
    generated_tokens: int
    """Every token the model sampled for this item, rejected tries included: its cost."""
    runs: int
    extracted: str | None
    correct: bool
    wall_s: float
    """Engine time summed over the item's runs."""
    started_at: str
    finished_at: str
    run_ids: tuple[str, ...]
    accepted: bool | None = None
    """Rejection sampling: whether a try fit the budget (None for other methods)."""
    thinking_end_reason: str | None = None
    """How the counted run's thinking ended (None: several runs counted, or an older record)."""
    shared: bool = False
    """Read off a shared greedy trajectory (s1app.eval.trajectory) instead of a run of its own:
    ``run_ids`` name that trajectory, the counts are those of the run it stands for."""
    spent_tokens: int | None = None
    """With ``shared``: the tokens really sampled for this record (a probe's answer; the
    trajectory's own record carries the trajectory). None: ``generated_tokens`` were spent."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.setting, self.item_id)

    @property
    def answered(self) -> bool:
        return self.extracted is not None

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["thinking_tokens_per_sample"] = list(self.thinking_tokens_per_sample)
        record["run_ids"] = list(self.run_ids)
        return record

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemRecord:
        names = {f.name for f in fields(cls)}
        try:
            values = {name: data[name] for name in names if name in data}
            values["thinking_tokens_per_sample"] = tuple(values["thinking_tokens_per_sample"])
            values["run_ids"] = tuple(values["run_ids"])
            return cls(**values)
        except (KeyError, TypeError) as failure:
            raise EvalRunError(f"An item record is missing fields ({failure}): the file was not written by "
                               "this s1app; start a new eval run.") from None
