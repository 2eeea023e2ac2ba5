"""The test-time scaling methods of the s1 paper, each a set of Settings over the same engine.

A method turns the sweep the user asked for (budgets, Wait counts, votes) into Settings: the
points of its accuracy-vs-thinking curve. A Setting says how each question is asked (the
engine's cap, Waits, an instruction in the prompt, temperature) and which range of thinking was
requested (for Control). How a setting's runs become one graded answer is ``policy``:
one run, rejection sampling, or majority voting (see s1app/eval/policies.py).

Step-conditional control asks for steps of about 100 tokens; its settings come from the same
budgets, each rounded up to whole steps (budgets 0, 64, 256 -> 0, 1, 3 steps, ranges <= 0, 100, 300).

``ceiling_tokens`` bounds the methods that do not cap thinking themselves (no intervention,
token-, step- and class-conditional, rejection sampling): a run that reaches it is outside any range
asked for, so Control is unchanged; without it they may think up to the model's context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from s1app.errors import ConfigError
from s1app.eval.prompts import LONG_THINKING, SHORT_THINKING, TOKENS_PER_STEP, step_conditional, token_conditional

Policy = Literal["single", "rejection", "majority"]


@dataclass(frozen=True, slots=True)
class Sweep:
    """What the user asked to vary. Validated at the CLI / UI boundary."""

    budgets: tuple[int, ...] = (0, 64, 256, 1024)
    waits: tuple[int, ...] = (0,)
    votes: tuple[int, ...] = (1, 2, 4)
    max_tries: int = 8
    """Rejection sampling: samples drawn at most per question."""
    ceiling_tokens: int | None = None
    probe_every: int = 64
    """stable, confident: an answer probe every this many thinking tokens."""
    stable_k: int = 2
    """stable: probes in a row that must give the same answer."""
    confidence: float = 0.9
    """confident: the probe confidence (mean answer-token probability) that ends thinking."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One point of a method's curve."""

    method: str
    key: str
    """Unique within an eval run, stable across resumes: "budget-forcing:max=64:waits=0"."""
    label: str
    max_thinking_tokens: int | None = None
    """The engine's cap (None: up to the ceiling, else the context)."""
    num_waits: int = 0
    instruction: str = ""
    """Appended to the question after a blank line (token-/class-conditional control)."""
    requested_min_tokens: int | None = None
    requested_max_tokens: int | None = None
    temperature: float = 0.0
    policy: Policy = "single"
    samples: int = 1
    """Majority voting: answers voted on."""
    max_tries: int = 1
    """Rejection sampling: samples drawn at most before giving up on the item."""
    probe_every: int = 0
    """Adaptive stopping: an answer probe every this many thinking tokens (0: no probes)."""
    stop_when_stable: int = 0
    """stable: end thinking once this many probes in a row agree (0: off)."""
    stop_when_confident: float | None = None
    """confident: end thinking at a probe at least this confident (None: off)."""
    suppress: tuple[str, ...] = ()
    """Phrases, or preset names ("nowait"), thinking may never sample (BudgetConfig.suppress)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Setting:
        """A manifest's setting; one written before a field existed gets the field's default."""
        known = {f.name for f in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        values["suppress"] = tuple(values.get("suppress", ()))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    aliases: tuple[str, ...]
    description: str
    settings: Callable[[Sweep], list[Setting]]


def _budget_forcing(sweep: Sweep) -> list[Setting]:
    show_waits = sweep.waits != (0,)
    return [Setting("budget-forcing", f"budget-forcing:max={b}:waits={w}",
                    f"max {b}" + (f", {w} Waits" if show_waits else ""),
                    max_thinking_tokens=b, num_waits=w, requested_max_tokens=b)
            for w in sweep.waits for b in sweep.budgets]


def _no_intervention(sweep: Sweep) -> list[Setting]:
    return [Setting("none", "none", "no intervention", max_thinking_tokens=sweep.ceiling_tokens)]


def _token_conditional(sweep: Sweep) -> list[Setting]:
    return [Setting("token-conditional", f"token-conditional:{b}", f"asked ≤ {b}",
                    max_thinking_tokens=sweep.ceiling_tokens, instruction=token_conditional(b),
                    requested_max_tokens=b)
            for b in sweep.budgets]


def _token_conditional_forced(sweep: Sweep) -> list[Setting]:
    return [Setting("token-conditional+bf", f"token-conditional+bf:{b}", f"asked ≤ {b}, max {b}",
                    max_thinking_tokens=b, instruction=token_conditional(b), requested_max_tokens=b)
            for b in sweep.budgets]


def step_budgets(budgets: tuple[int, ...]) -> tuple[int, ...]:
    """Token budgets as step counts (rounded up, so never fewer tokens than asked), duplicates dropped."""
    return tuple(dict.fromkeys(-(-budget // TOKENS_PER_STEP) for budget in budgets))


def _step_conditional(sweep: Sweep) -> list[Setting]:
    return [Setting("step-conditional", f"step-conditional:{n}", f"asked ≤ {n} steps",
                    max_thinking_tokens=sweep.ceiling_tokens, instruction=step_conditional(n),
                    requested_max_tokens=n * TOKENS_PER_STEP)
            for n in step_budgets(sweep.budgets)]


def _step_conditional_forced(sweep: Sweep) -> list[Setting]:
    return [Setting("step-conditional+bf", f"step-conditional+bf:{n}", f"asked ≤ {n} steps, max {n * TOKENS_PER_STEP}",
                    max_thinking_tokens=n * TOKENS_PER_STEP, instruction=step_conditional(n),
                    requested_max_tokens=n * TOKENS_PER_STEP)
            for n in step_budgets(sweep.budgets)]


def _class_conditional(sweep: Sweep) -> list[Setting]:
    shortest, longest = min(sweep.budgets), max(sweep.budgets)
    return [
        Setting("class-conditional", "class-conditional:short", f"short (asked ≤ {shortest})",
                max_thinking_tokens=sweep.ceiling_tokens, instruction=SHORT_THINKING, requested_max_tokens=shortest),
        Setting("class-conditional", "class-conditional:long", f"long (asked ≥ {longest})",
                max_thinking_tokens=sweep.ceiling_tokens, instruction=LONG_THINKING, requested_min_tokens=longest),
    ]


def _rejection_sampling(sweep: Sweep) -> list[Setting]:
    return [Setting("rejection-sampling", f"rejection-sampling:{b}", f"≤ {b}, ≤ {sweep.max_tries} tries",
                    max_thinking_tokens=sweep.ceiling_tokens, requested_max_tokens=b, temperature=1.0,
                    policy="rejection", max_tries=sweep.max_tries)
            for b in sweep.budgets]


def _majority(sweep: Sweep) -> list[Setting]:
    return [Setting("majority", f"majority:max={b}:votes={k}", f"max {b}, {k} votes",
                    max_thinking_tokens=b, requested_max_tokens=b, temperature=1.0, policy="majority", samples=k)
            for b in sweep.budgets for k in sweep.votes]


def _stable(sweep: Sweep) -> list[Setting]:
    every, k = sweep.probe_every, sweep.stable_k
    return [Setting("stable", f"stable:max={b}:every={every}:k={k}", f"max {b}, {k} agree (every {every})",
                    max_thinking_tokens=b, requested_max_tokens=b, probe_every=every, stop_when_stable=k)
            for b in sweep.budgets]


def _confident(sweep: Sweep) -> list[Setting]:
    every, p = sweep.probe_every, sweep.confidence
    return [Setting("confident", f"confident:max={b}:every={every}:p={p:g}", f"max {b}, p ≥ {p:g} (every {every})",
                    max_thinking_tokens=b, requested_max_tokens=b, probe_every=every, stop_when_confident=p)
            for b in sweep.budgets]


def _nowait(sweep: Sweep) -> list[Setting]:
    return [Setting("nowait", f"nowait:max={b}", f"max {b}, NoWait", max_thinking_tokens=b, requested_max_tokens=b,
                    suppress=("nowait",))
            for b in sweep.budgets]


ADAPTIVE_METHODS = ("stable", "confident", "nowait")
"""The methods compared with budget forcing at equal or better accuracy (metrics.tokens_saved)."""

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("budget-forcing", ("bf",), "cap thinking at each budget (and extend it with Waits)", _budget_forcing),
    Method("none", ("no-intervention",), "no intervention: the model thinks as long as it wants", _no_intervention),
    Method("token-conditional", ("tcc",), '"Think for up to N tokens." in the prompt, no cap', _token_conditional),
    Method("token-conditional+bf", ("tcc+bf", "tcc-bf"), "the same instruction, capped at N by budget forcing",
           _token_conditional_forced),
    Method("step-conditional", ("scc",), f'"Think for up to N steps." in the prompt (a step ~{TOKENS_PER_STEP} tokens), '
           "no cap", _step_conditional),
    Method("step-conditional+bf", ("scc+bf", "scc-bf"), f"the same instruction, capped at N x {TOKENS_PER_STEP} "
           "tokens by budget forcing", _step_conditional_forced),
    Method("class-conditional", ("ccc",), "a short-thinking and a long-thinking prompt, no cap", _class_conditional),
    Method("rejection-sampling", ("rs",), "sample at temperature 1 until thinking fits the budget",
           _rejection_sampling),
    Method("majority", ("majority-voting", "maj"), "k samples at temperature 1 per budget, majority vote",
           _majority),
    Method("stable", ("dynasor", "certaindex"), "each budget a ceiling; end thinking when the last k probes "
           "(every N tokens) agree", _stable),
    Method("confident", ("deer",), "each budget a ceiling; end thinking at a probe at least p confident", _confident),
    Method("nowait", ("no-wait",), 'budget forcing with "Wait", "Hmm", ... suppressed in thinking', _nowait),
)}


def resolve_methods(text: str) -> tuple[str, ...]:
    """"bf, rs" -> ("budget-forcing", "rejection-sampling"); ConfigError names the known methods."""
    by_name = {alias: method.name for method in METHODS.values() for alias in (method.name, *method.aliases)}
    names = [part.strip().lower() for part in text.replace(" ", ",").split(",") if part.strip()]
    if not names:
        raise ConfigError(f"No method given: use one or more of {', '.join(METHODS)} (comma-separated).")
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ConfigError(f"Unknown method {unknown[0]!r}: use one or more of {', '.join(METHODS)} (comma-separated).")
    return tuple(dict.fromkeys(by_name[name] for name in names))


def settings_for(methods: tuple[str, ...], sweep: Sweep) -> list[Setting]:
    return [setting for name in methods for setting in METHODS[name].settings(sweep)]
