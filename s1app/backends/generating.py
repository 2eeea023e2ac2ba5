"""What every backend's ``generate`` shares: fitting the call into the context, then streaming;
and reading a producer's queue with a cancel flag honoured at once.

A backend subclasses GeneratingBackend and implements only ``_stream``: the call's pieces and one
Finish, for a call already known to fit (``limit`` tokens at most).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from s1app.backends.base import BackendInfo, Finish, Piece, Sampling
from s1app.backends.call_limits import call_limit
from s1app.backends.local_tokenizer import TokenizerSide

@dataclass(frozen=True, slots=True)
class CallOptions:
    """What a generate call asks beyond its tokens (see Backend.generate)."""

    logprobs: bool = False
    banned_token_ids: frozenset[int] = frozenset()
    fork: bool = False


CANCEL_POLL_S = 0.1
"""How long a reader waits for its producer before it looks at the cancel flag again."""


class GeneratingBackend(TokenizerSide):
    info: BackendInfo

    def generate(self, prompt_ids: list[int], *, max_tokens: int, stop_token_ids: Collection[int],
                 sampling: Sampling, cancel: threading.Event | None = None, logprobs: bool = False,
                 banned_token_ids: Collection[int] = (), fork: bool = False) -> Iterator[Piece | Finish]:
        limit = call_limit(len(prompt_ids), max_tokens, self.info.context_length)
        if isinstance(limit, Finish):
            yield limit
            return
        call = CallOptions(logprobs, frozenset(banned_token_ids), fork)
        yield from self._stream(list(prompt_ids), limit, max_tokens, frozenset(stop_token_ids), sampling,
                                cancel or threading.Event(), call)

    def _stream(self, prompt_ids: list[int], limit: int, max_tokens: int, stop_ids: frozenset[int],
                sampling: Sampling, cancel: threading.Event, call: CallOptions) -> Iterator[Piece | Finish]:
        raise NotImplementedError


def drain(items: queue.Queue | queue.SimpleQueue, cancel: threading.Event) -> Iterator[object]:
    """What a producer puts on ``items``, as it comes, until the reader stops reading. Once
    ``cancel`` is set, one Finish("cancelled") comes instead of anything further."""
    while True:
        try:
            item = items.get(timeout=CANCEL_POLL_S)
        except queue.Empty:
            item = None
        if cancel.is_set() and not isinstance(item, Finish):
            yield Finish("cancelled")
            return
        if item is not None:
            yield item
