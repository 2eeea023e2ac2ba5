"""What the UI loads when a person picks a model and a backend, and the checks done against it."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest
from llama_server import embedded_gguf, llama_server

from s1app.errors import BackendError, ConfigError
from s1app.loading import load_entry
from s1app.ui.context import UIContext, budget_config_from_ui


def test_picking_the_openai_backend_keeps_the_default_models_format_and_context(model, monkeypatch):
    entry = dataclasses.replace(model.entry, format="s1", context_length=1024)
    ctx = UIContext(default_model=dataclasses.replace(model, entry=entry))
    with llama_server(embedded_gguf()) as (base_url, _process):
        monkeypatch.setenv("S1APP_BASE_URL", base_url)
        picked = ctx.load(entry.name, "openai")
        try:
            assert picked.backend.info.name == "openai"
            assert picked.format_name == "s1" and picked.backend.info.context_length == 1024
        finally:
            picked.backend.close()


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here: it would load")
def test_picking_vllm_for_the_default_model_says_what_vllm_needs_not_unknown_model(model):
    with pytest.raises(BackendError, match="needs vLLM"):
        UIContext(default_model=model).load(model.name, "vllm")


def test_the_budget_check_uses_the_picked_models_context(model):
    small = load_entry(dataclasses.replace(model.entry, name="smollm2-1k", context_length=1024))
    try:
        ctx = UIContext(default_model=model, extra_models={"smollm2-1k": small})
        picked = ctx.load("smollm2-1k", "")
        with pytest.raises(ConfigError, match=r"above the model's context \(1024 tokens\)"):
            budget_config_from_ui(max_thinking=2000, waits=0, context_length=picked.backend.info.context_length)
        default_context = ctx.load("", "").backend.info.context_length
        assert budget_config_from_ui(max_thinking=2000, waits=0, context_length=default_context).max_thinking_tokens == 2000
    finally:
        small.backend.close()


def test_gpu_layers_default_to_none_on_a_cpu_build_and_follow_the_registry(model):
    import llama_cpp

    assert model.backend.gpu_layers == (-1 if llama_cpp.llama_supports_gpu_offload() else 0)
    two = load_entry(dataclasses.replace(model.entry, name="smollm2-gpu2", gpu_layers=2, context_length=512))
    try:
        assert two.backend.gpu_layers == 2
    finally:
        two.backend.close()
