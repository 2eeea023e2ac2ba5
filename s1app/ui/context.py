"""What every tab shares: the loaded models, per-session cancel scopes, the run log, UI input checks.

No per-user data lives here except cancel scopes, and those are keyed by Gradio's session hash:
one browser tab's Stop never touches another's run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, get_args

from s1app.backends import BACKEND_NAMES, BackendOptions
from s1app.budget import DEFAULTS, BudgetConfig
from s1app.cancel import CancelScope
from s1app.errors import ConfigError
from s1app.formats import get_format, offered_switches
from s1app.loading import LoadedModel, load_entry, load_model
from s1app.loops import LoopSettings
from s1app.numbers import whole_number
from s1app.suppress import parse_suppress
from s1app.probes import AnswerKind, ProbeSettings
from s1app.registry import ModelEntry, load_registry, with_overrides
from s1app.store import RunLog
from s1app.ui.streaming import DEFAULT_INTERVAL_S

BACKEND_CHOICES = [("model's default", ""), *((name, name) for name in BACKEND_NAMES)]
ANSWER_KINDS = list(get_args(AnswerKind))
"""How a probe's answer is extracted and graded (s1app.eval.grading's kinds)."""


class TabScopes:
    """The cancel scope of each tab's handler in flight, per (session, tab): Stop cancels them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[tuple[str, str], set[CancelScope]] = {}

    def begin(self, session: str, tab: str) -> CancelScope:
        scope = CancelScope()
        with self._lock:
            self._scopes.setdefault((session, tab), set()).add(scope)
        return scope

    def end(self, session: str, tab: str, scope: CancelScope) -> None:
        with self._lock:
            scopes = self._scopes.get((session, tab))
            if scopes is not None:
                scopes.discard(scope)
                if not scopes:
                    del self._scopes[(session, tab)]

    def stop(self, session: str, tab: str) -> int:
        """Cancel every run of this session's tab; returns how many handlers were running."""
        with self._lock:
            scopes = list(self._scopes.get((session, tab), ()))
        for scope in scopes:
            scope.cancel_all()
        return len(scopes)

    def stop_session(self, session: str) -> None:
        """The browser tab closed: cancel all its runs."""
        with self._lock:
            keys = [key for key in self._scopes if key[0] == session]
        for key in keys:
            self.stop(*key)


@dataclass
class UIContext:
    default_model: LoadedModel
    """The model the app started on (``--model``), already loaded."""
    store: Any = None
    """The session store (s1app.store.Store): the History tab reads it; None: no History."""
    log_runs: bool = True
    """Record every UI run in the store (False with --no-log)."""
    scopes: TabScopes = field(default_factory=TabScopes)
    update_interval_s: float = DEFAULT_INTERVAL_S
    """How often a streaming handler sends the browser what arrived (see s1app.pump.Pump.batches)."""
    extra_models: dict[str, LoadedModel] = field(default_factory=dict)
    """Models reachable by name without the registry (tests inject a fault-injecting backend here)."""
    backend_options: BackendOptions = field(default_factory=BackendOptions)
    """What app.py was given (base URL, GPU layers, parallel runs): every model the UI loads gets it."""
    _run_log: RunLog | None = field(default=None, repr=False)

    @property
    def context_length(self) -> int:
        return self.default_model.backend.info.context_length

    def model_choices(self) -> list[str]:
        names = [self.default_model.name]
        try:
            names += [name for name in load_registry() if name not in names]
        except ConfigError:
            pass  # a broken models.toml must not take the UI down; loading by name will report it
        return names + [name for name in self.extra_models if name not in names]

    def model_choice_labels(self) -> list[tuple[str, str]]:
        """The model picker's (label, name) pairs: each name with its reasoning family."""
        return [(f"{name} · {self.family_of(name)}", name) for name in self.model_choices()]

    def family_of(self, model_name: str) -> str:
        """The detected family of a loaded model, else the registry entry's ("auto": detected on load)."""
        loaded = self._loaded(model_name)
        if loaded is not None:
            return loaded.format_name
        entry = self._registry_entry(model_name)
        return entry.format if entry is not None else "auto"

    def switches_for(self, model_name: str) -> set[str]:
        """The template switches (s1app.formats.TEMPLATE_SWITCHES) this model takes, as far as is
        known before it loads; the UI shows a switch's control only for such a model."""
        loaded = self._loaded(model_name)
        if loaded is not None:
            return offered_switches(loaded.format_tokens.format, loaded.chat_template)
        family = self.family_of(model_name)
        try:
            return set(get_format(family).template_switches) if family != "auto" else set()
        except ConfigError:
            return set()

    def _loaded(self, model_name: str) -> LoadedModel | None:
        model_name = (model_name or "").strip()
        if not model_name or model_name == self.default_model.name:
            return self.default_model
        return self.extra_models.get(model_name)

    @staticmethod
    def _registry_entry(model_name: str) -> ModelEntry | None:
        try:
            return load_registry().get(model_name)
        except ConfigError:
            return None

    def load(self, model_name: str | None, backend: str | None, gpu_layers: int | None = None) -> LoadedModel:
        """The model picked in the UI (name, path or hf: id), loaded once per process."""
        model_name = (model_name or "").strip()
        backend = (backend or "").strip() or None
        if model_name in self.extra_models:
            return self.extra_models[model_name]
        options = self.backend_options if gpu_layers is None else replace(self.backend_options, gpu_layers=gpu_layers)
        default = self.default_model
        if not model_name or model_name == default.name:
            if (backend is None or backend == default.entry.backend) and options == self.backend_options:
                return default
            # The same entry on another backend: its source, format and context length stay.
            return load_entry(with_overrides(default.entry, backend=backend), options)
        return load_model(model_name, backend=backend, options=options)

    def run_log(self, conversation: Any = None) -> RunLog | None:
        """Where the UI's runs are recorded (in ``conversation``, when given); None with --no-log.

        The recorder listens in the engine's worker thread, so a run is logged whole even when the
        browser goes away mid-run. A store failure is logged once and never stops a run.
        """
        if self.store is None or not self.log_runs:
            return None
        if self._run_log is None or self._run_log.store is not self.store:
            self._run_log = RunLog(self.store)
        return self._run_log.in_conversation(conversation)

    def new_conversation(self, source: str) -> Any:
        """A store conversation for a multi-turn chat (None when runs are not logged)."""
        if self.store is None or not self.log_runs:
            return None
        return self.store.new_conversation(source=source)


