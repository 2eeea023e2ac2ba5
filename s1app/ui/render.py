"""Pure rendering: a run's events -> chat messages and a status line, forced text marked.

No Gradio, no engine here: ``RunView`` reads a Run (s1app.run) and renders what the Chatbot and
the status line show. Forced text (each Wait, the end-of-thinking delimiter, "Final Answer:") is
wrapped in ``<mark class="s1-forced">`` so the page shows exactly what the engine wrote.
Rendering is incremental: finished segments are rendered once and kept, and the open one escapes
only its new parts, so an update costs the new text, not the whole trace.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from s1app.errors import BackendError, ModelFormatError
from s1app.llama_log import llama_log_shown, recent_llama_log
from s1app.run import Run
from s1app.segments import Segment
from s1app.ui.probe_strip import STRIP_CSS, answer_kind_of, probe_rows, strip_html

Message = dict[str, Any]

END_LABELS = {
    "model": "the model ended thinking",
    "budget": "budget reached: end of thinking forced",
    "loop": "thinking looped: end of thinking forced",
    "stable": "the probes' answers agreed: thinking ended at a probe",
    "confident": "a probe's answer was confident: thinking ended there",
    "cancelled": "stopped",
    "error": "failed",
    "off": "thinking off: the template skipped it, so the budget controls do not apply",
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
""" + STRIP_CSS


def forced_html(text: str) -> str:
    return f'<mark class="s1-forced" title="written by the engine">{html.escape(text)}</mark>'


def segment_html(segment: Segment) -> str:
    if segment.section == "delimiter":
        return "\n\n" + forced_html(segment.text.strip() or "end of thinking")
    return forced_html(segment.text) if segment.forced else html.escape(segment.text)


@dataclass
class _SectionRenderer:
    """Renders one section's segments: finished ones once, the open one by its new parts only."""

    sections: tuple[str, ...]
    _done_html: str = ""
    _done_count: int = 0
    _open_html: list[str] = field(default_factory=list)
    _open_parts: int = 0

    def render(self, segments: list[Segment]) -> str:
        mine = [s for s in segments if s.section in self.sections]
        # Only the last segment can still grow (the Run appends to it, maybe while we read).
        while self._done_count < len(mine) - 1:
            self._done_html += segment_html(mine[self._done_count])
            self._done_count += 1
            self._open_html, self._open_parts = [], 0
        if len(mine) == self._done_count:
            return self._done_html
        open_segment = mine[-1]
        if open_segment.section == "delimiter" or open_segment.forced:
            return self._done_html + segment_html(open_segment)
        count = len(open_segment.parts)  # once, first: parts may be appended while we read
        if count > self._open_parts:  # escaping is per character, so escaped parts concatenate exactly
            self._open_html.append(html.escape("".join(open_segment.parts[self._open_parts:count])))
            self._open_parts = count
        return self._done_html + "".join(self._open_html)


