"""Choosing the next token from one sequence's logits: greedy, or temperature + top-p with a seed.

Pure numpy, one sampler per generate call: a sequence's choices depend only on its own logits and
its own seed, never on which other sequences share its batch or what ran before it.
"""

from __future__ import annotations

import random

import numpy as np

from s1app.backends.base import Sampling


class TokenSampler:
    def __init__(self, sampling: Sampling, banned_token_ids: frozenset[int] = frozenset()) -> None:
        self.temperature = float(sampling.temperature)
        self.top_p = float(sampling.top_p)
        seed = sampling.seed if sampling.seed is not None else random.getrandbits(63)
        self._random = np.random.Generator(np.random.PCG64(seed))
        self._banned = np.fromiter(sorted(banned_token_ids), dtype=np.int64) if banned_token_ids else None

    def __call__(self, logits: np.ndarray) -> int:
        if self._banned is not None:  # a logit bias of minus infinity (the suppress list)
            logits = logits.copy()
            logits[self._banned[self._banned < len(logits)]] = -np.inf
        if self.temperature <= 0.0:
            return int(np.argmax(logits))  # the first of equal maxima, as llama.cpp's greedy sampler
        scaled = logits.astype(np.float64) / self.temperature
        probabilities = np.exp(scaled - scaled.max())
        probabilities /= probabilities.sum()
        if self.top_p >= 1.0:
            candidates = np.arange(len(probabilities))
        else:
            order = np.argsort(-probabilities, kind="stable")
            cumulative = np.cumsum(probabilities[order])
            keep = int(np.searchsorted(cumulative, self.top_p)) + 1  # the smallest set reaching top_p
            candidates = order[:keep]
            probabilities = probabilities[candidates] / cumulative[keep - 1]
        cumulative = np.cumsum(probabilities)
        drawn = self._random.random() * cumulative[-1]
        return int(candidates[min(int(np.searchsorted(cumulative, drawn, side="right")), len(candidates) - 1)])


def token_logprob(logits: np.ndarray, token_id: int) -> float:
    """The token's log-probability under the model's own distribution (temperature 1, no bias)."""
    peak = float(logits.max())
    return float(logits[token_id]) - peak - float(np.log(np.exp(logits.astype(np.float64) - peak).sum()))