def budget_config_from_ui(
    *,
    max_thinking: Any,
    waits: Any,
    ignore_str: str | None = DEFAULTS.ignore_str,
    temperature: Any = DEFAULTS.temperature,
    seed: Any = DEFAULTS.seed,
    min_thinking: Any = DEFAULTS.min_thinking_tokens,
    max_answer: Any = DEFAULTS.max_answer_tokens,
    loop_detect: bool = DEFAULTS.loop.enabled,
    context_length: int | None = None,
    reasoning_effort: str | None = DEFAULTS.reasoning_effort,
    thinking: bool = DEFAULTS.thinking,
    probes: ProbeSettings = DEFAULTS.probes,
    landing: str | None = "",
    suppress: str | None = "",
) -> BudgetConfig:
    """Validate the UI's fields once, here, into a BudgetConfig (ConfigError says what to fix)."""
    max_thinking_tokens = whole_number("Max thinking tokens", max_thinking)
    if context_length is not None and max_thinking_tokens > context_length:
        raise ConfigError(
            f"Max thinking tokens ({max_thinking_tokens}) is above the model's context ({context_length} tokens): "
            f"pick at most {context_length}."
        )
    try:
        temperature_value = float(temperature if temperature is not None else 0.0)
    except (TypeError, ValueError):
        raise ConfigError(f"Temperature must be a number, got {temperature!r}.") from None
    return BudgetConfig(
        max_thinking_tokens=max_thinking_tokens,
        min_thinking_tokens=whole_number("Min thinking tokens", min_thinking) or 0,
        num_waits=whole_number("Waits", waits) or 0,
        ignore_str=ignore_str if ignore_str is not None else "",
        max_answer_tokens=whole_number("Max answer tokens", max_answer, 1),
        temperature=temperature_value,
        seed=whole_number("Seed", seed, optional=True),
        loop=LoopSettings(enabled=bool(loop_detect)),
        reasoning_effort=reasoning_effort or None,
        thinking=bool(thinking),
        probes=probes,
        landing=landing or "",
        suppress=parse_suppress(suppress or ""),
    )


def probe_settings_from_ui(*, every: Any = 0, tokens: Any = DEFAULTS.probes.tokens, stop_when_stable: Any = 0,
                           stop_when_confident: Any = None, answer_kind: str | None = "math") -> ProbeSettings:
    """The Chat tab's probe fields as ProbeSettings; 0 or blank turns a field off (confidence included)."""
    confident = None
    if stop_when_confident is not None and str(stop_when_confident).strip():
        try:
            confident = float(stop_when_confident) or None
        except (TypeError, ValueError):
            raise ConfigError(f"Stop when confident must be a probability such as 0.9 (blank: off), "
                              f"got {stop_when_confident!r}.") from None
    return ProbeSettings(
        every=whole_number("Probe interval", every, optional=True) or 0,
        tokens=whole_number("Probe tokens", tokens, 1),
        answer_kind=answer_kind or "math",  # type: ignore[arg-type]
        stop_when_stable=whole_number("Stop when stable", stop_when_stable, optional=True) or 0,
        stop_when_confident=confident,
    )
