"""Make the small-cpu training slice and its held-out questions (run once; the output is vendored).

    python -m training.make_small_cpu_data [--shared ../shared/data] [--gsm8k-rows 1000]

Reads public files (see training/data/SOURCES.md) and writes, in the s1K schema (question,
solution, cot_type, source_type, metadata, cot, thinking_trajectories, attempt):

- GSM8K train worked solutions as thinking, their calculator annotations ``<<48/2=24>>``
  removed (the text around them already says ``48/2 = 24``), the ``#### N`` line as the answer
  ``Final Answer: $\\boxed{N}$`` (the words the engine itself forces when it caps thinking);
- math_cot_100's shortest correct chain of thought per problem (``score`` true) as thinking,
  its reference answer boxed;
- every row through curation's quality filter (no ``[asy]`` figures, no image references) and
  8-gram-decontaminated against MATH500, GSM8K test, AIME24/25 and AMC23;
- the 8 shortest of those rows as tiny-cpu's slice (the tests' smoke run);
- 50 GSM8K *test* questions, seeded, as the held-out set for the before/after measurement.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from training.curate import quality_problem
from training.data import PROJECT_ROOT
from training.decontaminate import Decontaminator, questions_in_files

DATA_DIR = Path(__file__).resolve().parent / "data"
TRACES_FILE = DATA_DIR / "small-cpu-traces.jsonl"
HELDOUT_FILE = DATA_DIR / "heldout-gsm8k-test-50.jsonl"
TINY_FILE = DATA_DIR / "tiny-cpu-traces.jsonl"
TINY_ROWS = 8
EVAL_FILES = ("math500.jsonl", "gsm8k_test.jsonl", "aime24.jsonl", "aime25.jsonl", "amc23.jsonl")
_CALCULATOR = re.compile(r"<<[^<>]*>>")


def boxed_answer(answer: str) -> str:
    return f"Final Answer: $\\boxed{{{answer}}}$"


def gsm8k_row(row: dict, index: int) -> dict:
    worked, _, final = row["answer"].rpartition("####")
    thinking = _CALCULATOR.sub("", worked).strip()
    final = final.strip().replace(",", "")
    return {
        "question": row["question"], "solution": row["answer"], "cot_type": "math", "source_type": "openai/gsm8k",
        "metadata": json.dumps({"split": "train", "index": index}), "cot": None,
        "thinking_trajectories": [thinking], "attempt": boxed_answer(final),
    }


def math_cot_row(row: dict) -> dict | None:
    correct = [chain for chain, right in zip(row["code"], row["score"]) if right]
    if not correct:
        return None
    return {
        "question": row["question"], "solution": row["solution"], "cot_type": "math",
        "source_type": "qwen2.5-math/math_cot_100",
        "metadata": json.dumps({"idx": row["idx"], "level": row["level"]}), "cot": None,
        "thinking_trajectories": [min(correct, key=len).strip()], "attempt": boxed_answer(row["gt"]),
    }


def shortest_rows(rows: list[dict], count: int) -> list[dict]:
    """The ``count`` rows with the fewest characters of question, thinking and answer, in file order:
    tiny-cpu's smoke run trains on whole samples in short blocks."""
    def size(index: int) -> int:
        row = rows[index]
        return len(row["question"]) + len(row["thinking_trajectories"][0]) + len(row["attempt"])

    return [rows[index] for index in sorted(sorted(range(len(rows)), key=size)[:count])]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared" / "data")
    parser.add_argument("--gsm8k-rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    clean = Decontaminator(questions_in_files(args.shared / "eval" / name for name in EVAL_FILES))
    rng = random.Random(args.seed)

    gsm8k = read_jsonl(args.shared / "train" / "gsm8k_train.jsonl")
    picked = sorted(rng.sample(range(len(gsm8k)), args.gsm8k_rows))
    rows = [gsm8k_row(gsm8k[index], index) for index in picked]
    rows += [row for row in map(math_cot_row, read_jsonl(args.shared / "train" / "math_cot_100.jsonl")) if row]
    usable = [row for row in rows if quality_problem(row) is None]
    kept = [row for row in usable if clean.overlap(row["question"]) is None]
    rng.shuffle(kept)
    by_source = {source: sum(row["source_type"] == source for row in kept) for source in {row["source_type"] for row in rows}}
    print(f"{len(rows)} rows: {len(rows) - len(usable)} dropped by the quality filter, {len(usable) - len(kept)} by "
          f"8-gram decontamination; kept {by_source}")
    write_jsonl(TRACES_FILE, kept)
    write_jsonl(TINY_FILE, shortest_rows(kept, TINY_ROWS))

    test = read_jsonl(args.shared / "eval" / "gsm8k_test.jsonl")
    heldout = [test[index] for index in sorted(random.Random(args.seed).sample(range(len(test)), 50))]
    write_jsonl(HELDOUT_FILE, [{"question": row["question"], "answer": row["answer"].rpartition("####")[2].strip().replace(",", ""),
                                "solution": row["answer"]} for row in heldout])
    print(f"wrote {TRACES_FILE} ({len(kept)} rows), {TINY_FILE} (its {TINY_ROWS} shortest) and {HELDOUT_FILE} (50 rows)")


if __name__ == "__main__":
    main()
