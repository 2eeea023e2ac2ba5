"""Concurrent generate calls on one llama.cpp model, advanced together: one llama_decode a step.

Each call gets a sequence slot of its own. A step
1. frees the slots of calls whose reader went away (the engine closed the stream);
2. admits waiting calls into free slots, picking the slot whose cached tokens share the longest
   prefix with the call's prompt (a Wait continuation lands where its context already is), and
   evaluates only the rest of the prompt. A fork (an answer probe) may instead copy the cache of
   a running call's slot (``llama_memory_seq_cp``, ~0.1 ms) when that shares more of its prompt;
   forks are admitted after every other waiting call and hold at most half the slots, so probes
   never starve runs;
3. evaluates the token each running call sampled last, all in one batch, and samples each
   call's next token from its own logits.

Budgets stay exact per call: each stops at its own limit, stop token or cancel. Pieces go to the
reader through a queue; the reader checks its cancel flag before each piece it hands on.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

from s1app.backends.base import Finish, Piece
from s1app.backends.call_limits import length_finish
from s1app.backends.llamacpp_native import NativeSequences
from s1app.backends.token_sampler import token_logprob
from s1app.errors import BackendError


@dataclass(eq=False)
class DecodeCall:
    """One generate call as the decoder sees it."""

    prompt_ids: list[int]
    limit: int
    """Pieces this call may produce (the budget, clipped to the context)."""
    max_tokens: int
    stop_ids: Collection[int]
    sample: Callable[[np.ndarray], int]
    piece_text: Callable[[int], str]
    cancel: threading.Event
    items: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    """Pieces, then a Finish or a BackendError, for the reader."""
    reader_gone: threading.Event = field(default_factory=threading.Event)
    produced: int = 0
    logprobs: bool = False
    fork: bool = False


@dataclass(eq=False)
class _Slot:
    sequence: int
    cached: list[int] = field(default_factory=list)
    """Token ids whose KV this sequence's stream holds, in order."""
    call: DecodeCall | None = None
    sampled: int | None = None
    """The token sampled last: handed to the reader, evaluated in the next step."""


def shared_prefix_length(cached: list[int], prompt: list[int]) -> int:
    length = min(len(cached), len(prompt))
    if length == 0:
        return 0
    differs = np.flatnonzero(np.asarray(cached[:length]) != np.asarray(prompt[:length]))
    return int(differs[0]) if len(differs) else length


class BatchDecoder:
    def __init__(self, native: NativeSequences, wake: threading.Condition) -> None:
        self._native = native
        self._wake = wake
        """The decode loop's condition: submitting a call or leaving one notifies it."""
        self._slots = [_Slot(sequence) for sequence in range(native.sequences)]
        self._waiting: list[DecodeCall] = []

    # -- any thread -----------------------------------------------------------------------

    def submit(self, call: DecodeCall) -> None:
        with self._wake:
            self._waiting.append(call)
            self._wake.notify_all()

    def leave(self, call: DecodeCall) -> None:
        """The reader stops reading: the call's slot is freed at the next step."""
        with self._wake:
            call.reader_gone.set()
            self._wake.notify_all()

    def has_work(self) -> bool:
        """Called with the decode loop's condition held."""
        return bool(self._waiting) or any(slot.call is not None for slot in self._slots)

    # -- the decode thread ----------------------------------------------------------------

    def step(self) -> None:
        for slot in self._slots:
            if slot.call is not None and slot.call.reader_gone.is_set():
                self._release(slot)
        self._admit()
        self._advance()

    def fail_all(self, failure: BackendError) -> None:
        """Something broke the decode loop: every call ends with ``failure``, every cache is dropped."""
        with self._wake:
            waiting, self._waiting = self._waiting, []
        for call in waiting:
            call.items.put(failure)
        for slot in self._slots:
            if slot.call is not None:
                self._fail(slot, failure)

    def _admit(self) -> None:
        with self._wake:
            self._waiting = [call for call in self._waiting if not call.reader_gone.is_set()]
            free = [slot for slot in self._slots if slot.call is None]
            admitted = self._admissible(len(free))
            self._waiting = [call for call in self._waiting if call not in admitted]
        for call in admitted:
            slot = max(free, key=lambda candidate: shared_prefix_length(candidate.cached, call.prompt_ids))
            free.remove(slot)
            # At least the prompt's last token is evaluated: its logits give the first piece.
            keep = min(shared_prefix_length(slot.cached, call.prompt_ids), len(call.prompt_ids) - 1)
            if call.fork:
                keep = self._fork_into(slot, call.prompt_ids, keep)
            self._native.forget(slot.sequence, keep)
            slot.cached = slot.cached[:keep]
            slot.call = call
            try:
                logits = self._native.evaluate(slot.sequence, call.prompt_ids[keep:], keep)
            except BackendError as failure:
                self._fail(slot, failure)
                continue
            slot.cached = list(call.prompt_ids)
            self._continue(slot, logits)

    def _admissible(self, free: int) -> list[DecodeCall]:
        """Waiting calls for ``free`` slots: runs first, in order; then forks, while forks hold at
        most half the slots. Called with the condition held."""
        runs = [call for call in self._waiting if not call.fork][:free]
        fork_room = max(1, len(self._slots) // 2) - sum(1 for slot in self._slots if slot.call and slot.call.fork)
        forks = [call for call in self._waiting if call.fork][:max(0, min(free - len(runs), fork_room))]
        return runs + forks

    def _fork_into(self, slot: _Slot, prompt: list[int], keep: int) -> int:
        """Copy the longest shared prefix a running call's slot holds, if it beats ``keep``."""
        busy = [other for other in self._slots if other.call is not None and other is not slot]
        source = max(busy, key=lambda other: shared_prefix_length(other.cached, prompt), default=None)
        shared = min(shared_prefix_length(source.cached, prompt), len(prompt) - 1) if source else 0
        if shared <= keep:
            return keep
        self._native.forget(slot.sequence)
        self._native.copy(source.sequence, slot.sequence, shared)
        slot.cached = source.cached[:shared]
        return shared

    def _advance(self) -> None:
        running = [slot for slot in self._slots if slot.call is not None and slot.sampled is not None]
        if not running:
            return
        try:
            rows = self._native.step([(slot.sequence, slot.sampled, len(slot.cached)) for slot in running])
        except BackendError as failure:
            for slot in running:
                self._fail(slot, failure)
            return
        for slot, logits in zip(running, rows):
            slot.cached.append(slot.sampled)
            slot.sampled = None
            self._continue(slot, logits)

    def _continue(self, slot: _Slot, logits: np.ndarray) -> None:
        """Sample the call's next token and hand it over, or end the call."""
        call = slot.call
        if call.cancel.is_set() or call.reader_gone.is_set():
            self._finish(slot, Finish("cancelled"))
            return
        token = call.sample(logits)
        if token in call.stop_ids:
            self._finish(slot, Finish("stop", token))
            return
        call.items.put(Piece(token, call.piece_text(token), token_logprob(logits, token) if call.logprobs else None))
        call.produced += 1
        if call.produced >= call.limit:
            self._finish(slot, length_finish(call.produced, call.max_tokens))
            return
        slot.sampled = token

    def _finish(self, slot: _Slot, finish: Finish) -> None:
        slot.call.items.put(finish)
        self._release(slot)

    def _fail(self, slot: _Slot, failure: BackendError) -> None:
        slot.call.items.put(failure)
        self._release(slot)
        self._native.forget(slot.sequence)  # what the stream holds is unknown now
        slot.cached = []

    def _release(self, slot: _Slot) -> None:
        slot.call = None
        slot.sampled = None
