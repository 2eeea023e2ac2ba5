"""Eval records in the session log: one row per eval run, one per graded item, and item -> runs links.

An item record (s1app.eval.records) holds no question and no model text, so neither does this
table; the item's runs sit in ``runs`` like any other (for GPQA they were recorded with the text
left out: see s1app/eval/privacy.py). ``eval_item_runs`` says which eval items a run belongs to
(a shared trajectory: every setting it stands for).
"""

from __future__ import annotations

import json
from typing import Any

from s1app.store.db import Store


def record_eval_run(store: Store, manifest: dict[str, Any], out_dir: str) -> None:
    """Write the eval run's row once (a resumed run keeps its first row)."""
    plan = manifest["plan"]
    row = {"id": manifest["run_id"], "bench": plan["bench"], "methods": json.dumps(plan["methods"]),
           "model": manifest["model"].get("name"), "backend": manifest["model"].get("backend"),
           "plan": json.dumps(plan, ensure_ascii=False), "out_dir": out_dir, "created_at": manifest["created_at"]}
    with store.transaction() as db:
        db["eval_runs"].insert(row, ignore=True)


def record_eval_item(store: Store, eval_run_id: str, record: dict[str, Any]) -> None:
    """Write one graded item and link its runs (replacing an earlier row for the same item)."""
    row = {"eval_run_id": eval_run_id, "setting": record["setting"], "item_id": record["item_id"],
           "method": record["method"], "extracted": record["extracted"], "correct": int(record["correct"]),
           **{key: record[key] for key in ("thinking_tokens", "forced_tokens", "waits_inserted", "answer_tokens",
                                           "generated_tokens", "wall_s", "finished_at")},
           "record": json.dumps(record, ensure_ascii=False)}
    links = [{"run_id": run_id, "eval_run_id": eval_run_id, "setting": record["setting"],
              "item_id": record["item_id"], "attempt": attempt}
             for attempt, run_id in enumerate(record["run_ids"])]
    with store.transaction() as db:
        db["eval_items"].insert(row, replace=True)
        if links:
            db["eval_item_runs"].insert_all(links, replace=True)


def eval_items(store: Store, eval_run_id: str) -> list[dict[str, Any]]:
    """The item records of an eval run, as written (oldest first)."""
    with store.reading() as db:
        rows = db.query("select record from eval_items where eval_run_id = ? order by rowid", [eval_run_id])
        return [json.loads(row["record"]) for row in rows]


def eval_items_of_run(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The eval items a run was made for, {eval_run_id, setting, item_id, attempt} each, oldest
    first: one for a run of its own, every setting it covers for a shared trajectory, none else."""
    with store.reading() as db:
        return list(db.query("select eval_run_id, setting, item_id, attempt from eval_item_runs where run_id = ? "
                             "order by rowid", [run_id]))
