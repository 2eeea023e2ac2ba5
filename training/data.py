"""s1K rows -> token ids and labels in the s1 format, by the same code that builds the app's prompts.

A row becomes ``prompt + completion``. The prompt is exactly what the app sends when a person
asks the question (``s1app.session.build_prompt_text``: the model's chat template, then the s1
format's ``<|im_start|>think``); the completion is what the engine expects back: the thinking,
the format's end-of-thinking delimiter ``<|im_start|>answer``, the answer, the end-of-answer
token. Labels are -100 over the prompt, so the loss is only on thinking + answer (the paper's
"never on the question"). Texts follow simplescaling/s1 ``data/tokenization.py``: trajectories
joined by newlines and stripped, the attempt prefixed with "Answer: " unless it has one.

Sources: a hub dataset (``datasets.load_dataset``, online) or a local .parquet/.jsonl/.json of
the same schema. s1K: ``thinking_trajectories`` (list) + ``attempt``; s1K-1.1:
``{deepseek,gemini}_thinking_trajectory`` + ``{deepseek,gemini}_attempt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s1app.errors import ConfigError, DatasetError
from s1app.formats import ReasoningFormat, get_format
from s1app.session import build_prompt_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IGNORE_INDEX = -100
"""Label of a token the loss skips (PyTorch's cross-entropy default)."""


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    thinking: str
    attempt: str


@dataclass(frozen=True, slots=True)
class Sample:
    input_ids: list[int]
    labels: list[int]
    """IGNORE_INDEX over the prompt; the token ids themselves over thinking, answer and end token."""


@dataclass
class BlockReport:
    """What ``block_size`` did to the data (the paper's Table 8: cut answers teach thinking without answering)."""

    block_size: int
    samples: int = 0
    cut: int = 0
    """Samples longer than the block (cut at its end)."""
    cut_answer_removed: int = 0
    """Of those, cut before the answer began: the sample teaches thinking and no answer at all."""
    cut_answer_truncated: int = 0
    """Of those, cut inside the answer: the end-of-answer token is lost."""
    longest_tokens: int = 0
    label_tokens: int = 0

    def summary(self) -> str:
        return (
            f"{self.samples} samples, block {self.block_size} tokens, longest {self.longest_tokens}: "
            f"{self.cut} cut ({self.cut_answer_removed} lose the whole answer, {self.cut_answer_truncated} "
            f"lose the end of it); {self.label_tokens} tokens carry loss."
        )


# -- reading rows ------------------------------------------------------------------------------


def load_rows(source: str, split: str = "train") -> list[dict[str, Any]]:
    """Rows of a local .parquet/.jsonl/.json file, or of a hub dataset by name (needs internet)."""
    path = Path(source).expanduser()
    if not path.is_absolute() and not path.exists():
        path = PROJECT_ROOT / path
    if path.exists():
        return _read_local(path)
    if source.endswith((".parquet", ".jsonl", ".json")) or source.startswith((".", "/")):
        raise DatasetError(f"Dataset file {source} does not exist: check the path (a relative path starts at the current folder, then at {PROJECT_ROOT}, where the configs' own data is).")
    try:
        import datasets
    except ImportError as failure:
        raise DatasetError(f"Loading {source} from the hub needs the datasets package: pip install -e '.[train]'.") from failure
    try:
        return list(datasets.load_dataset(source, split=split))
    except Exception as failure:  # the hub raises many kinds; all mean "cannot get it"
        raise DatasetError(
            f"Could not load the hub dataset {source!r} ({failure}). Offline? Download it once "
            f"(datasets.load_dataset({source!r}).to_parquet(...)) and set dataset: to the local file."
        ) from failure


def _read_local(path: Path) -> list[dict[str, Any]]:
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet

            return pyarrow.parquet.read_table(path).to_pylist()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = json.loads(text)
    except (OSError, ValueError) as failure:
        raise DatasetError(f"Cannot read {path} ({failure}): give a .parquet, .jsonl or .json file of rows.") from failure
    if not isinstance(rows, list):
        raise DatasetError(f"{path} must hold a list of rows (a JSON array of objects).")
    return rows


def example_from_row(row: dict[str, Any], trajectory: str | None, where: str = "the dataset") -> Example:
    """Question, thinking and attempt of an s1K row (``trajectory=None``) or an s1K-1.1 row."""
    if trajectory is None:
        thinking_column, attempt_column = "thinking_trajectories", "attempt"
    else:
        thinking_column, attempt_column = f"{trajectory}_thinking_trajectory", f"{trajectory}_attempt"
    missing = [column for column in ("question", thinking_column, attempt_column) if column not in row]
    if missing:
        hint = (
            "an s1K-1.1 dataset needs trajectory: deepseek or gemini in the config"
            if trajectory is None and "deepseek_thinking_trajectory" in row
            else "an s1K dataset (thinking_trajectories, attempt) needs no trajectory: remove it from the config"
            if trajectory is not None and "thinking_trajectories" in row
            else f"give a dataset with the s1K / s1K-1.1 columns (found {sorted(row)})"
        )
        raise DatasetError(f"{where} is missing column(s) {missing}: {hint}.")
    thinking = row[thinking_column]
    if isinstance(thinking, list):
        thinking = "\n".join(thinking)
    return Example(question=str(row["question"]), thinking=str(thinking or ""), attempt=str(row[attempt_column] or ""))


# -- texts and tokens --------------------------------------------------------------------------


def completion_text(fmt: ReasoningFormat, thinking: str, answer: str, end_text: str) -> str:
    """What follows the prompt in a finished s1 turn: thinking, the delimiter, the answer, the end."""
    return thinking.strip() + "\n" + fmt.end_of_thinking + answer.strip() + end_text


def answer_text(attempt: str) -> str:
    return attempt if "Answer:" in attempt else "Answer: " + attempt


@dataclass
class Formatter:
    """Turns examples into Samples for one tokenizer (a Hugging Face tokenizer)."""

    tokenizer: Any
    fmt: ReasoningFormat = field(default_factory=lambda: get_format("s1"))

    def texts(self, example: Example) -> tuple[str, str]:
        tokenizer = self.tokenizer
        prompt = build_prompt_text(
            self.fmt,
            getattr(tokenizer, "chat_template", None),
            [],
            example.question.strip(),
            bos_text=tokenizer.bos_token or "",
            eos_text=tokenizer.eos_token or "",
        )
        end_text = self.fmt.answer_end_markers[0] if self.fmt.answer_end_markers else tokenizer.eos_token
        return prompt, completion_text(self.fmt, example.thinking, answer_text(example.attempt), end_text)

    def sample(self, example: Example) -> tuple[Sample, int]:
        """The sample and where its answer starts (the delimiter's first token)."""
        prompt, completion = self.texts(example)
        thinking_part = completion[: completion.index(self.fmt.end_of_thinking)]
        prompt_ids = self.tokenizer(prompt, add_special_tokens=True)["input_ids"]
        completion_ids = self.tokenizer(completion, add_special_tokens=False)["input_ids"]
        answer_start = len(prompt_ids) + len(self.tokenizer(thinking_part, add_special_tokens=False)["input_ids"])
        ids = prompt_ids + completion_ids
        return Sample(ids, [IGNORE_INDEX] * len(prompt_ids) + completion_ids), answer_start


def build_samples(rows: list[dict[str, Any]], tokenizer: Any, block_size: int, trajectory: str | None = None,
                  where: str = "the dataset") -> tuple[list[Sample], BlockReport]:
    """Every row as a Sample cut to ``block_size``, and the report of what the cut removed."""
    formatter = Formatter(tokenizer)
    report = BlockReport(block_size=block_size)
    samples: list[Sample] = []
    for index, row in enumerate(rows):
        sample, answer_start = formatter.sample(example_from_row(row, trajectory, f"{where}, row {index}"))
        prompt_tokens = sum(label == IGNORE_INDEX for label in sample.labels)
        if prompt_tokens >= block_size:
            raise ConfigError(
                f"Row {index} of {where}: its prompt alone is {prompt_tokens} tokens, the block_size is "
                f"{block_size}: raise block_size above the longest prompt, or drop that row."
            )
        report.samples += 1
        report.longest_tokens = max(report.longest_tokens, len(sample.input_ids))
        if len(sample.input_ids) > block_size:
            report.cut += 1
            if block_size <= answer_start:
                report.cut_answer_removed += 1
            else:
                report.cut_answer_truncated += 1
            sample = Sample(sample.input_ids[:block_size], sample.labels[:block_size])
        samples.append(sample)
    report.label_tokens = sum(label_token_counts(samples))
    return samples, report


def label_token_counts(samples: list[Sample]) -> list[int]:
    """Per sample, the tokens the loss is taken over (labels are shifted by one for next-token loss)."""
    return [sum(label != IGNORE_INDEX for label in sample.labels[1:]) for sample in samples]
