"""Test-only: a tiny random-weight GGUF per reasoning family, for real llama.cpp runs.

Each file is a llama-architecture model (1 block, 64 wide, a few MB) with the embedded SmolLM2
tokenizer, the family's special tokens appended as single CONTROL tokens, and the family's real
chat template (tests/fixtures/templates). Random weights choose nothing useful, so tests steer the
model's choices with tests/steered_backends.py; the tokenizer, the template, llama.cpp's decoding
and the engine are the real ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TEMPLATES = Path(__file__).parent / "fixtures" / "templates"

WIDTH, FEED_FORWARD, HEADS = 64, 128, 4
CONTROL = 3  # llama.cpp's token type for a control (special) token


@dataclass(frozen=True)
class Family:
    file_stem: str
    """The GGUF's file name without .gguf: the model's name, which some detection rules read."""
    template: str
    special_tokens: tuple[str, ...]
    bos: str
    eos: str
    expected_format: str


QWEN_CHATML = ("<|im_start|>", "<|im_end|>")
FAMILIES = {
    "harmony": Family("gpt-oss-tiny", "gpt-oss.jinja",
                      ("<|start|>", "<|message|>", "<|channel|>", "<|end|>", "<|return|>", "<|call|>", "<|startoftext|>"),
                      "<|startoftext|>", "<|return|>", "harmony"),
    "qwen3": Family("qwen3-tiny", "qwen3.jinja", (*QWEN_CHATML, "<think>", "</think>"), "<|im_start|>", "<|im_end|>", "think-tags"),
    "qwq": Family("qwq-tiny", "qwq-32b.jinja", (*QWEN_CHATML, "<think>", "</think>"), "<|im_start|>", "<|im_end|>", "think-tags"),
    "r1-distill-qwen": Family("r1-distill-qwen-tiny", "deepseek-r1-distill-qwen.jinja",
                              ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"),
                              "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "think-tags"),
    "r1-distill-llama": Family("r1-distill-llama-tiny", "deepseek-r1-distill-llama.jinja",
                               ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"),
                               "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "think-tags"),
    "magistral": Family("magistral-tiny", "magistral-small-2509.jinja",
                        ("<s>", "</s>", "[INST]", "[/INST]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[THINK]", "[/THINK]"),
                        "<s>", "</s>", "magistral"),
    "seed-oss": Family("seed-oss-tiny", "seed-oss.jinja",
                       ("<seed:bos>", "<seed:eos>", "<seed:think>", "</seed:think>", "<seed:cot_budget_reflect>",
                        "</seed:cot_budget_reflect>"), "<seed:bos>", "<seed:eos>", "seed-oss"),
    "phi-4-reasoning": Family("phi-4-reasoning-tiny", "phi-4-reasoning.jinja", (*QWEN_CHATML, "<|im_sep|>", "<think>", "</think>"),
                              "<|im_start|>", "<|im_end|>", "think-tags"),
    "s1": Family("s1.1-tiny", "qwen2.5-instruct.jinja", QWEN_CHATML, "<|im_start|>", "<|im_end|>", "s1"),
}


@functools.cache
def _embedded_vocab() -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...], str]:
    """The embedded GGUF's tokenizer, read once per test session (GGUFReader takes ~4-6 s over its
    49k tokens and merges here: once per family was most of the family tests' time)."""
    from gguf import GGUFReader

    from s1app.registry import locate_weights, resolve_model

    reader = GGUFReader(locate_weights(resolve_model(None)))  # the embedded default: SmolLM2
    fields = reader.fields
    return (tuple(fields["tokenizer.ggml.tokens"].contents()), tuple(fields["tokenizer.ggml.token_type"].contents()),
            tuple(fields["tokenizer.ggml.merges"].contents()), fields["tokenizer.ggml.pre"].contents())


def write_family_gguf(family: Family, folder: Path) -> Path:
    """Write ``family``'s tiny GGUF into ``folder`` (once) and return its path."""
    import gguf

    path = folder / f"{family.file_stem}.gguf"
    if path.exists():
        return path
    shared_tokens, shared_types, merges, pre = _embedded_vocab()
    tokens, token_types = list(shared_tokens), list(shared_types)
    for special in family.special_tokens:
        if special not in tokens:
            tokens.append(special)
            token_types.append(CONTROL)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(family.file_stem)
    writer.add_context_length(4096)
    writer.add_embedding_length(WIDTH)
    writer.add_block_count(1)
    writer.add_feed_forward_length(FEED_FORWARD)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS)
    writer.add_rope_dimension_count(WIDTH // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_merges(list(merges))
    writer.add_bos_token_id(tokens.index(family.bos))
    writer.add_eos_token_id(tokens.index(family.eos))
    writer.add_add_bos_token(False)
    writer.add_chat_template((TEMPLATES / family.template).read_text())
    _add_random_weights(writer, len(tokens))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _add_random_weights(writer, vocab_size: int) -> None:
    rng = np.random.default_rng(0)

    def matrix(rows: int, columns: int) -> np.ndarray:
        return (rng.standard_normal((rows, columns)) * 0.05).astype(np.float16)

    writer.add_tensor("token_embd.weight", matrix(vocab_size, WIDTH))
    writer.add_tensor("output_norm.weight", np.ones(WIDTH, dtype=np.float32))
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(WIDTH, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(WIDTH, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(f"blk.0.{name}.weight", matrix(WIDTH, WIDTH))
    writer.add_tensor("blk.0.ffn_gate.weight", matrix(FEED_FORWARD, WIDTH))
    writer.add_tensor("blk.0.ffn_up.weight", matrix(FEED_FORWARD, WIDTH))
    writer.add_tensor("blk.0.ffn_down.weight", matrix(WIDTH, FEED_FORWARD))
