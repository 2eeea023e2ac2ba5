"""`s1app models`: list the registry."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from s1app.registry import load_registry, models_dir, weights_on_disk

ON_DISK = {True: "yes", False: "no", None: "server"}


def list_models() -> None:
    """List the models in models/models.toml and the GGUF files dropped into models/, and which are on disk."""
    table = Table(title=f"Models ({models_dir()})")
    registry = load_registry()
    names = [f"{entry.name} (default)" if entry.default else entry.name for entry in registry.values()]
    table.add_column("name", no_wrap=True, min_width=max(map(len, names), default=4))  # names are what people type
    for column in ("backend", "format", "context", "on disk", "source", "description"):
        table.add_column(column)
    for name, entry in zip(names, registry.values(), strict=True):
        table.add_row(name, entry.backend, entry.format, str(entry.context_length or ""),
                      ON_DISK[weights_on_disk(entry)], entry.source, escape(entry.description))
    Console().print(table)
