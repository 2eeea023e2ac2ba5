"""An eval run's folder: the manifest, the item records as JSONL, and the summary files.

```
<out>/<run id>/manifest.json              the plan, the settings, the benchmark's checksum, the model
<out>/<run id>/items.jsonl                one graded item per line, appended as each finishes
<out>/<run id>/summary.md, summary.json   the tables (rewritten at the end of every session)
<out>/<run id>/accuracy_vs_thinking.png   the plot
```

Crash safety: a record is one line, written with a single write, flushed and fsync-ed before the
next item is started on its slot, so a crash, Ctrl-C or SIGKILL loses no finished item. A line
cut short by a kill mid-write is dropped on the next open (that item is simply run again).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from s1app.errors import EvalRunError
from s1app.eval.methods import Setting
from s1app.eval.plan import EvalPlan
from s1app.eval.records import ItemRecord

MANIFEST = "manifest.json"
ITEMS = "items.jsonl"
SUMMARY_MD = "summary.md"
SUMMARY_JSON = "summary.json"
PLOT = "accuracy_vs_thinking.png"


def default_out_dir(db: str | os.PathLike | None = None) -> Path:
    """``evals/`` next to the session log (``--db`` > $S1APP_DB > the per-user data folder)."""
    from s1app.store.db import resolve_db_path

    return resolve_db_path(db).parent / "evals"


@dataclass
class EvalRunDir:
    path: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.manifest["run_id"]

    @property
    def plan(self) -> EvalPlan:
        return EvalPlan.from_json(self.manifest["plan"])

    @property
    def settings(self) -> list[Setting]:
        return [Setting.from_json(item) for item in self.manifest["settings"]]

    @classmethod
    def create(cls, out_dir: Path, plan: EvalPlan, bench: dict[str, Any], model: dict[str, Any]) -> EvalRunDir:
        created = datetime.now(UTC)
        stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(plan.bench).stem).strip("-")[:24] or "bench"
        run_id = f"{created:%Y%m%d-%H%M%S}-{stem}-{uuid.uuid4().hex[:6]}"
        path = out_dir.expanduser() / run_id
        manifest = {"run_id": run_id, "created_at": created.isoformat(timespec="seconds"), "plan": plan.to_json(),
                    "settings": [s.to_json() for s in plan.settings()], "bench": bench, "model": model}
        try:
            path.mkdir(parents=True)
            _write_atomically(path / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
            (path / ITEMS).touch()
        except OSError as failure:
            raise EvalRunError(f"Cannot create the eval run folder {path} ({failure.strerror or failure}): "
                               "pass a writable --out.") from None
        return cls(path, manifest)

    @classmethod
    def open(cls, run: str, out_dir: Path) -> EvalRunDir:
        """An existing run, by id (inside ``out_dir``) or by its folder's path."""
        candidates = [Path(run).expanduser(), out_dir.expanduser() / run]
        path = next((c for c in candidates if (c / MANIFEST).is_file()), None)
        if path is None:
            raise EvalRunError(f"No eval run {run!r} in {out_dir}: pass the run id printed when it started "
                               "(with the same --out), or the path of its folder.")
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            EvalPlan.from_json(manifest["plan"])
        except (OSError, ValueError, KeyError, TypeError) as failure:
            raise EvalRunError(f"The manifest of {path} is unreadable ({failure}): start a new eval run.") from None
        return cls(path, manifest)

    def records(self) -> list[ItemRecord]:
        """Every finished item, in the order written (the last record wins for a repeated key)."""
        path = self.path / ITEMS
        if not path.exists():
            return []
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            with path.open("r+b") as handle:  # a line cut short by a kill: drop it, it is run again
                handle.truncate(len(complete))
        by_key: dict[tuple[str, str], ItemRecord] = {}
        for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = ItemRecord.from_json(json.loads(line))
            except json.JSONDecodeError:
                raise EvalRunError(f"{path} line {number} is not a record: move the file away to start over.") from None
            by_key[record.key] = record
        return list(by_key.values())

    def append(self, record: ItemRecord) -> None:
        line = (json.dumps(record.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
        with (self.path / ITEMS).open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def write_file(self, name: str, text: str) -> Path:
        target = self.path / name
        _write_atomically(target, text)
        return target


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
