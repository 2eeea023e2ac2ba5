"""Answer probes, the policy: when to probe, what a probe's answer and confidence are, and the two
stopping rules that read probes. Pure (no backend, no threads); s1app.prober runs the probes.

A probe at thinking position t asks what a run stopped at t would answer. Two kinds:
- "budget": a run capped at t (the engine forces the end-of-thinking delimiter, then "Final Answer:");
- "stop": a run that let the model end thinking at this attempt to stop, where the engine put a
  Wait instead (the delimiter alone).

Stopping rules (each keeps the hard budget as its ceiling):
- ``stable`` (Dynasor-CoT / Certaindex, arXiv 2412.20993): end thinking when the last k probes,
  taken every N tokens, give the same non-empty answer.
- ``confident`` (DEER, arXiv 2504.15895): end thinking at a probe whose answer's mean token
  probability is at least p.
When a rule ends thinking, the run's answer is the probe's (docs/probes.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from s1app.errors import ConfigError
from s1app.events import AnswerProbed
from s1app.numbers import require_whole

AnswerKind = Literal["math", "integer", "number", "choice"]
DEFAULT_PROBE_TOKENS = 16


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """Which probes a run takes, and whether they may end its thinking. All off by default."""

    every: int = 0
    """A probe every this many thinking tokens (0: none)."""
    at: tuple[int, ...] = ()
    """And a probe at each of these thinking positions (a position inside a forced Wait is
    probed where the Wait starts: a run capped there could not fit the Wait either)."""
    at_stops: bool = False
    """And a "stop" probe at each attempt to stop where a Wait goes in."""
    tokens: int = DEFAULT_PROBE_TOKENS
    """Answer tokens a probe decodes at most (the run's answer cap when it stands in for a run)."""
    answer_kind: AnswerKind = "math"
    """How a probe's answer is extracted (the eval grader's kinds)."""
    stop_when_stable: int = 0
    """End thinking once this many probes in a row agree (0: off; at least 2)."""
    stop_when_confident: float | None = None
    """End thinking at a probe this confident (None: off; in (0, 1])."""

    def __post_init__(self) -> None:
        require_whole("probe interval (probe_every)", self.every, 0)
        require_whole("probe tokens", self.tokens, 1)
        for position in self.at:
            require_whole("probe position", position, 0)
        if self.stop_when_stable and (isinstance(self.stop_when_stable, bool) or self.stop_when_stable < 2):
            raise ConfigError(f"stop-when-stable needs at least 2 probes that agree, got {self.stop_when_stable}: "
                              "give 2 or more (or 0 for off).")
        require_whole("stop-when-stable", self.stop_when_stable, 0)
        if self.stop_when_confident is not None:
            p = self.stop_when_confident
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < float(p) <= 1.0:
                raise ConfigError(f"stop-when-confident must be a probability above 0 and at most 1, got {p!r}.")
        if self.stop_rule and not self.every:
            raise ConfigError("A stopping rule reads probes taken every N tokens: set the probe interval "
                              "(--probe-every N) as well.")
        if self.answer_kind not in ("math", "integer", "number", "choice"):
            raise ConfigError(f"Unknown answer kind {self.answer_kind!r}: use math, integer, number or choice.")

    @property
    def enabled(self) -> bool:
        return bool(self.every or self.at or self.at_stops)

    @property
    def shown_only(self) -> bool:
        """Whether these probes are only shown (every N, no stopping rule reads them, none stands in
        for a run at a listed position or an attempt to stop): such a probe ends at the end of its
        answer's first line, which is what a person reads of it, for fewer tokens beside the run."""
        return bool(self.every) and not (self.stop_rule or self.at or self.at_stops)

    @property
    def stop_rule(self) -> Literal["stable", "confident"] | None:
        if self.stop_when_stable:
            return "stable"
        if self.stop_when_confident is not None:
            return "confident"
        return None

    def due(self, position: int, last_probed: int | None) -> bool:
        """Whether a "budget" probe belongs at thinking ``position`` (sampled tokens only reach here)."""
        if position == last_probed:
            return False
        if position in self.at:
            return True
        return bool(self.every) and position > 0 and position % self.every == 0

    def inside(self, start: int, length: int) -> bool:
        """Whether a listed position falls inside a forced span [start, start + length)."""
        return any(start <= position < start + length for position in self.at)


def stop_decision(settings: ProbeSettings, probes: Sequence[AnswerProbed]) -> Literal["stable", "confident"] | None:
    """After the newest of ``probes`` (every-N "budget" probes, in order): end thinking, and why."""
    rule = settings.stop_rule
    if rule is None or not probes:
        return None
    if rule == "confident":
        confidence = probes[-1].confidence
        return "confident" if probes[-1].extracted and confidence is not None and confidence >= settings.stop_when_confident else None
    k = settings.stop_when_stable
    last = [probe.extracted for probe in probes[-k:]]
    return "stable" if len(last) == k and last[0] and all(answer == last[0] for answer in last) else None


def holds_a_line(answer: str) -> bool:
    """Whether a probe's answer text so far holds a whole non-blank line (blank lines before it skipped)."""
    return "\n" in answer.lstrip()


def extract(text: str, kind: AnswerKind) -> str | None:
    from s1app.eval.grading import grade

    return grade(text, None, kind).extracted


def answer_confidence(text: str, pieces: Sequence[tuple[str, float | None]], answer: str | None) -> float | None:
    """Mean probability of the tokens that spell ``answer`` where it last occurs in ``text``.

    ``pieces`` are the answer's sampled tokens as (text, log-probability), in order; ``text`` ends
    with their concatenation (forced text before it has no probabilities). None when there is no
    answer, it is not found, or the backend gave no probabilities.
    """
    if not answer:
        return None
    end = text.rfind(answer)
    if end < 0:
        return None
    start, end = end, end + len(answer)
    offset = len(text) - sum(len(piece) for piece, _ in pieces)
    chosen: list[float] = []
    for piece, logprob in pieces:
        piece_start, offset = offset, offset + len(piece)
        if offset > start and piece_start < end:
            if logprob is None:
                return None
            chosen.append(math.exp(logprob))
    return sum(chosen) / len(chosen) if chosen else None
