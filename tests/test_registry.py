"""The models/ registry: names, dropped-in GGUF files, paths, hub ids, the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from s1app.errors import ConfigError, ModelNotFoundError
from s1app.registry import load_registry, locate_tokenizer, locate_weights, resolve_model


def test_default_model_is_the_embedded_smollm2_found_without_importing_its_package():
    entry = resolve_model(None)
    assert entry.name == "smollm2-135m" and entry.backend == "llamacpp"
    path = Path(locate_weights(entry))
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 90_000_000


def test_a_gguf_dropped_into_models_is_listed_by_its_name(tmp_path, monkeypatch):
    (tmp_path / "models.toml").write_text('[models.tiny]\nsource = "tiny.gguf"\nformat = "s1"\n')
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    (tmp_path / "my-reasoner.gguf").write_bytes(b"GGUF")
    monkeypatch.setenv("S1APP_MODELS_DIR", str(tmp_path))
    registry = load_registry()
    assert set(registry) == {"tiny", "my-reasoner"}
    assert registry["tiny"].format == "s1"
    assert locate_weights(resolve_model("my-reasoner")) == str(tmp_path / "my-reasoner.gguf")


def test_a_path_resolves_to_a_model_named_after_the_file(tmp_path):
    file = tmp_path / "Some-Model.Q4.gguf"
    file.write_bytes(b"GGUF")
    entry = resolve_model(str(file))
    assert entry.name == "Some-Model.Q4" and entry.backend == "llamacpp" and entry.source == str(file)


def test_hub_ids_parse_and_fail_offline_with_what_to_download(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    entry = resolve_model("hf:owner/repo/file.gguf")
    assert entry.name == "file"
    with pytest.raises(ModelNotFoundError, match=r"resolve/main/file.gguf and put it in"):
        locate_weights(entry)


def test_malformed_registry_entries_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("S1APP_MODELS_DIR", str(tmp_path))
    (tmp_path / "models.toml").write_text('[models.x]\nsource = "a.gguf"\nbackend = "tpu"\n')
    with pytest.raises(ConfigError, match="backend must be one of"):
        load_registry()
    (tmp_path / "models.toml").write_text("[models.x\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_registry()


def test_unknown_names_list_what_exists():
    with pytest.raises(ModelNotFoundError, match="smollm2-135m"):
        resolve_model("nope")


def test_an_unknown_format_in_models_toml_is_refused_before_any_weights_load(tmp_path):
    (tmp_path / "models.toml").write_text('[models.x]\nsource = "x.gguf"\nformat = "tags"\n')
    with pytest.raises(ConfigError, match="format must be one of auto, harmony, .*, prompted"):
        load_registry(tmp_path)


def test_an_openai_entry_names_its_tokenizer_apart_a_relative_path_from_models(tmp_path, monkeypatch):
    monkeypatch.setenv("S1APP_MODELS_DIR", str(tmp_path))
    (tmp_path / "models.toml").write_text(
        '[models.remote]\nsource = "smollm2"\nbackend = "openai"\ntokenizer = "tok/SmolLM2.gguf"\n'
        '[models.hub]\nsource = "smollm2"\nbackend = "openai"\ntokenizer = "HuggingFaceTB/SmolLM2-135M-Instruct"\n')
    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "SmolLM2.gguf").write_bytes(b"GGUF")
    registry = load_registry()
    assert locate_tokenizer(registry["remote"]) == str(tmp_path / "tok" / "SmolLM2.gguf")
    assert locate_tokenizer(registry["hub"]) == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert locate_tokenizer(resolve_model("smollm2", backend="openai")) is None
