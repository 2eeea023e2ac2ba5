"""The engine's typed event stream: everything a viewer, the store, compare, sweeps and eval see.

A run is told as: RunStarted, then (optionally) BudgetClipped, then thinking (ThinkingDelta, with
WaitInserted / LoopDetected / ThinkingCapped / LandingInserted markers), one ThinkingEnded, the
answer (AnswerDelta), and exactly one RunFinished. Text the engine wrote itself (a Wait, the
landing text, "Final Answer:") arrives as a delta with ``forced=True``; the end-of-thinking
delimiter arrives in ThinkingEnded. Concatenating the deltas' text of a section gives that section
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

ThinkingEndReason = Literal["model", "budget", "loop", "stable", "confident", "cancelled", "error", "off"]
""""off": the template skipped thinking (thinking switched off); the run only answers.
"stable" / "confident": a stopping rule (s1app.probes) ended thinking at a probe; the answer is the probe's."""
StopReason = Literal["end-of-answer", "answer-limit", "context-full", "cancelled", "error"]
InterventionKind = Literal["wait", "cap", "final-answer", "loop-break", "landing", "probe-stop"]
Section = Literal["thinking", "delimiter", "answer"]
ThinkingClosedBy = Literal["delimiter", "end-of-turn"]
ProbeKind = Literal["budget", "stop"]
""""budget": stands for a run capped here (delimiter + "Final Answer:" forced); "stop": for a run
that let the model end thinking at this attempt to stop (the delimiter alone; a Wait went in instead)."""
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
class LandingInserted:
    """The budget or a loop break cut thinking; the engine lands it with ``text`` (BudgetConfig.landing)
    inside the budget, before the delimiter. The text follows as a ``ThinkingDelta(forced=True)``."""

    position_tokens: int
    """Thinking tokens before the landing text."""
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
class AnswerProbed:
    """What the model would answer if thinking stopped at ``position_tokens``, decoded greedily on
    a fork that cannot change the run's own tokens (s1app.prober). Arrives after the position it
    probes, possibly later than the deltas after it; probes of one run come in position order."""

    position_tokens: int
    """Thinking tokens before the probe (sampled and forced Waits alike)."""
    kind: ProbeKind
    waits_before: int
    """Waits the run had inserted before this position."""
    text: str
    """The answer section a run stopped here would have ("Final Answer:" included when forced)."""
    extracted: str | None
    """The answer in ``text``, by the eval grader's extraction (s1app.eval.grading)."""
    confidence: float | None
    """Mean probability of the extracted answer's tokens (None: no answer, or no probabilities)."""
    answer_tokens: int
    """Tokens of ``text``: forced "Final Answer:" and sampled alike."""
    forced_tokens: int
    """Tokens forced for the probe: the delimiter; for kind "budget" also "Final Answer:" after it
    and the landing text before it (when the run has one: it stands for the run whose budget is
    this position plus the landing)."""
    stop_reason: str
    """How the probe's answer ended: "end-of-answer", "answer-limit", "cancelled"."""
    seconds: float
    token_ids_sha256: str = ""
    """sha256 of every token id a run stopped here adds after the prompt (as RunFinished's): equal
    digests mean the probe is that run, token for token."""


@dataclass(frozen=True, slots=True)
class Intervention:
    """One piece of text the engine forced, for logs: enough to re-render a run with it marked."""

    kind: InterventionKind
    position_tokens: int
    """Thinking tokens before it."""
    text: str
    section: str = ""
    """Where it sits: "thinking" (a Wait, the landing text), "delimiter" (a cap or loop-break),
    "answer" ("Final Answer:")."""
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
    | LandingInserted
    | LoopDetected
    | ThinkingCapped
    | ThinkingEnded
    | AnswerDelta
    | AnswerProbed
    | RunFinished
)

