"""Matching multi-token end markers (``</think>`` spelled in several tokens) on streamed text.

Pure. Pieces that might be the start of a marker are held back until it is clear, so a viewer
never sees text that the engine later takes back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Released:
    """Piece texts that are safe to show, in order (one entry per token)."""

    texts: list[str]
    matched: bool = False
    """A marker appeared: every held token from the one where it starts is dropped."""
    dropped_tokens: int = 0


class StopTextMatcher:
    def __init__(self, markers: tuple[str, ...]) -> None:
        self._markers = markers
        self._first_chars = frozenset(marker[0] for marker in markers if marker)
        self._held: list[str] = []

    @property
    def held_tokens(self) -> int:
        return len(self._held)

    def feed(self, text: str) -> Released:
        held = self._held
        if not held and not any(char in text for char in self._first_chars):
            return Released([text])  # the common token: no marker can start in it (one scan, no join)
        held.append(text)
        joined = "".join(held)
        starts = [joined.find(marker) for marker in self._markers]
        hits = [start for start in starts if start >= 0]
        if hits:
            return self._cut(min(hits))
        keep_chars = self._longest_marker_prefix_suffix(joined)
        return self._release_up_to(len(joined) - keep_chars)

    def flush(self) -> Released:
        released, self._held = self._held, []
        return Released(released)

    def _cut(self, marker_start: int) -> Released:
        released: list[str] = []
        position = 0
        for text in self._held:
            if position + len(text) > marker_start:
                break
            released.append(text)
            position += len(text)
        dropped = len(self._held) - len(released)
        self._held = []
        return Released(released, matched=True, dropped_tokens=dropped)

    def _release_up_to(self, safe_chars: int) -> Released:
        released: list[str] = []
        position = 0
        while self._held and position + len(self._held[0]) <= safe_chars:
            text = self._held.pop(0)
            released.append(text)
            position += len(text)
        return Released(released)

    def _longest_marker_prefix_suffix(self, text: str) -> int:
        longest = 0
        for marker in self._markers:
            for size in range(min(len(marker) - 1, len(text)), longest, -1):
                if marker.startswith(text[-size:]):
                    longest = size
                    break
        return longest
