"""Reasoning formats as data: where thinking opens and closes, and how to tell which one a model uses.

The table is s1app/formats.toml (docs/formats.md describes each family and field); a person adds
a family under ``[formats.NAME]`` in their own models.toml. ``FormatTokens`` resolves a format
against a backend's tokenizer once per model: that is what the engine reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s1app.errors import ConfigError
from s1app.model_dirs import read_tables, registry_files

if TYPE_CHECKING:
    from s1app.backends.base import Backend
    from s1app.budget import BudgetConfig

BUILTIN_TABLE = Path(__file__).with_name("formats.toml")
TEMPLATE_SWITCHES = ("enable_thinking", "reasoning_effort", "thinking_budget")
FALLBACK_FORMAT = "prompted"


@dataclass(frozen=True, slots=True)
class ReasoningFormat:
    name: str
    thinking_open: str
    """Appended after the chat template's generation prompt (unless the template pre-fills it)."""
    end_of_thinking: str
    """What the engine writes to end thinking: the delimiter plus the answer's opening."""
    end_markers: tuple[str, ...]
    """Texts whose appearance means the model is ending thinking (special tokens where possible)."""
    answer_end_markers: tuple[str, ...] = ()
    """Texts (besides EOS) that end the answer."""
    system_prompt: str | None = None
    """Used when the conversation has no system message."""
    final_answer: str = "Final Answer:"
    description: str = ""
    template_switches: tuple[str, ...] = ()
    """Template variables the family takes (of TEMPLATE_SWITCHES)."""
    reasoning_efforts: tuple[str, ...] = ()
    thinking_closed: str = ""
    """A prompt ending with this (the template closed thinking itself) runs with no thinking."""
    detect_template: tuple[str, ...] = ()
    detect_tokens: tuple[str, ...] = ()
    detect_name: str = ""
    detect_name_needs: str = ""


_REQUIRED = ("thinking_open", "end_of_thinking", "end_markers")
_FIELD_TYPES = {field.name: field.type for field in fields(ReasoningFormat) if field.name != "name"}


def _field_value(name: str, key: str, value: Any, source: Path) -> Any:
    where = f"{source}: [formats.{name}] field {key!r}"
    if _FIELD_TYPES[key].startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where} must be a list of strings, got {value!r}.")
        return tuple(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}.")
    return value


def format_from_table(name: str, table: dict[str, Any], source: Path) -> ReasoningFormat:
    """One ``[formats.NAME]`` table, checked: errors name the field and the file."""
    unknown = sorted(set(table) - set(_FIELD_TYPES))
    if unknown:
        raise ConfigError(f"{source}: [formats.{name}] has unknown field(s) {unknown}; the fields are {sorted(_FIELD_TYPES)}.")
    missing = [key for key in _REQUIRED if key not in table]
    if missing:
        raise ConfigError(
            f"{source}: [formats.{name}] is missing the field {missing[0]!r}; every format needs "
            f"{', '.join(_REQUIRED)} (see docs/formats.md)."
        )
    values = {key: _field_value(name, key, value, source) for key, value in table.items()}
    fmt = ReasoningFormat(name=name, **values)
    bad_switches = sorted(set(fmt.template_switches) - set(TEMPLATE_SWITCHES))
    if bad_switches:
        raise ConfigError(f"{source}: [formats.{name}] field 'template_switches' takes only {TEMPLATE_SWITCHES}, not {bad_switches}.")
    if fmt.detect_name:
        try:
            re.compile(fmt.detect_name)
        except re.error as failure:
            raise ConfigError(f"{source}: [formats.{name}] field 'detect_name' is not a valid regex ({failure}).") from failure
    return fmt


def _formats_in(source: Path) -> dict[str, ReasoningFormat]:
    return {name: format_from_table(name, table, source) for name, table in read_tables(source, "formats").items()}


def all_formats() -> dict[str, ReasoningFormat]:
    """Every format, in detection order: the models.toml files' own first, then the built-in table."""
    own: dict[str, ReasoningFormat] = {}
    for source in registry_files():
        own.update(_formats_in(source))
    builtin = _formats_in(BUILTIN_TABLE)
    return {**own, **{name: fmt for name, fmt in builtin.items() if name not in own}}


def format_choices() -> tuple[str, ...]:
    return ("auto", *all_formats())


def get_format(name: str) -> ReasoningFormat:
    formats = all_formats()
    if name not in formats:
        raise ConfigError(
            f"Unknown reasoning format {name!r}: use one of auto, {', '.join(formats)}, "
            "or add it under [formats.NAME] in models.toml (see docs/formats.md)."
        )
    return formats[name]


def detection_tokens() -> set[str]:
    """The texts whose being one special token of a vocabulary tells a family."""
    return {token for fmt in all_formats().values() for token in fmt.detect_tokens}


