"""Answer probes in the session log: recorded with their run, read back, exported, imported, kept
private, and added to old databases by a migration."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest
import sqlite_utils
from store_support import HandFed, scripted_run

from s1app.budget import BudgetConfig
from s1app.errors import StoreError
from s1app.events import AnswerProbed
from s1app.probes import ProbeSettings
from s1app.run import probe_json
from s1app.session import Session
from s1app.store import (
    RunLog,
    count_runs,
    export_runs,
    get_run,
    import_runs,
    iter_runs,
    open_store,
)
from s1app.store.migrations import applied_migrations, migrate
from s1app.store.probe_records import PROBE_FIELDS

PROBED = BudgetConfig(max_thinking_tokens=64, max_answer_tokens=16, probes=ProbeSettings(every=16, tokens=16))
PRIVATE_LABEL = "gpqa-rec0 (private benchmark: text not logged)"
MISSING = object()


@pytest.fixture(scope="module")
def probed(tmp_path_factory, model):
    """A real store file holding a real probed run, and the same run recorded as a private item's."""
    path = tmp_path_factory.mktemp("probed") / "sessions.db"
    with open_store(path) as store:
        log = RunLog(store)
        public = Session(model).ask("What is 2+3?", PROBED, log=log).wait()
        private = Session(model).ask("What is 2+3?", PROBED)
        log.attach(private, private_label=PRIVATE_LABEL)
        private.wait()
        yield store, public, private


def probe_rows_in_file(path, run_id):
    with sqlite3.connect(path) as conn:
        return conn.execute("select seq, text, extracted from probes where run_id = ? order by seq", [run_id]).fetchall()


@pytest.mark.slow
def test_a_probed_run_s_stored_probes_equal_the_live_run_s(probed):
    store, run, _ = probed
    assert len(run.probes) >= 3 and all(p.text for p in run.probes)
    record = get_run(store, run.run_id)
    assert record["probes"] == run.to_json()["probes"]
    assert [p["thinking_tokens"] for p in record["probes"]] == [16 * n for n in range(1, len(run.probes) + 1)]
    assert [seq for seq, _, _ in probe_rows_in_file(store.path, run.run_id)] == list(range(len(run.probes)))
    assert PROBE_FIELDS == tuple(probe_json(run.probes[0]))


def test_probes_survive_a_jsonl_export_and_import_into_a_fresh_store(probed, tmp_path):
    store, run, _ = probed
    exported = tmp_path / "runs.jsonl"
    assert export_runs(store, exported) == 2
    with open_store(tmp_path / "fresh.db") as fresh:
        assert import_runs(fresh, exported).imported == 2
        assert get_run(fresh, run.run_id)["probes"] == run.to_json()["probes"]
        assert list(iter_runs(fresh)) == list(iter_runs(store))


def test_a_private_run_s_probes_keep_their_numbers_but_no_text_nor_answer(probed):
    store, _, private = probed
    record = get_run(store, private.run_id)
    assert record["question"] == PRIVATE_LABEL and len(record["probes"]) == len(private.probes) >= 3
    assert {(p["text"], p["extracted"]) for p in record["probes"]} == {("", None)}
    assert any(p.extracted for p in private.probes)  # there was an answer to leave out
    numbers = [key for key in PROBE_FIELDS if key not in ("text", "extracted")]
    assert [[p[key] for key in numbers] for p in record["probes"]] == \
        [[p[key] for key in numbers] for p in private.to_json()["probes"]]
    assert {(text, extracted) for _, text, extracted in probe_rows_in_file(store.path, private.run_id)} == {("", None)}


def test_csv_counts_the_probes_and_markdown_lists_them_under_the_run(probed):
    store, run, _ = probed
    out = io.StringIO()
    export_runs(store, out, "csv")
    row = next(r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["id"] == run.run_id)
    assert int(row["probe_count"]) == len(run.probes)
    assert json.loads(row["probe_answers"]) == [
        {"thinking_tokens": p.position_tokens, "kind": p.kind, "extracted": p.extracted, "confidence": p.confidence}
        for p in run.probes]
    out = io.StringIO()
    export_runs(store, out, "md")
    first = run.probes[0]
    assert "**Probes**" in out.getvalue()
    assert f"| 16 | budget | 0 | {first.extracted or '—'} | {first.confidence:.2f} |" in out.getvalue()


