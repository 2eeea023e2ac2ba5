"""Render a run's events in a terminal: thinking dim, forced text marked, a live status line.

On a terminal, finished lines scroll up as ordinary output while the line being written and the
status line stay live at the bottom. Piped, it writes plain text and one status line at the end.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from s1app.events import (
    AnswerDelta,
    AnswerProbed,
    BudgetClipped,
    Event,
    LoopDetected,
    RunFinished,
    RunStarted,
    ThinkingDelta,
    ThinkingEnded,
)
from s1app.run import Run

THINKING_STYLE = "dim"
FORCED_STYLE = "bold black on yellow"
PROBE_STYLE = "cyan"
END_LABELS = {
    "model": "the model ended thinking",
    "budget": "thinking capped at the budget",
    "loop": "thinking stopped: it was looping",
    "stable": "thinking stopped: the probed answers agreed",
    "confident": "thinking stopped: a probed answer was confident",
    "off": "thinking off: the template skipped it, so the budget controls do not apply",
}


class TerminalView:
    """Draws one Run: each event as it is shown, the counters and rate read from the Run."""

    def __init__(self, run: Run, console: Console | None = None) -> None:
        self.run = run
        self.console = console or Console(highlight=False)
        self.live_mode = self.console.is_terminal
        self.partial = Text()
        self.live: Live | None = None
        self.at_line_start = True  # plain mode: whether the last text written ended a line
        if self.live_mode:
            self.live = Live(self._renderable(), console=self.console, refresh_per_second=8, transient=True)
            self.live.start()

    # -- events ---------------------------------------------------------------------------

    def show(self, event: Event) -> None:
        """Draw ``event``, one the Run has already folded."""
        match event:
            case ThinkingDelta(text=text, forced=forced):
                self._write(f"[{text}]" if forced and not self.live_mode else text, FORCED_STYLE if forced else THINKING_STYLE)
            case AnswerDelta(text=text, forced=forced):
                self._write(f"[{text}]" if forced and not self.live_mode else text, FORCED_STYLE if forced else "")
            case RunStarted(model=model, backend=backend, format=fmt):
                budget = self.run.budget_tokens
                self._line(Text(f"{model} · {backend} · format {fmt} · thinking budget {budget} tokens", style="bold"))
                self._line(Text("Thinking…", style="italic"))
            case BudgetClipped(message=message):
                self._line(Text(f"warning: {message}", style="yellow"))
            case AnswerProbed():
                self._probe(Text(probe_line(event, self.run.probes), style=PROBE_STYLE))
            case LoopDetected(period_tokens=period):
                self._flush_partial()
                self._line(Text(f"(a block of {period} tokens kept repeating)", style="yellow"))
            case ThinkingEnded(reason=reason):
                self._flush_partial()
                forced = reason not in ("model", "off")
                label = END_LABELS.get(reason, reason) + (" · forced end-of-thinking" if forced else "")
                self._line(Text(f"── {label} ──", style=FORCED_STYLE if forced else "bold"))
                self._line(Text("Answer:", style="bold"))
            case RunFinished():
                self._flush_partial()
                self._refresh()
        self._refresh()

    def close(self) -> None:
        self._flush_partial()
        if self.live is not None:
            self.live.stop()
        finished, stats = self.run.finished, self.run.stats
        if finished is not None and stats is not None:
            line = (
                f"thinking {stats.thinking_tokens} tokens ({stats.thinking_tokens_forced} forced) · "
                f"waits {stats.waits_inserted} · answer {stats.answer_tokens} tokens · "
                f"{stats.tokens_per_s:.1f} tok/s · {stats.wall_s:.1f} s · stop: {stats.stop_reason}"
            )
            Console(stderr=not self.live_mode, highlight=False).print(Text(line, style="bold"))
            if finished.error:
                Console(stderr=True, highlight=False).print(f"[bold red]Error:[/] {finished.error}")

    # -- drawing --------------------------------------------------------------------------

    def _write(self, text: str, style: str) -> None:
        if not self.live_mode:
            if text:
                self.console.file.write(text)
                self.console.file.flush()
                self.at_line_start = text.endswith("\n")
            return
        *complete, rest = text.split("\n")
        for piece in complete:
            self.partial.append(piece, style)
            self._line(self.partial)
            self.partial = Text()
        self.partial.append(rest, style)

    def _line(self, text: Text) -> None:
        if self.live_mode:
            self.console.print(text)
        else:
            self.console.file.write(text.plain + "\n")
            self.at_line_start = True

    def _probe(self, line: Text) -> None:
        """A probe's line: above the live line on a terminal (the text goes on where it was);
        piped, on stderr, so stdout stays the run's own text."""
        if self.live_mode:
            self.console.print(line)
        else:
            Console(stderr=True, highlight=False).print(line)

    def _flush_partial(self) -> None:
        if self.live_mode and self.partial.plain:
            self._line(self.partial)
            self.partial = Text()
        elif not self.live_mode and not self.at_line_start:
            self.console.file.write("\n")
            self.at_line_start = True

    def _status(self) -> Text:
        run = self.run
        budget = "∞" if run.budget_tokens is None else str(run.budget_tokens)
        return Text(
            f"thinking {run.thinking_tokens}/{budget} tokens · waits {run.waits_inserted} · "
            f"{run.tokens_per_s:.1f} tok/s · {run.elapsed_s:.1f} s",
            style="bold cyan",
        )

    def _renderable(self) -> Group:
        return Group(self.partial, self._status())

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._renderable())


def probe_line(probe: AnswerProbed, probes: list[AnswerProbed]) -> str:
    """``probe @ 64 tokens: 24 (p 0.82, changed)``: what the run would answer if stopped there."""
    index = next((i for i, p in enumerate(probes) if p is probe), len(probes))
    earlier = [p for p in probes[:index] if p.kind == probe.kind]
    notes = [] if probe.confidence is None else [f"p {probe.confidence:.2f}"]
    if earlier and earlier[-1].extracted != probe.extracted:
        notes.append("changed")
    where = "at an attempt to stop" if probe.kind == "stop" else "if stopped"
    answer = probe.extracted if probe.extracted is not None else "(no answer)"
    return f"  probe {where} @ {probe.position_tokens} tokens: {answer}" + (f" ({', '.join(notes)})" if notes else "")
