"""One budget policy, three backends: llama.cpp in-process, the OpenAI-compatible backend against
``python -m llama_cpp.server``, and vLLM (CPU build). Control holds on each, and the two llama.cpp
paths produce identical token sequences under greedy decoding."""

from __future__ import annotations

import pytest

from llama_server import embedded_gguf, llama_server
from parity_cases import CASES, QUESTION, control_problems
from s1app.backends import BackendOptions, create_backend
from s1app.backends.base import Piece
from s1app.events import RunFinished
from s1app.loading import prepare
from s1app.registry import resolve_model
from s1app.session import Session
from vllm_runs import vllm_results


class RecordingBackend:
    """A real backend passed straight through; it remembers the token ids each stream produced."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.info = backend.info
        self.streams: list[list[int]] = []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def generate(self, prompt_ids, **settings):
        produced: list[int] = []
        self.streams.append(produced)
        for item in self._backend.generate(prompt_ids, **settings):
            if isinstance(item, Piece):
                produced.append(item.token_id)
            yield item


def run_cases(backend) -> list[tuple[list[list[int]], RunFinished, str]]:
    recording = RecordingBackend(backend)
    loaded = prepare(recording, resolve_model(None))
    results = []
    for config in CASES:
        recording.streams = []
        events = list(Session(loaded).ask(QUESTION, config))
        text = "".join(getattr(event, "text", "") for event in events)
        results.append((recording.streams, events[-1], text))
    return results


@pytest.fixture(scope="module")
def in_process(model):
    return run_cases(model.backend)


@pytest.fixture(scope="module")
def over_http():
    with llama_server(embedded_gguf()) as (base_url, _process):
        backend = create_backend("openai", embedded_gguf(), "smollm2-135m", BackendOptions(base_url=base_url))
        yield run_cases(backend)
        backend.close()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_control_holds_on_llamacpp_in_process(in_process, case):
    _, finished, _ = in_process[case]
    assert finished.error is None
    assert control_problems(CASES[case], finished.stats) == []


@pytest.mark.parametrize("case", range(len(CASES)))
def test_control_holds_on_openai_backend_against_llama_server(over_http, case):
    _, finished, _ = over_http[case]
    assert finished.error is None
    assert control_problems(CASES[case], finished.stats) == []


@pytest.mark.parametrize("case", range(len(CASES)))
def test_llamacpp_in_process_and_llama_server_give_identical_token_sequences(in_process, over_http, case):
    local_streams, local_finished, local_text = in_process[case]
    remote_streams, remote_finished, remote_text = over_http[case]
    assert remote_streams == local_streams
    assert remote_text == local_text
    for field in ("thinking_tokens", "waits_inserted", "answer_tokens", "forced_tokens", "stop_reason"):
        assert getattr(remote_finished.stats, field) == getattr(local_finished.stats, field), field


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)))
def test_control_holds_on_vllm_cpu(case):
    run = vllm_results()["parity"][case]
    assert run["error"] is None
    assert run["control_problems"] == []
