"""One budget policy, three backends: llama.cpp in-process, the OpenAI-compatible backend against
``python -m llama_cpp.server``, and vLLM (CPU build). Control holds on each. The two llama.cpp
paths share one build, and on a batch-invariant build (the default) a token's logits do not depend
on how its prompt was batched, so their greedy token sequences must be identical; on another build
only control is compared (docs/reproducibility.md)."""

from __future__ import annotations

import pytest
from llama_server import embedded_gguf, llama_server
from parity_cases import CASES, QUESTION, control_problems
from vllm_runs import vllm_results

from s1app.backends import BackendOptions, create_backend
from s1app.backends.base import Piece
from s1app.loading import prepare
from s1app.registry import resolve_model
from s1app.run import Run
from s1app.session import Session


class RecordingBackend:
    """A real backend passed straight through; it remembers each call's prompt and produced ids."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.info = backend.info
        self.streams: list[list[int]] = []
        self.prompts: list[list[int]] = []

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def generate(self, prompt_ids, **settings):
        produced: list[int] = []
        self.streams.append(produced)
        self.prompts.append(list(prompt_ids))
        for item in self._backend.generate(prompt_ids, **settings):
            if isinstance(item, Piece):
                produced.append(item.token_id)
            yield item


def run_cases(backend) -> list[tuple[list[list[int]], Run, list[list[int]]]]:
    recording = RecordingBackend(backend)
    loaded = prepare(recording, resolve_model(None))
    results = []
    for config in CASES:
        recording.streams, recording.prompts = [], []
        run = Session(loaded).ask(QUESTION, config).wait()
        results.append((recording.streams, run, recording.prompts))
    return results


@pytest.fixture(scope="module")
def in_process(model):
    return run_cases(model.backend)


@pytest.fixture(scope="module")
def over_http():
    with llama_server(embedded_gguf()) as (base_url, _process):
        backend = create_backend("openai", embedded_gguf(), "smollm2-135m", BackendOptions(base_url=base_url))
        yield run_cases(backend), backend
        backend.close()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_control_holds_on_llamacpp_in_process(in_process, case):
    _, finished, _ = in_process[case]
    assert finished.error is None
    assert control_problems(CASES[case], finished.stats) == []


@pytest.mark.parametrize("case", range(len(CASES)))
def test_control_holds_on_openai_backend_against_llama_server(over_http, case):
    _, finished, _ = over_http[0][case]
    assert finished.error is None
    assert control_problems(CASES[case], finished.stats) == []


def test_llamacpp_in_process_and_llama_server_give_the_same_tokens_from_the_same_context(model, in_process, over_http):
    """Greedy, one build: wherever the server continues from exactly the ids the engine sent, it must
    produce exactly the in-process tokens. llama_cpp.server takes text prompts only, so a call whose
    ids do not survive a detokenize/tokenize round trip (the engine's forced text can tokenize
    otherwise) continues from another context: from there on the two runs may rightly differ."""
    if not model.backend.batch_invariant:
        pytest.skip("this llama.cpp build is not batch-invariant: the two paths may differ at near-ties")
    remote_results, remote_backend = over_http
    compared_calls = 0
    for case in range(len(CASES)):
        local_streams, local_finished, local_prompts = in_process[case]
        remote_streams, remote_finished, remote_prompts = remote_results[case]
        compared = 0
        for local_prompt, remote_prompt, local, remote in zip(local_prompts, remote_prompts, local_streams, remote_streams):
            assert remote_prompt == local_prompt, "the engine sent both backends the same context"
            if remote_backend.server_prompt_ids(remote_prompt) != remote_prompt:
                break
            assert remote == local, f"case {case}, call {compared}"
            compared += 1
        if compared == len(local_streams) == len(remote_streams):
            for field in ("thinking_tokens", "waits_inserted", "answer_tokens", "forced_tokens", "stop_reason"):
                assert getattr(remote_finished.stats, field) == getattr(local_finished.stats, field), field
        compared_calls += compared
    assert compared_calls >= 2, "thinking calls start from the chat template's own text, which round-trips"


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(CASES)))
def test_control_holds_on_vllm_cpu(case):
    run = vllm_results()["parity"][case]
    assert run["error"] is None
    assert run["control_problems"] == []
