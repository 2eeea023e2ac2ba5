"""Test-only: real backends steered into a behaviour a test needs, made certain by construction.

Whether a small model tries to end its thinking, or falls into a loop, and when, depends on the
build's floating-point path (another CPU, another llama.cpp build). Tests that need one of those
behaviours wrap the real backend instead of hoping a question triggers it:
- StopsEveryNTokens: every generate call streams the real model's tokens and, after
  ``every_tokens`` of them, ends as the model ending its turn would (Finish "stop" with its
  end-of-sequence token, or with the tokens given: a family's end-of-thinking marker);
- RepeatsItself: after the real model's first ``period`` tokens of a call, those tokens repeat;
- ScriptedProbes: the real model thinks and can never end its thinking (every token holding "<"
  is banned: no end-of-sequence, no "</think>"), and each answer probe (a ``fork=True`` call)
  answers the next scripted text, each token at a scripted probability, instead of the model.
  What is under test is the engine's stopping rules; only the probes' answers are written down.
The engine under test sees exactly what such a model would give it.
"""

from __future__ import annotations

import functools
import math

from s1app.backends.base import Finish, Piece


class StopsEveryNTokens:
    def __init__(self, real, every_tokens: int, stop_token_ids: list[int] | None = None) -> None:
        """``stop_token_ids``: the token each call stops on, in call order (the last repeats);
        default the end-of-sequence token (the model ending its turn)."""
        self._real = real
        self.every_tokens = every_tokens
        self.info = real.info
        self._stop_ids = list(stop_token_ids or [real.special_tokens()["eos"]])

    @property
    def stop_token_id(self) -> int:
        return self._stop_ids[0]

    def __getattr__(self, name):
        return getattr(self._real, name)

    def generate(self, prompt_ids, **settings):
        stream = self._real.generate(prompt_ids, **settings)
        produced = 0
        try:
            for item in stream:
                if isinstance(item, Piece) and produced == self.every_tokens:
                    yield Finish("stop", self.stop_token_id)
                    if len(self._stop_ids) > 1:
                        self._stop_ids.pop(0)
                    return
                produced += isinstance(item, Piece)
                yield item
                if isinstance(item, Finish):
                    return
        finally:
            stream.close()


class RepeatsItself(StopsEveryNTokens):
    def __init__(self, real, period: int) -> None:
        super().__init__(real, every_tokens=period)

    def generate(self, prompt_ids, *, max_tokens, **settings):
        first: list[Piece] = []
        stream = self._real.generate(prompt_ids, max_tokens=min(max_tokens, self.every_tokens), **settings)
        try:
            for item in stream:
                if isinstance(item, Finish):
                    break
                first.append(item)
                yield item
        finally:
            stream.close()
        if len(first) < self.every_tokens:
            yield Finish("stop", self.stop_token_id)
            return
        for index in range(max_tokens - len(first)):
            yield first[index % len(first)]
        yield Finish("length")


class ScriptedProbes:
    def __init__(self, real, answers: list[tuple[str, float]]) -> None:
        """``answers``: (text, probability) for each probe in the order asked; text follows the
        forced "Final Answer:" as the model's own tokens, each with log-probability log(probability)."""
        self._real = real
        self.info = real.info
        self.answers = list(answers)
        self.probe_contexts: list[int] = []
        """The context length of each probe asked (prompt + thinking + forced text)."""
        self._no_ending = tokens_holding(real, b"<")

    def __getattr__(self, name):
        return getattr(self._real, name)

    def generate(self, prompt_ids, *, fork=False, banned_token_ids=(), **settings):
        if fork:
            return self._probe(prompt_ids, **settings)
        return self._real.generate(prompt_ids, banned_token_ids=frozenset(banned_token_ids) | self._no_ending,
                                   **settings)

    def _probe(self, prompt_ids, *, max_tokens, cancel=None, **_):
        self.probe_contexts.append(len(prompt_ids))
        text, probability = self.answers.pop(0)
        for token_id in self._real.tokenize(text)[:max_tokens]:
            if cancel is not None and cancel.is_set():
                yield Finish("cancelled")
                return
            yield Piece(token_id, self._real.detokenize([token_id]), math.log(probability))
        yield Finish("stop", self._real.special_tokens()["eos"])


@functools.cache
def tokens_holding(real, fragment: bytes) -> frozenset[int]:
    """Every token id of ``real``'s vocabulary whose bytes hold ``fragment``."""
    return frozenset(token_id for token_id in range(real._model.n_vocab()) if fragment in real._token_bytes(token_id))


def steered(model, backend_class, **how):
    """``model`` (a LoadedModel) on ``backend_class(model.backend, **how)``."""
    backend = backend_class(model.backend, **how)
    return model.with_backend(backend)


def stopping_model(model, every_tokens: int, stop_token_ids: list[int] | None = None):
    """``model`` whose backend tries to stop every ``every_tokens`` tokens (on ``stop_token_ids``)."""
    return steered(model, StopsEveryNTokens, every_tokens=every_tokens, stop_token_ids=stop_token_ids)


def looping_model(model, period: int):
    """``model`` whose backend repeats its first ``period`` tokens of every call."""
    return steered(model, RepeatsItself, period=period)


def probed_model(model, answers: list[tuple[str, float]]):
    """``model`` that thinks until its budget or a stopping rule, its probes answering ``answers``."""
    return steered(model, ScriptedProbes, answers=answers)
