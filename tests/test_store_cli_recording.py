"""`s1app ask` and `s1app chat` record every run by default; --no-log turns it off."""

from __future__ import annotations

from typer.testing import CliRunner

from s1app.cli import app
from s1app.store import get_run, list_runs, open_store

SMALL_BUDGET = ["--max-thinking", "8", "--max-answer", "4"]


def test_ask_records_the_run_by_default_and_not_with_no_log(model, tmp_path):
    db = str(tmp_path / "sessions.db")
    runner = CliRunner()
    for extra in ([], ["--no-log"]):
        result = runner.invoke(app, ["ask", "What is 2+3?", *SMALL_BUDGET, "--json", "--db", db, *extra])
        assert result.exit_code == 0, result.output
    with open_store(db) as store:
        runs = list_runs(store)
    assert len(runs) == 1 and runs[0]["status"] == "finished"


def test_chat_records_one_conversation_with_a_run_per_turn(model, tmp_path):
    db = str(tmp_path / "sessions.db")
    result = CliRunner().invoke(app, ["chat", *SMALL_BUDGET, "--db", db], input="What is 2+3?\nAnd 3+4?\n/quit\n")
    assert result.exit_code == 0, result.output
    with open_store(db) as store:
        runs = sorted(list_runs(store), key=lambda run: run["turn"])
        assert [run["question"] for run in runs] == ["What is 2+3?", "And 3+4?"]
        assert len({run["conversation_id"] for run in runs}) == 1 and store.db["conversations"].count == 1
        assert get_run(store, runs[1]["id"])["conversation"]["source"] == "chat"
