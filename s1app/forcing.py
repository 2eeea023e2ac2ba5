"""BudgetForcer: the loop that applies budget forcing (s1app.budget) to one run on one backend.

The loop works in token ids. Each round is one backend call streamed by ``_round``, the same code
for thinking and the answer; after each thinking round the pure ``after_thinking_round`` decides
what follows. The engine makes the run's Run (s1app.run) and emits every event through it: the
Run folds each event before the engine goes on, so the counters the decisions read are the
counts every reader sees, counted once.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

from s1app.backends.base import Backend, Finish, Piece
from s1app.budget import (
    ROUND_ENDS,
    BudgetConfig,
    RoundEnd,
    after_answer_round,
    after_thinking_round,
    check_landing_fits,
    plan_context,
)
from s1app.errors import BackendError
from s1app.events import (
    AnswerDelta,
    AnswerProbed,
    Event,
    LandingInserted,
    LoopDetected,
    RunFinished,
    RunStarted,
    StopReason,
    ThinkingCapped,
    ThinkingClosedBy,
    ThinkingDelta,
    ThinkingEnded,
    ThinkingEndReason,
    WaitInserted,
)
from s1app.formats import FormatTokens
from s1app.loops import RepetitionDetector
from s1app.prober import ProbeAnswer, Prober
from s1app.probes import stop_decision
from s1app.run import Run
from s1app.stop_text import Released, StopTextMatcher
from s1app.suppress import suppressed_ids


@dataclass(frozen=True, slots=True)
class _Phase:
    stop_ids: frozenset[int]
    stop_texts: tuple[str, ...]
    delta: type[ThinkingDelta] | type[AnswerDelta]
    watch_loops: bool
    banned_ids: frozenset[int] = frozenset()
    """Token ids the model may not sample in this phase (the suppress list, while thinking)."""


def token_ids_sha256(token_ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, token_ids)).encode("ascii")).hexdigest()


class BudgetForcer:
    """Runs one question under a BudgetConfig on one backend and reports it as events."""

    def __init__(self, backend: Backend, format_tokens: FormatTokens) -> None:
        self.backend = backend
        self.format_tokens = format_tokens

    def start(self, prompt_ids: list[int], config: BudgetConfig, *, question: str = "",
              cancel: threading.Event | None = None, run_id: str | None = None) -> Run:
        """The run, ready to iterate; its events always end with exactly one RunFinished.

        Raises PromptTooLongError (before any event) when the prompt alone does not fit, and
        ConfigError when the landing text does not fit the budget or a suppress word bans nothing.
        Backend failures after the start end the run with stop_reason "error", keeping what it had.
        """
        run = Run()
        forcing = _Forcing(self, run, prompt_ids, config, question, cancel or threading.Event(), run_id or uuid.uuid4().hex)
        run.set_events(forcing.events())
        return run


class _Forcing:
    """One run's state. Lives only inside BudgetForcer.run."""

    def __init__(self, forcer: BudgetForcer, run: Run, prompt_ids: list[int], config: BudgetConfig, question: str,
                 cancel: threading.Event, run_id: str) -> None:
        self.backend, self.tokens, self.config = forcer.backend, forcer.format_tokens, config
        self.question, self.cancel, self.run_id = question, cancel, run_id
        self.context = list(prompt_ids)
        self.prompt_tokens = len(prompt_ids)
        overhead = len(self.tokens.end_of_thinking_ids) + len(self.tokens.final_answer_ids)
        self.plan = plan_context(config, self.prompt_tokens, overhead, self.backend.info.context_length)
        self.sampling = config.sampling
        self.run = run
        """Read only: the Run folds each event this engine yields before the engine resumes."""
        self.detector = RepetitionDetector(config.loop)
        self.loop_period: int | None = None
        self.closed_by: ThinkingClosedBy = "delimiter"
        self.landing_ids = self.backend.tokenize(config.landing) if config.landing and config.thinking else []
        check_landing_fits(len(self.landing_ids), self.plan.max_thinking_tokens)
        banned = suppressed_ids(config.suppress, self.backend.tokenize) - self.tokens.thinking_stop_ids
        self.thinking = _Phase(self.tokens.thinking_stop_ids, self.tokens.thinking_stop_texts, ThinkingDelta,
                               config.loop.enabled, banned)
        self.answering = _Phase(self.tokens.answer_stop_ids, self.tokens.answer_stop_texts, AnswerDelta, False)
        self.prober: Prober | None = None
        self.rule_probes: list[AnswerProbed] = []
        """The every-N budget probes a stopping rule reads, in order."""
        self.stopped_at: ProbeAnswer | None = None
        """The probe whose answer a stopping rule took."""

    def events(self) -> Iterator[Event]:
        info = self.backend.info
        settings = {**self.config.to_dict(), "max_thinking_tokens_effective": self.plan.max_thinking_tokens,
                    "max_answer_tokens_effective": self.plan.max_answer_tokens}
        yield RunStarted(self.run_id, self.question, info.model, info.name, self.tokens.format.name, settings,
                         self.prompt_tokens, _utc_now())
        if self.plan.clipped:
            yield self.plan.clipped
        stop: StopReason = "error"
        error = None
        if self.config.probes.enabled and self.config.thinking:
            self.prober = Prober(self.backend, self.tokens, self.config.probes, prompt_tokens=self.prompt_tokens,
                                 max_answer_tokens=self.plan.max_answer_tokens, digest=token_ids_sha256,
                                 landing_ids=self.landing_ids)
        try:
            thinking_end = (yield from self._think()) if self.config.thinking else "off"
            if thinking_end == "cancelled":
                stop = "cancelled"
            else:
                yield from self._end_thinking(thinking_end)
                stop = yield from self._answer()
            yield from self._probes_left(stop == "cancelled")
        except BackendError as failure:
            error = str(failure)
        finally:
            if self.prober is not None:
                self.prober.close()
        yield self._finished(stop, error)

    def _answer(self) -> Generator[Event, None, StopReason]:
        remaining = self.plan.max_answer_tokens
        if self.stopped_at is not None:  # a stopping rule ended thinking: the probe's answer is the run's
            probe = self.stopped_at
            self.context.extend(probe.answer_ids)
            if probe.answer_ids:
                yield AnswerDelta(probe.event.text[len(self.tokens.format.final_answer):], len(probe.answer_ids))
            remaining -= len(probe.answer_ids)
            if probe.event.stop_reason != "answer-limit" or remaining <= 0:
                return probe.event.stop_reason
        return after_answer_round((yield from self._round(self.answering, remaining)))

    def _probes_left(self, cancelled: bool) -> Iterator[Event]:
        """The probes still decoding when the run ends (cancelled with it when it was)."""
        if self.prober is None:
            return
        if cancelled:
            self.prober.cancel.set()
        for probe in self.prober.wait_for():
            yield probe.event

    def _think(self) -> Generator[Event, None, ThinkingEndReason]:
        budget = self.plan.max_thinking_tokens - len(self.landing_ids)  # the landing's room is kept
        wait_ids = self.backend.tokenize(self.config.ignore_str) if self.config.ignore_str else []
        if self.prober is not None and 0 < budget and 0 in self.config.probes.at:
            self.prober.ask(self.context, 0, "budget", 0)
        while True:
            remaining = budget - self.run.thinking_tokens
            ended = (yield from self._round(self.thinking, remaining)) if remaining > 0 else "length"
            if ended == "loop":
                yield LoopDetected(self.run.thinking_tokens, self.loop_period,
                                   self.backend.detokenize(self.detector.tail(self.loop_period)))
            decision = after_thinking_round(ended, thinking_tokens=self.run.thinking_tokens, budget=budget,
                                            waits_inserted=self.run.waits_inserted, wait_tokens=len(wait_ids),
                                            config=self.config)
            if decision != "wait":
                if decision == "budget":
                    yield ThinkingCapped(self.run.thinking_tokens, self.plan.max_thinking_tokens)
                if decision in ("budget", "loop") and self.landing_ids:  # a model that stopped has landed
                    yield LandingInserted(self.run.thinking_tokens, self.config.landing, len(self.landing_ids))
                    self.context.extend(self.landing_ids)
                    yield ThinkingDelta(self.config.landing, len(self.landing_ids), forced=True)
                return decision
            self._probe_at_stop(len(wait_ids))
            yield WaitInserted(self.run.waits_inserted + 1, self.run.thinking_tokens, self.config.ignore_str, len(wait_ids))
            self.context.extend(wait_ids)
            for token_id in wait_ids:
                self.detector.push(token_id)
            yield ThinkingDelta(self.config.ignore_str, len(wait_ids), forced=True)

    def _probe_at_stop(self, wait_tokens: int) -> None:
        """At an attempt to stop where a Wait goes in: a "stop" probe, and a budget probe here for
        any listed position inside the Wait (a run capped there could not fit the Wait)."""
        if self.prober is None:
            return
        position, waits = self.run.thinking_tokens, self.run.waits_inserted
        if self.config.probes.at_stops:
            self.prober.ask(self.context, position, "stop", waits)
        if self.config.probes.inside(position, wait_tokens) and position != self.prober.last_position:
            self.prober.ask(self.context, position, "budget", waits)

    def _probe_due(self) -> Generator[Event, None, RoundEnd | None]:
        """After a thinking token: ask a probe if one is due here; with a stopping rule, wait for
        it and say whether thinking ends at it. Finished probes are handed on either way."""
        prober = self.prober
        position = len(self.context) - self.prompt_tokens
        if position < self.plan.max_thinking_tokens and self.config.probes.due(position, prober.last_position):
            prober.ask(self.context, position, "budget", self.run.waits_inserted)
            if self.config.probes.stop_rule:
                return (yield from self._rule_reads(prober.wait_for()))
        for probe in prober.ready():
            yield probe.event
        return None

    def _rule_reads(self, probes: list[ProbeAnswer]) -> Generator[Event, None, RoundEnd | None]:
        decision = None
        for probe in probes:
            yield probe.event
            every = self.config.probes.every
            if probe.event.kind == "budget" and probe.event.position_tokens % every == 0 and decision is None:
                self.rule_probes.append(probe.event)
                decision = stop_decision(self.config.probes, self.rule_probes)
                if decision is not None:
                    self.stopped_at = probe
        return decision

    def _round(self, phase: _Phase, max_tokens: int) -> Generator[Event, None, RoundEnd]:
        """One backend call: stream its tokens as deltas; say why it ended."""
        matcher = StopTextMatcher(phase.stop_texts)
        ended: RoundEnd = "length"
        with closing(self.backend.generate(self.context, max_tokens=max_tokens, stop_token_ids=phase.stop_ids,
                                           sampling=self.sampling, cancel=self.cancel,
                                           banned_token_ids=phase.banned_ids)) as stream:
            for item in stream:
                if isinstance(item, Finish):
                    ended = ROUND_ENDS[item.reason]
                    self.closed_by = "end-of-turn" if item.stop_token_id in self.tokens.end_of_turn_ids else "delimiter"
                    break
                released = self._accept(item, matcher)
                for text in released.texts:
                    yield phase.delta(text, 1)
                if released.matched:
                    ended, self.closed_by = "stop", "delimiter"
                    break
                if phase.watch_loops and self._looping(released, matcher):
                    ended = "loop"
                    break
                if self.prober is not None and phase is self.thinking:
                    ruled = yield from self._probe_due()
                    if ruled is not None:
                        ended = ruled
                        break
        for text in matcher.flush().texts:
            yield phase.delta(text, 1)
        return "cancelled" if self.cancel.is_set() else ended

    def _accept(self, piece: Piece, matcher: StopTextMatcher) -> Released:
        """Add a sampled token to the context; if it completed an end marker, take the marker's
        tokens back out (they were held back from viewers, so nothing shown is retracted)."""
        self.context.append(piece.token_id)
        released = matcher.feed(piece.text)
        if released.matched:
            del self.context[len(self.context) - released.dropped_tokens:]
        return released

    def _looping(self, released: Released, matcher: StopTextMatcher) -> bool:
        """Feed the tokens just shown to the repetition detector; True once thinking repeats."""
        shown_end = len(self.context) - matcher.held_tokens
        for token_id in self.context[shown_end - len(released.texts):shown_end]:
            self.loop_period = self.detector.push(token_id) or self.loop_period
        return self.loop_period is not None

    def _end_thinking(self, reason: ThinkingEndReason) -> Iterator[Event]:
        """The engine writes the end-of-thinking delimiter, and "Final Answer:" when it cut thinking."""
        fmt = self.tokens.format
        if reason == "off":  # the prompt already closed thinking: nothing to write
            yield ThinkingEnded(reason, 0, "", 0)
            return
        self.context.extend(self.tokens.end_of_thinking_ids)
        yield ThinkingEnded(reason, self.run.thinking_tokens, fmt.end_of_thinking, len(self.tokens.end_of_thinking_ids),
                            closed_by=self.closed_by if reason == "model" else None)
        if reason in ("budget", "loop", "stable", "confident"):
            self.context.extend(self.tokens.final_answer_ids)
            yield AnswerDelta(fmt.final_answer, len(self.tokens.final_answer_ids), forced=True)

    def _finished(self, stop: StopReason, error: str | None) -> RunFinished:
        return RunFinished(stop, token_ids_sha256(self.context[self.prompt_tokens:]), error, _utc_now())


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
