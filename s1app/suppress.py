"""The suppress list: words whose tokens the model may not sample while it thinks. Pure.

A word is banned as the model would write it: as given, lower-case and capitalised, each with
and without a leading space ("Wait", "wait", " Wait", " wait"). Only the spellings that are one
token are banned. A spelling of several tokens is left alone: its first token is a piece that
starts many other words (SmolLM2 writes "Hmm" as "H" + "mm" and "double-check" as "double" +
"-" + "check"), so banning it would block those words too. A word given by a person that has no
one-token spelling is an error (it would suppress nothing); a preset's such words are skipped.

The ban holds during thinking only (the answer is free), and only on what the model samples: the
engine's own forced text (a Wait, the landing text) still goes in, so suppressing "Wait" while
``num_waits`` asks for Waits stops the model's own Waits and keeps the forced ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from s1app.errors import ConfigError

NOWAIT_WORDS: tuple[str, ...] = (
    "wait", "alternatively", "hmm", "but", "however", "alternative", "another", "check", "double-check",
    "oh", "maybe", "verify", "other", "again", "now", "ah", "any",
)
"""The reflection keywords of NoWait (Wang et al., 2025, "Wait, We Don't Need to 'Wait'! Removing
Thinking Tokens Improves Reasoning Efficiency", arXiv:2506.08343, section 3): the most frequent
transition words in QwQ-32B's thinking on AIME 2025. The paper bans every vocabulary token that
contains one of them (then filters false hits such as "Ohio" by hand); this list bans their
one-token spellings, which needs no vocabulary scan and cannot hit an unrelated word."""

PRESETS: dict[str, tuple[str, ...]] = {"nowait": NOWAIT_WORDS}
"""Names that stand for a list of words in ``BudgetConfig.suppress`` and ``--suppress``."""


def parse_suppress(text: str) -> tuple[str, ...]:
    """Comma-separated words and preset names (``"Wait, Hmm"``, ``"nowait"``), as given."""
    if not text.strip():
        return ()
    words = tuple(word.strip() for word in text.split(","))
    if any(not word for word in words):
        raise ConfigError(f"The suppress list {text!r} has an empty word: separate words with single commas.")
    return words


def check_words(words: Iterable[object]) -> None:
    """Before any model loads: every entry is a non-empty word."""
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise ConfigError(f"Each suppress word must be a non-empty word, got {word!r}: remove it or spell it out.")


def spellings(word: str) -> list[str]:
    """The ways the model writes ``word``: as given, lower-case, capitalised; each bare and after a space."""
    word = word.strip()
    cases = dict.fromkeys([word, word.lower(), word.lower().capitalize()])
    return [prefix + case for case in cases for prefix in ("", " ")]


def word_ids(word: str, tokenize: Callable[[str], list[int]]) -> tuple[frozenset[int], list[list[int]]]:
    """The ids of ``word``'s one-token spellings, and every spelling's tokens (for messages)."""
    tokenized = [tokenize(spelling) for spelling in spellings(word)]
    return frozenset(ids[0] for ids in tokenized if len(ids) == 1), tokenized


def suppressed_ids(entries: Iterable[str], tokenize: Callable[[str], list[int]]) -> frozenset[int]:
    """The token ids to ban while thinking, for ``BudgetConfig.suppress`` (words and preset names).

    Raises ConfigError for a word that tokenizes to nothing, or a person's word with no one-token spelling.
    """
    banned: set[int] = set()
    for entry in entries:
        preset = PRESETS.get(entry.strip().lower())
        for word in preset or (entry,):
            ids, tokenized = word_ids(word, tokenize)
            if not any(tokenized):
                raise ConfigError(f"The suppress word {word!r} tokenizes to nothing in this model: remove it.")
            if not ids and preset is None:
                raise ConfigError(
                    f"The suppress word {word!r} is several tokens in every spelling in this model, so banning it "
                    "would ban the pieces other words start with: suppress a word that is one token (e.g. a "
                    "shorter form), or leave it out."
                )
            banned |= ids
    return frozenset(banned)
