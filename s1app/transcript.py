"""Fold a run's events into one record: what the CLI's --json prints, what views and logs keep.

Pure and incremental: ``add`` each event as it arrives; read the fields at any time (a partial
run is a valid transcript too). ``segments`` keeps the thinking as (text, forced) spans so a
viewer can mark exactly what the engine wrote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from s1app.events import (
    AnswerDelta,
    BudgetClipped,
    Event,
    LoopDetected,
    RunFinished,
    RunStarted,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)


@dataclass
class Segment:
    section: str
    """"thinking", "delimiter" or "answer"."""
    text: str
    forced: bool


@dataclass
class RunTranscript:
    run_id: str = ""
    question: str = ""
    model: str = ""
    backend: str = ""
    format: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0
    started_at: str = ""
    finished_at: str = ""
    segments: list[Segment] = field(default_factory=list)
    thinking_tokens: int = 0
    answer_tokens: int = 0
    waits_inserted: int = 0
    warnings: list[str] = field(default_factory=list)
    loop: dict[str, Any] | None = None
    thinking_end_reason: str | None = None
    finished: RunFinished | None = None

    def add(self, event: Event) -> None:
        match event:
            case ThinkingDelta(text=text, tokens=tokens, forced=forced):
                self._append("thinking", text, forced)
                self.thinking_tokens += tokens
            case AnswerDelta(text=text, tokens=tokens, forced=forced):
                self._append("answer", text, forced)
                self.answer_tokens += tokens
            case WaitInserted(waits_inserted=count):
                self.waits_inserted = count
            case ThinkingEnded(reason=reason, delimiter_text=delimiter):
                self.thinking_end_reason = reason
                self.segments.append(Segment("delimiter", delimiter, True))
            case RunStarted():
                self.run_id, self.question, self.model = event.run_id, event.question, event.model
                self.backend, self.format, self.settings = event.backend, event.format, event.settings
                self.prompt_tokens, self.started_at = event.prompt_tokens, event.started_at
            case BudgetClipped(message=message):
                self.warnings.append(message)
            case LoopDetected():
                self.loop = asdict(event)
            case RunFinished():
                self.finished = event
                self.finished_at = event.finished_at

    def _append(self, section: str, text: str, forced: bool) -> None:
        last = self.segments[-1] if self.segments else None
        if last is not None and last.section == section and last.forced == forced:
            last.text += text
        else:
            self.segments.append(Segment(section, text, forced))

    @property
    def thinking(self) -> str:
        return "".join(s.text for s in self.segments if s.section == "thinking")

    @property
    def answer(self) -> str:
        return "".join(s.text for s in self.segments if s.section == "answer")

    @property
    def status(self) -> str:
        if self.finished is None:
            return "running"
        if self.finished.error:
            return "failed"
        return "cancelled" if self.finished.stats.stop_reason == "cancelled" else "finished"

    def to_json(self) -> dict[str, Any]:
        """The stable ``s1app ask --json`` contract."""
        finished = self.finished
        return {
            "run_id": self.run_id,
            "question": self.question,
            "model": self.model,
            "backend": self.backend,
            "format": self.format,
            "settings": self.settings,
            "thinking": self.thinking,
            "answer": self.answer,
            "interventions": [asdict(i) for i in finished.interventions] if finished else [],
            "stats": asdict(finished.stats) if finished else None,
            "status": self.status,
            "error": finished.error if finished else None,
            "warnings": self.warnings,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }
