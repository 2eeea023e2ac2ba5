"""What differs between OpenAI-compatible servers: which one answers (its dialect), the context
it allows, and how its errors read. Pure functions over what the server sent."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from s1app.backends.local_tokenizer import GgufVocab, LocalTokenizer

FALLBACK_CONTEXT_LENGTH = 4096

Dialect = Literal["vllm", "llama.cpp server", "llama-cpp-python", "other"]


def dialect_of(card: dict[str, Any]) -> Dialect:
    owner = str(card.get("owned_by", "")).lower()
    if owner == "vllm" or "max_model_len" in card:
        return "vllm"
    if owner == "llamacpp":
        return "llama.cpp server"
    if owner == "me":  # llama-cpp-python's server answers with this placeholder
        return "llama-cpp-python"
    return "other"


def context_length(card: dict[str, Any], configured: int | None, tokenizer: LocalTokenizer) -> int:
    """The server's own limit where it says it (vLLM), capped by what the registry/CLI configured."""
    served = card.get("max_model_len")
    candidates = [int(value) for value in (served, configured) if value]
    if candidates:
        return min(candidates)
    if isinstance(tokenizer, GgufVocab) and tokenizer.context_length():
        return int(tokenizer.context_length())
    return FALLBACK_CONTEXT_LENGTH


def message_of(payload: Any) -> str:
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)
        if "detail" in payload:
            return str(payload["detail"])
        return str(error)
    return str(payload)


def error_message(response: httpx.Response) -> str:
    try:
        return message_of(response.json())
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
