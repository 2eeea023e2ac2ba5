"""Turning an engine's delta (several token ids, one text) into Pieces (vLLM, OpenAI servers)."""

from __future__ import annotations

from s1app.backends.base import Piece


def delta_pieces(token_ids: list[int], text: str, stopped: bool, stop_ids: frozenset[int]) -> tuple[list[Piece], int | None]:
    """Pieces of one delta, and the stop token it ended on (engines return its id, never its text).

    A delta of several tokens carries its text on the last Piece: concatenated texts stay exact
    without decoding token by token.
    """
    ids = list(token_ids)
    stop_token_id = ids.pop() if stopped and ids and ids[-1] in stop_ids else None
    return [Piece(token_id, text if index == len(ids) - 1 else "") for index, token_id in enumerate(ids)], stop_token_id
