"""A run's text in order: segments of one section written by one hand, as the Run folds it and
the store joins its chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s1app.events import Section


@dataclass
class Segment:
    """A stretch of one section written by one hand (the model, or the engine when ``forced``)."""

    section: Section
    forced: bool
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "text": self.text, "forced": self.forced}


def append_text(segments: list[Segment], section: Section, text: str, forced: bool) -> None:
    """Add text to the last segment when it is of the same section and hand, else start one."""
    last = segments[-1] if segments else None
    if last is None or last.section != section or last.forced != forced:
        last = Segment(section, forced)
        segments.append(last)
    last.parts.append(text)
