"""bench/gpu_check.py's CPU path, so the GPU check is ready when a GPU is lent: the kit is made from
the embedded GGUF's metadata, and `run --device cpu --steps 2` trains the random SmolLM2-135M
through the recipe and reports tokens/s. Slow (a 135M model's two steps and its checkpoint)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from training_support import PROJECT_ROOT

# the kit, then a 135M model's two CPU steps and checkpoint, on a machine that may be busy
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SCRIPT = PROJECT_ROOT / "bench" / "gpu_check.py"


def gpu_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1400,
                          check=False)


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu-kit")
    result = gpu_check("kit", "--out", str(folder))
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_the_kit_holds_the_architecture_and_tokenizer_but_no_weights(kit):
    spec = json.loads((kit / "model-spec" / "config.json").read_text())
    assert (spec["model_type"], spec["num_hidden_layers"], spec["hidden_size"]) == ("llama", 30, 576)
    assert (kit / "model-spec" / "tokenizer.json").exists() and (kit / "site" / "platformdirs").is_dir()
    assert not list(kit.rglob("*.safetensors"))
    size_bytes = sum(path.stat().st_size for path in kit.rglob("*") if path.is_file())
    assert size_bytes < 64 * 2**20  # what one device run may carry


def test_the_vocab_gguf_has_the_tokenizer_and_no_tensors(kit):
    import gguf

    reader = gguf.GGUFReader(kit / "vocab.gguf")
    assert len(reader.tensors) == 0
    assert "tokenizer.ggml.tokens" in reader.fields and "tokenizer.chat_template" in reader.fields


def test_two_cpu_steps_of_the_recipe_on_random_weights_report_tokens_per_second(kit):
    result = gpu_check("run", "--kit", str(kit), "--device", "cpu", "--steps", "2")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("(a) training on cpu"))
    match = re.search(r"([\d.]+) M parameters, 2 steps, (\d+) tokens/s .* MFU n/a", line)
    assert match, line
    assert 130 < float(match.group(1)) < 140 and int(match.group(2)) > 0
    assert "(b) skipped: CPU run" in result.stdout
