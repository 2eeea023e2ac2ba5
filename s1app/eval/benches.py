"""Benchmarks: the vendored sets (GSM8K, MATH-500, AIME 2024/2025, AMC23, GPQA Diamond), the generated
``arith`` demonstration set (s1app/eval/arith.py), and user JSONL.

A benchmark is a list of Items: an id, the text to ask, the reference answer and how to grade it.
Items come in file order, so ``--limit N`` always means the same first N questions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from s1app.errors import BenchmarkError
from s1app.eval import arith, gpqa
from s1app.eval.grading import AnswerKind

USER_FIELDS = ("question", "answer")


@dataclass(frozen=True, slots=True)
class Item:
    item_id: str
    question: str = field(repr=False)
    """The text asked (GPQA: with its options). Never logged for a private item."""
    reference: str = field(repr=False)
    kind: AnswerKind = "math"
    private: bool = False
    """GPQA: the question and the model's text about it are never written or printed."""


@dataclass(frozen=True, slots=True)
class Bench:
    name: str
    """A vendored benchmark's name, or the user file's path."""
    items: tuple[Item, ...] = field(repr=False)
    source: str
    """Where the items came from, for the run's manifest."""
    sha256: str
    """Of the source file: a resumed run checks it is still the same data."""

    @property
    def private(self) -> bool:
        return any(item.private for item in self.items)

    def limited(self, limit: int | None) -> Bench:
        """The first ``limit`` items (all of them for None)."""
        if limit is None:
            return self
        return Bench(self.name, self.items[:limit], self.source, self.sha256)


@dataclass(frozen=True, slots=True)
class _JsonlBench:
    file: str
    kind: AnswerKind
    question: str
    answer: Callable[[dict[str, Any]], str]
    item_id: Callable[[int, dict[str, Any]], str]


def _gsm8k_answer(row: dict[str, Any]) -> str:
    return str(row["answer"]).split("####")[-1].strip()


VENDORED: dict[str, _JsonlBench] = {
    "gsm8k": _JsonlBench("gsm8k_test.jsonl", "number", "question", _gsm8k_answer, lambda i, r: f"gsm8k-{i:04d}"),
    "math500": _JsonlBench("math500.jsonl", "math", "problem", lambda r: str(r["answer"]),
                           lambda i, r: str(r["unique_id"])),
    "aime24": _JsonlBench("aime24.jsonl", "integer", "problem", lambda r: str(r["answer"]),
                          lambda i, r: f"aime24-{r['id']}"),
    "aime25": _JsonlBench("aime25.jsonl", "integer", "problem", lambda r: str(r["answer"]),
                          lambda i, r: f"aime25-{r['id']}"),
    "amc23": _JsonlBench("amc23.jsonl", "math", "problem", lambda r: _plain_number(r["answer"]),
                         lambda i, r: f"amc23-{r['id']}"),
}
BENCH_NAMES = (*VENDORED, "gpqa", arith.NAME)


def default_bench(model_source: str) -> str:
    """The benchmark a new user's model can show a curve on: ``arith`` for a model shipped inside a
    Python package (the embedded SmolLM2-135M scores near zero on the rest), GSM8K otherwise."""
    return arith.NAME if model_source.startswith("package:") else "gsm8k"


def data_path(file: str) -> Path:
    return Path(str(files("s1app.eval") / "data" / file))


def load_bench(spec: str, limit: int | None = None) -> Bench:
    """A vendored benchmark by name, or a user JSONL file with question/answer fields."""
    name = spec.strip()
    if name.lower() in VENDORED:
        return _load_vendored(name.lower()).limited(limit)
    if name.lower() in ("gpqa", "gpqa-diamond"):
        return _load_gpqa().limited(limit)
    if name.lower() == arith.NAME:
        return _generated_arith().limited(limit)
    path = Path(name).expanduser()
    if path.suffix.lower() in (".jsonl", ".json") or path.exists():
        return _load_user_file(path).limited(limit)
    raise BenchmarkError(
        f"Unknown benchmark {spec!r}: use one of {', '.join(BENCH_NAMES)}, or the path of a JSONL file "
        'whose lines have "question" and "answer" fields.'
    )


def _load_vendored(name: str) -> Bench:
    spec = VENDORED[name]
    path = data_path(spec.file)
    items = tuple(
        Item(spec.item_id(index, row), str(row[spec.question]), spec.answer(row), spec.kind)
        for index, row in enumerate(_read_jsonl(path))
    )
    return Bench(name, items, f"vendored {spec.file}", _sha256(path))


def _load_gpqa() -> Bench:
    items = tuple(Item(f"gpqa-{record_id}", prompt, letter, "choice", private=True)
                  for record_id, prompt, letter in gpqa.diamond_rows())
    path = gpqa.gpqa_zip_path()
    return Bench("gpqa", items, f"vendored {path.name} ({gpqa.DIAMOND_CSV}, decrypted in memory)", _sha256(path))


def _generated_arith() -> Bench:
    generated = arith.generate()
    items = tuple(Item(item.item_id, item.question, str(item.answer), "number") for item in generated)
    return Bench(arith.NAME, items, f"generated by s1app/eval/arith.py (seed {arith.SEED}, {len(items)} items)",
                 arith.checksum(generated))


def _load_user_file(path: Path) -> Bench:
    if not path.is_file():
        raise BenchmarkError(f"No benchmark file {path}: pass an existing JSONL file, or one of {', '.join(BENCH_NAMES)}.")
    items = []
    for index, row in enumerate(_read_jsonl(path)):
        missing = [name for name in USER_FIELDS if not isinstance(row, dict) or name not in row]
        if missing:
            raise BenchmarkError(
                f"{path} line {index + 1} has no {' or '.join(repr(m) for m in missing)} field: each line must be "
                'a JSON object with "question" and "answer" (and optionally "id").'
            )
        item_id = str(row.get("id", index))
        items.append(Item(item_id, str(row["question"]), _plain_number(row["answer"]), "math"))
    if not items:
        raise BenchmarkError(f"{path} has no questions: add JSON lines with \"question\" and \"answer\" fields.")
    if len({item.item_id for item in items}) != len(items):
        raise BenchmarkError(f"{path} repeats an \"id\": give every line its own id (or leave ids out).")
    return Bench(str(path), tuple(items), f"file {path.resolve()}", _sha256(path))


def _read_jsonl(path: Path) -> list[Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as failure:
        raise BenchmarkError(f"Cannot read {path} ({failure}): pass a readable UTF-8 JSONL file.") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as failure:
            raise BenchmarkError(f"{path} line {number} is not JSON ({failure.msg}): one JSON object per line.") from None
    return rows


def _plain_number(value: Any) -> str:
    """27.0 -> "27" (AMC stores integers as floats); anything else as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
