"""Repetition-loop detection on a token stream: pure, incremental, O(max period) per token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """A loop is the tail of the thinking repeating one block back to back.

    It is reported when a block of at most ``max_period_tokens`` tokens has repeated at least
    ``min_repeats`` times and the repeated span is at least ``min_span_tokens`` long.
    """

    enabled: bool = True
    max_period_tokens: int = 64
    min_repeats: int = 4
    min_span_tokens: int = 64


class RepetitionDetector:
    """Feed tokens one by one; ``push`` returns the loop's period when the tail has become a loop.

    For every period p it keeps the length of the current run of tokens equal to the token p
    places earlier; a tail of length L is periodic with period p exactly when that run is at
    least L - p.
    """

    def __init__(self, settings: LoopSettings) -> None:
        self._settings = settings
        self._tokens: list[int] = []
        self._runs = [0] * (settings.max_period_tokens + 1)
        self._needed = [0] + [
            max(settings.min_span_tokens, settings.min_repeats * period) - period
            for period in range(1, settings.max_period_tokens + 1)
        ]

    def push(self, token_id: int) -> int | None:
        tokens = self._tokens
        tokens.append(token_id)
        if not self._settings.enabled:
            return None
        runs, needed = self._runs, self._needed
        index = len(tokens) - 1
        found = None
        for period in range(1, min(len(runs) - 1, index) + 1):
            if tokens[index - period] == token_id:
                runs[period] += 1
                if found is None and runs[period] >= needed[period]:
                    found = period
            else:
                runs[period] = 0
        return found

    def tail(self, count: int) -> list[int]:
        return self._tokens[-count:]
