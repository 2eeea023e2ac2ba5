"""A path a person types is relative to the folder they stand in, wherever it is used later.

Values that are kept and read again from another folder (an eval run's plan, read by `--resume`)
store such a path made absolute here, at the command line, once.
"""

from __future__ import annotations

from pathlib import Path


def absolute_if_file(value: str | None, suffixes: tuple[str, ...]) -> str | None:
    """``value`` made absolute when it names a file by one of ``suffixes`` (``.jsonl``, ``.gguf``)
    or contains a folder separator and exists; names (of benchmarks, of registry models) unchanged."""
    if value is None:
        return None
    path = Path(value.strip()).expanduser()
    looks_like_a_path = path.suffix.lower() in suffixes or ("/" in value and path.exists())
    return str(path.resolve()) if looks_like_a_path and not value.startswith("hf:") else value
