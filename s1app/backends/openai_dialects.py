"""What differs between OpenAI-compatible servers: which one answers (its dialect), the context
it allows, how a call's logprobs and banned tokens are asked for and read back, and how its
errors read. Pure functions over what the server sent."""

from __future__ import annotations

from typing import Any, Literal

import httpx

from s1app.backends.generating import CallOptions
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


def call_options_body(dialect: Dialect, call: CallOptions) -> dict[str, Any]:
    """The request fields for a call's logprobs and banned tokens. A bias of -100 is the OpenAI
    API's ban (servers clamp to it); llama.cpp's server takes ``false``: never this token."""
    body: dict[str, Any] = {}
    if call.logprobs:
        body["logprobs"] = 1  # the sampled token's comes with every top-1 list
    if call.banned_token_ids:
        ban = False if dialect == "llama.cpp server" else -100
        body["logit_bias"] = {str(token): ban for token in sorted(call.banned_token_ids)}
    return body


def logprobs_of(choice: dict[str, Any]) -> list[float | None] | None:
    """The sampled tokens' log-probabilities in one streamed choice: OpenAI's completions shape
    (``token_logprobs``: vLLM, llama-cpp-python) or llama.cpp server's (``content[].logprob``)."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        return None
    if isinstance(logprobs.get("token_logprobs"), list):
        return [value if isinstance(value, int | float) else None for value in logprobs["token_logprobs"]]
    if isinstance(logprobs.get("content"), list):
        return [entry.get("logprob") if isinstance(entry, dict) else None for entry in logprobs["content"]]
    return None


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
