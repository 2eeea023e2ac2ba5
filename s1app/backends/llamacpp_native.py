"""One llama.cpp context holding several sequences, each in a KV stream of its own.

Why a stream per sequence (``kv_unified=False``): attention sums over KV cells in cell order, so a
sequence whose cells interleave with another's gets other float sums than it would alone. In its
own stream a sequence's cells always start at 0 and run in position order, whatever else is
decoded beside it or before it. With a build whose matmuls are batch-invariant (ours: llamafile's
sgemm off, see scripts/llama_cpp_wheel.py) a token's logits are then bitwise the same whether it is
evaluated alone, in a prompt chunk, after a reused prefix, or in one batch with other sequences
(measured: docs/reproducibility.md). ``batch_invariant`` checks that for the build at hand.
"""

from __future__ import annotations

import ctypes

import llama_cpp
import numpy as np
from llama_cpp._internals import LlamaContext, LlamaModel
from llama_cpp._utils import suppress_stdout_stderr

from s1app.errors import BackendError
from s1app.llama_log import llama_log_shown

PROMPT_CHUNK_TOKENS = 512
"""Tokens per llama_decode when evaluating a prompt (llama.cpp's n_batch)."""

KV_BYTES_PER_VALUE = 2  # f16 K and V caches, llama.cpp's default


class DecodeError(BackendError):
    """llama_decode refused a batch (no room in the KV cache, or an invalid batch)."""


def kv_bytes_per_sequence(model: LlamaModel, context_length: int) -> int:
    """Bytes of K and V cache one sequence of ``context_length`` tokens needs."""
    pointer = model.model
    layers = llama_cpp.llama_model_n_layer(pointer)
    heads = max(1, llama_cpp.llama_model_n_head(pointer))
    kv_width = llama_cpp.llama_model_n_embd(pointer) // heads * llama_cpp.llama_model_n_head_kv(pointer)
    return context_length * layers * 2 * kv_width * KV_BYTES_PER_VALUE


class NativeSequences:
    """``sequences`` KV streams of ``context_length`` tokens each over one loaded model.

    Used from one thread only (the decode loop's): llama.cpp contexts are not thread-safe.
    """

    def __init__(self, model: LlamaModel, *, sequences: int, context_length: int, n_threads: int) -> None:
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = sequences * context_length
        params.n_batch = params.n_ubatch = PROMPT_CHUNK_TOKENS
        params.n_seq_max = sequences
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = False
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.no_perf = True
        try:
            with suppress_stdout_stderr(disable=llama_log_shown()):
                self._context = LlamaContext(model=model, params=params, verbose=False)
        except ValueError as failure:
            raise BackendError(
                f"llama.cpp could not create a context for {sequences} sequences of {context_length} tokens "
                f"({failure}): lower --parallel or --context-length."
            ) from failure
        self.sequences = sequences
        self.context_length = context_length
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(model.vocab)
        self._logits_row = ctypes.c_float * self.n_vocab
        self._batch = llama_cpp.llama_batch_init(max(PROMPT_CHUNK_TOKENS, sequences), 0, 1)

    def evaluate(self, sequence: int, token_ids: list[int], start_position: int) -> np.ndarray:
        """Evaluate a prompt's tokens for one sequence; the logits after its last token."""
        for offset in range(0, len(token_ids), PROMPT_CHUNK_TOKENS):
            chunk = token_ids[offset:offset + PROMPT_CHUNK_TOKENS]
            position = start_position + offset
            self._decode([(sequence, token, position + index) for index, token in enumerate(chunk)], last_only=True)
        return self._logits(len(token_ids[offset:offset + PROMPT_CHUNK_TOKENS]) - 1)

    def step(self, items: list[tuple[int, int, int]]) -> list[np.ndarray]:
        """One token for each of several sequences, (sequence, token, position) each, in one
        llama_decode; the logits after each. Each array is valid until the next call."""
        self._decode(items, last_only=False)
        return [self._logits(index) for index in range(len(items))]

    def forget(self, sequence: int, from_position: int = 0) -> None:
        """Drop a sequence's cached tokens from ``from_position`` on."""
        llama_cpp.llama_memory_seq_rm(self._context.memory, sequence, from_position, -1)

    def copy(self, source: int, target: int, length: int) -> None:
        """Give ``target`` the first ``length`` cached tokens of ``source``: a fork. Across KV
        streams llama.cpp copies whole streams only (the copy is done at the next decode), so the
        tail is dropped after it. The copy's logits equal the source's, bitwise (docs/probes.md)."""
        llama_cpp.llama_memory_seq_cp(self._context.memory, source, target, -1, -1)
        self.forget(target, length)

    def _decode(self, items: list[tuple[int, int, int]], *, last_only: bool) -> None:
        batch = self._batch
        for index, (sequence, token, position) in enumerate(items):
            batch.token[index] = token
            batch.pos[index] = position
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = sequence
            batch.logits[index] = not last_only
        batch.logits[len(items) - 1] = True
        batch.n_tokens = len(items)
        status = llama_cpp.llama_decode(self._context.ctx, batch)
        if status != 0:
            reason = "no room left in the KV cache" if status == 1 else f"llama_decode returned {status}"
            raise DecodeError(f"llama.cpp could not decode a batch of {len(items)} tokens: {reason}.")

    def _logits(self, index: int) -> np.ndarray:
        # A view on llama.cpp's buffer, no copy: frombuffer over a ctypes array costs ~1.3 us of CPU
        # a token, np.ctypeslib.as_array ~4.4 us (it casts and builds an array type each call).
        pointer = llama_cpp.llama_get_logits_ith(self._context.ctx, index)
        return np.frombuffer(self._logits_row.from_address(ctypes.addressof(pointer.contents)), dtype=np.float32)

    def batch_invariant(self, token_ids: list[int]) -> bool:
        """Whether this build gives a token the same logits in a batch as alone (uses sequence 0)."""
        whole = self.evaluate(0, token_ids, 0).copy()
        self.forget(0)
        for position, token in enumerate(token_ids):
            alone = self.evaluate(0, [token], position)
        self.forget(0)
        return bool(np.array_equal(whole, alone))

    def close(self) -> None:
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None
        self._context.close()
