"""What every tab shares: the loaded models, per-session Stop flags, the run log, UI input checks.

No per-user data lives here except Stop flags, and those are keyed by Gradio's session hash:
one browser tab's Stop never touches another's run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from s1app.backends import BACKEND_NAMES, BackendOptions
from s1app.budget import DEFAULT_MAX_ANSWER_TOKENS, BudgetConfig
from s1app.errors import ConfigError
from s1app.events import Event
from s1app.loading import LoadedModel, load_entry, load_model
from s1app.loops import LoopSettings
from s1app.registry import load_registry, with_overrides
from s1app.ui.streaming import DEFAULT_INTERVAL_S

log = logging.getLogger(__name__)

BACKEND_CHOICES = [("model's default", ""), *((name, name) for name in BACKEND_NAMES)]


class StopFlags:
    """Cancel flags of the runs in flight, per (session, tab). Stop sets them; the engine checks them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[tuple[str, str], set[threading.Event]] = {}

    def begin(self, session: str, tab: str) -> threading.Event:
        flag = threading.Event()
        with self._lock:
            self._flags.setdefault((session, tab), set()).add(flag)
        return flag

    def end(self, session: str, tab: str, flag: threading.Event) -> None:
        with self._lock:
            flags = self._flags.get((session, tab))
            if flags is not None:
                flags.discard(flag)
                if not flags:
                    del self._flags[(session, tab)]

    def stop(self, session: str, tab: str) -> int:
        """Cancel every run of this session's tab; returns how many were running."""
        with self._lock:
            flags = list(self._flags.get((session, tab), ()))
        for flag in flags:
            flag.set()
        return len(flags)

    def stop_session(self, session: str) -> None:
        """The browser tab closed: cancel all its runs."""
        with self._lock:
            keys = [key for key in self._flags if key[0] == session]
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
    stop_flags: StopFlags = field(default_factory=StopFlags)
    update_interval_s: float = DEFAULT_INTERVAL_S
    """How often a streaming handler sends the browser what arrived (see EventPump.batches)."""
    extra_models: dict[str, LoadedModel] = field(default_factory=dict)
    """Models reachable by name without the registry (tests inject a fault-injecting backend here)."""
    backend_options: BackendOptions = field(default_factory=BackendOptions)
    """What app.py was given (base URL, GPU layers, parallel runs): every model the UI loads gets it."""

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

    def record(self, events: Iterator[Event], *, conversation: Any = None) -> Iterator[Event]:
        """The run's events, logged to the session store on the way through (unless --no-log).

        Runs in the engine's worker thread, so a run is logged whole even when the browser
        goes away mid-run. A store failure is logged once and never stops the run.
        """
        if self.store is None or not self.log_runs:
            yield from events
            return
        from s1app.store import RunRecorder

        def report(failure: Exception) -> None:
            log.warning("session log: %s (this run is not recorded)", failure)

        with RunRecorder(self.store, conversation=conversation, on_error=report) as recorder:
            for event in events:
                recorder.record(event)
                yield event

    def new_conversation(self, source: str) -> Any:
        """A store conversation for a multi-turn chat (None when runs are not logged)."""
        if self.store is None or not self.log_runs:
            return None
        return self.store.new_conversation(source=source)


def whole_number(label: str, value: Any, minimum: int = 0, *, optional: bool = False) -> int | None:
    """A UI number field as an int, or a ConfigError naming the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise ConfigError(f"{label} is empty: enter a whole number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{label} must be a whole number, got {value!r}.") from None
    if number != int(number):
        raise ConfigError(f"{label} must be a whole number, got {value!r}.")
    if number < minimum:
        raise ConfigError(f"{label} must be at least {minimum}, got {int(number)}.")
    return int(number)


def budget_config_from_ui(
    *,
    max_thinking: Any,
    waits: Any,
    ignore_str: str | None = "Wait",
    temperature: Any = 0.0,
    seed: Any = None,
    min_thinking: Any = 0,
    max_answer: Any = DEFAULT_MAX_ANSWER_TOKENS,
    loop_detect: bool = True,
    context_length: int | None = None,
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
    )
