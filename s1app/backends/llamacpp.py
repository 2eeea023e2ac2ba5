"""In-process llama.cpp through llama-cpp-python's low-level ``Llama.generate`` loop.

Why not ``create_completion(stream=True)``: it re-detokenizes the whole output on every token
(measured here: ~4 tok/s against ~73 tok/s for the plain loop). This backend decodes each token
once (``token_to_piece``) through an incremental UTF-8 decoder, so a character split across
tokens comes out whole and the per-token cost does not grow with the output.

Concurrency: a small pool of llama.cpp contexts over one model file (mmap-ed, so the weights'
pages are shared). A call leases the idle context whose cached tokens share the longest prefix
with its prompt, so a run's rounds (a Wait continuation, the answer) land where their prefix is
already in the KV cache, and two runs at once (compare view, two users) each get a context. More
calls than contexts wait for one to free up.

One decode thread for the whole process: llama.cpp here is built with OpenMP, and only the first
thread that ever decodes in a process does so at full speed (measured on this 2-core machine:
75 tok/s on that thread, 23 tok/s on any other). So every context decodes on one process-wide
thread (``decode_thread()``), which advances concurrent runs a token each in turn; ``generate``
only reads pieces from it, whichever thread the caller is on. Two runs at once then share the
CPU without oversubscribing it.
"""

from __future__ import annotations

import codecs
import os
import random
import threading
from collections.abc import Collection, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from s1app.backends.base import BackendInfo, Finish, Piece, Sampling
from s1app.backends.deltas import call_limit, length_finish
from s1app.backends.local_tokenizer import GgufVocab, TokenizerSide
from s1app.errors import BackendError, ModelFormatError
from s1app.threaded import InterleavingWorker

GGUF_MAGIC = b"GGUF"


def check_gguf(path: str) -> None:
    """Fail with a clear message unless ``path`` is a readable GGUF file."""
    file = Path(path)
    if not file.is_file():
        raise ModelFormatError(f"{path} is not a file: llama.cpp needs a .gguf model file.")
    with file.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFormatError(
            f"{path} is not a GGUF model (it does not start with 'GGUF'). Convert it with llama.cpp's "
            "convert_hf_to_gguf.py, or download a .gguf build of the model."
        )


class LlamaCppBackend(TokenizerSide):
    def __init__(
        self,
        model_path: str,
        *,
        name: str | None = None,
        context_length: int | None = None,
        max_contexts: int = 2,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
    ) -> None:
        check_gguf(model_path)
        self._model_path = model_path
        self._settings = {
            "n_ctx": context_length or 0,
            "n_threads": n_threads or os.cpu_count() or 1,
            "n_gpu_layers": n_gpu_layers,
        }
        self._max_contexts = max(1, max_contexts)
        self._lock = threading.Condition()
        self._idle: list = []
        self._created = 0
        first = self._new_context()
        self._created = 1
        self._idle.append(first)
        self._vocab = first._model  # the hot path decodes one token at a time straight from it
        super().__init__(GgufVocab(first._model, f"llama.cpp vocab of {Path(model_path).name}"))
        self.info = BackendInfo(
            name="llamacpp",
            model=name or Path(model_path).name,
            context_length=first.n_ctx(),
        )

    # -- contexts -------------------------------------------------------------------------

    def _new_context(self):
        from llama_cpp import Llama

        try:
            llama = Llama(model_path=self._model_path, verbose=False, seed=0, **self._settings)
        except (ValueError, RuntimeError) as failure:
            raise ModelFormatError(f"llama.cpp could not load {self._model_path}: {failure}") from failure
        return llama

    def _lease(self, prompt_ids: list[int]):
        with self._lock:
            while not self._idle and self._created >= self._max_contexts:
                self._lock.wait()
            if self._idle:
                best = max(self._idle, key=lambda llama: _shared_prefix(llama, prompt_ids))
                self._idle.remove(best)
                return best
            self._created += 1  # hold the slot while the new context loads outside the lock
        try:
            return self._new_context()
        except BaseException:
            with self._lock:
                self._created -= 1
                self._lock.notify()
            raise

    def _release(self, llama) -> None:
        with self._lock:
            self._idle.append(llama)
            self._lock.notify()

    # -- the protocol ---------------------------------------------------------------------

    def generate(
        self,
        prompt_ids: list[int],
        *,
        max_tokens: int,
        stop_token_ids: Collection[int],
        sampling: Sampling,
        cancel: threading.Event | None = None,
    ) -> Iterator[Piece | Finish]:
        limit = call_limit(len(prompt_ids), max_tokens, self.info.context_length)
        if isinstance(limit, Finish):
            yield limit
            return
        llama = self._lease(prompt_ids)
        stop_ids = frozenset(stop_token_ids)
        try:
            yield from decode_thread().stream(
                lambda: self._stream(llama, prompt_ids, limit, max_tokens, stop_ids, sampling, cancel)
            )
        finally:
            self._release(llama)

    def _stream(self, llama, prompt_ids, limit, max_tokens, stop_ids, sampling: Sampling,
                cancel) -> Iterator[Piece | Finish]:
        piece_text = IncrementalDetokenizer(self._vocab)
        llama.set_seed(sampling.seed if sampling.seed is not None else random.getrandbits(31))
        tokens = llama.generate(
            prompt_ids,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            top_k=0 if sampling.temperature > 0 else 40,
            min_p=0.0,
            repeat_penalty=1.0,
        )
        produced = 0
        try:
            for token in tokens:
                if cancel is not None and cancel.is_set():
                    yield Finish("cancelled")
                    return
                if token in stop_ids:
                    yield Finish("stop", token)
                    return
                yield Piece(token, piece_text(token))
                produced += 1
                if produced >= limit:
                    yield length_finish(produced, max_tokens)
                    return
        except (RuntimeError, OSError) as failure:
            raise BackendError(f"llama.cpp failed while generating: {failure}") from failure
        finally:
            tokens.close()

    def close(self) -> None:
        with self._lock:
            for llama in self._idle:
                llama.close()
            self._idle.clear()


class IncrementalDetokenizer:
    """Text of one token at a time, O(1) per token: each token's bytes once, through a UTF-8
    decoder that holds a character split across tokens until its last byte arrives."""

    def __init__(self, vocab) -> None:
        self._vocab = vocab
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, token_id: int) -> str:
        return self._decoder.decode(self._vocab.detokenize([token_id], special=True))


@lru_cache(maxsize=1)
def decode_thread() -> InterleavingWorker:
    """The one thread of this process on which llama.cpp decodes (see the module docstring)."""
    return InterleavingWorker("s1app-llamacpp-decode")


def _shared_prefix(llama, prompt_ids: list[int]) -> int:
    """How many leading tokens of ``prompt_ids`` this context already has in its KV cache."""
    cached = llama._input_ids
    length = min(len(cached), len(prompt_ids))
    if length == 0:
        return 0
    differs = np.flatnonzero(cached[:length] != np.asarray(prompt_ids[:length]))
    return int(differs[0]) if len(differs) else length
