"""The one protocol every backend implements. The budget engine speaks only this.

Backends work in token ids: the engine sends the whole context (prompt + everything generated or
forced so far) as ids on every call, and a backend reuses its cache for the shared prefix
(llama.cpp: the KV cache of one of its contexts; vLLM and servers: prefix caching). So a
continuation after a forced "Wait" never re-tokenizes text the model produced and never
re-evaluates the whole context.

``generate`` must be safe to call from several threads at once (compare view, two browser users,
batched eval): each backend says in its docstring how it keeps that safe.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

FinishReason = Literal["stop", "length", "cancelled", "context-full"]


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling settings for one call. temperature 0 is greedy and deterministic."""

    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Piece:
    """One generated token and the text it completes.

    ``text`` is incremental: a multi-byte character split across tokens comes out whole on the
    token that completes it (earlier tokens of it carry ""). Concatenating the texts of a stream
    gives the stream's text exactly.
    """

    token_id: int
    text: str
    logprob: float | None = None
    """The token's log-probability under the model (only when the call asked for ``logprobs``)."""


@dataclass(frozen=True, slots=True)
class Finish:
    """Last item of every stream. ``stop_token_id`` is set when reason is "stop".

    The stop token itself is not yielded as a Piece and is not in the backend's continuation:
    the engine decides what comes next.
    """

    reason: FinishReason
    stop_token_id: int | None = None


@dataclass(frozen=True, slots=True)
class BackendInfo:
    name: str
    """"llamacpp", "vllm", "openai"."""
    model: str
    """What a person would call the model (registry name or file name)."""
    context_length: int
    token_counts: Literal["exact", "tokenizer"] = "exact"
    """"exact": counts come from the engine that generated; "tokenizer": re-counted client-side."""


@runtime_checkable
class Backend(Protocol):
    info: BackendInfo

    def tokenize(self, text: str, *, prompt: bool = False) -> list[int]:
        """Ids of ``text``, special tokens parsed (``<|im_start|>`` is one id).

        ``prompt=True`` adds BOS the way the model expects it (never twice); otherwise no BOS.
        """

    def detokenize(self, token_ids: list[int]) -> str:
        """Text of ``token_ids``, special tokens rendered."""

    def chat_template(self) -> str | None:
        """The model's Jinja chat template, if it ships one."""

    def special_tokens(self) -> dict[str, int]:
        """Named special tokens: at least "eos"; "bos", "eot" where the model has them."""

    def generate(
        self,
        prompt_ids: list[int],
        *,
        max_tokens: int,
        stop_token_ids: Collection[int],
        sampling: Sampling,
        cancel: threading.Event | None = None,
        logprobs: bool = False,
        banned_token_ids: Collection[int] = (),
        fork: bool = False,
    ) -> Iterator[Piece | Finish]:
        """Stream up to ``max_tokens`` Pieces continuing ``prompt_ids``, then one Finish.

        Closing the iterator early (the engine stops reading) ends the generation and frees the
        backend for other calls. Setting ``cancel`` ends it with Finish("cancelled").
        ``logprobs``: each Piece carries its token's log-probability. ``banned_token_ids``: never
        sample these (a logit bias of minus infinity). ``fork``: an answer probe that shares a
        running call's prefix: the backend may copy that call's cache, and runs it at a lower
        priority than other calls (it must not starve them).
        Raises BackendError when the backend fails.
        """

    def close(self) -> None:
        """Free the model and any contexts / connections."""
