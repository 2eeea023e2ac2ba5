"""Eval run folders and the runner: crash safety, resume, cancel, failures, and the session log's eval tables.

A scripted Ask stands in for the engine here (the real model runs in test_eval_cli.py).
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlite_utils

from s1app.cancel import CancelScope
from s1app.errors import BackendError, EvalRunError
from s1app.eval.benches import Bench, Item
from s1app.eval.outcome import RunOutcome
from s1app.eval.plan import EvalPlan
from s1app.eval.rundir import ITEMS, EvalRunDir
from s1app.eval.runner import EvalCancelled, execute
from s1app.store import open_store
from s1app.store.evals import (
    eval_items,
    eval_items_of_run,
    record_eval_item,
    record_eval_run,
)
from s1app.store.migrations import applied_migrations, migrate

BENCH = Bench("toy", tuple(Item(f"q{n}", f"What is {n}+{n}?", str(2 * n), "number") for n in range(4)), "test", "x")
PLAN = EvalPlan.from_options(bench="toy", methods="bf", budgets="16,64")


def new_rundir(tmp_path) -> EvalRunDir:
    return EvalRunDir.create(tmp_path, PLAN, {"name": "toy", "sha256": "x", "items": 4},
                             {"name": "m", "backend": "fake"})


class CountingAsk:
    """Answers every question right after ``delay_s``; with ``block``, waits until the scope is cancelled."""

    def __init__(self, scope: CancelScope, delay_s: float = 0.0, block_item: str | None = None,
                 fail_item: str | None = None) -> None:
        self.scope, self.delay_s, self.block_item, self.fail_item = scope, delay_s, block_item, fail_item
        self.asked: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, item, setting, *, seed=None, stop_above_thinking_tokens=None) -> RunOutcome:
        with self.lock:
            self.asked.append((setting.key, item.item_id))
        if item.item_id == self.fail_item:
            raise BackendError("the server went away")
        if item.item_id == self.block_item:
            self.scope.cancelled.wait(10)
        time.sleep(self.delay_s)
        if self.scope.cancelled.is_set():
            raise EvalCancelled(item.item_id)
        answer = f"Final Answer: {item.reference}"
        return RunOutcome(f"run-{setting.key}-{item.item_id}", answer, 10, 3, 0, 4, 14, "model", "end-of-answer", 0.1)


def test_every_item_is_written_once_in_setting_order(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    result = execute(rundir, BENCH, CountingAsk(scope), parallel=1, scope=scope)
    assert (result.written, result.cancelled) == (8, False)
    keys = [r.key for r in rundir.records()]
    assert keys == [(s, f"q{n}") for s in ("budget-forcing:max=16:waits=0", "budget-forcing:max=64:waits=0")
                    for n in range(4)]
    assert all(r.correct for r in rundir.records())


def test_a_resumed_run_asks_only_what_is_missing(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    first = CountingAsk(scope)
    execute(rundir, BENCH, first, parallel=2, scope=scope)
    lines = (rundir.path / ITEMS).read_text().splitlines(keepends=True)
    (rundir.path / ITEMS).write_text("".join(lines[:5]))
    again = CountingAsk(scope)
    reopened = EvalRunDir.open(rundir.run_id, tmp_path)
    execute(reopened, BENCH, again, parallel=2, scope=scope)
    assert len(again.asked) == 3 and len(reopened.records()) == 8


def test_a_line_cut_short_by_a_kill_is_dropped_and_run_again(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    execute(rundir, BENCH, CountingAsk(scope), parallel=1, scope=scope)
    data = (rundir.path / ITEMS).read_bytes()
    (rundir.path / ITEMS).write_bytes(data[:-25])  # the last record half-written
    assert len(rundir.records()) == 7
    assert (rundir.path / ITEMS).read_bytes().endswith(b"\n")  # appends start on a fresh line
    again = CountingAsk(scope)
    execute(rundir, BENCH, again, parallel=1, scope=scope)
    assert len(again.asked) == 1 and len(rundir.records()) == 8


def test_cancel_keeps_finished_items_and_drops_the_ones_in_flight(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    ask = CountingAsk(scope, delay_s=0.05, block_item="q2")
    threading.Timer(1.0, scope.cancel_all).start()
    result = execute(rundir, BENCH, ask, parallel=2, scope=scope)
    ids = [r.item_id for r in rundir.records()]
    assert result.cancelled and "q2" not in ids and set(ids) <= {"q0", "q1", "q3"} and ids


def test_an_item_failure_stops_the_run_keeps_finished_items_and_is_raised(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    with pytest.raises(BackendError, match="went away"):
        execute(rundir, BENCH, CountingAsk(scope, fail_item="q2"), parallel=1, scope=scope)
    assert [r.item_id for r in rundir.records()] == ["q0", "q1"]


def test_resuming_a_run_that_does_not_exist_says_how_to_find_it(tmp_path):
    with pytest.raises(EvalRunError, match="No eval run 'nope'.*run id printed when it started"):
        EvalRunDir.open("nope", tmp_path)


def test_eval_records_go_to_the_session_log_with_links_to_their_runs(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    execute(rundir, BENCH, CountingAsk(scope), parallel=1, scope=scope)
    with open_store(tmp_path / "sessions.db") as store:
        record_eval_run(store, rundir.manifest, str(rundir.path))
        record_eval_run(store, rundir.manifest, str(rundir.path))  # a resume writes it again: harmless
        for record in rundir.records():
            record_eval_item(store, rundir.run_id, record.to_json())
        stored = eval_items(store, rundir.run_id)
        assert [s["item_id"] for s in stored] == [r.item_id for r in rundir.records()]
        links = eval_items_of_run(store, "run-budget-forcing:max=64:waits=0-q3")
        assert links == [{"eval_run_id": rundir.run_id, "setting": "budget-forcing:max=64:waits=0",
                          "item_id": "q3", "attempt": 0}]
        assert json.loads(next(store.db.query("select methods from eval_runs"))["methods"]) == ["budget-forcing"]


def test_a_shared_trajectory_links_its_run_to_every_setting_it_stands_for(tmp_path):
    rundir, scope = new_rundir(tmp_path), CancelScope()
    execute(rundir, BENCH, CountingAsk(scope), parallel=1, scope=scope)
    with open_store(tmp_path / "sessions.db") as store:
        record_eval_run(store, rundir.manifest, str(rundir.path))
        for record in rundir.records():  # one run for both budgets of each question, as a trajectory is
            record_eval_item(store, rundir.run_id, {**record.to_json(), "run_ids": [f"trajectory-{record.item_id}"]})
        links = eval_items_of_run(store, "trajectory-q1")
        assert [(link["setting"], link["item_id"]) for link in links] == [
            ("budget-forcing:max=16:waits=0", "q1"), ("budget-forcing:max=64:waits=0", "q1")]
        assert eval_items_of_run(store, "no-such-run") == []


def test_links_written_before_m007_are_kept_and_a_run_may_then_link_to_more_items(tmp_path):
    old = sqlite_utils.Database(tmp_path / "old.db")
    migrate(old, upto="m006_probes")
    old["eval_runs"].insert({"id": "e1", "bench": "arith", "methods": "[]", "model": "m", "backend": "llama.cpp",
                             "plan": "{}", "out_dir": "out", "created_at": "2026-01-01T00:00:00"})
    old["eval_item_runs"].insert({"run_id": "r1", "eval_run_id": "e1", "setting": "s16", "item_id": "q1", "attempt": 0})
    old.conn.close()
    with open_store(tmp_path / "old.db") as store:
        assert "m007_eval_item_runs_many_items" in applied_migrations(store.db)
        record_eval_item(store, "e1", {"setting": "s64", "item_id": "q1", "method": "budget-forcing", "extracted": "3",
                                       "correct": True, "thinking_tokens": 64, "forced_tokens": 3, "waits_inserted": 0,
                                       "answer_tokens": 4, "generated_tokens": 71, "wall_s": 0.1,
                                       "finished_at": "2026-01-01T00:00:00", "run_ids": ["r1"]})
        assert [link["setting"] for link in eval_items_of_run(store, "r1")] == ["s16", "s64"]
