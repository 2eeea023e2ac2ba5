"""What the backends share: fitting a call into the context and naming why it ended (all three),
and turning an engine's delta (several token ids, one text) into Pieces (vLLM, OpenAI servers)."""

from __future__ import annotations

from s1app.backends.base import Finish, FinishReason, Piece


def call_limit(prompt_tokens: int, max_tokens: int, context_length: int) -> int | Finish:
    """Tokens this call may generate, or the Finish to end it with before it starts."""
    if max_tokens <= 0:
        return Finish("length")
    room = context_length - prompt_tokens
    if room <= 0:
        return Finish("context-full")
    return min(max_tokens, room)


def delta_pieces(token_ids: list[int], text: str, stopped: bool, stop_ids: frozenset[int]) -> tuple[list[Piece], int | None]:
    """Pieces of one delta, and the stop token it ended on (engines return its id, never its text).

    A delta of several tokens carries its text on the last Piece: concatenated texts stay exact
    without decoding token by token.
    """
    ids = list(token_ids)
    stop_token_id = ids.pop() if stopped and ids and ids[-1] in stop_ids else None
    return [Piece(token_id, text if index == len(ids) - 1 else "") for index, token_id in enumerate(ids)], stop_token_id


def length_finish(produced: int, max_tokens: int) -> Finish:
    """A "length" end before ``max_tokens`` means the context filled up first."""
    reason: FinishReason = "length" if produced >= max_tokens else "context-full"
    return Finish(reason)
