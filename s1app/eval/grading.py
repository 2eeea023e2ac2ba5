"""Grade a model's answer against a reference with no API: extract the final answer, compare locally.

Pure (no engine, no UI): the sweep tab and the eval harness both use it. The text graded is the
answer section (what follows the end of thinking), so a number the model tried in its thinking
never counts.

Extraction, in order: the last ``\\boxed{...}``; else the text after the last "Final Answer:" or
"Answer:" (to the end of that line); else the last number in the text. Then, per kind of answer:

- ``math`` (MATH-500, AMC): mathematical equivalence by math-verify (1/2 == 0.5 == \\frac{1}{2});
- ``integer`` (AIME): the number found must be the reference integer ("023" == 23);
- ``number`` (GSM8K): the number found must equal the reference ("$1,200.00" == 1200);
- ``choice`` (GPQA): the option letter found (A-D) must be the reference letter. Only a letter is
  ever extracted, never the model's text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal

AnswerKind = Literal["math", "integer", "number", "choice"]

_ANSWER_LINE = re.compile(r"(?:final\s+answer|answer)\s*(?:is)?\s*[:：]\s*(.*)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_LETTER = re.compile(r"(?<![A-Za-z])([A-D])(?![A-Za-z])")
_LETTER_OPTION = re.compile(r"\(([A-D])\)|(?<![A-Za-z])([A-D])\)")


@dataclass(frozen=True, slots=True)
class Grade:
    extracted: str | None
    """The answer found in the text (None: nothing that looks like an answer)."""
    correct: bool | None
    """None when there is no reference to grade against."""


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``, braces balanced; None if there is none (or it is unclosed)."""
    starts = [match.end() for match in _BOXED.finditer(text)]
    for start in reversed(starts):
        depth = 1
        for index in range(start, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    return text[start:index].strip()
    return None


def extract_answer(text: str) -> str | None:
    """The final answer in a model's output (see the module docstring for the order tried)."""
    boxed = last_boxed(text)
    if boxed:
        return boxed
    lines = _answer_lines(text)
    if lines:
        return lines[-1]
    numbers = _NUMBER.findall(text)
    if numbers:
        return numbers[-1].replace(",", "")
    return None


def extract_number(text: str) -> str | None:
    """The final answer as a canonical number ("1,200.00" -> "1200", "0.50" -> "0.5"), or None."""
    answer = extract_answer(text)
    if answer is None:
        return None
    numbers = _NUMBER.findall(answer.replace("$", " ").replace("\\!", ""))
    if not numbers:
        return None
    value = _to_fraction(numbers[-1])
    return None if value is None else _canonical(value)


def extract_choice(text: str) -> str | None:
    """The option letter (A-D) the answer picks, or None. Never returns anything but a letter."""
    boxed = last_boxed(text)
    if boxed:
        letters = _LETTER.findall(boxed.replace("\\text", " "))
        if letters:
            return letters[-1]
    for line in reversed(_answer_lines(text)):
        letters = _LETTER.findall(line)
        if letters:
            return letters[0]
    options = [first or second for first, second in _LETTER_OPTION.findall(text)]
    if options:
        return options[-1]
    alone = text.strip().strip(".*() ")
    return alone if alone in ("A", "B", "C", "D") else None


def answers_match(extracted: str, reference: str) -> bool:
    """Mathematical equivalence by math-verify (1/2 == 0.5 == \\frac{1}{2}); exact text as a fallback."""
    from math_verify import parse, verify

    # math-verify's timeouts use signal.alarm, which only works on the main thread.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None

    def parsed(text: str):
        return parse(f"${text}$", parsing_timeout=timeout) or parse(text, parsing_timeout=timeout)

    gold, prediction = parsed(reference), parsed(extracted)
    if gold and prediction and verify(gold, prediction, timeout_seconds=timeout):
        return True
    return _normalized(extracted) == _normalized(reference)


def grade(output: str, reference: str | None, kind: AnswerKind = "math") -> Grade:
    """Extract the answer from ``output`` and, given a reference, say whether it is right."""
    if kind == "choice":
        extracted = extract_choice(output)
    elif kind in ("integer", "number"):
        extracted = extract_number(output)
    else:
        extracted = extract_answer(output)
    if reference is None or not str(reference).strip():
        return Grade(extracted, None)
    if extracted is None:
        return Grade(None, False)
    return Grade(extracted, _matches(kind, extracted, str(reference).strip()))


def _matches(kind: AnswerKind, extracted: str, reference: str) -> bool:
    if kind == "choice":
        return extracted == reference.strip("() ").upper()
    if kind in ("integer", "number"):
        expected = _to_fraction(reference)
        got = _to_fraction(extracted)
        if expected is None or got is None:
            return False
        return got == expected and (kind == "number" or got.denominator == 1)
    return answers_match(extracted, reference)


def _answer_lines(text: str) -> list[str]:
    lines = [match.group(1).strip() for match in _ANSWER_LINE.finditer(text)]
    return [line.strip(" .*$") for line in lines if line.strip(" .*$")]


def _to_fraction(number: str) -> Fraction | None:
    try:
        return Fraction(number.replace(",", "").strip())
    except (ValueError, ZeroDivisionError):
        return None


def _canonical(value: Fraction) -> str:
    """An integer, a terminating decimal ("2.5"), or else a fraction ("1/3")."""
    if value.denominator == 1:
        return str(value.numerator)
    rest = value.denominator
    for factor in (2, 5):
        while rest % factor == 0:
            rest //= factor
    if rest != 1:
        return f"{value.numerator}/{value.denominator}"
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().strip(".").lower()
