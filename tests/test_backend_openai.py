"""The OpenAI-compatible backend against a real ``python -m llama_cpp.server`` on 127.0.0.1, and
its faults: each ends in a clear error, the partial run is kept and the process stays up."""

from __future__ import annotations

import threading

import pytest
from llama_server import embedded_gguf, fake_server, free_port, llama_server

from s1app.backends import BackendOptions, create_backend
from s1app.backends.base import Finish, Piece, Sampling
from s1app.backends.generating import CallOptions
from s1app.backends.openai_dialects import call_options_body, logprobs_of
from s1app.budget import BudgetConfig
from s1app.errors import BackendError
from s1app.events import ThinkingDelta
from s1app.loading import prepare
from s1app.registry import resolve_model
from s1app.run import Run
from s1app.session import Session

QUESTION = "What is 2+3?"


@pytest.fixture(scope="module")
def server():
    with llama_server(embedded_gguf()) as (base_url, _process):
        yield base_url


@pytest.fixture(scope="module")
def remote(server):
    """The embedded model served over HTTP, behind the same engine as in-process runs."""
    backend = create_backend("openai", embedded_gguf(), "smollm2-135m", BackendOptions(base_url=server))
    yield prepare(backend, resolve_model(None))
    backend.close()


def run(loaded, config: BudgetConfig, cancel: threading.Event | None = None) -> tuple[str, Run]:
    finished = Session(loaded).ask(QUESTION, config, cancel=cancel).wait()
    return finished.thinking, finished


def test_openai_backend_finds_the_served_model_and_its_local_tokenizer(remote, server):
    backend = remote.backend
    assert backend.dialect == "llama-cpp-python"
    assert backend.served_model == embedded_gguf()
    assert backend.info.token_counts == "tokenizer"
    assert "<|im_start|>" in (backend.chat_template() or "")
    assert len(backend.tokenize("<|im_end|>")) == 1


@pytest.mark.parametrize("cap", [0, 16])
def test_max_budget_caps_thinking_over_http_and_answer_follows(remote, cap):
    _, finished = run(remote, BudgetConfig(max_thinking_tokens=cap, max_answer_tokens=24))
    assert finished.error is None
    assert finished.stats.thinking_tokens <= cap
    assert finished.stats.answer_tokens > 0


def test_stream_stops_on_a_stop_token_without_yielding_it(remote):
    backend = remote.backend
    prompt = Session(remote).prompt_ids(QUESTION)
    eos = backend.special_tokens()["eos"]
    items = list(backend.generate(prompt, max_tokens=200, stop_token_ids={eos}, sampling=Sampling()))
    assert isinstance(items[-1], Finish) and items[-1].reason in ("stop", "length")
    assert all(isinstance(item, Piece) and item.token_id != eos for item in items[:-1])


def test_cancel_mid_stream_over_http_keeps_the_partial_run(remote):
    cancel = threading.Event()
    finished = Session(remote).ask(QUESTION, BudgetConfig(max_thinking_tokens=400, min_thinking_tokens=300), cancel=cancel)
    deltas = 0
    for event in finished:
        deltas += isinstance(event, ThinkingDelta)
        if deltas == 5:
            cancel.set()
    assert finished.stats.stop_reason == "cancelled"
    assert 5 <= finished.stats.thinking_tokens < 300


# -- logprobs and banned tokens ----------------------------------------------------------------


def greedy_pieces(backend, prompt, **options) -> list[Piece]:
    eos = backend.special_tokens()["eos"]
    items = backend.generate(prompt, max_tokens=8, stop_token_ids={eos}, sampling=Sampling(), **options)
    return [item for item in items if isinstance(item, Piece)]


def test_logprobs_over_http_are_the_sampled_tokens_own(remote, model):
    prompt = Session(remote).prompt_ids(QUESTION)
    served = greedy_pieces(remote.backend, prompt, logprobs=True)
    local = greedy_pieces(model.backend, prompt, logprobs=True)
    assert served and all(piece.logprob is not None and piece.logprob <= 0.0 for piece in served)
    assert [piece.token_id for piece in served] == [piece.token_id for piece in local]
    assert [piece.logprob for piece in served] == pytest.approx([piece.logprob for piece in local], abs=0.05)
    assert all(piece.logprob is None for piece in greedy_pieces(remote.backend, prompt)), "asked for, not always"


def test_banned_tokens_are_never_sampled_over_http(remote):
    prompt = Session(remote).prompt_ids(QUESTION)
    free = greedy_pieces(remote.backend, prompt)
    banned = {free[0].token_id, free[1].token_id}
    steered = greedy_pieces(remote.backend, prompt, banned_token_ids=banned)
    assert steered and not banned & {piece.token_id for piece in steered}
    assert "".join(piece.text for piece in steered) != "".join(piece.text for piece in free)


