"""A training checkpoint -> a GGUF the app's llama.cpp backend runs, registered as an s1 model.

    python -m training.export CHECKPOINT [--name NAME] [--quantization q8_0] [--out FILE.gguf]
    s1app export-model CHECKPOINT ...                  # the same
    s1app ask "..." --model NAME                        # at once: train -> chat in one flow

Written with the ``gguf`` package. Hyperparameters come from the checkpoint's config.json;
tensors are renamed to llama.cpp's names, and for the llama architecture the q/k projections
are permuted back into llama.cpp's rotary layout (transformers un-permutes them when it reads a
GGUF; a missed permutation gives a model that loads and talks nonsense). The tokenizer: a model
that came from a GGUF keeps that file's tokenizer and chat-template metadata; otherwise it is
built from tokenizer.json (byte-level BPE). 1-D tensors stay f32; 2-D ones take the asked type.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import gguf
import numpy as np

from s1app.errors import CheckpointError, ConfigError, S1AppError
from s1app.registry import ModelEntry, add_user_model, models_dir, user_models_dir
from training.checkpoint import read_provenance
from training.gguf_tokenizer import write_tokenizer

ARCHITECTURES = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2"}
"""Hugging Face model_type -> llama.cpp architecture."""
QUANTIZATIONS = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
    "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "q4_0": (gguf.GGMLQuantizationType.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0),
}


def export_checkpoint(checkpoint: Path, out: Path, quantization: str = "q8_0", pre_tokenizer: str | None = None) -> Path:
    """Write ``checkpoint`` as a GGUF at ``out``; returns ``out``."""
    config = _read_config(checkpoint)
    arch = ARCHITECTURES.get(config["model_type"])
    if arch is None:
        raise ConfigError(f"Export supports model types {sorted(ARCHITECTURES)}, not {config['model_type']!r}.")
    if quantization not in QUANTIZATIONS:
        raise ConfigError(f"Unknown quantization {quantization!r}: use one of {', '.join(QUANTIZATIONS)}.")
    tensor_type, file_type = QUANTIZATIONS[quantization]
    provenance = read_provenance(checkpoint)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(partial, arch)
    writer.add_name(out.stem)
    _write_hyperparameters(writer, config, file_type)
    write_tokenizer(writer, checkpoint, config, provenance.get("source_gguf"), pre_tokenizer)
    for name, array, raw_type in _gguf_tensors(checkpoint, config, arch, tensor_type):
        writer.add_tensor(name, array, raw_dtype=raw_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out)
    return out


def _read_config(checkpoint: Path) -> dict:
    file = checkpoint / "config.json"
    if not file.exists() or not list(checkpoint.glob("*.safetensors")):
        raise CheckpointError(
            f"{checkpoint} is not a model checkpoint (needs config.json and *.safetensors): pass a "
            "checkpoint-NNNNNN folder written by training.sft (or any Hugging Face folder)."
        )
    return json.loads(file.read_text(encoding="utf-8"))


def _write_hyperparameters(writer: gguf.GGUFWriter, config: dict, file_type: gguf.LlamaFileType) -> None:
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if rope.get("rope_type", "default") != "default":
        raise ConfigError(f"Export does not carry rope scaling {rope.get('rope_type')!r} yet: export with llama.cpp's convert_hf_to_gguf.py.")
    heads = config["num_attention_heads"]
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.get("num_key_value_heads", heads))
    writer.add_rope_freq_base(float(rope.get("rope_theta", config.get("rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_rope_dimension_count(config.get("head_dim") or config["hidden_size"] // heads)
    writer.add_vocab_size(config["vocab_size"])
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def rotary_permute(weight: np.ndarray, heads: int) -> np.ndarray:
    """Hugging Face's rotary layout (halves) -> llama.cpp's (interleaved pairs), per head."""
    rows = weight.shape[0]
    return weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def _gguf_tensors(checkpoint: Path, config: dict, arch: str, tensor_type: gguf.GGMLQuantizationType):
    from safetensors.numpy import load_file

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA if arch == "llama" else gguf.MODEL_ARCH.QWEN2, config["num_hidden_layers"])
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    for file in sorted(checkpoint.glob("*.safetensors")):
        for hf_name, tensor in load_file(file).items():
            if hf_name == "lm_head.weight" and config.get("tie_word_embeddings"):
                continue  # llama.cpp reuses token_embd when output.weight is absent
            name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if name is None:
                raise CheckpointError(f"{file.name}: tensor {hf_name!r} has no llama.cpp name for {arch}; export supports plain decoder LMs.")
            array = tensor.astype(np.float32)
            if arch == "llama" and hf_name.endswith("q_proj.weight"):
                array = rotary_permute(array, heads)
            elif arch == "llama" and hf_name.endswith("k_proj.weight"):
                array = rotary_permute(array, kv_heads)
            yield (name, *_encoded(array, tensor_type))


def _encoded(array: np.ndarray, tensor_type: gguf.GGMLQuantizationType):
    """The array in ``tensor_type`` (f32 for 1-D tensors; f16 where a row does not fill whole blocks)."""
    if array.ndim < 2 or tensor_type == gguf.GGMLQuantizationType.F32:
        return array, None
    block_size = gguf.GGML_QUANT_SIZES[tensor_type][0]
    if tensor_type == gguf.GGMLQuantizationType.F16 or array.shape[-1] % block_size:
        return array.astype(np.float16), None
    return gguf.quants.quantize(array, tensor_type), tensor_type


def register(name: str, gguf_path: Path, context_length: int, description: str) -> Path:
    """Add the GGUF to the user's registry with format s1; returns the registry file."""
    project_toml = models_dir() / "models.toml"
    if project_toml.exists() and name in tomllib.loads(project_toml.read_text(encoding="utf-8")).get("models", {}):
        raise ConfigError(f"{name!r} already names a model in {project_toml}: choose another --name.")
    entry = ModelEntry(name=name, source=str(gguf_path), backend="llamacpp", format="s1",
                       context_length=context_length, description=description)
    return add_user_model(entry)


