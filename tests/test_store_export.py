"""Search, export (JSONL, CSV, Markdown), import, the round trip, and the `s1app logs` commands."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from store_support import HandFed, scripted_run

from s1app.budget import BudgetConfig
from s1app.session import Session
from s1app.store import (
    count_runs,
    export_runs,
    get_run,
    import_runs,
    iter_runs,
    list_runs,
    open_store,
)

def record(store, events, conversation=None):
    recorder = HandFed(store, conversation)
    for event in events:
        recorder.record(event)
    assert recorder.error is None
    return recorder


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory, model):
    """A real engine run, a two-turn chat, an unfinished run and non-ASCII text (read, never changed)."""
    with open_store(tmp_path_factory.mktemp("filled") / "source.db") as store:
        recorder = HandFed(store)
        for event in Session(model).ask("What is 2+3?", BudgetConfig(max_thinking_tokens=24, max_answer_tokens=8)):
            recorder.record(event)
        chat = store.new_conversation(source="chat")
        record(store, scripted_run("Premier tour: combien font 2+3 ? 🐉"), chat)
        record(store, scripted_run("Second turn about dragons", probes=True), chat)
        unfinished = HandFed(store)
        for event in scripted_run("A run still streaming")[:6]:
            unfinished.record(event)
        yield store


def test_jsonl_export_then_import_into_an_empty_database_gives_equal_records(filled_store, tmp_path):
    exported = tmp_path / "runs.jsonl"
    assert export_runs(filled_store, exported) == 4
    with open_store(tmp_path / "empty.db") as target:
        report = import_runs(target, exported)
        assert (report.imported, report.skipped_existing) == (4, 0)
        assert list(iter_runs(target)) == list(iter_runs(filled_store))
        again = tmp_path / "again.jsonl"
        export_runs(target, again)
        assert again.read_bytes() == exported.read_bytes()
        assert import_runs(target, exported).skipped_existing == 4  # importing twice adds nothing
        assert list_runs(target, search="dragons")[0]["question"] == "Second turn about dragons"


def test_search_matches_question_thinking_and_answer_and_filters_export(filled_store):
    assert [r["question"] for r in list_runs(filled_store, search="dragons")] == ["Second turn about dragons"]
    assert count_runs(filled_store, search="think") == 3  # the scripted thinking
    assert count_runs(filled_store, search="Final Answer") == 3
    assert list_runs(filled_store, search='2+3 "unbalanced') == []  # odd input is text, not syntax
    out = io.StringIO()
    assert export_runs(filled_store, out, "jsonl", search="combien") == 1
    assert json.loads(out.getvalue())["conversation"]["source"] == "chat"


def test_csv_and_markdown_exports_mark_what_the_engine_forced(filled_store):
    out = io.StringIO()
    assert export_runs(filled_store, out, "csv") == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 4 and rows[1]["question"].startswith("Premier tour")
    assert [i["kind"] for i in json.loads(rows[1]["interventions"])] == ["wait", "cap", "final-answer"]
    out = io.StringIO()
    export_runs(filled_store, out, "md", search="Second turn")
    assert "think ⟦Wait⟧think" in out.getvalue() and "⟦Final Answer:⟧ 5" in out.getvalue()


@pytest.mark.slow
def test_exporting_ten_thousand_runs_streams_one_run_at_a_time(tmp_path):
    template = next(iter_runs_of(scripted_run("Template", thinking_pieces=200, piece="reasoning "), tmp_path))
    source = tmp_path / "10k.jsonl"
    with source.open("w") as handle:
        for n in range(10_000):
            handle.write(json.dumps({**template, "id": f"run-{n:05d}", "question": f"Question {n}"}) + "\n")
    with open_store(tmp_path / "big.db") as store:
        assert import_runs(store, source).imported == 10_000
        out = tmp_path / "export.jsonl"
        tracemalloc.start()
        try:
            assert export_runs(store, out) == 10_000
            _, peak_bytes = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Streaming: memory held at the peak is a small fraction of what was written.
    assert peak_bytes < out.stat().st_size / 20
    assert out.read_bytes() == source.read_bytes()


def iter_runs_of(events, tmp_path):
    with open_store(tmp_path / "template.db") as store:
        record(store, events)
        yield from iter_runs(store)


def logs(s1app, *args: str, db: Path) -> subprocess.CompletedProcess:
    """``s1app logs ARGS --db DB`` through the entry point (the ``s1app`` fixture)."""
    return s1app("logs", *args, "--db", str(db))


def test_logs_commands_list_show_export_and_import(filled_store, tmp_path, s1app):
    db = filled_store.path
    listed = logs(s1app, "list", "--limit", "2", db=db)
    assert listed.returncode == 0 and "A run still streaming" in listed.stdout and "What is 2+3?" not in listed.stdout
    assert "Second turn" in logs(s1app, "list", "--search", "dragons", db=db).stdout
    run_id = next(r["id"] for r in list_runs(filled_store, search="dragons"))
    shown = logs(s1app, "show", run_id[:10], db=db)
    assert shown.returncode == 0 and "⟦Wait⟧" in shown.stdout and "⟦Final Answer:⟧" in shown.stdout
    out = tmp_path / "all.md"
    assert logs(s1app, "export", "--format", "md", "--out", str(out), db=db).returncode == 0
    assert out.read_text().count("\n## ") == 4
    jsonl = logs(s1app, "export", "--search", "dragons", db=db)
    (tmp_path / "one.jsonl").write_text(jsonl.stdout)
    imported = logs(s1app, "import", str(tmp_path / "one.jsonl"), db=tmp_path / "fresh.db")
    assert imported.returncode == 0 and "Imported 1 run(s)" in imported.stdout
    with open_store(tmp_path / "fresh.db") as fresh:
        assert get_run(fresh, run_id) == get_run(filled_store, run_id)


def test_logs_commands_report_mistakes_in_one_line(filled_store, tmp_path, s1app):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n')
    failed = logs(s1app, "import", str(bad), db=filled_store.path)
    assert failed.returncode == 2 and "line 1" in failed.stderr and "line 2" in failed.stderr
    assert "Traceback" not in failed.stderr
    missing = logs(s1app, "show", "no-such-run", db=filled_store.path)
    assert missing.returncode == 2 and "No run 'no-such-run'" in " ".join(missing.stderr.split())
