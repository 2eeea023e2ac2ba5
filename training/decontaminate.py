"""8-gram decontamination: drop training questions that share a word 8-gram with an eval question.

Words are lower-cased runs of letters and digits, so spacing, punctuation and LaTeX braces do not
hide an overlap. A question shorter than 8 words is compared whole. The s1 paper decontaminated
its pool against its eval sets with 8-grams; this is that filter, reusable by curation and by
the script that makes the small-cpu data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from s1app.errors import DatasetError

NGRAM_WORDS = 8
QUESTION_FIELDS = ("problem", "question", "Question")
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(text: str, size: int = NGRAM_WORDS) -> set[tuple[str, ...]]:
    tokens = words(text)
    if len(tokens) < size:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[start:start + size]) for start in range(len(tokens) - size + 1)}


class Decontaminator:
    """Knows every 8-gram of the eval questions; says whether a training text shares one."""

    def __init__(self, eval_questions: Iterable[str], size: int = NGRAM_WORDS) -> None:
        self.size = size
        self.eval_ngrams: set[tuple[str, ...]] = set()
        self.eval_questions = 0
        for question in eval_questions:
            self.eval_ngrams |= ngrams(question, size)
            self.eval_questions += 1

    def overlap(self, text: str) -> tuple[str, ...] | None:
        """The first shared n-gram (for the report), or None when the text is clean."""
        for gram in ngrams(text, self.size):
            if gram in self.eval_ngrams:
                return gram
        return None


def questions_in_files(paths: Iterable[str | Path]) -> list[str]:
    """The question text of every row of .jsonl / .json eval files (field problem or question)."""
    questions: list[str] = []
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8")
            rows = [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else json.loads(text)
        except (OSError, ValueError) as failure:
            raise DatasetError(f"Cannot read eval file {path} ({failure}): give .jsonl or .json rows with a 'problem' or 'question'.") from failure
        for row in rows:
            field = next((name for name in QUESTION_FIELDS if name in row), None)
            if field is None:
                raise DatasetError(f"{path}: a row has none of the fields {QUESTION_FIELDS}; decontamination needs the question text.")
            questions.append(str(row[field]))
    return questions
