"""An eval run's plan: benchmark, methods, the sweep, limits, model. Validated here, once.

The plan is saved in the run's manifest, so ``--resume`` repeats exactly the same settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from s1app.errors import ConfigError
from s1app.eval.methods import Setting, Sweep, resolve_methods, settings_for
from s1app.numbers import at_least, whole_numbers

DEFAULT_BUDGETS = "0,64,256,1024"
EVAL_MAX_ANSWER_TOKENS = 256
"""Eval's own answer cap (a cost cap over many runs; a single question gets BudgetConfig's)."""
DEFAULT_MAX_TRIES = 8
MAX_SETTINGS = 200
DEFAULT_SWEEP = Sweep()


@dataclass(frozen=True, slots=True)
class EvalPlan:
    bench: str
    methods: tuple[str, ...]
    sweep: Sweep = field(default_factory=Sweep)
    limit: int | None = None
    max_answer_tokens: int = EVAL_MAX_ANSWER_TOKENS
    model: str | None = None
    """As the user named it (None: the registry default)."""
    backend: str | None = None

    @classmethod
    def from_options(cls, *, bench: str, methods: str, budgets: str | None, waits: str | None = None,
                     votes: str | None = None, max_tries: int = DEFAULT_MAX_TRIES, limit: int | None = None,
                     max_answer_tokens: int = EVAL_MAX_ANSWER_TOKENS, ceiling_tokens: int | None = None,
                     model: str | None = None, backend: str | None = None, probe_every: int = DEFAULT_SWEEP.probe_every,
                     stable_k: int = DEFAULT_SWEEP.stable_k, confidence: float = DEFAULT_SWEEP.confidence) -> EvalPlan:
        """Validate what a person typed (CLI or UI); ConfigError says what to fix."""
        sweep = Sweep(
            budgets=whole_numbers("Budgets", budgets, default=DEFAULT_BUDGETS),
            waits=whole_numbers("Waits", waits, default="0"),
            votes=whole_numbers("Votes", votes, minimum=1, default="1,2,4"),
            max_tries=at_least("Max tries", max_tries),
            ceiling_tokens=at_least("Ceiling tokens", ceiling_tokens),
            probe_every=at_least("Probe every", probe_every), stable_k=at_least("Stable k", stable_k, 2),
            confidence=_probability("Confidence", confidence),
        )
        plan = cls(bench.strip(), resolve_methods(methods), sweep, at_least("Limit", limit),
                   at_least("Max answer tokens", max_answer_tokens), model, backend)
        count = len(plan.settings())
        if count > MAX_SETTINGS:
            raise ConfigError(f"That is {count} settings per question; an eval runs at most {MAX_SETTINGS}: "
                              "list fewer budgets, Waits or votes.")
        return plan

    def settings(self) -> list[Setting]:
        return settings_for(self.methods, self.sweep)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalPlan:
        sweep = data["sweep"]  # the adaptive methods' fields are absent from older manifests
        return cls(
            bench=data["bench"], methods=tuple(data["methods"]),
            sweep=Sweep(budgets=tuple(sweep["budgets"]), waits=tuple(sweep["waits"]), votes=tuple(sweep["votes"]),
                        max_tries=sweep["max_tries"], ceiling_tokens=sweep["ceiling_tokens"],
                        probe_every=sweep.get("probe_every", DEFAULT_SWEEP.probe_every),
                        stable_k=sweep.get("stable_k", DEFAULT_SWEEP.stable_k),
                        confidence=sweep.get("confidence", DEFAULT_SWEEP.confidence)),
            limit=data["limit"], max_answer_tokens=data["max_answer_tokens"],
            model=data["model"], backend=data["backend"],
        )


def _probability(label: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise ConfigError(f"{label} must be a probability above 0 and at most 1 (e.g. 0.9), got {value!r}.")
    return float(value)
