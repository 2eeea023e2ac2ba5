"""The OpenAI-compatible backend against a real `vllm serve` (CPU build, .venv-vllm) on 127.0.0.1:
the embedded model served as "smollm2", its tokenizer named apart with --tokenizer. Cap, Waits and
cancel hold over HTTP, and greedy runs give the same tokens as the in-process vLLM backend.

One server per test module, started after the in-process vLLM report (tests/vllm_runs.py) is
done, so only one vLLM engine is up at a time. Slow: vLLM starts in ~30-70 s here.
"""

from __future__ import annotations

import threading

import pytest
from llama_server import embedded_gguf
from parity_cases import CASES, QUESTION, control_problems
from vllm_runs import vllm_python, vllm_results
from vllm_serve import vllm_server

from s1app.backends import BackendOptions, create_backend
from s1app.budget import BudgetConfig
from s1app.errors import BackendError
from s1app.events import ThinkingDelta
from s1app.loading import load_model
from s1app.session import Session

# one setup holds the in-process report (<= 540 s) and the server's start (<= 300 s)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SERVED_NAME = "smollm2"


@pytest.fixture(scope="module")
def in_process():
    return vllm_results()


@pytest.fixture(scope="module")
def served(in_process, tmp_path_factory):
    """(base URL, the converted folder, the loaded model, the parity runs), the parity runs made
    first on a fresh server as the in-process report makes them first on a fresh engine."""
    folder = in_process["folder"]  # the weights the in-process engine ran: the same folder, converted once
    with vllm_server(vllm_python(), folder, SERVED_NAME, tmp_path_factory.mktemp("vllm-serve") / "server.log") as base_url:
        loaded = load_model(SERVED_NAME, backend="openai", format="prompted",
                            options=BackendOptions(base_url=base_url, tokenizer=folder))
        parity = [Session(loaded).ask(QUESTION, config).wait() for config in CASES]
        yield base_url, folder, loaded, parity
        loaded.backend.close()


def test_the_served_name_and_the_tokenizer_are_given_apart(served):
    _, folder, loaded, _ = served
    backend = loaded.backend
    assert (backend.dialect, backend.served_model, backend.info.token_counts) == ("vllm", SERVED_NAME, "exact")
    assert backend.tokenizer.source == f"transformers tokenizer of {folder}"
    assert backend.info.context_length == 2048
    assert "<|im_start|>" in (backend.chat_template() or "")


def test_without_tokenizer_a_served_name_that_is_no_model_says_to_pass_tokenizer(served):
    base_url = served[0]
    with pytest.raises(BackendError, match="Pass --tokenizer"):
        create_backend("openai", SERVED_NAME, SERVED_NAME, BackendOptions(base_url=base_url))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_vllm_serve_gives_the_in_process_vllm_tokens(served, in_process, case):
    finished = served[3][case]
    local = in_process["parity"][case]
    assert finished.error is None and local["error"] is None
    assert control_problems(CASES[case], finished.stats) == []
    assert finished.stats.token_ids_sha256 == local["stats"]["token_ids_sha256"]
    for field in ("thinking_tokens", "waits_inserted", "answer_tokens", "forced_tokens", "stop_reason"):
        assert getattr(finished.stats, field) == local["stats"][field], field


def test_the_cap_holds_over_http_and_the_answer_follows(served):
    # min = max: the model's own end of thinking is answered with a Wait until the cap ends it
    config = BudgetConfig(max_thinking_tokens=8, min_thinking_tokens=8, max_answer_tokens=16)
    finished = Session(served[2]).ask(QUESTION, config).wait()
    assert finished.stats.thinking_tokens == 8
    assert finished.stats.thinking_end_reason == "budget"
    assert finished.stats.answer_tokens > 0


def test_two_waits_extend_thinking_over_http(served):
    config = BudgetConfig(max_thinking_tokens=400, num_waits=2, max_answer_tokens=16)
    run = Session(served[2]).ask(QUESTION, config).wait()
    thinking = run.thinking
    assert run.stats.waits_inserted == 2
    assert thinking.count("Wait") >= 2


def test_cancel_mid_stream_over_http_keeps_the_partial_run(served):
    cancel = threading.Event()
    deltas = 0
    last = Session(served[2]).ask(QUESTION, BudgetConfig(max_thinking_tokens=400, min_thinking_tokens=300), cancel=cancel)
    for event in last:
        if isinstance(event, ThinkingDelta):
            deltas += 1
            if deltas == 5:
                cancel.set()
    assert last.stats.stop_reason == "cancelled"
    assert 5 <= last.stats.thinking_tokens < 300


def test_s1app_ask_reaches_the_served_name_with_the_gguf_as_tokenizer(served, s1app):
    result = s1app("ask", QUESTION, "--backend", "openai", "--model", SERVED_NAME, "--tokenizer", embedded_gguf(),
                   "--base-url", served[0], "--format", "prompted", "--max-thinking", "16", "--waits", "1",
                   "--max-answer", "16", "--no-log")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip()


def test_a_models_toml_entry_names_the_served_model_and_its_tokenizer(served, tmp_path, monkeypatch):
    gguf = embedded_gguf()  # before the registry is swapped for the test's
    monkeypatch.setenv("S1APP_MODELS_DIR", str(tmp_path))
    (tmp_path / "models.toml").write_text(f'[models.remote]\nsource = "{SERVED_NAME}"\nbackend = "openai"\n'
                                          f'format = "prompted"\ntokenizer = "{gguf}"\n')
    loaded = load_model("remote", options=BackendOptions(base_url=served[0]))
    try:
        finished = Session(loaded).ask(QUESTION, BudgetConfig(max_thinking_tokens=8, max_answer_tokens=8)).wait()
    finally:
        loaded.backend.close()
    assert loaded.backend.tokenizer.source.startswith("llama.cpp vocab of")
    assert finished.error is None and finished.stats.answer_tokens > 0
