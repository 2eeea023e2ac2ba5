"""One fold of a run's events: its text, counters and interventions, counted in one place.

The engine builds its RunFinished stats from a RunFold, and everything downstream reads one
instead of recounting: the CLI's ``--json`` and terminal view, the UI's views, the session store,
eval. ``add`` each event as it arrives and read any field at any time; a partial run is a valid
fold. Each update costs the new event only: text is kept as a list of parts, joined when read.

``Run`` is the same fold wrapped around a live event stream (simonw/llm's Response idea):
iterate it to watch the run, or call ``wait()`` to read it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from s1app.events import (
    AnswerDelta,
    BudgetClipped,
    Event,
    Intervention,
    RunFinished,
    RunStarted,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)

CUT_KINDS = {"budget": "cap", "loop": "loop-break"}
"""Why the engine ended thinking -> the intervention it logs for it."""


@dataclass
class Segment:
    """A stretch of one section written by one hand (the model, or the engine when ``forced``)."""

    section: str
    """"thinking", "delimiter" or "answer"."""
    forced: bool
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "text": self.text, "forced": self.forced}


@dataclass
class RunFold:
    started: RunStarted | None = None
    segments: list[Segment] = field(default_factory=list)
    thinking_tokens: int = 0
    thinking_tokens_forced: int = 0
    answer_tokens: int = 0
    answer_tokens_forced: int = 0
    delimiter_tokens: int = 0
    waits_inserted: int = 0
    interventions: list[Intervention] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    thinking_end_reason: str | None = None
    finished: RunFinished | None = None
    thinking_chars: int = 0
    answer_chars: int = 0

    def add(self, event: Event) -> None:
        match event:
            case ThinkingDelta(text=text, tokens=tokens, forced=forced):
                self._append("thinking", text, forced)
                self.thinking_tokens += tokens
                self.thinking_tokens_forced += tokens if forced else 0
                self.thinking_chars += len(text)
            case AnswerDelta(text=text, tokens=tokens, forced=forced):
                if forced:
                    self._intervene("final-answer", self.thinking_tokens, text, "answer", self.answer_chars)
                self._append("answer", text, forced)
                self.answer_tokens += tokens
                self.answer_tokens_forced += tokens if forced else 0
                self.answer_chars += len(text)
            case WaitInserted(waits_inserted=count, position_tokens=position, text=text):
                self.waits_inserted = count
                self._intervene("wait", position, text, "thinking", self.thinking_chars)
            case ThinkingEnded(reason=reason, position_tokens=position, delimiter_text=delimiter, delimiter_tokens=tokens):
                self.thinking_end_reason = reason
                self.delimiter_tokens = tokens
                if reason in CUT_KINDS:
                    self._intervene(CUT_KINDS[reason], position, delimiter, "delimiter", 0)
                self.segments.append(Segment("delimiter", True, [delimiter]))
            case RunStarted():
                self.started = event
            case BudgetClipped(message=message):
                self.warnings.append(message)
            case RunFinished():
                self.finished = event

    def _append(self, section: str, text: str, forced: bool) -> None:
        last = self.segments[-1] if self.segments else None
        if last is None or last.section != section or last.forced != forced:
            last = Segment(section, forced)
            self.segments.append(last)
        last.parts.append(text)

    def _intervene(self, kind, position_tokens: int, text: str, section: str, char_offset: int) -> None:
        self.interventions.append(Intervention(kind, position_tokens, text, section, char_offset))

    # -- what consumers read ----------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self.started.run_id if self.started else ""

    @property
    def question(self) -> str:
        return self.started.question if self.started else ""

    @property
    def budget_tokens(self) -> int | None:
        """The thinking budget in force (after fitting the context), once the run has started."""
        return self.started.settings.get("max_thinking_tokens_effective") if self.started else None

    @property
    def thinking(self) -> str:
        return "".join(s.text for s in self.segments if s.section == "thinking")

    @property
    def answer(self) -> str:
        return "".join(s.text for s in self.segments if s.section == "answer")

    @property
    def sampled_tokens(self) -> int:
        """Tokens the model chose (not forced by the engine), thinking and answer."""
        return self.thinking_tokens - self.thinking_tokens_forced + self.answer_tokens - self.answer_tokens_forced

    @property
    def forced_tokens(self) -> int:
        return self.thinking_tokens_forced + self.delimiter_tokens + self.answer_tokens_forced

    @property
    def status(self) -> str:
        """"running", "finished", "cancelled" or "failed"."""
        if self.finished is None:
            return "running"
        if self.finished.error:
            return "failed"
        return "cancelled" if self.finished.stats.stop_reason == "cancelled" else "finished"

    def to_json(self) -> dict[str, Any]:
        """The stable ``s1app ask --json`` contract."""
        started, finished = self.started, self.finished
        return {
            "run_id": self.run_id,
            "question": self.question,
            "model": started.model if started else "",
            "backend": started.backend if started else "",
            "format": started.format if started else "",
            "settings": started.settings if started else {},
            "thinking": self.thinking,
            "answer": self.answer,
            "interventions": [asdict(i) for i in self.interventions],
            "stats": asdict(finished.stats) if finished else None,
            "status": self.status,
            "error": finished.error if finished else None,
            "warnings": self.warnings,
            "started_at": started.started_at if started else "",
            "finished_at": finished.finished_at if finished else "",
        }


class Run(RunFold):
    """A run's live events, folded as they pass: iterate to watch, ``wait()`` to read it whole.

    ``on_finish(run)`` is called once, after its RunFinished has been folded in.
    """

    def __init__(self, events: Iterator[Event], on_finish: Callable[[Run], None] | None = None) -> None:
        super().__init__()
        self._events = events
        self._on_finish = on_finish

    def __iter__(self) -> Iterator[Event]:
        for event in self._events:
            self.add(event)
            if isinstance(event, RunFinished) and self._on_finish is not None:
                self._on_finish(self)
            yield event

    def wait(self) -> Run:
        for _ in self:
            pass
        return self
