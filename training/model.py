"""The model a recipe trains: where its Hugging Face folder is, and how it is built sharded.

A config's ``model`` is a Hugging Face folder, a GGUF file or s1app registry name (dequantized
once into a folder by ``s1app.convert``, the way the vLLM backend does), or a hub repo id
(downloaded when online). Every process builds the model without weights (``init_empty_weights``),
shards it with FSDP2 (``fully_shard`` per decoder layer, then the root), and only rank 0 reads
the weights, which ``set_model_state_dict`` scatters: a 32B model is read once per job, not once
per GPU.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from s1app.errors import ConfigError, ModelNotFoundError

PROVENANCE_FILE = "s1app_training.json"
"""Written into every checkpoint: the base model, the GGUF it came from (its tokenizer and
template metadata carry over on export), the reasoning format, the step."""


@dataclass(frozen=True, slots=True)
class ModelSource:
    folder: Path
    """A Hugging Face folder: config.json, safetensors weights, tokenizer."""
    source_gguf: str | None
    """The GGUF the weights were dequantized from, if any."""


def model_source(spec: str) -> ModelSource:
    """A folder for ``spec``: a folder, a GGUF path, an s1app registry name, or a hub repo id."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return ModelSource(path, _recorded_gguf(path))
    if path.suffix == ".gguf" and path.exists():
        return ModelSource(_dequantized(path), str(path.resolve()))
    from s1app.registry import load_registry, locate_weights

    registry = load_registry()
    if spec in registry:
        weights = Path(locate_weights(registry[spec]))
        if weights.suffix == ".gguf":
            return ModelSource(_dequantized(weights), str(weights))
        if weights.is_dir():
            return ModelSource(weights, None)
        spec = str(weights)  # a hub repo id the registry names
    return ModelSource(_hub_folder(spec), None)


def _recorded_gguf(folder: Path) -> str | None:
    provenance = folder / PROVENANCE_FILE
    if provenance.exists():
        return json.loads(provenance.read_text(encoding="utf-8")).get("source_gguf")
    return None


def _dequantized(gguf: Path) -> Path:
    from s1app.convert import hf_folder_for_gguf

    return hf_folder_for_gguf(str(gguf))


def _hub_folder(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"]))
    except Exception as failure:  # offline, unknown repo, gated: all mean "not available here"
        raise ModelNotFoundError(
            f"Model {repo_id!r} is not a folder, a GGUF, an s1app registry name, nor a hub repo that can be "
            f"downloaded here ({type(failure).__name__}). Download it (huggingface-cli download {repo_id}) "
            "and set model: to the folder."
        ) from failure


def compute_dtype(dtype: str, device_type: str, cpu_has_bf16: bool) -> torch.dtype:
    """The dtype forward/backward run in; weights, gradients and optimizer state stay fp32."""
    if dtype == "fp32":
        return torch.float32
    if device_type == "cpu" and not cpu_has_bf16:
        raise ConfigError(
            "dtype bf16 was asked but this CPU has no bf16 support (no AVX512-BF16 / AMX): "
            "set dtype: fp32 in the config, or train on a GPU."
        )
    return torch.bfloat16


def cpu_supports_bf16() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def build_sharded_model(folder: Path, *, attention: str, gradient_checkpointing: bool, compute: torch.dtype,
                        device: torch.device, is_rank0: bool) -> torch.nn.Module:
    """The model from ``folder``, sharded across all processes, weights fp32, computing in ``compute``."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    config.use_cache = False
    with init_empty_weights(include_buffers=False):
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attention, dtype=torch.float32)
    model.tie_weights()  # from_config leaves tied embeddings untied when built without weights
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    buffers = {name: buffer.detach().clone() for name, buffer in model.named_buffers()}
    policy = MixedPrecisionPolicy(param_dtype=compute, reduce_dtype=torch.float32)
    for layer in decoder_layers(model):
        fully_shard(layer, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    model.to_empty(device=device)
    for name, value in buffers.items():  # computed at construction (rotary frequencies): to_empty wiped them
        model.get_buffer(name).copy_(value)
    full_state = read_weights(folder, tied=bool(config.tie_word_embeddings)) if is_rank0 else {}
    set_model_state_dict(model, full_state, options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))
    return model


def decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The repeated transformer blocks (``model.model.layers`` in Llama, Qwen2, Mistral, ...)."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        raise ConfigError(f"{type(model).__name__} has no model.layers: only decoder-only causal LMs are supported.")
    return list(layers)


def read_weights(folder: Path, *, tied: bool) -> dict[str, torch.Tensor]:
    """Every tensor of a Hugging Face folder's safetensors files, as fp32 on the CPU."""
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ModelNotFoundError(f"{folder} has no *.safetensors weights: give a Hugging Face folder saved with safetensors.")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        state.update({name: tensor.float() for name, tensor in load_file(file).items()})
    if tied and "lm_head.weight" not in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    return state
