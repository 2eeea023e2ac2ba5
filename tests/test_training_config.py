"""Training configs and the step plan: the paper's recipe exactly, flags over file, clear errors,
the same global batch at any world size, a data order that resumes exactly."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")

from s1app.errors import ConfigError
from training.config import CONFIGS_DIR, config_from_dict, load_config
from training.model import compute_dtype
from training.steps import StepPlan, learning_rate_factor, micro_batches


def test_every_shipped_config_loads():
    names = sorted(path.stem for path in CONFIGS_DIR.glob("*.yaml"))
    assert names == ["s1-32b", "s1.1-32b", "s1.1-7b", "small-cpu", "tiny-cpu"]
    for name in names:
        load_config(name)


def test_s1_32b_is_the_papers_recipe_315_steps_of_16():
    config = load_config("s1-32b")
    assert (config.model, config.dataset, config.trajectory) == ("Qwen/Qwen2.5-32B-Instruct", "simplescaling/s1K", None)
    assert (config.epochs, config.global_batch_size, config.block_size) == (5, 16, 32768)
    assert (config.learning_rate, config.warmup_ratio, config.weight_decay) == (1e-5, 0.05, 1e-4)
    assert (config.adam_beta1, config.adam_beta2, config.dtype) == (0.9, 0.95, "bf16")
    assert StepPlan(1000, config.global_batch_size, config.epochs, config.seed).total_steps == 315
    assert [config.gradient_accumulation_steps(gpus) for gpus in (16, 8, 1)] == [1, 2, 16]


def test_s1_1_configs_use_s1k_1_1_deepseek_traces_at_block_20000():
    for name, model in (("s1.1-32b", "Qwen/Qwen2.5-32B-Instruct"), ("s1.1-7b", "Qwen/Qwen2.5-7B-Instruct")):
        config = load_config(name)
        assert (config.model, config.dataset, config.trajectory, config.block_size) == (model, "simplescaling/s1K-1.1", "deepseek", 20000)


def test_flags_override_the_file():
    config = load_config("tiny-cpu", max_steps=2, output_dir="/tmp/elsewhere")
    assert (config.max_steps, config.output_dir) == (2, "/tmp/elsewhere")


def test_a_config_name_is_the_shipped_config_beside_a_folder_of_that_name(tmp_path, monkeypatch):
    # a run trained with --output-dir tiny-cpu leaves ./tiny-cpu; training again names the config
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-cpu").mkdir()
    assert load_config("tiny-cpu") == load_config(str(CONFIGS_DIR / "tiny-cpu.yaml"))
    with pytest.raises(ConfigError, match="No training config 'tiny-cpu/'"):
        load_config("tiny-cpu/")


def test_an_unknown_config_key_is_a_clear_error_listing_the_known_ones(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("model: m\ndataset: d\nlearnign_rate: 1e-5\n")
    with pytest.raises(ConfigError, match=r"Unknown key\(s\) \['learnign_rate'\].*known keys are \[.*'learning_rate'"):
        load_config(str(path))


def test_wrong_types_and_values_are_clear_errors():
    with pytest.raises(ConfigError, match="dtype .* must be one of 'bf16', 'fp32'"):
        config_from_dict({"model": "m", "dataset": "d", "dtype": "fp16"})
    with pytest.raises(ConfigError, match="must set \\['dataset'\\]"):
        config_from_dict({"model": "m"})
    assert config_from_dict({"model": "m", "dataset": "d", "learning_rate": "1e-5"}).learning_rate == 1e-5


def test_bf16_on_a_cpu_without_support_is_a_clear_error():
    with pytest.raises(ConfigError, match="no bf16 support .* set dtype: fp32"):
        compute_dtype("bf16", "cpu", cpu_has_bf16=False)
    assert str(compute_dtype("bf16", "cpu", cpu_has_bf16=True)) == "torch.bfloat16"
    assert str(compute_dtype("fp32", "cpu", cpu_has_bf16=False)) == "torch.float32"


def test_a_global_batch_that_does_not_split_over_the_processes_is_a_clear_error():
    config = config_from_dict({"model": "m", "dataset": "d", "global_batch_size": 16})
    with pytest.raises(ConfigError, match="run with one of \\[1, 2, 4, 8, 16\\] processes"):
        config.gradient_accumulation_steps(3)


def test_every_step_sees_exactly_the_global_batch_and_an_epoch_sees_every_sample():
    plan = StepPlan(samples=10, global_batch_size=4, epochs=2, seed=7)
    assert (plan.steps_per_epoch, plan.total_steps) == (3, 6)
    batches = [plan.batch(step) for step in range(plan.total_steps)]
    assert all(len(batch) == 4 for batch in batches)
    assert set(sum(batches[:3], [])) == set(range(10))  # the last batch is topped up from the epoch's start
    assert batches[:3] != batches[3:]                   # a new order each epoch
    assert batches == [StepPlan(10, 4, 2, 7).batch(step) for step in range(6)]  # pure: resume is exact


def test_the_global_batch_splits_the_same_whatever_the_world_size():
    indices = list(range(16))
    one = micro_batches(indices, 0, 1, 1)
    two = micro_batches(indices, 0, 2, 2) + micro_batches(indices, 1, 2, 2)
    assert sorted(sum(one, [])) == sorted(sum(two, [])) == indices


def test_learning_rate_warms_up_linearly_then_decays_to_zero_on_a_cosine():
    total, warmup = 315, math.ceil(0.05 * 315)
    factors = [learning_rate_factor(step, total, warmup) for step in range(total)]
    assert factors[0] == pytest.approx(1 / 16) and factors[warmup - 1] == 1.0
    assert factors[warmup] == 1.0 and factors[-1] < 1e-3
    assert all(later <= earlier for earlier, later in zip(factors[warmup:], factors[warmup + 1:]))
