"""A run repeats exactly: the same question, settings and seed give the same token ids, whatever
ran before it in the process or beside it in the same batch (on a batch-invariant build, which
the default build is: docs/reproducibility.md). Compared by the run's own token-id digest."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from build_support import portable_cpu_build_only

from s1app.budget import BudgetConfig
from s1app.run import Run
from s1app.session import Session

pytestmark = portable_cpu_build_only  # exact repeats alone and batched: a batch-invariant build

QUESTION = "Is 17 prime?"
SETTINGS = BudgetConfig(max_thinking_tokens=64, num_waits=2, max_answer_tokens=24)
OTHER_RUNS = [
    ("Name three colours of the rainbow and say something about each.", BudgetConfig(max_thinking_tokens=90)),
    ("What is 12*13?", BudgetConfig(max_thinking_tokens=40, num_waits=1, max_answer_tokens=16)),
]


def finished(model, question: str, config: BudgetConfig) -> Run:
    run = Session(model).ask(question, config).wait()
    assert run.finished is not None and run.error is None
    return run


def digest(model, question: str = QUESTION, config: BudgetConfig = SETTINGS) -> str:
    return finished(model, question, config).stats.token_ids_sha256


def test_the_default_build_is_batch_invariant(model):
    assert model.backend.batch_invariant, "scripts/llama_cpp_wheel.py builds with GGML_LLAMAFILE=OFF"


@pytest.mark.slow
def test_the_same_question_three_times_with_other_questions_between_gives_the_same_tokens(model):
    digests = [digest(model)]
    for question, config in OTHER_RUNS:
        finished(model, question, config)
    digests.append(digest(model))
    finished(model, *OTHER_RUNS[0])
    digests.append(digest(model))
    assert len(digests[0]) == 64 and digests == [digests[0]] * 3


@pytest.mark.slow
def test_runs_decoded_in_one_batch_give_the_tokens_they_give_alone(model):
    runs = [(QUESTION, SETTINGS), *OTHER_RUNS, ("Spell 'banana' backwards.", BudgetConfig(max_thinking_tokens=50))]
    alone = [digest(model, question, config) for question, config in runs]
    together: list[str | None] = [None] * len(runs)

    def worker(index: int) -> None:
        together[index] = digest(model, *runs[index])

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert together == alone
    assert len(set(alone)) == len(runs)


def test_seeded_sampling_repeats_after_other_runs_and_beside_them(model):
    sampled = BudgetConfig(max_thinking_tokens=48, temperature=1.0, seed=7, max_answer_tokens=16)
    first = digest(model, QUESTION, sampled)
    beside: list[str] = []
    other = threading.Thread(target=lambda: beside.append(digest(model, *OTHER_RUNS[0])))
    other.start()
    again = digest(model, QUESTION, sampled)
    other.join(300)
    assert again == first and beside
    assert digest(model, QUESTION, BudgetConfig(max_thinking_tokens=48, temperature=1.0, seed=8, max_answer_tokens=16)) != first


@pytest.mark.slow
def test_the_cli_in_a_fresh_process_gives_the_same_tokens_as_this_process(model):
    in_process = digest(model)
    command = [sys.executable, "-m", "s1app", "ask", QUESTION, "--max-thinking", "64", "--waits", "2",
               "--max-answer", "24", "--json", "--no-log"]
    printed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(printed.stdout)["stats"]["token_ids_sha256"] == in_process
