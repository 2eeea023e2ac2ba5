"""The Run is the hub: the engine folds each event into one Run, and every reader reads that Run.

`s1app ask` here runs in-process on the real embedded model, with `Run.add` (the fold) counted
per Run: a second fold anywhere (a view, the recorder, the JSON writer) would show as a second
Run receiving the same events.
"""

from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from s1app.cli import app
from s1app.events import RunFinished
from s1app.run import Run
from s1app.store import get_run, open_store


def test_s1app_ask_folds_each_event_once_and_the_json_and_log_read_that_run(monkeypatch, tmp_path):
    folded: list[tuple[int, object]] = []
    real_add = Run.add

    def counted_add(self, event):
        folded.append((id(self), event))
        real_add(self, event)

    monkeypatch.setattr(Run, "add", counted_add)
    db = tmp_path / "sessions.db"
    result = CliRunner().invoke(app, ["ask", "What is 2+3?", "--max-thinking", "16", "--max-answer", "8",
                                      "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    runs = Counter(run_id for run_id, _ in folded)
    assert len(runs) == 1, "one Run folded the events: no view, recorder or writer folded them again"
    events = [event for _, event in folded]
    assert len({id(event) for event in events}) == len(events), "each event folded once"
    assert isinstance(events[-1], RunFinished) and sum(isinstance(e, RunFinished) for e in events) == 1
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    with open_store(db) as store:
        logged = get_run(store, shown["run_id"])
    assert logged["thinking"] == shown["thinking"] and logged["thinking_tokens"] == shown["stats"]["thinking_tokens"]
    assert shown["stats"]["thinking_tokens"] <= 16


def test_a_recorded_run_read_again_gives_the_same_text_and_counts(model):
    from s1app.budget import BudgetConfig
    from s1app.session import Session

    events: list = []
    live = Session(model).ask("What is 2+3?", BudgetConfig(max_thinking_tokens=16, num_waits=1, max_answer_tokens=8))
    live.subscribe(events.append)
    live.wait()
    again = Run(events).wait()
    assert (again.thinking, again.answer, again.interventions) == (live.thinking, live.answer, live.interventions)
    assert (again.stats.thinking_tokens, again.stats.forced_tokens, again.stats.token_ids_sha256) == \
        (live.stats.thinking_tokens, live.stats.forced_tokens, live.stats.token_ids_sha256)
