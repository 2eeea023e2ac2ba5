"""Budget sweep tab: one question at a list of budgets (and Wait counts); plots of what changes.

Runs go one after another (so each one's tokens/s is its own), each a fresh single-turn session.
With a reference answer each answer is graded by ``s1app.eval.grading`` (math-verify).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from typing import Any

import gradio as gr
from matplotlib.figure import Figure

from s1app.budget import DEFAULT_MAX_ANSWER_TOKENS
from s1app.errors import ConfigError, S1AppError
from s1app.eval.grading import grade
from s1app.session import Session, validate_question
from s1app.ui.context import (
    BACKEND_CHOICES,
    UIContext,
    budget_config_from_ui,
    whole_number,
)
from s1app.ui.render import RunView, error_status_html, idle_status_html
from s1app.ui.streaming import stop_flag, watch_runs
from s1app.ui.widgets import question_box

MAX_SWEEP_RUNS = 48
SWEEP_HEADERS = ["max thinking tokens", "Waits", "thinking tokens", "Waits inserted", "forced tokens",
                 "answer", "extracted", "correct", "stop reason", "time (s)"]


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One finished run of a sweep: a row of the table (SWEEP_HEADERS, in this order)."""

    budget: int
    waits: int
    thinking_tokens: int
    waits_inserted: int
    forced_tokens: int
    answer: str
    extracted: str
    correct: str
    """"yes", "no", or "" without a reference answer."""
    stop_reason: str
    time_s: float

    @classmethod
    def of(cls, budget: int, waits: int, view: RunView, reference: str | None) -> SweepRow:
        fold = view.fold
        graded = grade(fold.answer, reference)
        stop = view.failure_message() if view.state == "failed" else (fold.finished.stats.stop_reason if fold.finished else "")
        return cls(budget, waits, fold.thinking_tokens, fold.waits_inserted, fold.forced_tokens, fold.answer.strip(),
                   graded.extracted or "", "" if graded.correct is None else ("yes" if graded.correct else "no"),
                   stop, round(view.elapsed_s, 2))


def parse_int_list(label: str, text: str | None, *, default: list[int] | None = None) -> list[int]:
    """"0, 16, 64 256" -> [0, 16, 64, 256] (commas or spaces; duplicates dropped, order kept)."""
    parts = [part for part in (text or "").replace(",", " ").split() if part]
    if not parts:
        if default is not None:
            return default
        raise ConfigError(f"{label} is empty: list whole numbers separated by commas, e.g. 0, 16, 64, 256.")
    values = [whole_number(f"{label} value", part) for part in parts]
    return list(dict.fromkeys(values))


def sweep_figure(rows: list[SweepRow], graded: bool) -> Figure:
    """Thinking tokens used vs budget (one line per Wait count); with a reference, correctness too."""
    figure = Figure(figsize=(8.5, 3.4) if graded else (5.5, 3.4), layout="constrained")
    axes = figure.subplots(1, 2 if graded else 1, squeeze=False)[0]
    by_waits: dict[int, list[SweepRow]] = {}
    for row in rows:
        by_waits.setdefault(row.waits, []).append(row)
    budgets = sorted({row.budget for row in rows})
    used_axes = axes[0]
    if budgets:
        used_axes.plot(budgets, budgets, linestyle=":", color="grey", label="budget (cap)")
    for waits, group in sorted(by_waits.items()):
        group = sorted(group, key=lambda row: row.budget)
        used_axes.plot([r.budget for r in group], [r.thinking_tokens for r in group], marker="o", label=f"{waits} Waits")
    used_axes.set(xlabel="max thinking tokens", ylabel="thinking tokens used", title="Thinking used vs budget")
    used_axes.set_xscale("symlog", linthresh=16)
    used_axes.legend(fontsize="small")
    if graded:
        correct_axes = axes[1]
        for waits, group in sorted(by_waits.items()):
            group = sorted(group, key=lambda row: row.budget)
            correct_axes.plot([r.budget for r in group], [1 if r.correct == "yes" else 0 for r in group], marker="o",
                              drawstyle="steps-post", label=f"{waits} Waits")
        correct_axes.set(xlabel="max thinking tokens", ylabel="correct", title="Correct vs budget", ylim=(-0.1, 1.1))
        correct_axes.set_yticks([0, 1], ["no", "yes"])
        correct_axes.set_xscale("symlog", linthresh=16)
    return figure


