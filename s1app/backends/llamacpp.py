"""In-process llama.cpp: GGUF models on the CPU (or a small GPU), many runs decoded together.

One model, one llama.cpp context with a KV stream per sequence (llamacpp_native), and a
BatchDecoder that advances every concurrent ``generate`` call in one ``llama_decode`` per step,
on the process's one decode thread (decode_loop). A call lands in the sequence slot whose cache
shares the longest prefix with its prompt, so a Wait continuation evaluates only the Wait.

Reproducible by construction on a batch-invariant build (ours, see scripts/llama_cpp_wheel.py):
a token's logits do not depend on what shares its batch, what ran before, or how its prefix was
evaluated, so the same question, settings and seed give the same tokens (docs/reproducibility.md).
``batch_invariant`` says whether the loaded build is one; the app warns when it is not.

Each token is decoded to text once (``token_to_piece``) through an incremental UTF-8 decoder, so
a character split across tokens comes out whole and the per-token cost does not grow with the
output (llama-cpp-python's ``create_completion(stream=True)`` re-detokenizes everything: ~4 tok/s).
"""

from __future__ import annotations

import codecs
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from s1app.backends.base import BackendInfo, Finish, Piece, Sampling
from s1app.backends.batch_decoder import BatchDecoder, DecodeCall
from s1app.backends.decode_loop import decode_loop
from s1app.backends.generating import CallOptions, GeneratingBackend, drain
from s1app.backends.local_tokenizer import GgufVocab
from s1app.backends.token_sampler import TokenSampler
from s1app.errors import BackendError, ModelFormatError
from s1app.llama_log import llama_log_shown, route_llama_log

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
KV_CACHE_BUDGET_BYTES = 4 * 1024**3
"""Default room for all sequences' KV caches together (``parallel`` overrides)."""
MAX_DEFAULT_SEQUENCES = 8
INVARIANCE_PROBE_TEXT = "The quick brown fox jumps over the lazy dog."


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


def default_sequences(kv_bytes_per_sequence: int) -> int:
    """Sequences decoded together by default: as many as fit the KV budget, 1 to 8."""
    return max(1, min(MAX_DEFAULT_SEQUENCES, KV_CACHE_BUDGET_BYTES // max(1, kv_bytes_per_sequence)))


def gpu_layers(requested: int | None) -> int:
    """Layers to offload: what was asked, else all of them on a GPU build and none on a CPU build."""
    import llama_cpp

    if requested is not None:
        return requested
    return -1 if llama_cpp.llama_supports_gpu_offload() else 0


class LlamaCppBackend(GeneratingBackend):
    def __init__(
        self,
        model_path: str,
        *,
        name: str | None = None,
        context_length: int | None = None,
        parallel: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        check_build: bool = True,
    ) -> None:
        check_gguf(model_path)
        if check_build:
            from s1app.native_check import ensure_build_works

            ensure_build_works(model_path)
        from s1app.backends.llamacpp_native import (
            NativeSequences,
            kv_bytes_per_sequence,
        )

        # Loaded in the caller's thread: a Ctrl-C during a load then lands where the load is (llama.cpp
        # silences the process's stderr while it loads). Only decoding happens on the decode thread.
        self._loop = decode_loop()
        self.gpu_layers = gpu_layers(n_gpu_layers)
        self._model = _load_model(model_path, self.gpu_layers)
        self._token_bytes = token_bytes(self._model)
        context_length = context_length or self._model.n_ctx_train()
        sequences = parallel or default_sequences(kv_bytes_per_sequence(self._model, context_length))
        self._native = NativeSequences(self._model, sequences=sequences, context_length=context_length,
                                       n_threads=n_threads or os.cpu_count() or 1)
        super().__init__(GgufVocab(self._model, f"llama.cpp vocab of {Path(model_path).name}"))
        probe = self.tokenize(INVARIANCE_PROBE_TEXT, prompt=True)
        self.batch_invariant = self._loop.call(lambda: self._native.batch_invariant(probe))
        if not self.batch_invariant:
            log.warning("This llama.cpp build is not batch-invariant: runs may not repeat exactly "
                        "(see docs/reproducibility.md; 's1app doctor' says more).")
        self._decoder = BatchDecoder(self._native, self._loop.wake)
        self._loop.add(self._decoder)
        self.parallel = sequences
        self.info = BackendInfo(name="llamacpp", model=name or Path(model_path).name, context_length=context_length)

    def _stream(self, prompt_ids: list[int], limit: int, max_tokens: int, stop_ids: frozenset[int],
                sampling: Sampling, cancel: threading.Event, options: CallOptions) -> Iterator[Piece | Finish]:
        if not prompt_ids:
            raise BackendError("llama.cpp needs at least one prompt token to continue from.")
        call = DecodeCall(prompt_ids, limit, max_tokens, stop_ids, TokenSampler(sampling, options.banned_token_ids),
                          IncrementalDetokenizer(self._token_bytes), cancel, logprobs=options.logprobs,
                          fork=options.fork)
        self._decoder.submit(call)
        try:
            for item in drain(call.items, cancel):  # exact: nothing decoded after cancel is handed on
                if isinstance(item, BackendError):
                    raise item
                yield item
                if isinstance(item, Finish):
                    return
        finally:
            self._decoder.leave(call)

    def close(self) -> None:
        if getattr(self, "_native", None) is None:
            return
        self._loop.remove(self._decoder)

        def free() -> None:
            self._decoder.fail_all(BackendError("The model was closed."))
            self._native.close()
            self._model.close()

        self._loop.call(free)
        self._native = None


def _load_model(model_path: str, n_gpu_layers: int):
    import llama_cpp
    from llama_cpp._internals import LlamaModel

    route_llama_log()
    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = n_gpu_layers
    # No runtime weight repacking: repacked Q4_0 / K-quant kernels serve one token and a batch
    # with different code, which would make a token's logits depend on its batch.
    params.use_extra_bufts = False
    try:
        return LlamaModel(path_model=model_path, params=params, verbose=llama_log_shown())
    except (ValueError, RuntimeError) as failure:
        raise ModelFormatError(f"llama.cpp could not load {model_path}: {failure}") from failure


def token_bytes(vocab) -> Callable[[int], bytes]:
    """A token's bytes (special tokens rendered), asked of llama.cpp once per token id: a lookup
    after that (~0.5 us of CPU a token, ~2.5 us through llama-cpp-python's ``detokenize``)."""
    return functools.cache(lambda token_id: vocab.detokenize([token_id], special=True))


class IncrementalDetokenizer:
    """Text of one token at a time, O(1) per token: each token's bytes once, through a UTF-8
    decoder that holds a character split across tokens until its last byte arrives."""

    def __init__(self, token_bytes: Callable[[int], bytes]) -> None:
        self._token_bytes = token_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def __call__(self, token_id: int) -> str:
        return self._decoder.decode(self._token_bytes(token_id))
