"""An eval run's plan: benchmark, methods, the sweep, limits, model. Validated here, once.

The plan is saved in the run's manifest, so ``--resume`` repeats exactly the same settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from s1app.errors import ConfigError
from s1app.eval.methods import Setting, Sweep, resolve_methods, settings_for

DEFAULT_BUDGETS = "0,64,256,1024"
DEFAULT_MAX_ANSWER_TOKENS = 256
DEFAULT_MAX_TRIES = 8
MAX_SETTINGS = 200


def parse_whole_numbers(label: str, text: str | None, *, minimum: int = 0, default: str | None = None) -> tuple[int, ...]:
    """"0, 16, 64 256" -> (0, 16, 64, 256): commas or spaces, duplicates dropped, order kept."""
    parts = [part for part in (text if text is not None else default or "").replace(",", " ").split() if part]
    if not parts:
        raise ConfigError(f"{label} is empty: list whole numbers separated by commas, e.g. 0,64,256.")
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise ConfigError(f"{label} must be whole numbers separated by commas (e.g. 0,64,256); "
                              f"{part!r} is not one.") from None
        if value < minimum:
            raise ConfigError(f"{label} must be at least {minimum}; got {value}.")
        values.append(value)
    return tuple(dict.fromkeys(values))


def positive(label: str, value: int | None, *, minimum: int = 1) -> int | None:
    if value is not None and value < minimum:
        raise ConfigError(f"{label} must be at least {minimum}, got {value}.")
    return value


@dataclass(frozen=True, slots=True)
class EvalPlan:
    bench: str
    methods: tuple[str, ...]
    sweep: Sweep = field(default_factory=Sweep)
    limit: int | None = None
    max_answer_tokens: int = DEFAULT_MAX_ANSWER_TOKENS
    model: str | None = None
    """As the user named it (None: the registry default)."""
    backend: str | None = None

    @classmethod
    def from_options(cls, *, bench: str, methods: str, budgets: str | None, waits: str | None = None,
                     votes: str | None = None, max_tries: int = DEFAULT_MAX_TRIES, limit: int | None = None,
                     max_answer_tokens: int = DEFAULT_MAX_ANSWER_TOKENS, ceiling_tokens: int | None = None,
                     model: str | None = None, backend: str | None = None) -> EvalPlan:
        """Validate what a person typed (CLI or UI); ConfigError says what to fix."""
        sweep = Sweep(
            budgets=parse_whole_numbers("Budgets", budgets, default=DEFAULT_BUDGETS),
            waits=parse_whole_numbers("Waits", waits, default="0"),
            votes=parse_whole_numbers("Votes", votes, minimum=1, default="1,2,4"),
            max_tries=positive("Max tries", max_tries),
            ceiling_tokens=positive("Ceiling tokens", ceiling_tokens),
        )
        plan = cls(bench.strip(), resolve_methods(methods), sweep, positive("Limit", limit),
                   positive("Max answer tokens", max_answer_tokens), model, backend)
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
        sweep = data["sweep"]
        return cls(
            bench=data["bench"], methods=tuple(data["methods"]),
            sweep=Sweep(budgets=tuple(sweep["budgets"]), waits=tuple(sweep["waits"]), votes=tuple(sweep["votes"]),
                        max_tries=sweep["max_tries"], ceiling_tokens=sweep["ceiling_tokens"]),
            limit=data["limit"], max_answer_tokens=data["max_answer_tokens"],
            model=data["model"], backend=data["backend"],
        )