def test_a_probe_is_written_when_it_arrives_and_kept_by_an_unfinished_run(tmp_path):
    events = scripted_run(probes=True)
    first_probe = next(i for i, event in enumerate(events) if isinstance(event, AnswerProbed))
    with open_store(tmp_path / "sessions.db") as store:
        fed = HandFed(store)
        for event in events[:first_probe + 1]:
            fed.record(event)
        assert [p["kind"] for p in get_run(store, fed.run_id)["probes"]] == ["stop"]
        fed.close()  # the stream ends before RunFinished
        record = get_run(store, fed.run_id)
        assert record["status"] == "interrupted"
        assert record["probes"] == fed.fold.to_json()["probes"]


def test_an_old_database_upgrades_in_place_and_gets_the_probes_table(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    migrate(old, upto="m005_eval_items")
    old["runs"].insert({"id": "old-run", "question": "From before probes", "status": "finished",
                        "started_at": "2026-01-01T00:00:00.000+00:00"})
    assert "probes" not in old.table_names()
    old.conn.close()
    with open_store(path) as store:
        assert "m006_probes" in applied_migrations(store.db) and "probes" in store.db.table_names()
        assert get_run(store, "old-run")["probes"] == []
        plan = " ".join(str(row) for row in store.conn.execute(
            "explain query plan select * from probes where run_id = ? order by seq", ["old-run"]))
        assert "USING INDEX" in plan and "run_id=?" in plan
        fed = HandFed(store)
        for event in scripted_run(probes=True):
            fed.record(event)
        assert fed.error is None and len(get_run(store, fed.run_id)["probes"]) == 2


def scripted_record(tmp_path):
    with open_store(tmp_path / "source.db") as store:
        fed = HandFed(store)
        for event in scripted_run(probes=True):
            fed.record(event)
        return get_run(store, fed.run_id)


def test_an_export_from_before_probes_imports_with_no_probes(tmp_path):
    record = scripted_record(tmp_path)
    del record["probes"]
    source = tmp_path / "old.jsonl"
    source.write_text(json.dumps(record) + "\n")
    with open_store(tmp_path / "target.db") as target:
        assert import_runs(target, source).imported == 1
        assert get_run(target, record["id"])["probes"] == []


@pytest.mark.parametrize(("change", "message"), [
    ({"confidence": "high"}, "probes[1]: 'confidence' must be a number from 0 to 1"),
    ({"confidence": 1.5}, "probes[1]: 'confidence' must be a number from 0 to 1"),
    ({"kind": "guess"}, "probes[1]: 'kind' must be one of budget, stop"),
    ({"thinking_tokens": -1}, "probes[1]: 'thinking_tokens' must be a whole number"),
    ({"answer_tokens": True}, "probes[1]: 'answer_tokens' must be a whole number"),
    ({"text": None}, "probes[1]: 'text' must be a string"),
    ({"extracted": 5}, "probes[1]: 'extracted' must be a string or null"),
    ({"seconds": None}, "probes[1]: 'seconds' must be a number"),
    ({"seconds": MISSING}, "probes[1]: 'seconds' is missing"),
])
def test_a_malformed_probe_in_an_import_file_names_the_line_and_field_and_imports_nothing(tmp_path, change, message):
    record = scripted_record(tmp_path)
    bad = json.loads(json.dumps(record))
    bad["id"] = "bad-run"
    for key, value in change.items():
        if value is MISSING:
            del bad["probes"][1][key]
        else:
            bad["probes"][1][key] = value
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps(record) + "\n" + json.dumps(bad) + "\n")
    with open_store(tmp_path / "target.db") as target:
        with pytest.raises(StoreError, match=r"1 malformed line.*line 2: " + re.escape(message)):
            import_runs(target, source)
        assert count_runs(target) == 0


def test_probes_that_are_not_a_list_are_refused(tmp_path):
    record = {**scripted_record(tmp_path), "probes": {"thinking_tokens": 16}}
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps(record) + "\n")
    with open_store(tmp_path / "target.db") as target, pytest.raises(StoreError, match="line 1: 'probes' must be a list"):
        import_runs(target, source)
