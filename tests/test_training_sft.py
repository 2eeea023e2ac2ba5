"""training.sft for real: a 2-process torchrun (FSDP2 over gloo) of tiny-cpu through `s1app train`.

Loss goes down, checkpoints save as Hugging Face folders that transformers reloads and generates
with, and a run resumed from step 2 continues at step 3 with the same losses as the run that was
never interrupted. Slow (two short trainings, about two minutes on 2 cores).
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from training_support import read_log, tiny_resumed_run, tiny_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    return str(tmp_path_factory.getbasetemp() / "training-runs")


def test_two_process_fsdp_training_lowers_the_loss_and_logs_every_step(runs_root):
    log = read_log(tiny_run(runs_root))
    assert [entry["step"] for entry in log] == [1, 2, 3, 4]
    assert all(entry["world_size"] == 2 for entry in log)
    assert log[-1]["loss"] < log[0]["loss"] * 0.8
    for key in ("lr", "grad_norm", "tokens_per_s", "step_s", "label_tokens"):
        assert all(entry[key] > 0 for entry in log), key


def test_checkpoints_are_hugging_face_folders_with_their_resume_state(runs_root):
    output_dir = tiny_run(runs_root)
    for step in (2, 4):
        folder = output_dir / f"checkpoint-{step:06d}"
        assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
        assert (folder / "tokenizer.json").exists() and (folder / "chat_template.jinja").exists()
        assert json.loads((folder / "trainer_state.json").read_text())["step"] == step
        assert json.loads((folder / "s1app_training.json").read_text())["source_gguf"].endswith(".gguf")


def test_a_resumed_run_continues_at_the_same_step_with_the_same_loss(runs_root):
    uninterrupted = read_log(tiny_run(runs_root))
    resumed = read_log(tiny_resumed_run(runs_root))
    assert [entry["step"] for entry in resumed] == [3, 4]
    for before, after in zip(uninterrupted[2:], resumed):
        assert after["loss"] == pytest.approx(before["loss"], rel=1e-5)
        assert after["lr"] == pytest.approx(before["lr"])
        assert after["tokens"] == before["tokens"]


def test_the_checkpoint_reloads_with_transformers_and_generates(runs_root):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_run(runs_root) / "checkpoint-000004"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "What is 3 + 4?"}], tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt + "<|im_start|>think\n", return_tensors="pt")["input_ids"]
    output = model.generate(ids, max_new_tokens=12, do_sample=False)
    assert output.shape[1] > ids.shape[1]
    assert tokenizer.decode(output[0, ids.shape[1]:]).strip()


def test_resuming_from_a_folder_that_is_not_a_checkpoint_is_a_clear_error(tmp_path, s1app):
    result = s1app("train", "--config", "tiny-cpu", "--resume", str(tmp_path), "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "is not a training checkpoint" in result.stderr and "checkpoint-NNNNNN" in result.stderr
