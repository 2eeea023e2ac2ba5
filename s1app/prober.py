"""Prober: one run's answer probes, decoded on a worker thread beside the run.

A probe is one more ``generate`` call: the run's context up to the probed position, the text a
run stopped there would force (the end-of-thinking delimiter, and "Final Answer:" for a budget
probe), then greedy answer tokens, read exactly as the engine reads an answer round (the same
stop ids and end-marker matching). It goes to the backend with ``fork=True``: llama.cpp copies
the run's KV stream into a free sequence slot (``seq_cp``) and decodes the probe in the same
batch as the run, at a lower priority than any run; vLLM and servers reuse the prefix through
prefix caching. The run's own tokens never depend on it (docs/probes.md says why).

Probes of one run are decoded one at a time, in the order asked, so one run holds at most two
slots. The engine collects finished probes as AnswerProbed events between its own tokens
(``ready``), or waits for one when a stopping rule must read it (``wait_for``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from s1app.backends.base import Backend, Finish, Sampling
from s1app.budget import ROUND_ENDS, after_answer_round
from s1app.errors import BackendError
from s1app.events import AnswerProbed, ProbeKind
from s1app.formats import FormatTokens
from s1app.probes import ProbeSettings, answer_confidence, extract, holds_a_line
from s1app.stop_text import StopTextMatcher

GREEDY = Sampling(temperature=0.0)


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    context: list[int]
    """The run's token ids up to the probed position (prompt included)."""
    position_tokens: int
    kind: ProbeKind
    waits_before: int


@dataclass(frozen=True, slots=True)
class ProbeAnswer:
    """A probe's answer: what the event says, plus the token ids a run stopped there would hold."""

    event: AnswerProbed
    answer_ids: list[int]
    """The answer's sampled token ids (after the forced text)."""
    forced_ids: list[int]


class Prober:
    def __init__(self, backend: Backend, tokens: FormatTokens, settings: ProbeSettings, *, prompt_tokens: int,
                 max_answer_tokens: int, digest: Callable[[list[int]], str], landing_ids: list[int] = ()) -> None:
        self.backend, self.tokens, self.settings = backend, tokens, settings
        self.prompt_tokens = prompt_tokens
        self.landing_ids = list(landing_ids)
        """Forced before the delimiter of a budget probe, as the run capped there would (the landing text)."""
        self.answer_tokens = min(settings.tokens, max_answer_tokens)
        self.digest = digest
        self.cancel = threading.Event()
        self.last_position: int | None = None
        self._asked: queue.SimpleQueue[ProbeRequest | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[ProbeAnswer | BackendError] = queue.SimpleQueue()
        self._pending = 0
        self._thread = threading.Thread(target=self._serve, daemon=True, name="s1app-probe")
        self._thread.start()

    def ask(self, context: list[int], position: int, kind: ProbeKind, waits_before: int) -> None:
        self._pending += 1
        if kind == "budget":
            self.last_position = position
        self._asked.put(ProbeRequest(list(context), position, kind, waits_before))

    def ready(self) -> list[ProbeAnswer]:
        """Probes finished so far (never blocks)."""
        finished: list[ProbeAnswer] = []
        while self._pending and not self._done.empty():
            finished.append(self._take())
        return finished

    def wait_for(self) -> list[ProbeAnswer]:
        """Every probe asked so far, waiting for those still decoding."""
        finished: list[ProbeAnswer] = []
        while self._pending:
            finished.append(self._take())
        return finished

    def close(self) -> None:
        self.cancel.set()
        self._asked.put(None)

    def _take(self) -> ProbeAnswer:
        item = self._done.get()
        self._pending -= 1
        if isinstance(item, BackendError):
            raise item
        return item

    def _serve(self) -> None:
        while (request := self._asked.get()) is not None:
            try:
                self._done.put(self._probe(request))
            except Exception as failure:  # the engine's thread re-raises it; a probe must never hang a run
                self._done.put(failure if isinstance(failure, BackendError)
                               else BackendError(f"An answer probe failed: {failure!r}"))

    def _probe(self, request: ProbeRequest) -> ProbeAnswer:
        started = time.perf_counter()
        fmt, tokens = self.tokens.format, self.tokens
        forced_ids = list(tokens.end_of_thinking_ids)
        forced_text = ""
        if request.kind == "budget":
            forced_ids = self.landing_ids + forced_ids + list(tokens.final_answer_ids)
            forced_text = fmt.final_answer
        answer_ids, pieces, ended = self._decode(request.context + forced_ids)
        text = forced_text + "".join(piece for piece, _ in pieces)
        extracted = extract(text, self.settings.answer_kind)
        event = AnswerProbed(
            position_tokens=request.position_tokens, kind=request.kind, waits_before=request.waits_before,
            text=text, extracted=extracted, confidence=answer_confidence(text, pieces, extracted),
            answer_tokens=len(answer_ids) + (len(tokens.final_answer_ids) if request.kind == "budget" else 0),
            forced_tokens=len(forced_ids), stop_reason=after_answer_round(ended),
            seconds=round(time.perf_counter() - started, 4),
            token_ids_sha256=self.digest(request.context[self.prompt_tokens:] + forced_ids + answer_ids),
        )
        return ProbeAnswer(event, answer_ids, forced_ids)

    def _decode(self, context: list[int]) -> tuple[list[int], list[tuple[str, float | None]], str]:
        """The probe's answer tokens, their (text, log-probability), and how the round ended (a shown
        probe that ends at its first line ends as at its token cap: the answer would go on)."""
        matcher = StopTextMatcher(self.tokens.answer_stop_texts)
        answer_ids: list[int] = []
        pieces: list[tuple[str, float | None]] = []
        ended, answer, first_line = "length", "", self.settings.shown_only
        with closing(self.backend.generate(context, max_tokens=self.answer_tokens,
                                           stop_token_ids=self.tokens.answer_stop_ids, sampling=GREEDY,
                                           cancel=self.cancel, logprobs=True, fork=True)) as stream:
            for item in stream:
                if isinstance(item, Finish):
                    ended = ROUND_ENDS[item.reason]
                    break
                answer_ids.append(item.token_id)
                pieces.append((item.text, item.logprob))
                released = matcher.feed(item.text)
                if released.matched:
                    del answer_ids[len(answer_ids) - released.dropped_tokens:]
                    del pieces[len(pieces) - released.dropped_tokens:]
                    ended = "stop"
                    break
                if first_line:
                    answer += item.text
                    if holds_a_line(answer):
                        break
        return answer_ids, pieces, "cancelled" if self.cancel.is_set() else ended
