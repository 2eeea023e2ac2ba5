"""Turning an engine's delta (several token ids, one text) into Pieces (vLLM, OpenAI servers)."""

from __future__ import annotations

from collections.abc import Sequence

from s1app.backends.base import Piece


def delta_pieces(token_ids: list[int], text: str, stopped: bool, stop_ids: frozenset[int],
                 logprobs: Sequence[float | None] | None = None) -> tuple[list[Piece], int | None]:
    """Pieces of one delta, and the stop token it ended on (engines return its id, never its text).

    A delta of several tokens carries its text on the last Piece: concatenated texts stay exact
    without decoding token by token. ``logprobs``: the server's log-probability of each token of
    the delta, the stop token's included or not; when their count matches neither (a server whose
    tokens were re-tokenized here differently), the pieces carry none rather than wrong ones.
    """
    ids = list(token_ids)
    stop_token_id = ids.pop() if stopped and ids and ids[-1] in stop_ids else None
    values = list(logprobs or ())[:len(ids)] if logprobs and len(logprobs) in (len(token_ids), len(ids)) else []
    values += [None] * (len(ids) - len(values))
    pieces = [Piece(token_id, text if index == len(ids) - 1 else "", values[index]) for index, token_id in enumerate(ids)]
    return pieces, stop_token_id
