"""Grade a model's answer against a reference: extract the final answer, compare with math-verify.

Pure (no engine, no UI): the sweep tab and the eval harness both use it.

Extraction, in order: the last ``\\boxed{...}``; else the text after the last "Final Answer:" or
"Answer:" (to the end of that line); else the last number in the text.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

_ANSWER_LINE = re.compile(r"(?:final\s+answer|answer)\s*(?:is)?\s*[:：]\s*(.*)", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


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
    lines = [match.group(1).strip() for match in _ANSWER_LINE.finditer(text)]
    lines = [line.strip(" .*$") for line in lines if line.strip(" .*$")]
    if lines:
        return lines[-1]
    numbers = _NUMBER.findall(text)
    if numbers:
        return numbers[-1].replace(",", "")
    return None


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


def grade(output: str, reference: str | None) -> Grade:
    """Extract the answer from ``output`` and, given a reference, say whether it is right."""
    extracted = extract_answer(output)
    if reference is None or not reference.strip():
        return Grade(extracted, None)
    if extracted is None:
        return Grade(None, False)
    return Grade(extracted, answers_match(extracted, reference.strip()))


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().strip(".").lower()
