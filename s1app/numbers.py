"""Whole numbers from people: one checker for every front end (CLI, UI fields, eval plans, BudgetConfig).

``require_whole`` checks a value that must already be an int (the library boundary);
``whole_number`` reads a typed field ("64", 64.0, blank); ``whole_numbers`` a list such as
"0, 16, 64 256" (budgets, Wait counts, votes). Each mistake is a ConfigError naming the field.
"""

from __future__ import annotations

from typing import Any

from s1app.errors import ConfigError


def require_whole(label: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{label} must be a whole number, got {value!r}.")
    if value < minimum:
        raise ConfigError(f"{label} must be at least {minimum}, got {value}.")
    return value


def whole_number(label: str, value: Any, minimum: int = 0, *, optional: bool = False) -> int | None:
    """A typed field as an int (None when blank and ``optional``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise ConfigError(f"{label} is empty: enter a whole number.")
    if isinstance(value, bool):
        raise ConfigError(f"{label} must be a whole number, got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{label} must be a whole number, got {value!r}.") from None
    if number != int(number):
        raise ConfigError(f"{label} must be a whole number, got {value!r}.")
    return require_whole(label, int(number), minimum)


def whole_numbers(label: str, text: str | None, *, minimum: int = 0, default: str | None = None) -> tuple[int, ...]:
    """"0, 16, 64 256" -> (0, 16, 64, 256): commas or spaces, duplicates dropped, order kept.
    No text at all (None) reads ``default``; blank text is a mistake."""
    parts = (text if text is not None else default or "").replace(",", " ").split()
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


def at_least(label: str, value: int | None, minimum: int = 1) -> int | None:
    """An optional whole number (None passes) that must be at least ``minimum``."""
    return None if value is None else require_whole(label, value, minimum)
