"""The `s1app` command as a person runs it, on the embedded model: its entry point in this process
(the ``s1app`` fixture, conftest.py), and real subprocesses where the process itself is under test
(the console script and ``python -m``, Ctrl-C, a closed pipe, an offline hub read at import)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

S1APP = [sys.executable, "-m", "s1app"]


def assert_clear_error(result: subprocess.CompletedProcess, *phrases: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    for phrase in phrases:
        assert phrase in output, output


def test_ask_json_prints_the_stable_contract(s1app):
    result = s1app("ask", "What is 2+3?", "--max-thinking", "48", "--waits", "1", "--max-answer", "16", "--json", "--no-log")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert {"question", "settings", "thinking", "answer", "interventions", "stats"} <= set(record)
    stats = record["stats"]
    for key in ("thinking_tokens", "forced_tokens", "waits_inserted", "answer_tokens", "stop_reason",
                "time_to_first_token_s", "tokens_per_s", "wall_s"):
        assert key in stats
    assert stats["thinking_tokens"] <= 48
    assert record["settings"]["max_thinking_tokens"] == 48 and record["settings"]["num_waits"] == 1
    assert record["question"] == "What is 2+3?" and record["answer"]
    assert all({"kind", "position_tokens", "text"} <= set(i) for i in record["interventions"])


def test_ask_probe_every_prints_a_line_per_probe_and_json_gains_probes(s1app):
    shown = s1app("ask", "What is 2+3?", "--max-thinking", "48", "--max-answer", "8", "--probe-every", "16",
                  "--probe-tokens", "8", "--no-log")
    assert shown.returncode == 0, shown.stderr
    assert [line.split("@")[1].split("tokens")[0].strip() for line in shown.stderr.splitlines()
            if line.lstrip().startswith("probe")] == ["16", "32"]
    record = json.loads(s1app("ask", "What is 2+3?", "--max-thinking", "48", "--max-answer", "8", "--probe-every", "16",
                              "--probe-tokens", "8", "--json", "--no-log").stdout)
    assert [p["thinking_tokens"] for p in record["probes"]] == [16, 32]
    assert all({"thinking_tokens", "text", "extracted", "confidence"} <= set(p) for p in record["probes"])


def test_ask_streams_thinking_and_answer_with_a_status_line(s1app):
    result = s1app("ask", "What is 2+3?", "--max-thinking", "24", "--max-answer", "8", "--no-log")
    assert result.returncode == 0, result.stderr
    assert "Thinking" in result.stdout and "Answer:" in result.stdout and "[Final Answer:]" in result.stdout
    assert "thinking 24 tokens" in result.stderr and "tok/s" in result.stderr


def test_models_lists_the_registry(s1app):
    result = s1app("models")
    assert result.returncode == 0
    assert "smollm2-135m" in result.stdout and "s1.1-32b" in result.stdout


@pytest.mark.slow
def test_the_console_script_and_python_dash_m_run_the_same_command():
    for command in ([str(Path(sys.executable).with_name("s1app"))], S1APP):
        result = subprocess.run([*command, "models"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "smollm2-135m" in result.stdout, result.stderr


@pytest.mark.parametrize(
    "args, phrases",
    [
        (["ask", "   "], ["question is empty"]),
        (["ask", "Hi", "--max-thinking", "-5"], ["max_thinking_tokens must be at least 0"]),
        (["ask", "Hi", "--max-thinking", "ten"], ["Invalid value for '--max-thinking'"]),
        (["ask", "Hi", "--max-thinking", "10", "--min-thinking", "20"], ["above max_thinking_tokens"]),
        (["ask", "Hi", "--model", "no-such-model"], ["Unknown model 'no-such-model'", "s1app models"]),
        (["ask", "Hi", "--format", "tags"], ["Unknown reasoning format"]),
        (["ask", "Hi", "--backend", "tpu"], ["Unknown backend 'tpu'"]),
        (["ask", "Hi", "--probe-every", "0"], ["--probe-every must be at least 1"]),
        (["ask", "Hi", "--stop-when-stable", "1"], ["--stop-when-stable needs at least 2"]),
        (["ask", "Hi", "--stop-when-confident", "0"], ["above 0 and at most 1"]),
        (["ask", "Hi", "--stop-when-confident", "1.01"], ["above 0 and at most 1"]),
        (["ask", "Hi", "--suppress", "Wait,,Hmm"], ["suppress list", "empty word"]),
        (["ask", "Hi", "--max-thinking", "0", "--landing", "Okay."], ["landing text cannot fit a thinking budget of 0"]),
    ],
)
def test_bad_input_gets_a_clear_error_and_no_traceback_before_any_model_loads(args, phrases, tmp_path, s1app):
    # A registry whose default model file does not exist: loading anything would fail with
    # "does not exist", so seeing the validation message proves the input was checked first.
    (tmp_path / "models.toml").write_text('[models.absent]\nsource = "absent.gguf"\ndefault = true\n')
    result = s1app(*args, "--no-log", env={"S1APP_MODELS_DIR": str(tmp_path)})
    assert_clear_error(result, *phrases)
    assert "does not exist" not in result.stderr


def test_ask_lands_a_capped_run_and_suppresses_words_while_thinking(s1app):
    landing = " Time is up."
    result = s1app("ask", "What is 2+3?", "--max-thinking", "24", "--min-thinking", "24", "--max-answer", "8",
                   "--landing", landing, "--suppress", "nowait,the", "--json", "--no-log")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["settings"]["landing"] == landing and record["settings"]["suppress"] == ["nowait", "the"]
    assert record["thinking"].endswith(landing) and record["stats"]["thinking_tokens"] <= 24
    assert "landing" in [i["kind"] for i in record["interventions"]]


@pytest.mark.parametrize(
    "args, phrases",
    [
        (["--max-thinking", "4", "--landing", "Okay, time is up. Let me give the final answer."],
         ["landing text is", "tokens but the thinking budget is 4"]),
        (["--suppress", "double-check"], ["'double-check' is several tokens in every spelling"]),
    ],
)
def test_a_landing_or_suppress_word_that_cannot_work_in_this_model_is_a_clear_error(args, phrases, s1app):
    assert_clear_error(s1app("ask", "Hi", *args, "--no-log"), *phrases)


def test_a_file_that_is_not_a_gguf_is_refused(tmp_path, s1app):
    fake = tmp_path / "model.gguf"
    fake.write_text("this is not a model")
    assert_clear_error(s1app("ask", "Hi", "--model", str(fake), "--no-log"), "is not a GGUF model")


def test_a_prompt_longer_than_the_context_is_a_clear_error(s1app):
    question = "Why? " * 9000
    assert_clear_error(s1app("ask", question, "--no-log"), "shorten the question")


def test_offline_hub_model_says_what_to_download_and_where(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    result = subprocess.run([*S1APP, "ask", "Hi", "--model", "hf:bartowski/simplescaling_s1.1-32B-GGUF/x.gguf", "--no-log"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert_clear_error(result, "offline", "https://huggingface.co/bartowski/simplescaling_s1.1-32B-GGUF/resolve/main/x.gguf", "models")


def communicate_or_dump_stacks(process: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """communicate(); if the command has not exited by then, fail with every thread's stack
    (s1app prints them on SIGUSR1) instead of a bare timeout."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"s1app did not exit {timeout:.0f} s after Ctrl-C; its threads:\n{stderr}")