def test_each_servers_logprobs_shape_is_read():
    assert logprobs_of({"logprobs": {"tokens": [" a", "b"], "token_logprobs": [-0.5, -1.0]}}) == [-0.5, -1.0]
    llama_server_shape = {"logprobs": {"content": [{"id": 7, "token": " a", "logprob": -0.25, "top_logprobs": []}]}}
    assert logprobs_of(llama_server_shape) == [-0.25]
    assert logprobs_of({"text": "a", "logprobs": None}) is None


def test_banned_tokens_are_a_ban_in_each_servers_terms():
    call = CallOptions(logprobs=True, banned_token_ids=frozenset({5, 3}))
    assert call_options_body("vllm", call) == {"logprobs": 1, "logit_bias": {"3": -100, "5": -100}}
    assert call_options_body("llama.cpp server", call)["logit_bias"] == {"3": False, "5": False}
    assert call_options_body("other", CallOptions()) == {}


# -- faults ----------------------------------------------------------------------------------


def test_server_not_running_is_a_clear_error():
    options = BackendOptions(base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(BackendError, match="Cannot connect .* is the server running"):
        create_backend("openai", embedded_gguf(), "smollm2-135m", options)


def test_wrong_model_name_lists_what_the_server_serves(server):
    with pytest.raises(BackendError, match="serves .*SmolLM2-135M-Instruct.*not 'no-such-model'"):
        create_backend("openai", "no-such-model", "no-such-model", BackendOptions(base_url=server))


def test_http_error_body_is_shown_to_the_person(remote):
    body = {"error": {"message": "CUDA out of memory on rank 0", "type": "InternalServerError"}}
    with fake_server(embedded_gguf(), completion_status=500, completion_body=body) as base_url:
        backend = create_backend("openai", embedded_gguf(), "smollm2-135m", BackendOptions(base_url=base_url))
        with pytest.raises(BackendError, match="answered 500: CUDA out of memory on rank 0"):
            list(backend.generate([1, 2, 3], max_tokens=4, stop_token_ids=(), sampling=Sampling()))
        _, finished = run(prepare(backend, resolve_model(None)), BudgetConfig(max_thinking_tokens=8))
        assert finished.stats.stop_reason == "error" and "CUDA out of memory" in finished.error


def test_slow_server_past_the_timeout_is_a_clear_error():
    with fake_server(embedded_gguf(), completion_delay_s=3.0) as base_url:
        options = BackendOptions(base_url=base_url, timeout_s=0.5)
        backend = create_backend("openai", embedded_gguf(), "smollm2-135m", options)
        with pytest.raises(BackendError, match=r"sent nothing for 0.5 s"):
            list(backend.generate([1, 2, 3], max_tokens=4, stop_token_ids=(), sampling=Sampling()))


@pytest.mark.slow
def test_server_killed_mid_stream_ends_the_run_with_an_error_and_keeps_its_text():
    with llama_server(embedded_gguf()) as (base_url, process):
        backend = create_backend("openai", embedded_gguf(), "smollm2-135m", BackendOptions(base_url=base_url))
        loaded = prepare(backend, resolve_model(None))
        thinking: list[str] = []
        finished = Session(loaded).ask(QUESTION, BudgetConfig(max_thinking_tokens=600, min_thinking_tokens=500))
        for event in finished:
            if isinstance(event, ThinkingDelta):
                thinking.append(event.text)
                if len(thinking) == 5:
                    process.kill()
    assert finished.finished is not None
    assert finished.stats.stop_reason == "error"
    assert "server" in finished.error and ("mid-stream" in finished.error or "Cannot connect" in finished.error)
    assert finished.stats.thinking_tokens >= 5 and "".join(thinking)


@pytest.mark.slow
def test_budget_beyond_the_servers_context_ends_clearly_and_the_backend_stays_usable():
    """The app believes the context is 8192 tokens; the server holds 192. The run keeps what it
    had and says why it stopped; the next question on the same backend works."""
    with llama_server(embedded_gguf(), n_ctx=192) as (base_url, _process):
        options = BackendOptions(base_url=base_url, context_length=8192)
        loaded = prepare(create_backend("openai", embedded_gguf(), "smollm2-135m", options), resolve_model(None))
        thinking, finished = run(loaded, BudgetConfig(max_thinking_tokens=1000, min_thinking_tokens=900))
        assert thinking
        assert finished.stats.thinking_tokens <= 1000
        if finished.stats.stop_reason == "error":
            assert "context" in finished.error
        else:
            assert finished.stats.thinking_end_reason == "budget"  # the server's context filled up
        _, again = run(loaded, BudgetConfig(max_thinking_tokens=8, max_answer_tokens=8))
        assert again.error is None and again.stats.thinking_tokens <= 8


def test_cli_with_no_server_prints_one_clear_line_not_a_traceback(s1app):
    result = s1app("ask", QUESTION, "--backend", "openai", "--no-log", "--base-url", f"http://127.0.0.1:{free_port()}/v1")
    assert result.returncode != 0
    assert "Cannot connect" in result.stderr and "Traceback" not in result.stderr