class SweepTab:
    def __init__(self, ctx: UIContext) -> None:
        self.ctx = ctx

    def sweep(
        self,
        question: str,
        reference: str,
        budgets_text: str,
        waits_text: str,
        model_name: str,
        backend: str,
        ignore_str: str,
        temperature: float,
        seed: float | None,
        max_answer: float,
        request: gr.Request,
    ) -> Iterator[tuple]:
        """Yields (table rows, plot, status line): rows grow by one per finished run."""
        try:
            question = validate_question(question)
            budgets = parse_int_list("Budgets", budgets_text)
            wait_counts = parse_int_list("Waits", waits_text, default=[0])
            grid = [(budget, waits) for waits in wait_counts for budget in budgets]
            if len(grid) > MAX_SWEEP_RUNS:
                raise ConfigError(f"That is {len(grid)} runs; a sweep runs at most {MAX_SWEEP_RUNS}: list fewer budgets or Wait counts.")
            loaded = self.ctx.load(model_name, backend)
            configs = [budget_config_from_ui(max_thinking=budget, waits=waits, ignore_str=ignore_str,
                                             temperature=temperature, seed=seed, max_answer=max_answer,
                                             context_length=loaded.backend.info.context_length)
                       for budget, waits in grid]
        except S1AppError as failure:
            yield [], None, error_status_html(str(failure))
            return
        reference = reference if reference and reference.strip() else None
        rows: list[SweepRow] = []
        with stop_flag(self.ctx, request.session_hash, "sweep") as flag:
            for index, config in enumerate(configs, start=1):
                if flag.is_set():
                    break
                view = RunView()
                label = (f"run {index}/{len(configs)} · max thinking {config.max_thinking_tokens} · "
                         f"Waits {config.num_waits}")
                run = {index: (view, lambda c=config: Session(loaded).ask(question, c, cancel=flag))}
                for _ in watch_runs(self.ctx, run):
                    yield _cells(rows), gr.skip(), _progress_html(label, view)
                rows.append(SweepRow.of(config.max_thinking_tokens, config.num_waits, view, reference))
                yield _cells(rows), sweep_figure(rows, reference is not None), _progress_html(label, view)
        done = f"{len(rows)} of {len(configs)} runs done" + (" (stopped)" if len(rows) < len(configs) else "")
        yield (_cells(rows), sweep_figure(rows, reference is not None),
               f'<div class="s1-status" data-state="finished" data-rows="{len(rows)}">{done}</div>')

    def stop(self, request: gr.Request) -> None:
        self.ctx.stop_flags.stop(request.session_hash, "sweep")

    def build(self) -> None:
        ctx = self.ctx
        gr.Markdown("Run one question at several budgets to see what budget forcing does: how much of the "
                    "budget the model uses, and (with a reference answer) whether more thinking gets it right.")
        with gr.Row():
            question = question_box(scale=3, elem_id="sweep-question")
            reference = gr.Textbox(label="Reference answer (optional)", scale=1, elem_id="sweep-reference")
        with gr.Row():
            budgets = gr.Textbox("0, 16, 64, 256", label="Max thinking tokens (list)", elem_id="sweep-budgets")
            waits = gr.Textbox("0", label="Waits (list)", elem_id="sweep-waits")
            ignore_str = gr.Textbox("Wait", label="Ignore string")
        with gr.Row():
            model = gr.Dropdown(ctx.model_choices(), value=ctx.default_model.name, label="Model", allow_custom_value=True)
            backend = gr.Dropdown(BACKEND_CHOICES, value="", label="Backend")
            temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature (0 = greedy)")
            seed = gr.Number(0, label="Seed (used when temperature > 0)")
            max_answer = gr.Number(DEFAULT_MAX_ANSWER_TOKENS, label="Max answer tokens")
        with gr.Row():
            run_button = gr.Button("Run sweep", variant="primary", elem_id="sweep-run")
            stop_button = gr.Button("Stop", variant="stop")
        status = gr.HTML(idle_status_html(), label="status", elem_id="sweep-status")
        plot = gr.Plot(label="Budget effects")
        table = gr.Dataframe(headers=SWEEP_HEADERS, label="Runs", interactive=False, wrap=True, elem_id="sweep-table")
        gr.on([run_button.click, question.submit], self.sweep,
              [question, reference, budgets, waits, model, backend, ignore_str, temperature, seed, max_answer],
              [table, plot, status], api_name="sweep", show_progress="hidden")
        stop_button.click(self.stop, None, None, api_name="sweep_stop", queue=False)


def _cells(rows: list[SweepRow]) -> list[list[Any]]:
    return [list(astuple(row)) for row in rows]


def _progress_html(label: str, view: RunView) -> str:
    return f"<div>{html.escape(label)}</div>{view.status_html()}"
