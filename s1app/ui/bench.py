"""Benchmark tab: a benchmark under one or more test-time scaling methods; the table and the plot live.

The same harness as `s1app eval` (s1app.eval.harness): the run gets a folder under the default
eval folder, so `s1app eval --resume RUN` can finish one stopped here. Only counts and graded
answers are shown, never a question (GPQA's must not appear in plain text). Greedy budget forcing
shares one trajectory per question unless "Separate runs" is ticked (s1app.eval.shared); the
status line says what was shared.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from s1app.cancel import CancelScope
from s1app.errors import S1AppError
from s1app.eval.benches import BENCH_NAMES, default_bench
from s1app.eval.harness import EvalJob, new_job, run_job, summarize_job
from s1app.eval.methods import METHODS
from s1app.eval.metrics import summarize
from s1app.eval.plan import DEFAULT_BUDGETS, EvalPlan
from s1app.eval.plots import accuracy_figure
from s1app.eval.report import METHOD_HEADERS, POINT_HEADERS, method_rows, point_rows
from s1app.eval.rundir import default_out_dir
from s1app.eval.shared import sharing_notes
from s1app.numbers import whole_number
from s1app.pump import Pump, WorkFailed
from s1app.ui.context import BACKEND_CHOICES, UIContext
from s1app.ui.render import error_status_html
from s1app.ui.streaming import cancel_scope

UPDATE_EVERY_S = 0.5


class BenchTab:
    def __init__(self, ctx: UIContext, out_dir: Path | None = None) -> None:
        self.ctx = ctx
        self.out_dir = out_dir or default_out_dir(ctx.store.path if ctx.store is not None else None)

    def run(self, bench: str, methods: list[str] | None, budgets: str, waits: str, limit: Any, parallel: Any,
            max_answer: Any, model_name: str, backend: str, separate_runs: bool, request: gr.Request) -> Iterator[tuple]:
        """Yields (method table, setting table, plot, status) as items finish."""
        try:
            plan = EvalPlan.from_options(
                bench=bench or "", methods=",".join(methods or []), budgets=budgets, waits=waits or "0",
                limit=whole_number("Questions", limit, 1), max_answer_tokens=whole_number("Max answer tokens", max_answer, 1),
                model=(model_name or "").strip() or None, backend=(backend or "").strip() or None)
            workers = whole_number("Parallel", parallel, 1)
            job = new_job(plan, self.out_dir, loader=lambda spec, backend=None: self.ctx.load(spec, backend))
        except S1AppError as failure:
            yield [], [], None, error_status_html(str(failure))
            return
        with cancel_scope(self.ctx, request.session_hash, "bench") as scope:
            yield from self._follow(job, workers, scope, bool(separate_runs))

    def _follow(self, job: EvalJob, workers: int, scope: CancelScope, separate_runs: bool) -> Iterator[tuple]:
        """Run the eval in a worker (its runs cancelled with ``scope``); yield the tables per batch."""
        labels = {setting.key: setting.label for setting in job.rundir.settings}
        log = self.ctx.run_log()
        notes = " ".join(sharing_notes(job.rundir.settings, separate_runs=separate_runs))
        pump: Pump = Pump()
        pump.start("bench", lambda emit: run_job(job, parallel=workers, scope=scope, log=log, on_record=emit,
                                                 separate_runs=separate_runs))
        records: list = []
        for batch in pump.batches(UPDATE_EVERY_S):
            failures = [item for _, item in batch if isinstance(item, WorkFailed)]
            if failures:
                yield gr.skip(), gr.skip(), gr.skip(), error_status_html(f"{failures[0].error} (run {job.rundir.run_id})")
                return
            records += [item for _, item in batch]
            methods = summarize(records, labels)
            yield (method_rows(methods), point_rows(methods), accuracy_figure(methods) if methods else gr.skip(),
                   _status(job, len(records), "running", notes))
        summary = summarize_job(job)
        state = "stopped" if scope.cancelled.is_set() else "finished"
        yield (method_rows(summary.methods), point_rows(summary.methods), accuracy_figure(summary.methods),
               _status(job, summary.records, state, notes))

    def stop(self, request: gr.Request) -> None:
        self.ctx.scopes.stop(request.session_hash, "bench")

    def build(self) -> None:
        ctx = self.ctx
        gr.Markdown("Run a benchmark under the paper's test-time scaling methods: accuracy against average "
                    "thinking tokens, with Control, Scaling and Performance (see docs/evaluation.md). Graded "
                    "locally; questions are never shown.")
        with gr.Row():
            bench = gr.Dropdown(list(BENCH_NAMES), value=default_bench(ctx.default_model.entry.source), label="Benchmark (or a JSONL path on this machine)",
                                allow_custom_value=True, elem_id="bench-bench")
            methods = gr.CheckboxGroup(list(METHODS), value=["budget-forcing"], label="Methods", elem_id="bench-methods")
        with gr.Row():
            budgets = gr.Textbox(DEFAULT_BUDGETS, label="Thinking budgets (list)", elem_id="bench-budgets")
            waits = gr.Textbox("0", label="Waits (list, budget forcing)")
            limit = gr.Number(10, label="Questions (first N)", precision=0, elem_id="bench-limit")
            parallel = gr.Number(4, label="Parallel", precision=0)
            max_answer = gr.Number(128, label="Max answer tokens", precision=0)
            separate = gr.Checkbox(False, label="Separate runs (budget forcing: one run per setting, not one "
                                   "shared trajectory per question)", elem_id="bench-separate")
        with gr.Row():
            model = gr.Dropdown(ctx.model_choices(), value=ctx.default_model.name, label="Model", allow_custom_value=True)
            backend = gr.Dropdown(BACKEND_CHOICES, value="", label="Backend")
        with gr.Row():
            run_button = gr.Button("Run benchmark", variant="primary", elem_id="bench-run")
            stop_button = gr.Button("Stop", variant="stop")
        status = gr.HTML('<div class="s1-status" data-state="idle">Ready.</div>', elem_id="bench-status")
        plot = gr.Plot(label="Accuracy vs average thinking tokens")
        method_table = gr.Dataframe(headers=METHOD_HEADERS, label="Methods", interactive=False, elem_id="bench-methods-table")
        point_table = gr.Dataframe(headers=POINT_HEADERS, label="Per setting", interactive=False, elem_id="bench-points-table")
        run_button.click(self.run, [bench, methods, budgets, waits, limit, parallel, max_answer, model, backend, separate],
                         [method_table, point_table, plot, status], api_name="bench", show_progress="hidden")
        stop_button.click(self.stop, None, None, api_name="bench_stop", queue=False)


def _status(job: EvalJob, done: int, state: str, notes: str = "") -> str:
    text = (f"{state}: {done} of {job.total_items} items · run {job.rundir.run_id} · {job.rundir.path}"
            + (f" · resume with s1app eval --resume {job.rundir.run_id}" if state == "stopped" else "")
            + (f" · {notes}" if notes else ""))
    return f'<div class="s1-status" data-state="{state}" data-done="{done}">{html.escape(text)}</div>'
