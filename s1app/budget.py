"""Budget forcing: the policy (BudgetConfig, pure decisions) and the one loop that applies it.

The loop works in token ids against any Backend. Thinking runs in rounds: a round ends when the
model tries to end thinking (an end marker or end-of-turn), when the budget is spent, on a loop,
or on cancel. Trying to end early gets the end suppressed and the ignore string ("Wait")
appended, up to ``num_waits`` times and until ``min_thinking_tokens`` is met. Then the engine
writes the end-of-thinking delimiter (and "Final Answer:" when it cut thinking short) and the
model answers. One thinking budget covers all rounds, forced Waits included.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from s1app.backends.base import Backend, Finish, Piece, Sampling
from s1app.errors import BackendError, ConfigError, PromptTooLongError
from s1app.events import (
    AnswerDelta,
    BudgetClipped,
    Event,
    Intervention,
    LoopDetected,
    RunFinished,
    RunStarted,
    RunStats,
    StopReason,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    ThinkingEndReason,
    WaitInserted,
)
from s1app.formats import FormatTokens
from s1app.loops import LoopSettings, RepetitionDetector
from s1app.stop_text import Released, StopTextMatcher


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Everything one run's budget policy needs. Validated here, trusted everywhere after."""

    max_thinking_tokens: int | None = None
    """None: think until the context (minus the answer's room) is full."""
    min_thinking_tokens: int = 0
    num_waits: int = 0
    ignore_str: str = "Wait"
    max_answer_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    loop: LoopSettings = field(default_factory=LoopSettings)

    def __post_init__(self) -> None:
        def whole(name: str, value: Any, minimum: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be a whole number, got {value!r}.")
            if value < minimum:
                raise ConfigError(f"{name} must be at least {minimum}, got {value}.")

        if self.max_thinking_tokens is not None:
            whole("max_thinking_tokens", self.max_thinking_tokens, 0)
        whole("min_thinking_tokens", self.min_thinking_tokens, 0)
        whole("num_waits", self.num_waits, 0)
        whole("max_answer_tokens", self.max_answer_tokens, 1)
        if self.seed is not None:
            whole("seed", self.seed, 0)
        if self.max_thinking_tokens is not None and self.min_thinking_tokens > self.max_thinking_tokens:
            raise ConfigError(
                f"min_thinking_tokens ({self.min_thinking_tokens}) is above max_thinking_tokens "
                f"({self.max_thinking_tokens}): lower the minimum or raise the maximum."
            )
        if (self.num_waits or self.min_thinking_tokens) and not self.ignore_str:
            raise ConfigError("ignore_str is empty: give the text to append when thinking is extended (e.g. 'Wait').")
        if not 0.0 <= float(self.temperature) <= 5.0:
            raise ConfigError(f"temperature must be between 0 and 5, got {self.temperature}.")
        if not 0.0 < float(self.top_p) <= 1.0:
            raise ConfigError(f"top_p must be above 0 and at most 1, got {self.top_p}.")
        if self.loop.enabled and (self.loop.max_period_tokens < 1 or self.loop.min_repeats < 2):
            raise ConfigError("loop detection needs max_period_tokens >= 1 and min_repeats >= 2.")

    @property
    def sampling(self) -> Sampling:
        return Sampling(temperature=float(self.temperature), top_p=float(self.top_p), seed=self.seed)

    def wants_wait(self, thinking_tokens: int, waits_inserted: int) -> bool:
        """When the model tries to end thinking: extend (True) or let it end (False)."""
        return waits_inserted < self.num_waits or thinking_tokens < self.min_thinking_tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ContextPlan:
    """The budget after fitting the prompt, thinking and answer into the context window."""

    max_thinking_tokens: int
    max_answer_tokens: int
    clipped: BudgetClipped | None


def plan_context(config: BudgetConfig, prompt_tokens: int, forced_overhead_tokens: int, context_length: int) -> ContextPlan:
    """Fit thinking and answer into the context; the answer's room is kept before thinking's."""
    room = context_length - prompt_tokens - forced_overhead_tokens
    if room < 2:
        raise PromptTooLongError(
            f"The prompt is {prompt_tokens} tokens but the model's context holds {context_length}: "
            "shorten the question (or the conversation: start a new one), or use a model with a longer context."
        )
    answer = min(config.max_answer_tokens, max(1, room // 2))
    thinking_room = room - answer
    requested = config.max_thinking_tokens
    if requested is not None and requested <= thinking_room:
        return ContextPlan(requested, answer, None)
    if requested is None:
        return ContextPlan(thinking_room, answer, None)
    message = (
        f"Thinking budget lowered from {requested} to {thinking_room} tokens: the prompt ({prompt_tokens} tokens) "
        f"and the answer ({answer} tokens) must fit the model's context of {context_length} tokens."
    )
    return ContextPlan(thinking_room, answer, BudgetClipped(requested, thinking_room, context_length, message))


def token_ids_sha256(token_ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, token_ids)).encode("ascii")).hexdigest()


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class BudgetForcer:
    """Runs one question under a BudgetConfig on one backend and reports it as events."""

    def __init__(self, backend: Backend, format_tokens: FormatTokens) -> None:
        self.backend = backend
        self.format_tokens = format_tokens

    def run(
        self,
        prompt_ids: list[int],
        config: BudgetConfig,
        *,
        question: str = "",
        cancel: threading.Event | None = None,
        run_id: str | None = None,
    ) -> Iterator[Event]:
        """Yield the run's events; always ends with exactly one RunFinished.

        Raises PromptTooLongError (before any event) when the prompt alone does not fit.
        Backend failures after the start end the run with stop_reason "error", keeping what it had.
        """
        run = _Run(self, prompt_ids, config, question, cancel or threading.Event(), run_id or uuid.uuid4().hex)
        return run.events()


class _Run:
    """The state of one run. Lives only inside BudgetForcer.run."""

    def __init__(
        self,
        forcer: BudgetForcer,
        prompt_ids: list[int],
        config: BudgetConfig,
        question: str,
        cancel: threading.Event,
        run_id: str,
    ) -> None:
        self.backend = forcer.backend
        self.tokens = forcer.format_tokens
        self.config = config
        self.question = question
        self.cancel = cancel
        self.run_id = run_id
        self.context = list(prompt_ids)
        self.prompt_tokens = len(prompt_ids)
        overhead = len(self.tokens.end_of_thinking_ids) + len(self.tokens.final_answer_ids)
        self.plan = plan_context(config, self.prompt_tokens, overhead, self.backend.info.context_length)
        self.sampling = config.sampling
        self.thinking_sampled = 0
        self.thinking_forced = 0
        self.answer_tokens = 0
        self.answer_sampled = 0
        self.forced_tokens = 0
        self.waits = 0
        self.interventions: list[Intervention] = []
        self.started = time.perf_counter()
        self.first_token_at: float | None = None

    @property
    def thinking_tokens(self) -> int:
        return self.thinking_sampled + self.thinking_forced

    # -- the whole run --------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        settings = {**self.config.to_dict(), "max_thinking_tokens_effective": self.plan.max_thinking_tokens,
                    "max_answer_tokens_effective": self.plan.max_answer_tokens}
        info = self.backend.info
        yield RunStarted(self.run_id, self.question, info.model, info.name, self.tokens.format.name,
                         settings, self.prompt_tokens, _utc_now())
        if self.plan.clipped:
            yield self.plan.clipped
        thinking_end: ThinkingEndReason = "error"
        stop: StopReason = "error"
        error = None
        try:
            thinking_end = yield from self._think()
            if thinking_end == "cancelled":
                stop = "cancelled"
            else:
                yield from self._end_thinking(thinking_end)
                stop = yield from self._answer()
        except BackendError as failure:
            error = str(failure)
        yield self._finished(thinking_end, stop, error)

    # -- thinking -------------------------------------------------------------------------

    def _think(self) -> Iterator[Event]:
        budget = self.plan.max_thinking_tokens
        detector = RepetitionDetector(self.config.loop)
        matcher = StopTextMatcher(self.tokens.thinking_stop_texts)
        wait_ids: list[int] | None = None
        while True:
            remaining = budget - self.thinking_tokens
            if remaining <= 0:
                yield ThinkingCapped(self.thinking_tokens, budget)
                return "budget"
            finish: Finish | None = None
            loop_period = None
            with closing(self.backend.generate(self.context, max_tokens=remaining,
                                               stop_token_ids=self.tokens.thinking_stop_ids,
                                               sampling=self.sampling, cancel=self.cancel)) as stream:
                for item in stream:
                    if isinstance(item, Finish):
                        finish = item
                        break
                    released = self._accept(item, matcher)
                    self.thinking_sampled += 1 - released.dropped_tokens
                    for text in released.texts:
                        yield ThinkingDelta(text, 1)
                    shown_end = len(self.context) - matcher.held_tokens
                    for token_id in self.context[shown_end - len(released.texts):shown_end]:
                        loop_period = detector.push(token_id) or loop_period
                    if released.matched:
                        finish = Finish("stop")
                        break
                    if loop_period:
                        break
            for text in matcher.flush().texts:
                yield ThinkingDelta(text, 1)
            if loop_period:
                repeated = self.backend.detokenize(detector.tail(loop_period))
                yield LoopDetected(self.thinking_tokens, loop_period, repeated)
                return "loop"
            if self.cancel.is_set() or (finish is not None and finish.reason == "cancelled"):
                return "cancelled"
            if finish is None or finish.reason in ("length", "context-full"):
                yield ThinkingCapped(self.thinking_tokens, budget)
                return "budget"
            # The model tried to end thinking.
            if not self.config.wants_wait(self.thinking_tokens, self.waits):
                return "model"
            if wait_ids is None:
                wait_ids = self.backend.tokenize(self.config.ignore_str)
            if self.thinking_tokens + len(wait_ids) > budget:
                yield ThinkingCapped(self.thinking_tokens, budget)
                return "budget"
            self.waits += 1
            position = self.thinking_tokens
            self.interventions.append(Intervention("wait", position, self.config.ignore_str))
            yield WaitInserted(self.waits, position, self.config.ignore_str, len(wait_ids))
            self.context.extend(wait_ids)
            self.thinking_forced += len(wait_ids)
            self.forced_tokens += len(wait_ids)
            for token_id in wait_ids:
                detector.push(token_id)
            yield ThinkingDelta(self.config.ignore_str, len(wait_ids), forced=True)

    def _end_thinking(self, reason: ThinkingEndReason) -> Iterator[Event]:
        fmt = self.tokens.format
        end_ids = self.tokens.end_of_thinking_ids
        if reason in ("budget", "loop"):
            kind = "cap" if reason == "budget" else "loop-break"
            self.interventions.append(Intervention(kind, self.thinking_tokens, fmt.end_of_thinking))
        self.context.extend(end_ids)
        self.forced_tokens += len(end_ids)
        yield ThinkingEnded(reason, self.thinking_tokens, fmt.end_of_thinking, len(end_ids))
        if reason in ("budget", "loop"):
            final_ids = self.tokens.final_answer_ids
            self.interventions.append(Intervention("final-answer", self.thinking_tokens, fmt.final_answer))
            self.context.extend(final_ids)
            self.forced_tokens += len(final_ids)
            self.answer_tokens += len(final_ids)
            yield AnswerDelta(fmt.final_answer, len(final_ids), forced=True)

    # -- answer ---------------------------------------------------------------------------

    def _answer(self) -> Iterator[Event]:
        matcher = StopTextMatcher(self.tokens.answer_stop_texts)
        finish: Finish | None = None
        with closing(self.backend.generate(self.context, max_tokens=self.plan.max_answer_tokens,
                                           stop_token_ids=self.tokens.answer_stop_ids,
                                           sampling=self.sampling, cancel=self.cancel)) as stream:
            for item in stream:
                if isinstance(item, Finish):
                    finish = item
                    break
                released = self._accept(item, matcher)
                self.answer_sampled += 1 - released.dropped_tokens
                self.answer_tokens += 1 - released.dropped_tokens
                for text in released.texts:
                    yield AnswerDelta(text, 1)
                if released.matched:
                    return "end-of-answer"
        for text in matcher.flush().texts:
            yield AnswerDelta(text, 1)
        if self.cancel.is_set() or (finish is not None and finish.reason == "cancelled"):
            return "cancelled"
        if finish is not None and finish.reason == "stop":
            return "end-of-answer"
        if finish is not None and finish.reason == "context-full":
            return "context-full"
        return "answer-limit"

    # -- bookkeeping ----------------------------------------------------------------------

    def _accept(self, piece: Piece, matcher: StopTextMatcher) -> Released:
        """Add a sampled token to the context; if it completed an end marker, take the marker's
        tokens back out (they were held back from viewers, so nothing shown is retracted)."""
        self._mark_first_token()
        self.context.append(piece.token_id)
        released = matcher.feed(piece.text)
        if released.matched:
            del self.context[len(self.context) - released.dropped_tokens:]
        return released

    def _mark_first_token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def _finished(self, thinking_end: ThinkingEndReason, stop: StopReason, error: str | None) -> RunFinished:
        now = time.perf_counter()
        wall = now - self.started
        sampled = self.thinking_sampled + self.answer_sampled
        ttft = None if self.first_token_at is None else self.first_token_at - self.started
        decode_s = now - self.first_token_at if self.first_token_at is not None else 0.0
        stats = RunStats(
            thinking_tokens=self.thinking_tokens,
            thinking_tokens_sampled=self.thinking_sampled,
            thinking_tokens_forced=self.thinking_forced,
            forced_tokens=self.forced_tokens,
            waits_inserted=self.waits,
            answer_tokens=self.answer_tokens,
            answer_tokens_sampled=self.answer_sampled,
            prompt_tokens=self.prompt_tokens,
            thinking_end_reason=thinking_end,
            stop_reason=stop,
            time_to_first_token_s=ttft,
            tokens_per_s=(sampled - 1) / decode_s if sampled > 1 and decode_s > 0 else 0.0,
            wall_s=wall,
            token_ids_sha256=token_ids_sha256(self.context[self.prompt_tokens:]),
        )
        return RunFinished(stats, tuple(self.interventions), error, _utc_now())
