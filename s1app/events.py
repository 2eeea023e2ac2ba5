"""The engine's typed event stream: everything a viewer, the store, compare, sweeps and eval see.

A run is told as: RunStarted, then (optionally) BudgetClipped, then thinking (ThinkingDelta, with
WaitInserted / LoopDetected / ThinkingCapped markers), one ThinkingEnded, the answer
(AnswerDelta), and exactly one RunFinished. Text the engine wrote itself (a Wait, "Final Answer:")
arrives as a delta with ``forced=True``; the end-of-thinking delimiter arrives in ThinkingEnded.
Concatenating the deltas' text of a section gives that section exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ThinkingEndReason = Literal["model", "budget", "loop", "cancelled", "error", "off"]
""""off": the template skipped thinking (thinking switched off); the run only answers."""
StopReason = Literal["end-of-answer", "answer-limit", "context-full", "cancelled", "error"]
InterventionKind = Literal["wait", "cap", "final-answer", "loop-break"]
Section = Literal["thinking", "delimiter", "answer"]
ThinkingClosedBy = Literal["delimiter", "end-of-turn"]
"""How the model itself ended thinking: its end-of-thinking delimiter, or by ending its turn."""


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    question: str
    model: str
    backend: str
    format: str
    settings: dict[str, Any]
    """Every resolved setting (BudgetConfig fields after clipping), JSON-ready."""
    prompt_tokens: int
    started_at: str
    """UTC, ISO 8601."""


@dataclass(frozen=True, slots=True)
class BudgetClipped:
    """The prompt plus the requested budget did not fit the context; the budget was lowered."""

    requested_thinking_tokens: int
    effective_thinking_tokens: int
    context_length: int
    message: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str
    tokens: int
    forced: bool = False


@dataclass(frozen=True, slots=True)
class WaitInserted:
    """The model tried to end thinking; the engine suppressed it and wrote ``text`` instead.

    The forced text itself follows as a ``ThinkingDelta(forced=True)``.
    """

    waits_inserted: int
    """Count so far, this one included."""
    position_tokens: int
    """Thinking tokens before the Wait."""
    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class LoopDetected:
    """The thinking repeats itself; the engine ends thinking here (a ThinkingEnded follows)."""

    position_tokens: int
    period_tokens: int
    repeated_text: str


@dataclass(frozen=True, slots=True)
class ThinkingCapped:
    """The thinking budget is spent; the engine ends thinking here (a ThinkingEnded follows)."""

    position_tokens: int
    max_thinking_tokens: int


@dataclass(frozen=True, slots=True)
class ThinkingEnded:
    """Thinking is over. The engine wrote the end-of-thinking ``delimiter_text`` (always forced).

    A run cancelled or failed while thinking has no ThinkingEnded: its RunFinished says why.
    """

    reason: ThinkingEndReason
    position_tokens: int
    delimiter_text: str
    delimiter_tokens: int
    closed_by: ThinkingClosedBy | None = None
    """With reason "model": whether the model wrote its delimiter or ended its turn."""


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    text: str
    tokens: int
    forced: bool = False


@dataclass(frozen=True, slots=True)
class Intervention:
    """One piece of text the engine forced, for logs: enough to re-render a run with it marked."""

    kind: InterventionKind
    position_tokens: int
    """Thinking tokens before it."""
    text: str
    section: str = ""
    """Where it sits: "thinking" (a Wait), "delimiter" (a cap or loop-break), "answer" ("Final Answer:")."""
    char_offset: int = 0
    """Its first character within that section's text."""


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run is over. Carries only what the fold of the events before it cannot tell
    (s1app.run.Run counts the rest)."""

    stop_reason: StopReason
    token_ids_sha256: str = ""
    """sha256 of every token id the run added after the prompt (sampled and forced), in order."""
    error: str | None = None
    finished_at: str = ""
    """UTC, ISO 8601."""


Event = (
    RunStarted
    | BudgetClipped
    | ThinkingDelta
    | WaitInserted
    | LoopDetected
    | ThinkingCapped
    | ThinkingEnded
    | AnswerDelta
    | RunFinished
)

