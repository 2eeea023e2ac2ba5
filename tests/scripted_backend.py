"""Test-only: a backend whose token ids are scripted per call, behind the real engine.

It is the Backend protocol with the embedded model's real tokenizer (its GGUF vocabulary, no
weights) for the text side, and a script for what each generate call streams: token ids (or text,
tokenized), then how the call ends. The engine under test is the real one; only the model's
choices are written down, so the engine's edge cases are certain and fast on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from s1app.backends.base import BackendInfo, Finish, Piece
from s1app.backends.llamacpp import IncrementalDetokenizer, token_bytes
from s1app.backends.local_tokenizer import GgufVocab, TokenizerSide
from s1app.errors import BackendError
from s1app.forcing import BudgetForcer
from s1app.formats import FormatTokens, get_format
from s1app.registry import locate_weights, resolve_model


@dataclass
class Call:
    """What one generate call streams: ``text`` (tokenized) or ``token_ids``, then ``then``:
    "stop" (the model ends its turn: EOS), "length" (ran out of tokens), "error" (the backend fails)."""

    text: str = ""
    then: str = "stop"
    token_ids: list[int] | None = None


@dataclass
class Recorded:
    prompt_ids: list[int]
    max_tokens: int
    streamed: list[int] = field(default_factory=list)
    banned_token_ids: frozenset[int] = frozenset()


class ScriptedBackend(TokenizerSide):
    def __init__(self, script: list[Call], context_length: int = 4096) -> None:
        vocab = GgufVocab.open(locate_weights(resolve_model(None)))
        super().__init__(vocab)
        self._pieces = token_bytes(vocab._vocab)
        self.script = list(script)
        self.calls: list[Recorded] = []
        self.info = BackendInfo(name="scripted", model="scripted", context_length=context_length)

    def generate(self, prompt_ids, *, max_tokens, stop_token_ids, sampling, cancel=None, logprobs=False,
                 banned_token_ids=(), fork=False):
        call = self.script.pop(0)
        recorded = Recorded(list(prompt_ids), max_tokens, banned_token_ids=frozenset(banned_token_ids))
        self.calls.append(recorded)
        token_ids = call.token_ids if call.token_ids is not None else self.tokenize(call.text)
        piece_text = IncrementalDetokenizer(self._pieces)
        for token_id in token_ids[:max_tokens]:
            if cancel is not None and cancel.is_set():
                yield Finish("cancelled")
                return
            recorded.streamed.append(token_id)
            yield Piece(token_id, piece_text(token_id))
        if len(token_ids) > max_tokens or call.then == "length":
            yield Finish("length")
        elif call.then == "error":
            raise BackendError("scripted failure: the server went away mid-stream")
        else:
            yield Finish("stop", self.special_tokens()["eos"])

    def close(self) -> None:
        pass


def scripted_engine(script: list[Call], format_name: str = "prompted") -> tuple[BudgetForcer, ScriptedBackend]:
    backend = ScriptedBackend(script)
    return BudgetForcer(backend, FormatTokens.resolve(get_format(format_name), backend)), backend
