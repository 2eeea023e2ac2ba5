"""Reasoning formats: where thinking opens and closes, and how to tell which one a model uses.

Pure text policy; ``FormatTokens`` resolves a format against a backend's tokenizer once per model.

- s1: Qwen chat template; thinking opened by ``<|im_start|>think``, answer by
  ``<|im_start|>answer`` (simplescaling s1-32B / s1.1).
- think-tags: ``<think>`` ... ``</think>`` (DeepSeek-R1 distills, QwQ, Qwen3). Some templates
  pre-fill ``<think>\\n`` in the generation prompt, so the output has no opening tag.
- prompted: an ordinary chat model asked to think first; thinking opened by prefill and closed
  by a delimiter the engine can force.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from s1app.errors import ConfigError

if TYPE_CHECKING:
    from s1app.backends.base import Backend

FormatName = Literal["s1", "think-tags", "prompted"]
FORMAT_NAMES: tuple[FormatName, ...] = ("s1", "think-tags", "prompted")

PROMPTED_SYSTEM_PROMPT = (
    "You are a careful problem solver. First think step by step inside <think> and </think>. "
    "Then give the final answer after the closing tag."
)


@dataclass(frozen=True, slots=True)
class ReasoningFormat:
    name: FormatName
    thinking_open: str
    """Appended after the chat template's generation prompt (unless the template pre-fills it)."""
    end_of_thinking: str
    """What the engine writes to end thinking: the delimiter plus the answer's opening."""
    end_markers: tuple[str, ...]
    """Texts whose appearance means the model is ending thinking (special tokens where possible)."""
    answer_end_markers: tuple[str, ...]
    """Texts (besides EOS) that end the answer."""
    system_prompt: str | None = None
    """Used when the conversation has no system message."""
    final_answer: str = "Final Answer:"


FORMATS: dict[FormatName, ReasoningFormat] = {
    "s1": ReasoningFormat(
        name="s1",
        thinking_open="<|im_start|>think\n",
        end_of_thinking="<|im_start|>answer\n",
        end_markers=("<|im_start|>", "<|im_end|>"),
        answer_end_markers=("<|im_end|>",),
    ),
    "think-tags": ReasoningFormat(
        name="think-tags",
        thinking_open="<think>\n",
        end_of_thinking="\n</think>\n\n",
        end_markers=("</think>",),
        answer_end_markers=(),
    ),
    "prompted": ReasoningFormat(
        name="prompted",
        thinking_open="<think>\n",
        end_of_thinking="\n</think>\n\n",
        end_markers=("</think>",),
        answer_end_markers=(),
        system_prompt=PROMPTED_SYSTEM_PROMPT,
    ),
}

_S1_NAME = re.compile(r"(^|[^a-z0-9])s1(\.\d+)?([^a-z0-9]|$)", re.IGNORECASE)


def get_format(name: str) -> ReasoningFormat:
    if name not in FORMATS:
        raise ConfigError(f"Unknown reasoning format {name!r}: use one of auto, {', '.join(FORMATS)}.")
    return FORMATS[name]  # type: ignore[index]


def detect_format(chat_template: str | None, special_token_texts: set[str], model_name: str = "") -> FormatName:
    """Tell the reasoning format from the chat template, the vocabulary's special tokens and the name.

    think-tags when the template or the vocabulary knows ``<think>``; s1 when the template opens
    ``<|im_start|>think`` or a ChatML model is named like s1 / s1.1 (their template is Qwen's
    own); otherwise prompted.
    """
    template = chat_template or ""
    if "<think>" in template or "</think>" in special_token_texts:
        return "think-tags"
    if "<|im_start|>think" in template:
        return "s1"
    if "<|im_start|>" in template and _S1_NAME.search(model_name.replace("_", "-")):
        return "s1"
    return "prompted"


@dataclass(frozen=True, slots=True)
class FormatTokens:
    """A format resolved against one model's tokenizer: what the engine forces and stops on."""

    format: ReasoningFormat
    thinking_stop_ids: frozenset[int]
    """Single-token end markers plus end-of-sequence / end-of-turn: the model ending thinking."""
    thinking_stop_texts: tuple[str, ...]
    """Multi-token end markers, matched on the text as it streams."""
    answer_stop_ids: frozenset[int]
    answer_stop_texts: tuple[str, ...]
    end_of_thinking_ids: tuple[int, ...]
    final_answer_ids: tuple[int, ...]
    end_of_turn_ids: frozenset[int] = frozenset()
    """End-of-sequence / end-of-turn: a thinking round stopped by one of these ended the model's turn."""

    @classmethod
    def resolve(cls, fmt: ReasoningFormat, backend: Backend) -> FormatTokens:
        specials = backend.special_tokens()
        end_of_turn = {specials[name] for name in ("eos", "eot") if name in specials}

        def split(markers: tuple[str, ...]) -> tuple[set[int], tuple[str, ...]]:
            ids: set[int] = set()
            texts: list[str] = []
            for marker in markers:
                marker_ids = backend.tokenize(marker)
                if len(marker_ids) == 1:
                    ids.add(marker_ids[0])
                else:
                    texts.append(marker)
            return ids, tuple(texts)

        thinking_ids, thinking_texts = split(fmt.end_markers)
        answer_ids, answer_texts = split(fmt.answer_end_markers)
        return cls(
            format=fmt,
            thinking_stop_ids=frozenset(thinking_ids | end_of_turn),
            thinking_stop_texts=thinking_texts,
            answer_stop_ids=frozenset(answer_ids | end_of_turn),
            answer_stop_texts=answer_texts,
            end_of_thinking_ids=tuple(backend.tokenize(fmt.end_of_thinking)),
            final_answer_ids=tuple(backend.tokenize(fmt.final_answer)),
            end_of_turn_ids=frozenset(end_of_turn),
        )
