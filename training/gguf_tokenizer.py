"""The tokenizer part of an exported GGUF: carried over from the GGUF a model came from, or built
from a Hugging Face ``tokenizer.json`` (byte-level BPE, the tokenizer of Qwen2.5 / s1 / SmolLM2)."""

from __future__ import annotations

import json
from pathlib import Path

import gguf

from s1app.errors import CheckpointError, ConfigError

PRE_TOKENIZERS = {"qwen2": "qwen2"}
"""llama.cpp's name for a model family's pre-tokenizer regex, where the family fixes it."""


def write_tokenizer(writer: gguf.GGUFWriter, checkpoint: Path, config: dict, source_gguf: str | None,
                    pre_tokenizer: str | None) -> None:
    if source_gguf and Path(source_gguf).exists() and pre_tokenizer is None:
        copy_tokenizer_fields(writer, gguf.GGUFReader(Path(source_gguf)))
    else:
        write_bpe_tokenizer(writer, checkpoint, config, pre_tokenizer or PRE_TOKENIZERS.get(config["model_type"]))


def copy_tokenizer_fields(writer: gguf.GGUFWriter, source: gguf.GGUFReader) -> None:
    """Every ``tokenizer.*`` key of ``source`` (vocabulary, merges, special ids, chat template), as is.
    Takes the reader, not the path: reading a GGUF's 49k-token vocabulary takes ~6 s here."""
    for field in source.fields.values():
        if field.name.startswith("tokenizer."):
            value_type = field.types[0]
            sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)


def write_bpe_tokenizer(writer: gguf.GGUFWriter, checkpoint: Path, config: dict, pre_tokenizer: str | None) -> None:
    """Vocabulary, token types, merges, special ids and chat template from the Hugging Face files."""
    if pre_tokenizer is None:
        raise ConfigError(
            f"This {config['model_type']} model did not come from a GGUF, so its llama.cpp pre-tokenizer name is "
            "unknown: pass --pre-tokenizer NAME (e.g. llama-bpe for Llama 3, smollm for SmolLM2)."
        )
    try:
        data = json.loads((checkpoint / "tokenizer.json").read_text(encoding="utf-8"))
        settings = json.loads((checkpoint / "tokenizer_config.json").read_text(encoding="utf-8"))
    except OSError as failure:
        raise CheckpointError(f"{checkpoint} has no tokenizer.json / tokenizer_config.json ({failure}): save the tokenizer with the model.") from failure
    if data["model"]["type"] != "BPE":
        raise ConfigError(f"Export builds BPE tokenizers only; this one is {data['model']['type']}.")
    size = config["vocab_size"]
    tokens = [f"[PAD{index}]" for index in range(size)]
    types = [gguf.TokenType.UNUSED] * size
    for text, index in data["model"]["vocab"].items():
        tokens[index], types[index] = text, gguf.TokenType.NORMAL
    for added in data.get("added_tokens", []):
        tokens[added["id"]] = added["content"]
        types[added["id"]] = gguf.TokenType.CONTROL if added["special"] else gguf.TokenType.USER_DEFINED
    merges = [merge if isinstance(merge, str) else " ".join(merge) for merge in data["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre_tokenizer)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    ids = {text: index for index, text in enumerate(tokens)}
    for role, add in (("bos", writer.add_bos_token_id), ("eos", writer.add_eos_token_id),
                      ("pad", writer.add_pad_token_id), ("unk", writer.add_unk_token_id)):
        token = settings.get(f"{role}_token")
        token = token.get("content") if isinstance(token, dict) else token
        if token in ids:
            add(ids[token])
    writer.add_add_bos_token(bool(settings.get("add_bos_token", False)))
    template_file = checkpoint / "chat_template.jinja"
    template = template_file.read_text(encoding="utf-8") if template_file.exists() else settings.get("chat_template")
    if template:
        writer.add_chat_template(template)