def _matches(fmt: ReasoningFormat, template: str, special_token_texts: set[str], model_name: str) -> bool:
    if any(marker in template for marker in fmt.detect_template):
        return True
    if special_token_texts.intersection(fmt.detect_tokens):
        return True
    name = model_name.replace("_", "-")
    return bool(fmt.detect_name) and fmt.detect_name_needs in template and re.search(fmt.detect_name, name, re.IGNORECASE) is not None


def detect_format(chat_template: str | None, special_token_texts: set[str], model_name: str = "") -> str:
    """The first family of the table (in order) whose template markers, special tokens or name
    rule match; an ordinary chat model is "prompted"."""
    template = chat_template or ""
    for fmt in all_formats().values():
        if _matches(fmt, template, special_token_texts, model_name):
            return fmt.name
    return FALLBACK_FORMAT


def offered_switches(fmt: ReasoningFormat, chat_template: str | None) -> set[str]:
    """The switches a person may set for this model: the family's, and (when the template is
    known) only those its template reads (R1 distills share think-tags but take no enable_thinking)."""
    if chat_template is None:
        return set(fmt.template_switches)
    return {switch for switch in fmt.template_switches if switch in chat_template}


def check_switches(fmt: ReasoningFormat, config: BudgetConfig, chat_template: str | None = None) -> None:
    """ConfigError when the run asks for a template switch this model does not take."""
    offered = offered_switches(fmt, chat_template)
    if config.reasoning_effort is not None:
        if "reasoning_effort" not in offered:
            raise ConfigError(
                f"--reasoning-effort {config.reasoning_effort}: the {fmt.name} format takes no reasoning effort "
                "(only harmony models such as gpt-oss do); leave it out."
            )
        if config.reasoning_effort not in fmt.reasoning_efforts:
            raise ConfigError(f"Reasoning effort {config.reasoning_effort!r}: the {fmt.name} format takes {', '.join(fmt.reasoning_efforts)}.")
    if not config.thinking and "enable_thinking" not in offered:
        raise ConfigError(
            f"--no-thinking: this model's {fmt.name} template has no thinking switch (enable_thinking, as Qwen3 has); "
            "leave thinking on or pick such a model."
        )


def template_variables(fmt: ReasoningFormat, config: BudgetConfig) -> dict[str, Any]:
    """What the chat template is rendered with for this run: only the switches the family takes."""
    variables: dict[str, Any] = {}
    if "enable_thinking" in fmt.template_switches:
        variables["enable_thinking"] = config.thinking
    if "reasoning_effort" in fmt.template_switches and config.reasoning_effort is not None:
        variables["reasoning_effort"] = config.reasoning_effort
    if "thinking_budget" in fmt.template_switches and config.max_thinking_tokens is not None:
        variables["thinking_budget"] = config.max_thinking_tokens
    return variables


@dataclass(frozen=True, slots=True)
class FormatTokens:
    """A format resolved against one model's tokenizer: what the engine forces and stops on."""

    format: ReasoningFormat
    thinking_stop_ids: frozenset[int]
    """Single-token end markers plus end-of-sequence / end-of-turn: the model ending thinking."""
    thinking_stop_texts: tuple[str, ...]
    """Multi-token end markers, matched on the text as it streams."""
    answer_stop_ids: frozenset[int]
    answer_stop_texts: tuple[str, ...]
    end_of_thinking_ids: tuple[int, ...]
    final_answer_ids: tuple[int, ...]
    end_of_turn_ids: frozenset[int] = frozenset()
    """End-of-sequence / end-of-turn: a thinking round stopped by one of these ended the model's turn."""

    @classmethod
    def resolve(cls, fmt: ReasoningFormat, backend: Backend) -> FormatTokens:
        specials = backend.special_tokens()
        end_of_turn = {specials[name] for name in ("eos", "eot") if name in specials}

        def split(markers: tuple[str, ...]) -> tuple[set[int], tuple[str, ...]]:
            ids: set[int] = set()
            texts: list[str] = []
            for marker in markers:
                marker_ids = backend.tokenize(marker)
                if len(marker_ids) == 1:
                    ids.add(marker_ids[0])
                else:
                    texts.append(marker)
            return ids, tuple(texts)

        thinking_ids, thinking_texts = split(fmt.end_markers)
        answer_ids, answer_texts = split(fmt.answer_end_markers)
        return cls(
            format=fmt,
            thinking_stop_ids=frozenset(thinking_ids | end_of_turn),
            thinking_stop_texts=thinking_texts,
            answer_stop_ids=frozenset(answer_ids | end_of_turn),
            answer_stop_texts=answer_texts,
            end_of_thinking_ids=tuple(backend.tokenize(fmt.end_of_thinking)),
            final_answer_ids=tuple(backend.tokenize(fmt.final_answer)),
            end_of_turn_ids=frozenset(end_of_turn),
        )