def export_and_register(checkpoint: str, name: str | None = None, quantization: str = "q8_0", out: str | None = None,
                        pre_tokenizer: str | None = None, register_model: bool = True) -> tuple[Path, str]:
    """The whole export step: GGUF written, then registered. Returns the GGUF path and model name."""
    folder = Path(checkpoint).expanduser().resolve()
    name = name or f"{folder.parent.name}-{folder.name.removeprefix('checkpoint-').lstrip('0') or '0'}"
    target = Path(out).expanduser().resolve() if out else user_models_dir() / f"{name}.{quantization}.gguf"
    export_checkpoint(folder, target, quantization, pre_tokenizer)
    if register_model:
        context = min(_read_config(folder)["max_position_embeddings"], 32768)
        register(name, target, context, f"trained with s1app training from {folder} ({quantization})")
    return target, name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training.export", description="Checkpoint -> GGUF, registered as an s1 model.")
    parser.add_argument("checkpoint", help="a checkpoint-NNNNNN folder (or any Hugging Face folder of a supported model)")
    parser.add_argument("--name", help="registry name (default: RUN-STEP)")
    parser.add_argument("--quantization", default="q8_0", choices=sorted(QUANTIZATIONS))
    parser.add_argument("--out", help="GGUF path (default: in the user registry's folder)")
    parser.add_argument("--pre-tokenizer", help="llama.cpp pre-tokenizer name when the model did not come from a GGUF")
    parser.add_argument("--no-register", action="store_true", help="only write the GGUF")
    args = parser.parse_args(argv)
    try:
        path, name = export_and_register(args.checkpoint, args.name, args.quantization, args.out, args.pre_tokenizer, not args.no_register)
    except S1AppError as failure:
        print(f"Error: {failure}", file=sys.stderr)
        return 2
    print(f"wrote {path}" + ("" if args.no_register else f"; chat with it: s1app ask \"...\" --model {name}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
