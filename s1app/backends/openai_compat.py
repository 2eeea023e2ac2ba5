"""A running OpenAI-compatible server (vLLM, llama.cpp, SGLang...) over streaming ``/v1/completions``.

Budget forcing needs raw-prompt continuation, so this backend never uses the chat endpoint: the
chat template is applied client-side (by the engine, as for every backend) and each call sends the
whole context as a completion prompt. What each server accepts differs, so the backend learns the
server's dialect from ``GET /v1/models`` once and then:

=====================  ==================  =====================  =========================
dialect                prompt sent as      stops via              token ids of the output
=====================  ==================  =====================  =========================
vllm                   token ids           ``stop_token_ids``     the server's (exact)
llama.cpp server       token ids           stop strings           re-tokenized locally
llama-cpp-python       text                end-of-generation      re-tokenized locally
                                           tokens, stop strings
other                  text                stop strings           re-tokenized locally
=====================  ==================  =====================  =========================

The tokenizer, chat template and special tokens come from the model's local files (the GGUF, or a
Hugging Face folder / repo id through transformers): ``--tokenizer`` names them, else ``--model``
does, which then is both the served model and the local file (or repo id) the tokenizer comes
from; a server started with ``--served-model-name`` needs ``--tokenizer``.
``BackendInfo.token_counts`` says whether counts are the server's ("exact") or re-counted
client-side ("tokenizer"). A call's ``logprobs`` are the server's (``logprobs: 1``), paired with
the re-counted tokens where the counts agree; ``banned_token_ids`` go as ``logit_bias``
(s1app.backends.openai_dialects); a ``fork`` needs nothing (servers cache shared prefixes).

Connections are retried (only the connect step, never a request the server may have started);
a server that sends nothing for ``timeout_s`` fails the call with a BackendError. Concurrency:
httpx's client is thread-safe and every ``generate`` is its own request, so the server decides
how concurrent runs share it (vLLM batches them; llama-cpp-python serializes them).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from s1app.backends.base import BackendInfo, Finish, Piece, Sampling
from s1app.backends.call_limits import length_finish
from s1app.backends.deltas import delta_pieces
from s1app.backends.generating import CallOptions, GeneratingBackend
from s1app.backends.local_tokenizer import LocalTokenizer, local_tokenizer
from s1app.backends.openai_dialects import (
    call_options_body,
    dialect_of,
    error_message,
    logprobs_of,
    message_of,
)
from s1app.backends.openai_dialects import context_length as context_length_of
from s1app.errors import BackendError

if TYPE_CHECKING:
    from s1app.backends import BackendOptions

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
CONNECT_ATTEMPTS = 3
CONNECT_RETRY_PAUSE_S = 0.5

class OpenAICompatBackend(GeneratingBackend):
    def __init__(self, weights: str, *, name: str, options: BackendOptions) -> None:
        self.base_url = (options.base_url or os.environ.get("S1APP_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self._headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        self.timeout_s = options.timeout_s
        self._client = self._new_client()
        card = self._pick_served_model(self._served_models(), weights, name)
        self.served_model: str = card["id"]
        self.dialect = dialect_of(card)
        super().__init__(self._open_tokenizer(options.tokenizer or weights))
        self._end_of_generation = {self._specials[key] for key in ("eos", "eot") if key in self._specials}
        context_length = context_length_of(card, options.context_length, self.tokenizer)
        self.info = BackendInfo(
            name="openai",
            model=name or self.served_model,
            context_length=context_length,
            token_counts="exact" if self.dialect == "vllm" else "tokenizer",
        )

    # -- set-up -----------------------------------------------------------------------------

    def _served_models(self) -> list[dict[str, Any]]:
        response = self._send("GET", "/models")
        try:
            cards = response.json()["data"]
            assert isinstance(cards, list) and all("id" in card for card in cards)
        except (ValueError, KeyError, TypeError, AssertionError) as failure:
            raise BackendError(
                f"{self.base_url}/models did not answer like an OpenAI-compatible server: {response.text[:200]!r}"
            ) from failure
        return cards

    def _pick_served_model(self, cards: list[dict[str, Any]], weights: str, name: str) -> dict[str, Any]:
        """The served model that ``--model`` means: by name or path, else the only one served
        when ``--model`` is the local file the tokenizer comes from."""
        wanted = {name, weights, Path(weights).name, Path(weights).name.removesuffix(".gguf")} - {""}
        for card in cards:
            served = str(card["id"])
            if served in wanted or Path(served).name in wanted or Path(served).name.removesuffix(".gguf") in wanted:
                return card
        if len(cards) == 1 and Path(weights).expanduser().exists():
            return cards[0]
        served_names = ", ".join(str(card["id"]) for card in cards) or "nothing"
        raise BackendError(
            f"The server at {self.base_url} serves {served_names}, not {name!r}: "
            "pass --model with the served name (or the local model file it serves)."
        )

    def _open_tokenizer(self, source: str) -> LocalTokenizer:
        try:
            return local_tokenizer(source)
        except BackendError as failure:
            raise BackendError(
                f"The app needs the tokenizer and chat template of {self.served_model!r} on this machine: {failure} "
                "Pass --tokenizer with the model's GGUF, Hugging Face folder or hub repo id."
            ) from failure

    # -- HTTP -------------------------------------------------------------------------------

    def _new_client(self) -> httpx.Client:
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0))
        return httpx.Client(headers=self._headers, timeout=timeout)

    def _drop_pooled_connections(self) -> None:
        """After a stream broke, its server may reset the kept-alive connection: start afresh.
        The old client is left to the garbage collector so streams still reading it finish."""
        self._client = self._new_client()

    def _send(self, method: str, path: str, body: dict | None = None, *, stream: bool = False) -> httpx.Response:
        """One request, retrying only when the connection could not be made; HTTP errors raise."""
        url = self.base_url + path
        request = self._client.build_request(method, url, json=body)
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                response = self._client.send(request, stream=stream)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as failure:
                if attempt == CONNECT_ATTEMPTS:
                    raise BackendError(
                        f"Cannot connect to {self.base_url} ({failure}): is the server running? "
                        "Start it (e.g. vllm serve MODEL, or python -m llama_cpp.server --model FILE) "
                        "or pass the right --base-url."
                    ) from failure
                time.sleep(CONNECT_RETRY_PAUSE_S * attempt)
            except httpx.TimeoutException as failure:
                raise self._timeout_error(failure) from failure
            except httpx.TransportError as failure:
                raise BackendError(f"The request to {url} failed: {failure}") from failure
        if response.status_code >= 400:
            if stream:
                response.read()
                response.close()
            raise BackendError(f"The server at {self.base_url} answered {response.status_code}: {error_message(response)}")
        return response

    def _timeout_error(self, failure: Exception) -> BackendError:
        return BackendError(
            f"The server at {self.base_url} sent nothing for {self.timeout_s:g} s ({type(failure).__name__}): "
            "it is overloaded, stuck or still loading. Check it, or allow more time (timeout_s)."
        )

    # -- the protocol -----------------------------------------------------------------------

    def _stream(self, prompt_ids: list[int], limit: int, max_tokens: int, stop_ids: frozenset[int],
                sampling: Sampling, cancel: threading.Event, call: CallOptions) -> Iterator[Piece | Finish]:
        body = {**self._completion_body(prompt_ids, limit, stop_ids, sampling), **call_options_body(self.dialect, call)}
        produced = 0
        response = self._send("POST", "/completions", body, stream=True)
        try:
            for choice in self._choices(response):
                if cancel.is_set():
                    yield Finish("cancelled")
                    return
                text = choice.get("text") or ""
                token_ids = choice.get("token_ids")
                if token_ids is None:
                    token_ids = self.tokenize(text) if text else []
                finish_reason = choice.get("finish_reason")
                pieces, stop_token_id = delta_pieces(token_ids, text, finish_reason == "stop", stop_ids,
                                                     logprobs_of(choice) if call.logprobs else None)
                yield from pieces
                produced += len(pieces)
                if finish_reason:
                    yield self._finish(finish_reason, choice.get("stop_reason"), stop_token_id, stop_ids,
                                       produced, max_tokens, cancel)
                    return
        finally:
            response.close()
        self._drop_pooled_connections()
        raise BackendError(
            f"The server at {self.base_url} ended the stream without finishing the completion: it stopped or "
            f"crashed mid-stream, or the request ({len(prompt_ids)} + {limit} tokens) exceeded its context window."
        )

    def _completion_body(self, prompt_ids: list[int], max_tokens: int, stop_ids: frozenset[int],
                         sampling: Sampling) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.served_model,
            "max_tokens": max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stream": True,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if self.dialect in ("vllm", "llama.cpp server"):
            body["prompt"] = list(prompt_ids)
        else:
            body["prompt"] = self._prompt_text(prompt_ids)
        if self.dialect == "vllm":
            body.update(
                stop_token_ids=sorted(stop_ids),
                return_token_ids=True,
                skip_special_tokens=False,
                spaces_between_special_tokens=False,
            )
        elif self.dialect == "llama-cpp-python":
            # It stops on end-of-generation tokens by itself and renders special tokens as "", so
            # only ordinary stop tokens need stop strings. Same sampler as the in-process backend.
            body.update(
                stop=self._stop_texts(stop_ids - self._end_of_generation),
                repeat_penalty=1.0,
                min_p=0.0,
                top_k=40 if sampling.temperature <= 0 else 0,
            )
        else:
            body["stop"] = self._stop_texts(stop_ids)
        return body

    def server_prompt_ids(self, prompt_ids: list[int]) -> list[int]:
        """The token ids the server will continue from: ``prompt_ids`` for servers that take ids;
        for servers that take only text, the text's tokenization, which can differ where the model's
        own tokens do not survive a detokenize/tokenize round trip."""
        if self.dialect in ("vllm", "llama.cpp server"):
            return list(prompt_ids)
        return self.tokenize(self._prompt_text(prompt_ids), prompt=True)

    def _prompt_text(self, prompt_ids: list[int]) -> str:
        """The prompt as text for servers that take only text. They add BOS themselves."""
        ids = list(prompt_ids)
        if ids and ids[0] == self._specials.get("bos") and self.tokenizer.adds_bos():
            ids = ids[1:]
        return self.detokenize(ids)

    def _stop_texts(self, stop_ids: Collection[int]) -> list[str]:
        return sorted({text for text in (self.detokenize([token]) for token in stop_ids) if text})

    def _choices(self, response: httpx.Response) -> Iterator[dict[str, Any]]:
        """The first choice of every server-sent event, until ``[DONE]`` or the end of the stream."""
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError as failure:
                    raise BackendError(f"The server at {self.base_url} sent a line that is not JSON: {data[:200]!r}") from failure
                if "error" in chunk:
                    raise BackendError(f"The server at {self.base_url} failed mid-stream: {message_of(chunk)}")
                if chunk.get("choices"):
                    yield chunk["choices"][0]
        except httpx.TimeoutException as failure:
            raise self._timeout_error(failure) from failure
        except httpx.TransportError as failure:
            self._drop_pooled_connections()
            raise BackendError(
                f"The connection to {self.base_url} broke mid-stream ({type(failure).__name__}: {failure}): "
                "the server stopped or crashed. Restart it and ask again."
            ) from failure

    def _finish(self, finish_reason: str, stop_reason: Any, stop_token_id: int | None, stop_ids: frozenset[int],
                produced: int, max_tokens: int, cancel: threading.Event | None) -> Finish:
        if finish_reason == "stop":
            if stop_token_id is None and isinstance(stop_reason, int):
                stop_token_id = stop_reason
            if stop_token_id is None:
                stop_token_id = next((token for token in sorted(self._end_of_generation) if token in stop_ids), None)
            return Finish("stop", stop_token_id)
        if finish_reason == "length":
            return length_finish(produced, max_tokens)
        if cancel is not None and cancel.is_set():
            return Finish("cancelled")
        raise BackendError(f"The server at {self.base_url} ended the completion with {finish_reason!r}.")

    def close(self) -> None:
        self._client.close()
