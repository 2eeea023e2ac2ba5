"""Pure rendering: a run's events -> chat messages and a status line, forced text marked.

No Gradio, no engine here: ``RunView`` folds events through ``RunTranscript`` and renders what
the Chatbot and the status line show. Forced text (each Wait, the end-of-thinking delimiter,
"Final Answer:") is wrapped in ``<mark class="s1-forced">`` so the page shows exactly what the
engine wrote. Rendering is incremental: finished segments are rendered once and kept, so an
update costs the new text, not the whole trace.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from s1app.events import Event, RunFinished, RunStarted, ThinkingDelta, AnswerDelta
from s1app.transcript import RunTranscript, Segment

Message = dict[str, Any]

END_LABELS = {
    "model": "the model ended thinking",
    "budget": "budget reached: end of thinking forced",
    "loop": "thinking looped: end of thinking forced",
    "cancelled": "stopped",
    "error": "failed",
}

CSS = """
mark.s1-forced { background: #fde68a; color: #78350f; border-radius: 3px; padding: 0 3px;
                 font-weight: 600; }
.s1-status { font-family: ui-monospace, monospace; font-size: 0.9em; display: flex;
             flex-wrap: wrap; gap: 0.4em 1.2em; align-items: center; }
.s1-status progress { width: 9em; height: 0.8em; vertical-align: middle; }
.s1-status .s1-waits { font-weight: 700; }
.s1-status.s1-failed, .s1-error { color: #b91c1c; font-weight: 600; }
.s1-warning { color: #92400e; }
.s1-slider-only input[type=number], .s1-slider-only .reset-button { display: none; }
"""


def forced_html(text: str) -> str:
    return f'<mark class="s1-forced" title="written by the engine">{html.escape(text)}</mark>'


def segment_html(segment: Segment) -> str:
    if segment.section == "delimiter":
        return "\n\n" + forced_html(segment.text.strip() or "end of thinking")
    return forced_html(segment.text) if segment.forced else html.escape(segment.text)


@dataclass
class _SectionRenderer:
    """Renders one section's segments; all but the last segment are rendered once and cached."""

    sections: tuple[str, ...]
    _done_html: str = ""
    _done_count: int = 0

    def render(self, segments: list[Segment]) -> str:
        mine = [s for s in segments if s.section in self.sections]
        # Only the last segment can still grow (RunTranscript appends to it).
        while self._done_count < len(mine) - 1:
            self._done_html += segment_html(mine[self._done_count])
            self._done_count += 1
        tail = segment_html(mine[-1]) if len(mine) > self._done_count else ""
        return self._done_html + tail


@dataclass
class RunView:
    """One run as the UI shows it: transcript + live counters. Feed events, read messages/status."""

    clock: Callable[[], float] = time.perf_counter
    transcript: RunTranscript = field(default_factory=RunTranscript)
    error: str | None = None
    """An error the run could not report itself (a model that failed to load, a bad setting)."""
    started_s: float = 0.0
    first_token_s: float | None = None
    sampled_tokens: int = 0
    budget_tokens: int | None = None
    _thinking: _SectionRenderer = field(default_factory=lambda: _SectionRenderer(("thinking", "delimiter")))
    _answer: _SectionRenderer = field(default_factory=lambda: _SectionRenderer(("answer",)))

    def __post_init__(self) -> None:
        self.started_s = self.clock()

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            self.transcript.add(event)
            if isinstance(event, (ThinkingDelta, AnswerDelta)) and not event.forced:
                if self.first_token_s is None:
                    self.first_token_s = self.clock()
                self.sampled_tokens += event.tokens
            elif isinstance(event, RunStarted):
                self.budget_tokens = event.settings.get("max_thinking_tokens_effective")

    def fail(self, message: str) -> None:
        self.error = message

    @property
    def finished(self) -> RunFinished | None:
        return self.transcript.finished

    @property
    def state(self) -> str:
        """"running", "finished", "cancelled" or "failed"."""
        if self.error:
            return "failed"
        return self.transcript.status

    @property
    def tokens_per_s(self) -> float:
        if self.finished is not None:
            return self.finished.stats.tokens_per_s
        if self.first_token_s is None or self.sampled_tokens < 2:
            return 0.0
        return (self.sampled_tokens - 1) / max(self.clock() - self.first_token_s, 1e-9)

    @property
    def elapsed_s(self) -> float:
        return self.finished.stats.wall_s if self.finished is not None else self.clock() - self.started_s

    # -- messages --------------------------------------------------------------------------

    def thinking_title(self) -> str:
        t = self.transcript
        title = f"Thinking · {t.thinking_tokens} tokens"
        if t.waits_inserted:
            title += f" · {t.waits_inserted} Wait{'s' if t.waits_inserted != 1 else ''} forced"
        if t.thinking_end_reason:
            title += f" · {END_LABELS.get(t.thinking_end_reason, t.thinking_end_reason)}"
        return title

    def messages(self) -> list[Message]:
        """The assistant's messages for this run: the collapsible thinking block, then the answer."""
        segments = self.transcript.segments
        thinking_done = self.transcript.thinking_end_reason is not None or self.state != "running"
        out: list[Message] = [{
            "role": "assistant",
            "content": self._thinking.render(segments) or "…",
            "metadata": {"title": self.thinking_title(), "status": "done" if thinking_done else "pending"},
        }]
        answer = self._answer.render(segments)
        if answer:
            out.append({"role": "assistant", "content": answer})
        if self.state in ("failed", "cancelled"):
            note = self.failure_message() if self.state == "failed" else "Stopped: the run was cancelled; what it produced is kept above."
            out.append({"role": "assistant", "content": f'<span class="s1-error">{html.escape(note)}</span>'})
        return out

    def failure_message(self) -> str:
        finished = self.finished
        detail = self.error or (finished.error if finished else None) or "unknown error"
        return f"Error: {detail}"

    # -- status line -----------------------------------------------------------------------

    def status_html(self) -> str:
        """The live status line. Data attributes carry the raw numbers (tests and tools read them)."""
        t = self.transcript
        state = self.state
        budget = self.budget_tokens
        stop = self.finished.stats.stop_reason if self.finished else ""
        bar = (f'<progress max="{max(budget, 1)}" value="{min(t.thinking_tokens, budget)}"></progress>'
               if budget is not None else "")
        parts = [
            f'<span class="s1-thinking">{bar} thinking {t.thinking_tokens} / {budget if budget is not None else "?"} tokens</span>',
            f'<span class="s1-waits">Waits inserted: {t.waits_inserted}</span>',
            f'<span class="s1-rate">{self.tokens_per_s:.1f} tok/s</span>',
            f'<span class="s1-elapsed">{self.elapsed_s:.1f} s</span>',
        ]
        if state == "running":
            parts.append('<span class="s1-state">running…</span>')
        elif state == "failed":
            parts.append(f'<span class="s1-state s1-error">{html.escape(self.failure_message())}</span>')
        else:
            parts.append(f'<span class="s1-state">{state} · stop reason: {html.escape(stop)}</span>')
        for warning in t.warnings:
            parts.append(f'<span class="s1-warning">{html.escape(warning)}</span>')
        attributes = (
            f'data-state="{state}" data-thinking-tokens="{t.thinking_tokens}" data-budget="{budget if budget is not None else ""}" '
            f'data-waits="{t.waits_inserted}" data-answer-tokens="{t.answer_tokens}" data-stop-reason="{html.escape(stop)}"'
        )
        return f'<div class="s1-status s1-{state}" {attributes}>{"".join(parts)}</div>'

    def summary_row(self, label: str) -> list[Any]:
        """One row of the compare / sweep tables."""
        t = self.transcript
        stats = self.finished.stats if self.finished else None
        return [
            label,
            t.thinking_tokens,
            t.waits_inserted,
            t.answer.strip(),
            round(self.elapsed_s, 2),
            round(self.tokens_per_s, 1),
            self.failure_message() if self.state == "failed" else (stats.stop_reason if stats else "running"),
        ]


SUMMARY_HEADERS = ["run", "thinking tokens", "Waits", "answer", "time (s)", "tok/s", "stop reason"]


def error_status_html(message: str) -> str:
    """A status line for a run that never started (empty question, bad setting, model not found)."""
    return f'<div class="s1-status s1-failed" data-state="failed"><span class="s1-error">{html.escape(message)}</span></div>'


def idle_status_html() -> str:
    return '<div class="s1-status" data-state="idle"><span>Ready. Thinking tokens, Waits and tok/s show here while the model runs.</span></div>'


def record_messages(record: dict[str, Any]) -> list[Message]:
    """A stored run (``s1app.store.get_run``) replayed as chat messages, forced text marked."""
    segments = [Segment(s["section"], s["text"], bool(s["forced"])) for s in record.get("segments") or []]
    thinking = "".join(segment_html(s) for s in segments if s.section in ("thinking", "delimiter"))
    answer = "".join(segment_html(s) for s in segments if s.section == "answer")
    title = f"Thinking · {record.get('thinking_tokens') or 0} tokens"
    if record.get("waits_inserted"):
        title += f" · {record['waits_inserted']} Waits forced"
    reason = record.get("thinking_end_reason")
    if reason:
        title += f" · {END_LABELS.get(reason, reason)}"
    messages: list[Message] = [
        {"role": "user", "content": html.escape(record.get("question") or "")},
        {"role": "assistant", "content": thinking or "…", "metadata": {"title": title, "status": "done"}},
    ]
    if answer:
        messages.append({"role": "assistant", "content": answer})
    if record.get("error"):
        messages.append({"role": "assistant", "content": f'<span class="s1-error">Error: {html.escape(record["error"])}</span>'})
    return messages
