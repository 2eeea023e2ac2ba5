"""Load a model once per process: registry entry -> weights -> backend -> format -> engine."""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass, replace

from s1app.backends import BackendOptions, create_backend
from s1app.backends.base import Backend
from s1app.forcing import BudgetForcer
from s1app.formats import FormatTokens, detect_format, detection_tokens, get_format
from s1app.registry import ModelEntry, locate_tokenizer, locate_weights, resolve_model, with_overrides


@dataclass(frozen=True)
class LoadedModel:
    """A backend with its resolved reasoning format and the engine that drives it."""

    entry: ModelEntry
    backend: Backend
    format_tokens: FormatTokens
    chat_template: str | None
    bos_text: str
    eos_text: str

    @property
    def engine(self) -> BudgetForcer:
        """The budget engine on this model's backend (stateless: one per call is free)."""
        return BudgetForcer(self.backend, self.format_tokens)

    def with_backend(self, backend: Backend) -> LoadedModel:
        """The same model behind another backend object (a wrapper that steers or records it)."""
        return replace(self, backend=backend)

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def format_name(self) -> str:
        return self.format_tokens.format.name


def prepare(backend: Backend, entry: ModelEntry) -> LoadedModel:
    """Resolve the reasoning format for a live backend (detected unless the entry names one)."""
    template = backend.chat_template()
    format_name = entry.format
    if format_name == "auto":
        special_texts = {text for text in detection_tokens() if len(backend.tokenize(text)) == 1}
        format_name = detect_format(template, special_texts, entry.name)
    format_tokens = FormatTokens.resolve(get_format(format_name), backend)
    specials = backend.special_tokens()
    bos = backend.detokenize([specials["bos"]]) if "bos" in specials else ""
    eos = backend.detokenize([specials["eos"]]) if "eos" in specials else ""
    return LoadedModel(entry, backend, format_tokens, template, bos, eos)


_loaded: dict[tuple, LoadedModel] = {}
_loading_lock = threading.Lock()
_closing_at_exit: set[int] = set()
"""ids of the loaded models whose backends close as the process exits (close_at_exit)."""


def load_model(
    spec: str | None = None,
    *,
    backend: str | None = None,
    format: str | None = None,
    options: BackendOptions | None = None,
) -> LoadedModel:
    """The model named by ``spec`` (registry name, path, hf: id; None = default), loaded once per process.

    ``backend`` and ``format`` override the registry entry's; both are checked before anything loads.
    """
    return load_entry(with_overrides(resolve_model(spec, backend=backend), backend=backend, format=format), options)


def load_entry(entry: ModelEntry, options: BackendOptions | None = None) -> LoadedModel:
    """A registry entry's model, loaded once per process (per entry and options)."""
    options = options or BackendOptions()
    if options.context_length is None and entry.context_length:
        options = replace(options, context_length=entry.context_length)
    if options.gpu_layers is None and entry.gpu_layers is not None:
        options = replace(options, gpu_layers=entry.gpu_layers)
    if options.tokenizer is None and entry.tokenizer is not None:
        options = replace(options, tokenizer=locate_tokenizer(entry))
    key = (entry, options)
    with _loading_lock:
        if key not in _loaded:
            weights = locate_weights(entry)
            _loaded[key] = prepare(create_backend(entry.backend, weights, entry.name, options), entry)
        return _loaded[key]


def close_at_exit(model: LoadedModel) -> None:
    """Close ``model``'s backend when the process exits, not before: it is this process's loaded
    model, which any later caller in the process is handed again."""
    with _loading_lock:
        if id(model) not in _closing_at_exit:
            _closing_at_exit.add(id(model))
            atexit.register(model.backend.close)

