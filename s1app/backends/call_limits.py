"""What every backend shares about one generate call: how many tokens it may produce in the
context, and, when it stopped on length, whether the limit or the context ended it."""

from __future__ import annotations

from s1app.backends.base import Finish, FinishReason


def call_limit(prompt_tokens: int, max_tokens: int, context_length: int) -> int | Finish:
    """Tokens this call may generate, or the Finish to end it with before it starts."""
    if max_tokens <= 0:
        return Finish("length")
    room = context_length - prompt_tokens
    if room <= 0:
        return Finish("context-full")
    return min(max_tokens, room)


def length_finish(produced: int, max_tokens: int) -> Finish:
    """A "length" end before ``max_tokens`` means the context filled up first."""
    reason: FinishReason = "length" if produced >= max_tokens else "context-full"
    return Finish(reason)
