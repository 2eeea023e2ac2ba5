"""`s1app models`: list the registry."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from s1app.registry import load_registry, models_dir


def list_models() -> None:
    """List the models in models/models.toml and the GGUF files dropped into models/."""
    table = Table(title=f"Models ({models_dir()})")
    for column in ("name", "backend", "format", "context", "source", "description"):
        table.add_column(column)
    for entry in load_registry().values():
        name = f"{entry.name} (default)" if entry.default else entry.name
        table.add_row(name, entry.backend, entry.format, str(entry.context_length or ""), entry.source, entry.description)
    Console().print(table)
