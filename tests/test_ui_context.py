"""What the UI loads when a person picks a model and a backend, and the checks done against it."""

from __future__ import annotations

import dataclasses
import importlib.util
import re

import pytest
from llama_server import embedded_gguf, llama_server

from s1app.errors import BackendError, ConfigError
from s1app.loading import load_entry
from s1app.probes import DEFAULT_PROBE_TOKENS, ProbeSettings
from s1app.ui.context import UIContext, budget_config_from_ui, probe_settings_from_ui


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


def test_the_probe_fields_become_the_configs_probe_settings():
    probes = probe_settings_from_ui(every=16, tokens=24.0, stop_when_stable=3, stop_when_confident="",
                                    answer_kind="integer")
    config = budget_config_from_ui(max_thinking=64, waits=0, probes=probes)
    assert config.probes == ProbeSettings(every=16, tokens=24, stop_when_stable=3, answer_kind="integer")
    assert probe_settings_from_ui(every=8, stop_when_confident="0.9").stop_when_confident == 0.9


def test_blank_and_zero_probe_fields_are_off_and_the_defaults_are_the_libraries():
    assert probe_settings_from_ui() == ProbeSettings() == budget_config_from_ui(max_thinking=8, waits=0).probes
    blank = probe_settings_from_ui(every=None, tokens=DEFAULT_PROBE_TOKENS, stop_when_stable=None,
                                   stop_when_confident="  ", answer_kind=None)
    assert blank == ProbeSettings() and not blank.enabled
    assert probe_settings_from_ui(every=8, stop_when_confident="0").stop_when_confident is None


@pytest.mark.parametrize(("fields", "message"), [
    (dict(every=-16), "Probe interval must be at least 0"),
    (dict(every=2.5), "Probe interval must be a whole number"),
    (dict(every=16, tokens=0), "Probe tokens must be at least 1"),
    (dict(every=16, stop_when_stable=1), "at least 2 probes that agree"),
    (dict(every=16, stop_when_confident="high"), "probability such as 0.9"),
    (dict(every=16, stop_when_confident="1.5"), "at most 1"),
    (dict(every=0, stop_when_stable=3), "set the probe interval"),
])
def test_bad_probe_fields_are_refused_with_what_to_fix(fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        probe_settings_from_ui(**fields)


def test_landing_text_and_the_suppress_list_reach_the_config():
    config = budget_config_from_ui(max_thinking=64, waits=0, landing="Time is up.", suppress=" Wait, hmm ")
    assert config.landing == "Time is up." and config.suppress == ("Wait", "hmm")
    assert budget_config_from_ui(max_thinking=64, waits=0).suppress == ()
    assert budget_config_from_ui(max_thinking=64, waits=0, suppress="nowait").suppress == ("nowait",)
    with pytest.raises(ConfigError, match="empty word"):
        budget_config_from_ui(max_thinking=64, waits=0, suppress="Wait,,Hmm")