def thinking_tokens_logged(log) -> int:
    if not log.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{log}?mode=ro", uri=True) as reader:
            row = reader.execute("select thinking_tokens from runs").fetchone()
    except sqlite3.OperationalError:
        return 0  # still being created
    return (row[0] or 0) if row else 0


def test_ctrl_c_mid_stream_keeps_the_partial_run_and_exits_cleanly(tmp_path):
    log = tmp_path / "sessions.db"
    # --min-thinking: the model cannot end thinking before the Ctrl-C, whatever it would write.
    process = subprocess.Popen([*S1APP, "ask", "Write a long story about a dragon.", "--max-thinking", "4000",
                                "--min-thinking", "4000", "--no-loop-detect", "--json", "--db", str(log)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # the run is thinking once its log row counts thinking tokens
    while time.monotonic() < deadline and process.poll() is None and thinking_tokens_logged(log) < 10:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = communicate_or_dump_stacks(process, timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Cancelled" in stderr
    record = json.loads(stdout)
    assert record["status"] == "cancelled" and record["stats"]["stop_reason"] == "cancelled"
    assert record["stats"]["thinking_tokens"] > 0 and record["thinking"]


@pytest.mark.slow
def test_a_run_cut_short_by_a_closed_pipe_is_cancelled_and_logged_with_its_text_not_left_running(tmp_path):
    log = tmp_path / "sessions.db"
    process = subprocess.Popen([*S1APP, "ask", "Write a long story about a dragon.", "--max-thinking", "2000",
                                "--min-thinking", "2000", "--no-loop-detect", "--db", str(log)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.read(300), "some thinking arrived"
    process.stdout.close()  # the reader goes away, as `s1app ask ... | head -c 300` does
    _, stderr = process.communicate(timeout=300)
    with sqlite3.connect(log) as raw:  # raw: open_store would itself mark a dead writer's run
        status, thinking = raw.execute("select status, thinking from runs").fetchone()
    assert status == "cancelled" and thinking
    assert b"Traceback" not in stderr
