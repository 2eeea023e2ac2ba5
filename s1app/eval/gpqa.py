"""GPQA Diamond, read from the authors' encrypted zip in memory only.

The authors ask that GPQA questions never appear in plain text online. So the zip is vendored
encrypted, the CSV is decrypted into memory here and nowhere else, and an Item built from it is
marked ``private``: the harness then writes and prints only its record id and the graded letter.
Nothing in this module writes a file or prints.
"""

from __future__ import annotations

import csv
import io
import zipfile
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from s1app.errors import BenchmarkError
from s1app.eval.prompts import multiple_choice

DIAMOND_CSV = "dataset/gpqa_diamond.csv"
ZIP_PASSWORD = b"deserted-untie-orchid"
"""Published by the GPQA authors in their README, so that people (not crawlers) can open it."""
INCORRECT_COLUMNS = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def gpqa_zip_path() -> Path:
    return Path(str(files("s1app.eval") / "data" / "gpqa_dataset.zip"))


@lru_cache(maxsize=1)
def diamond_rows() -> tuple[tuple[str, str, str], ...]:
    """(record id, prompt with shuffled options, correct letter) for each of the 198 questions.

    Kept in this process's memory only (cached: decrypting takes about half a second).
    """
    try:
        with zipfile.ZipFile(gpqa_zip_path()) as archive:
            data = archive.read(DIAMOND_CSV, pwd=ZIP_PASSWORD)
    except (OSError, KeyError, RuntimeError, zipfile.BadZipFile) as failure:
        raise BenchmarkError(
            f"Cannot read GPQA Diamond from {gpqa_zip_path()} ({type(failure).__name__}): reinstall s1app, "
            "whose package ships the authors' encrypted zip."
        ) from None  # no chained detail: nothing from inside the archive may reach a log
    rows = []
    for row in csv.DictReader(io.StringIO(data.decode("utf-8"))):
        record_id = row["Record ID"].strip()
        prompt, letter = multiple_choice(record_id, row["Question"], row["Correct Answer"],
                                         [row[column] for column in INCORRECT_COLUMNS])
        rows.append((record_id, prompt, letter))
    return tuple(rows)