@dataclass
class RunView:
    """One Run as the UI shows it. The Run is folded in its worker; the view reads it when rendering."""

    run: Run
    error: str | None = None
    """An error the run could not report itself (a bug in a worker)."""
    reference: str = ""
    """A reference answer: each probe in the strip is coloured right or wrong against it ("": none)."""
    _thinking: _SectionRenderer = field(default_factory=lambda: _SectionRenderer(("thinking", "delimiter")))
    _answer: _SectionRenderer = field(default_factory=lambda: _SectionRenderer(("answer",)))

    def fail(self, message: str) -> None:
        self.error = message

    @property
    def state(self) -> str:
        """"running", "finished", "cancelled" or "failed"."""
        if self.error:
            return "failed"
        return self.run.status

    # -- messages --------------------------------------------------------------------------

    def thinking_title(self) -> str:
        return thinking_title(self.run.thinking_tokens, self.run.waits_inserted, self.run.thinking_end_reason)

    def messages(self) -> list[Message]:
        """The assistant's messages for this run: the collapsible thinking block, then the answer."""
        segments = self.run.segments
        thinking_done = self.run.thinking_end_reason is not None or self.state != "running"
        out: list[Message] = [{
            "role": "assistant",
            "content": self._thinking.render(segments) or "…",
            "metadata": {"title": self.thinking_title(), "status": "done" if thinking_done else "pending"},
        }]
        strip = self.probe_strip_html()
        if strip:
            out.append({"role": "assistant", "content": strip})
        answer = self._answer.render(segments)
        if answer:
            out.append({"role": "assistant", "content": answer})
        if self.state in ("failed", "cancelled"):
            note = self.failure_message() if self.state == "failed" else "Stopped: the run was cancelled; what it produced is kept above."
            log = llama_log_details() if self.state == "failed" else ""
            out.append({"role": "assistant", "content": f'<span class="s1-error">{html.escape(note)}</span>{log}'})
        return out

    def probe_strip_html(self) -> str:
        """The "answer if stopped now" strip of the probes folded so far ("" before the first)."""
        started = self.run.started
        return strip_html(probe_rows(list(self.run.probes)), self.reference,
                          answer_kind_of(started.settings if started else None))

    def failure_message(self) -> str:
        finished = self.run.finished
        detail = self.error or (finished.error if finished else None) or "unknown error"
        return f"Error: {detail}"

    # -- status line -----------------------------------------------------------------------

    def status_html(self) -> str:
        """The live status line. Data attributes carry the raw numbers (tests and tools read them)."""
        t = self.run
        state = self.state
        budget = t.budget_tokens
        stop = t.finished.stop_reason if t.finished else ""
        bar = (f'<progress max="{max(budget, 1)}" value="{min(t.thinking_tokens, budget)}"></progress>'
               if budget is not None else "")
        parts = [
            f'<span class="s1-thinking">{bar} thinking {t.thinking_tokens} / {budget if budget is not None else "?"} tokens</span>',
            f'<span class="s1-waits">Waits inserted: {t.waits_inserted}</span>',
            f'<span class="s1-rate">{t.tokens_per_s:.1f} tok/s</span>',
            f'<span class="s1-elapsed">{t.elapsed_s:.1f} s</span>',
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
        t = self.run
        return [
            label,
            t.thinking_tokens,
            t.waits_inserted,
            t.answer.strip(),
            round(t.elapsed_s, 2),
            round(t.tokens_per_s, 1),
            self.failure_message() if self.state == "failed" else (t.finished.stop_reason if t.finished else "running"),
        ]


SUMMARY_HEADERS = ["run", "thinking tokens", "Waits", "answer", "time (s)", "tok/s", "stop reason"]


def error_status_html(message: str | BaseException) -> str:
    """A status line for a run that never started (empty question, bad setting, model not found).
    Given the failure itself, one of llama.cpp's (a model it cannot load) shows llama.cpp's last log lines."""
    log = llama_log_details() if isinstance(message, (BackendError, ModelFormatError)) else ""
    return (f'<div class="s1-status s1-failed" data-state="failed"><span class="s1-error">{html.escape(str(message))}'
            f'</span>{log}</div>')


def llama_log_details() -> str:
    """llama.cpp's last log lines, folded ("" when it said nothing, or printed it already: --verbose)."""
    lines = recent_llama_log()
    if not lines or llama_log_shown():
        return ""
    return ('<details class="s1-llama-log"><summary>llama.cpp\'s last log lines</summary><pre>'
            + html.escape("\n".join(lines)) + "</pre></details>")


def idle_status_html() -> str:
    return '<div class="s1-status" data-state="idle"><span>Ready. Thinking tokens, Waits and tok/s show here while the model runs.</span></div>'


def thinking_title(thinking_tokens: int, waits_inserted: int, end_reason: str | None) -> str:
    title = f"Thinking · {thinking_tokens} tokens"
    if waits_inserted:
        title += f" · {waits_inserted} Wait{'s' if waits_inserted != 1 else ''} forced"
    if end_reason:
        title += f" · {END_LABELS.get(end_reason, end_reason)}"
    return title


def record_messages(record: dict[str, Any], reference: str = "") -> list[Message]:
    """A stored run (``s1app.store.get_run``) replayed as chat messages, forced text marked, its
    probes (``record["probes"]``; none when the key is missing) in the strip under the thinking."""
    segments = [Segment(s["section"], bool(s["forced"]), [s["text"]]) for s in record.get("segments") or []]
    thinking = "".join(segment_html(s) for s in segments if s.section in ("thinking", "delimiter"))
    answer = "".join(segment_html(s) for s in segments if s.section == "answer")
    title = thinking_title(record.get("thinking_tokens") or 0, record.get("waits_inserted") or 0,
                           record.get("thinking_end_reason"))
    messages: list[Message] = [
        {"role": "user", "content": html.escape(record.get("question") or "")},
        {"role": "assistant", "content": thinking or "…", "metadata": {"title": title, "status": "done"}},
    ]
    strip = strip_html(record.get("probes") or [], reference, answer_kind_of(record.get("settings")))
    if strip:
        messages.append({"role": "assistant", "content": strip})
    if answer:
        messages.append({"role": "assistant", "content": answer})
    if record.get("error"):
        messages.append({"role": "assistant", "content": f'<span class="s1-error">Error: {html.escape(record["error"])}</span>'})
    return messages
