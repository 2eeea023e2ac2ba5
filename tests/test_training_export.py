"""training.export: a checkpoint becomes a GGUF that the app's llama.cpp backend runs like the
checkpoint itself (the q/k permutation undone), registered as an s1 model the CLI can use at once."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("gguf")

from s1app.backends.base import Piece, Sampling
from s1app.budget import BudgetConfig
from s1app.errors import CheckpointError
from s1app.events import AnswerDelta, ThinkingDelta
from s1app.loading import load_model
from s1app.registry import load_registry
from s1app.session import Session
from training.export import export_and_register, export_checkpoint
from training_support import tiny_run

pytestmark = pytest.mark.slow
PROMPT = "<|im_start|>user\nWhat is 12 times 7?<|im_end|>\n<|im_start|>assistant\n<|im_start|>think\n"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_run(str(tmp_path_factory.getbasetemp() / "training-runs")) / "checkpoint-000004"


def test_the_exported_gguf_generates_the_checkpoints_greedy_tokens(checkpoint, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    reference = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
    ids = tokenizer(PROMPT)["input_ids"]
    expected = reference.generate(torch.tensor([ids]), max_new_tokens=20, do_sample=False)[0, len(ids):].tolist()
    expected = expected[: expected.index(tokenizer.eos_token_id) + 1] if tokenizer.eos_token_id in expected else expected

    gguf_path = export_checkpoint(checkpoint, tmp_path / "tiny.f32.gguf", "f32")
    backend = load_model(str(gguf_path), format="s1").backend
    assert backend.tokenize(PROMPT, prompt=True) == ids
    pieces = backend.generate(ids, max_tokens=len(expected), stop_token_ids=[], sampling=Sampling())
    assert [piece.token_id for piece in pieces if isinstance(piece, Piece)] == expected


def test_export_registers_an_s1_model_that_the_engine_runs_with_thinking_and_an_answer(checkpoint):
    path, name = export_and_register(str(checkpoint), "tiny-trained", "q8_0")
    entry = load_registry()[name]
    assert (entry.format, entry.backend, entry.source) == ("s1", "llamacpp", str(path))
    loaded = load_model(name)
    assert loaded.format_name == "s1"
    events = list(Session(loaded).ask("What is 3 + 4?", BudgetConfig(max_thinking_tokens=24, max_answer_tokens=16)))
    thinking = "".join(event.text for event in events if isinstance(event, ThinkingDelta))
    answer = "".join(event.text for event in events if isinstance(event, AnswerDelta))
    assert thinking.strip() and answer.strip()


def test_train_then_chat_in_one_flow_through_the_cli(checkpoint, s1app):
    exported = s1app("export-model", str(checkpoint), "--name", "tiny-cli", "--quantization", "q8_0")
    assert exported.returncode == 0, exported.stderr
    asked = s1app("ask", "What is 3 + 4?", "--model", "tiny-cli", "--max-thinking", "16", "--max-answer", "8", "--json", "--no-log")
    assert asked.returncode == 0, asked.stderr
    run = json.loads(asked.stdout)
    assert run["format"] == "s1" and run["thinking"] and run["answer"]


def test_the_tokenizer_built_from_tokenizer_json_matches_the_one_carried_over_from_the_gguf(checkpoint, tmp_path):
    import gguf

    # f16: the weights' type does not touch the tokenizer, and q8_0's quantization takes seconds more
    carried = gguf.GGUFReader(export_checkpoint(checkpoint, tmp_path / "carried.gguf", "f16"))
    built = gguf.GGUFReader(export_checkpoint(checkpoint, tmp_path / "built.gguf", "f16", pre_tokenizer="smollm"))
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type",
                "tokenizer.ggml.eos_token_id", "tokenizer.ggml.bos_token_id", "tokenizer.chat_template"):
        assert carried.fields[key].contents() == built.fields[key].contents(), key


def test_exporting_a_folder_that_is_not_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="needs config.json and \\*.safetensors"):
        export_checkpoint(tmp_path, tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists()
