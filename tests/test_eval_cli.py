"""`s1app eval` as a person runs it on the embedded model: through its entry point (the ``s1app``
fixture), and as real subprocesses interrupted, killed and resumed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s1app.budget import BudgetConfig
from s1app.session import Session

S1APP = [sys.executable, "-m", "s1app"]
FIVE_GSM8K = ["eval", "--bench", "gsm8k", "--limit", "5", "--method", "budget-forcing", "--budgets", "16,64",
              "--max-answer", "16", "--parallel", "2"]
COMPARED = ("thinking_tokens", "forced_tokens", "waits_inserted", "answer_tokens", "generated_tokens", "extracted",
            "correct")


def run_folder(out: Path) -> Path:
    (folder,) = [path for path in out.iterdir() if path.is_dir()]
    return folder


def records(folder: Path) -> dict[tuple[str, str], dict]:
    lines = (folder / "items.jsonl").read_text().splitlines()
    return {(r["setting"], r["item_id"]): {k: r[k] for k in COMPARED} for r in map(json.loads, lines)}


def summary_numbers(folder: Path) -> list:
    methods = json.loads((folder / "summary.json").read_text())["methods"]
    timing = ("seconds_per_correct",)
    return [{**m, "points": [{k: v for k, v in p.items() if k not in timing} for p in m["points"]]} for m in methods]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*S1APP, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_records(folder_parent: Path, at_least: int, process: subprocess.Popen, timeout_s: float = 600) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = list(folder_parent.glob("*/items.jsonl"))
        count = len(items[0].read_text().splitlines()) if items else 0
        if count >= at_least:
            return count
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError(f"fewer than {at_least} items after {timeout_s} s")


@pytest.mark.slow
@pytest.mark.timeout(2400)  # about a minute on a quiet 2-core machine; generous for a busy one
def test_an_eval_interrupted_and_killed_then_resumed_ends_with_the_same_numbers(tmp_path, s1app):
    # the uninterrupted eval and the last resume run in this process; the stops need processes
    whole = s1app(*FIVE_GSM8K, "--out", str(tmp_path / "whole"), "--db", str(tmp_path / "whole.db"))
    assert whole.returncode == 0, whole.stderr
    assert "budget-forcing" in whole.stdout and "Control %" in whole.stdout
    expected = run_folder(tmp_path / "whole")
    assert len(records(expected)) == 10 and (expected / "accuracy_vs_thinking.png").stat().st_size > 0

    out, db = tmp_path / "broken", str(tmp_path / "broken.db")
    first = start(*FIVE_GSM8K, "--out", str(out), "--db", db)
    wait_for_records(out, 2, first)
    first.send_signal(signal.SIGINT)  # Ctrl-C: the runs in flight stop, finished items stay
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 130 and "Traceback" not in stderr and "s1app eval --resume" in stderr
    folder = run_folder(out)
    kept = len(records(folder))
    assert 2 <= kept < 10

    second = start("eval", "--resume", folder.name, "--out", str(out), "--db", db)
    wait_for_records(out, kept + 2, second)
    second.kill()  # SIGKILL: no chance to clean up
    second.wait(timeout=60)
    assert len(records(folder)) >= kept + 2

    last = s1app("eval", "--resume", folder.name, "--out", str(out), "--db", db)
    assert last.returncode == 0, last.stderr
    assert records(folder) == records(expected)
    assert summary_numbers(folder) == summary_numbers(expected)


def test_eval_records_land_in_the_session_log_linked_to_their_runs(tmp_path, s1app):
    db = tmp_path / "sessions.db"
    result = s1app("eval", "--bench", "gsm8k", "--limit", "2", "--method", "bf", "--budgets", "8", "--max-answer",
                   "8", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert run_folder(tmp_path / "evals")  # default folder: next to the session log
    from s1app.store import open_store

    with open_store(db) as store:
        rows = list(store.db.query(
            "select i.item_id, r.question, r.status from eval_items i join eval_item_runs l using "
            "(eval_run_id, setting, item_id) join runs r on r.id = l.run_id order by i.item_id"))
    assert [(row["item_id"], row["status"]) for row in rows] == [("gsm8k-0000", "finished"), ("gsm8k-0001", "finished")]
    assert rows[0]["question"].startswith("Janet")


def test_no_log_writes_nothing_to_the_session_log(tmp_path, s1app):
    db = tmp_path / "sessions.db"
    result = s1app("eval", "--bench", "gsm8k", "--limit", "1", "--method", "bf", "--budgets", "0", "--max-answer",
                   "4", "--db", str(db), "--out", str(tmp_path / "out"), "--no-log")
    assert result.returncode == 0, result.stderr
    assert not db.exists() and len(records(run_folder(tmp_path / "out"))) == 1


@pytest.mark.parametrize(("args", "phrase"), [
    (["--bench", "mmlu", "--method", "bf"], "Unknown benchmark 'mmlu'"),
    (["--bench", "gsm8k", "--method", "bf", "--budgets", "16,1.5"], "'1.5' is not one"),
    (["--bench", "gsm8k", "--method", "beam"], "Unknown method 'beam'"),
    (["--bench", "gsm8k"], "--method"),
    (["--resume", "20990101-000000-gsm8k-abcdef"], "No eval run '20990101-000000-gsm8k-abcdef'"),
    (["--resume", "x", "--budgets", "64"], "leave out --budgets"),
])
def test_bad_input_gets_a_clear_error_and_no_traceback(tmp_path, args, phrase, s1app):
    result = s1app("eval", *args, "--out", str(tmp_path), "--no-log")
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in output and phrase in output, output
    assert not any(tmp_path.iterdir())  # a mistake creates no run folder


def test_a_jsonl_without_the_fields_is_a_clear_error(tmp_path, s1app):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"prompt": "2+2?", "target": "4"}\n')
    result = s1app("eval", "--bench", str(path), "--method", "bf", "--out", str(tmp_path / "out"), "--no-log")
    assert result.returncode == 2 and 'must be a JSON object with "question" and "answer"' in result.stderr


def test_a_command_after_an_eval_in_the_same_process_runs_on_the_same_loaded_model(tmp_path, s1app, model):
    # The eval closed its backend as it ended, and the process's loaded-model cache handed the
    # closed one to the next caller: a SIGSEGV. It now closes it only as the process exits.
    evaluated = s1app("eval", "--bench", "gsm8k", "--limit", "1", "--method", "bf", "--budgets", "0", "--max-answer",
                      "4", "--out", str(tmp_path), "--no-log")
    assert evaluated.returncode == 0, evaluated.stderr
    asked = s1app("ask", "What is 2+3?", "--max-thinking", "8", "--max-answer", "4", "--json", "--no-log")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["answer"]
    assert Session(model).ask("What is 2+3?", BudgetConfig(max_thinking_tokens=4, max_answer_tokens=2)).wait().answer
