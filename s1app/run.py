"""Run: the hub every reader shares. One run's live events, folded once, as they pass.

The engine (s1app.forcing) makes a Run and drives it; nothing else folds events. Iterate a Run
to watch it live (each event is folded before you see it, so every field is current), or call
``wait()`` to read it whole. Readers take what they need from it: the text by section and its
segments, the counters, the interventions, the live elapsed seconds and tok/s, and, once it has
finished, ``stats`` and ``to_json()`` (the ``s1app ask --json`` contract). The session log
(s1app.store) subscribes to it; the UI's views, the terminal view and eval's outcome read it.

Each update costs the new event only: text is kept as a list of parts, joined when read. A Run is
iterated by one thread (the engine's worker); others may read its fields meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

from s1app.events import (
    AnswerDelta,
    AnswerProbed,
    BudgetClipped,
    Event,
    Intervention,
    InterventionKind,
    LandingInserted,
    RunFinished,
    RunStarted,
    Section,
    StopReason,
    ThinkingDelta,
    ThinkingEnded,
    ThinkingEndReason,
    WaitInserted,
)
from s1app.segments import Segment, append_text

RunStatus = Literal["running", "finished", "cancelled", "failed"]

CUT_KINDS: dict[str, InterventionKind] = {"budget": "cap", "loop": "loop-break", "stable": "probe-stop",
                                          "confident": "probe-stop"}
"""Why the engine ended thinking -> the intervention it logs for it."""


@dataclass(frozen=True, slots=True)
class RunStats:
    """A finished run's numbers: the ``stats`` of ``s1app ask --json`` and the store's columns."""

    thinking_tokens: int
    """Every token inside the thinking section: sampled and forced Waits alike."""
    thinking_tokens_sampled: int
    thinking_tokens_forced: int
    forced_tokens: int
    """All tokens the engine wrote: Waits, the landing text, the end-of-thinking delimiter, "Final Answer:"."""
    waits_inserted: int
    answer_tokens: int
    """Every token of the answer section, "Final Answer:" included."""
    answer_tokens_sampled: int
    prompt_tokens: int
    thinking_end_reason: ThinkingEndReason
    stop_reason: StopReason
    time_to_first_token_s: float | None
    tokens_per_s: float
    """Sampled tokens per second of wall time after the first token."""
    wall_s: float
    token_ids_sha256: str = ""
    """sha256 of every token id the run added after the prompt (sampled and forced), in order:
    two runs with equal digests produced the same tokens (docs/reproducibility.md)."""


class Run:
    """One run: its events folded once, its clock, and who listens to it.

    ``Run(events)`` wraps an event stream (the engine passes the stream it makes for this Run;
    ``Run(list_of_events)`` re-reads a recorded one). ``subscribe(on_event, on_close)`` adds a
    listener called in the iterating thread after each event is folded, and once when the stream
    ends, however it ends.
    """

    def __init__(self, events: Iterable[Event] = (), *, clock: Callable[[], float] = time.perf_counter) -> None:
        self._events: Iterable[Event] = events
        self._clock = clock
        self._listeners: list[tuple[Callable[[Event], None], Callable[[], None] | None]] = []
        self.started: RunStarted | None = None
        self.finished: RunFinished | None = None
        self.segments: list[Segment] = []
        self.interventions: list[Intervention] = []
        self.warnings: list[str] = []
        self.probes: list[AnswerProbed] = []
        """Answer probes (what the run would answer if stopped there), in position order."""
        self.thinking_tokens = self.thinking_tokens_forced = 0
        self.answer_tokens = self.answer_tokens_forced = 0
        self.delimiter_tokens = self.waits_inserted = 0
        self.thinking_chars = self.answer_chars = 0
        self.thinking_closed_by: str | None = None
        self._thinking_end_reason: ThinkingEndReason | None = None
        self.started_s: float | None = None
        self.first_token_s: float | None = None
        self.finished_s: float | None = None

    # -- the live stream ---------------------------------------------------------------------

    def set_events(self, events: Iterable[Event]) -> None:
        """The engine hands its stream over once it is made (it reads this Run's counters)."""
        self._events = events

    def subscribe(self, on_event: Callable[[Event], None], on_close: Callable[[], None] | None = None) -> None:
        self._listeners.append((on_event, on_close))

    def __iter__(self) -> Iterator[Event]:
        try:
            for event in self._events:
                self.add(event)
                for on_event, _ in self._listeners:
                    on_event(event)
                yield event
        finally:
            for _, on_close in self._listeners:
                if on_close is not None:
                    on_close()

    def wait(self) -> Run:
        for _ in self:
            pass
        return self

    # -- the fold ------------------------------------------------------------------------------

    def add(self, event: Event) -> None:
        match event:
            case ThinkingDelta(text=text, tokens=tokens, forced=forced):
                append_text(self.segments, "thinking", text, forced)
                self.thinking_tokens += tokens
                self.thinking_tokens_forced += tokens if forced else 0
                self.thinking_chars += len(text)
                self._clock_first_token(forced)
            case AnswerDelta(text=text, tokens=tokens, forced=forced):
                if forced:
                    self._intervene("final-answer", self.thinking_tokens, text, "answer", self.answer_chars)
                append_text(self.segments, "answer", text, forced)
                self.answer_tokens += tokens
                self.answer_tokens_forced += tokens if forced else 0
                self.answer_chars += len(text)
                self._clock_first_token(forced)
            case WaitInserted(waits_inserted=count, position_tokens=position, text=text):
                self.waits_inserted = count
                self._intervene("wait", position, text, "thinking", self.thinking_chars)
            case LandingInserted(position_tokens=position, text=text):
                self._intervene("landing", position, text, "thinking", self.thinking_chars)
            case ThinkingEnded(reason=reason, position_tokens=position, delimiter_text=delimiter):
                self._thinking_end_reason = reason
                self.thinking_closed_by = event.closed_by
                self.delimiter_tokens = event.delimiter_tokens
                if reason in CUT_KINDS:
                    self._intervene(CUT_KINDS[reason], position, delimiter, "delimiter", 0)
                if delimiter:  # thinking "off" (the template closed it) wrote no delimiter
                    self.segments.append(Segment("delimiter", True, [delimiter]))
            case RunStarted():
                self.started = event
                self.started_s = self._clock()
            case BudgetClipped(message=message):
                self.warnings.append(message)
            case AnswerProbed():
                self.probes.append(event)
            case RunFinished():
                self.finished = event
                self.finished_s = self._clock()

    def _clock_first_token(self, forced: bool) -> None:
        if self.first_token_s is None and not forced:
            self.first_token_s = self._clock()

    def _intervene(self, kind: InterventionKind, position_tokens: int, text: str, section: Section,
                   char_offset: int) -> None:
        self.interventions.append(Intervention(kind, position_tokens, text, section, char_offset))

    # -- what readers read ---------------------------------------------------------------------

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
    def thinking_end_reason(self) -> ThinkingEndReason | None:
        """How thinking ended; a run cancelled or failed while thinking ended it that way."""
        if self._thinking_end_reason is None and self.finished is not None:
            return "cancelled" if self.finished.stop_reason == "cancelled" else "error"
        return self._thinking_end_reason

    @property
    def error(self) -> str | None:
        """What failed, for a run that ended with an error."""
        return self.finished.error if self.finished else None

    @property
    def status(self) -> RunStatus:
        if self.finished is None:
            return "running"
        if self.finished.error:
            return "failed"
        return "cancelled" if self.finished.stop_reason == "cancelled" else "finished"

    def _end_s(self) -> float:
        """Now while the run runs; the moment it finished once it has."""
        return self.finished_s if self.finished_s is not None else self._clock()

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run started: live while it runs, its wall time once it finished."""
        if self.started_s is None:
            return 0.0
        return self._end_s() - self.started_s

    @property
    def tokens_per_s(self) -> float:
        """Sampled tokens per second after the first one: live while it runs, final once finished."""
        sampled = self.sampled_tokens
        if self.first_token_s is None or sampled < 2:
            return 0.0
        return (sampled - 1) / max(self._end_s() - self.first_token_s, 1e-9)

    @property
    def stats(self) -> RunStats | None:
        """The finished run's numbers (None while it runs)."""
        finished = self.finished
        if finished is None:
            return None
        started_s = self.started_s if self.started_s is not None else self.finished_s
        return RunStats(
            thinking_tokens=self.thinking_tokens,
            thinking_tokens_sampled=self.thinking_tokens - self.thinking_tokens_forced,
            thinking_tokens_forced=self.thinking_tokens_forced,
            forced_tokens=self.forced_tokens,
            waits_inserted=self.waits_inserted,
            answer_tokens=self.answer_tokens,
            answer_tokens_sampled=self.answer_tokens - self.answer_tokens_forced,
            prompt_tokens=self.started.prompt_tokens if self.started else 0,
            thinking_end_reason=self.thinking_end_reason,
            stop_reason=finished.stop_reason,
            time_to_first_token_s=None if self.first_token_s is None else self.first_token_s - started_s,
            tokens_per_s=self.tokens_per_s,
            wall_s=self.elapsed_s,
            token_ids_sha256=finished.token_ids_sha256,
        )

    def to_json(self) -> dict[str, Any]:
        """The stable ``s1app ask --json`` contract."""
        started, finished, stats = self.started, self.finished, self.stats
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
            "probes": [probe_json(probe) for probe in self.probes],
            "stats": asdict(stats) if stats else None,
            "status": self.status,
            "error": self.error,
            "warnings": self.warnings,
            "started_at": started.started_at if started else "",
            "finished_at": finished.finished_at if finished else "",
        }


def probe_json(probe: AnswerProbed) -> dict[str, Any]:
    """One probe in ``s1app ask --json``: where (thinking tokens), what it answered, how sure."""
    data = asdict(probe)
    return {"thinking_tokens": data.pop("position_tokens"), **data}
