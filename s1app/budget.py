"""Budget forcing: the policy (BudgetConfig, plan_context, the decision after each round). Pure.

A run is a series of rounds, each one backend call. Thinking rounds end when the model tries to
end thinking (an end marker or end-of-turn), when the budget is spent, on a loop, or on cancel;
``after_thinking_round`` then decides: a Wait (trying to end early, while ``num_waits`` or
``min_thinking_tokens`` asks for more), or the end of thinking and why. One thinking budget
covers all rounds, forced Waits included, and the landing text a cut ends with. The answer is one
more round. The loop that applies this is s1app.forcing.BudgetForcer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from s1app.backends.base import Sampling
from s1app.errors import ConfigError, PromptTooLongError
from s1app.events import BudgetClipped, StopReason, ThinkingEndReason
from s1app.loops import LoopSettings
from s1app.numbers import require_whole
from s1app.probes import ProbeSettings
from s1app.suppress import check_words

RoundEnd = Literal["stop", "length", "context-full", "cancelled", "loop", "stable", "confident"]
"""Why one backend call ended: the model stopped, its token limit, the context, cancel, a loop,
or a stopping rule at a probe (s1app.probes)."""

ROUND_ENDS: dict[str, RoundEnd] = {"stop": "stop", "length": "length", "cancelled": "cancelled",
                                   "context-full": "context-full"}
"""A backend's Finish reason -> the round's end."""


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
    reasoning_effort: str | None = None
    """Harmony's template switch (low / medium / high); None: the template's default."""
    thinking: bool = True
    """False: the template skips thinking (Qwen3 enable_thinking=false); the run only answers."""
    probes: ProbeSettings = field(default_factory=ProbeSettings)
    """Answer probes and the stopping rules that read them (s1app.probes); off by default."""
    landing: str = ""
    """Text forced at the end of thinking when the budget or a loop break cuts it (e.g. "Okay, time
    is up. Let me give the final answer."), inside the thinking budget; "": none."""
    suppress: tuple[str, ...] = ()
    """Words (or preset names, e.g. "nowait") the model may not sample while thinking (s1app.suppress)."""

    def __post_init__(self) -> None:
        if self.max_thinking_tokens is not None:
            require_whole("max_thinking_tokens", self.max_thinking_tokens, 0)
        require_whole("min_thinking_tokens", self.min_thinking_tokens, 0)
        require_whole("num_waits", self.num_waits, 0)
        require_whole("max_answer_tokens", self.max_answer_tokens, 1)
        if self.seed is not None:
            require_whole("seed", self.seed, 0)
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
        if self.reasoning_effort is not None and (not isinstance(self.reasoning_effort, str) or not self.reasoning_effort):
            raise ConfigError(f"reasoning_effort must be a word such as low, medium or high, got {self.reasoning_effort!r}.")
        if self.loop.enabled and (self.loop.max_period_tokens < 1 or self.loop.min_repeats < 2):
            raise ConfigError("loop detection needs max_period_tokens >= 1 and min_repeats >= 2.")
        self._check_landing_and_suppress()

    def _check_landing_and_suppress(self) -> None:
        if not isinstance(self.landing, str):
            raise ConfigError(f"landing must be text, got {self.landing!r}.")
        if self.landing and self.max_thinking_tokens == 0:
            raise ConfigError("The landing text cannot fit a thinking budget of 0 tokens: raise the budget or drop the landing.")
        if isinstance(self.suppress, str) or not isinstance(self.suppress, tuple | list):
            raise ConfigError(f"suppress takes a list of words, got {self.suppress!r} (s1app.suppress.parse_suppress reads 'a, b').")
        object.__setattr__(self, "suppress", tuple(self.suppress))  # a list given: kept hashable
        check_words(self.suppress)

    @property
    def sampling(self) -> Sampling:
        return Sampling(temperature=float(self.temperature), top_p=float(self.top_p), seed=self.seed)

    def wants_wait(self, thinking_tokens: int, waits_inserted: int) -> bool:
        """When the model tries to end thinking: extend (True) or let it end (False)."""
        return waits_inserted < self.num_waits or thinking_tokens < self.min_thinking_tokens

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON has it (tuples as lists, such as ``probes.at``): RunStarted.settings,
        so the live Run and the session log's record of it hold equal settings."""
        return json.loads(json.dumps(asdict(self)))


DEFAULTS = BudgetConfig()
"""The one set of defaults: the CLI's options, the UI's fields and the library read theirs here."""


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


def check_landing_fits(landing_tokens: int, budget: int) -> None:
    """Once the landing text is tokenized: it must fit inside the thinking budget in force."""
    if landing_tokens > budget:
        raise ConfigError(
            f"The landing text is {landing_tokens} tokens but the thinking budget is {budget}: "
            "shorten it or raise the budget."
        )


def after_thinking_round(ended: RoundEnd, *, thinking_tokens: int, budget: int, waits_inserted: int,
                         wait_tokens: int, config: BudgetConfig) -> Literal["wait"] | ThinkingEndReason:
    """What follows a thinking round: a Wait, or the end of thinking with its reason."""
    if ended in ("cancelled", "loop", "stable", "confident"):
        return ended
    if ended != "stop":
        return "budget"  # the round's token limit (what was left of the budget) or the context
    if not config.wants_wait(thinking_tokens, waits_inserted):
        return "model"
    if thinking_tokens + wait_tokens > budget:
        return "budget"  # a Wait would not fit: the budget ends thinking instead
    return "wait"


def after_answer_round(ended: RoundEnd) -> StopReason:
    if ended == "stop":
        return "end-of-answer"
    if ended in ("cancelled", "context-full"):
        return ended
    return "answer-limit"
