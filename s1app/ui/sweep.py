"""Budget sweep tab: one question at a list of budgets (and Wait counts), as an eval plan over one
inline item: the eval harness's budget-forcing method, its grading and its plot (s1app.eval).

Greedy, so by default one trajectory answers every setting: it runs to the largest budget and Wait
count, and answer probes at each budget and attempt to stop give the other settings' answers
(s1app.eval.trajectory; "separate runs" runs each setting on its own, one after another). The
closing status lists the trajectory's probes and the tokens it sampled against what separate
runs would have. With a reference answer each answer is graded as the Benchmark tab grades
(math-verify); the live status line follows the run in flight.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import gradio as gr

from s1app.budget import DEFAULTS
from s1app.cancel import CancelScope
from s1app.errors import ConfigError, S1AppError
from s1app.eval.benches import Bench, Item
from s1app.eval.methods import Sweep, settings_for
from s1app.eval.metrics import summarize
from s1app.eval.plots import accuracy_figure
from s1app.eval.records import ItemRecord
from s1app.eval.runner import EngineAsk, RecordsInMemory, execute
from s1app.eval.trajectory import Trajectory, probe_sampled_tokens, trajectory_cost
from s1app.loading import LoadedModel
from s1app.numbers import whole_number, whole_numbers
from s1app.pump import Pump, WorkFailed
from s1app.run import Run
from s1app.session import validate_question
from s1app.ui.context import BACKEND_CHOICES, UIContext
from s1app.ui.render import RunView, error_status_html, idle_status_html
from s1app.ui.streaming import cancel_scope
from s1app.ui.widgets import question_box

MAX_SWEEP_RUNS = 48
SWEEP_HEADERS = ["max thinking tokens", "Waits", "thinking tokens", "Waits inserted", "forced tokens",
                 "answer", "extracted", "correct", "stop reason", "time (s)"]


def sweep_row(record: ItemRecord, run: Run | None, graded: bool) -> list[Any]:
    """One row of the table (SWEEP_HEADERS): the eval's record, with the answer read from its run
    (for a record off a shared trajectory, from the probe that answered for it)."""
    correct = ("yes" if record.correct else "no") if graded else ""
    answer, stop = (run.answer, run.finished.stop_reason if run.finished else "") if run else ("", "")
    if run is not None and record.shared:
        outcome = Trajectory(run).outcome(record.settings["max_thinking_tokens"], record.settings["num_waits"])
        answer, stop = (outcome.answer, outcome.stop_reason) if outcome else ("", "")
    return [record.settings["max_thinking_tokens"], record.settings["num_waits"], record.thinking_tokens,
            record.waits_inserted, record.forced_tokens, answer.strip(), record.extracted or "", correct, stop,
            round(record.wall_s, 2)]


def trajectory_html(run: Run, records: list[ItemRecord]) -> str:
    """The shared trajectory: what it sampled against separate runs, its probes, its thinking."""
    separate = sum(record.generated_tokens for record in records)
    probes = "".join(
        f"<tr><td>{p.position_tokens}</td><td>{p.kind}</td><td>{p.waits_before}</td>"
        f"<td>{html.escape(p.extracted or '')}</td><td>{probe_sampled_tokens(run, p)}</td></tr>" for p in run.probes)
    return (f'<details class="s1-trajectory" open><summary>Shared trajectory: {trajectory_cost(run)} tokens sampled '
            f'(the run {run.sampled_tokens}, {len(run.probes)} probes {trajectory_cost(run) - run.sampled_tokens}); '
            f'separate runs: {separate}</summary>'
            "<table><tr><th>probed at (thinking tokens)</th><th>kind</th><th>Waits before</th><th>answer</th>"
            f"<th>tokens sampled</th></tr>{probes}</table>"
            f"<pre>{html.escape(run.thinking)}</pre></details>")


def sweep_plan(budgets_text: str, waits_text: str) -> list:
    """The budget-forcing settings for these budgets and Wait counts (ConfigError says what to fix)."""
    sweep = Sweep(budgets=whole_numbers("Budgets", budgets_text), waits=whole_numbers("Waits", waits_text or None, default="0"))
    settings = settings_for(("budget-forcing",), sweep)
    if len(settings) > MAX_SWEEP_RUNS:
        raise ConfigError(f"That is {len(settings)} runs; a sweep runs at most {MAX_SWEEP_RUNS}: "
                          "list fewer budgets or Wait counts.")
    return settings


class SweepTab:
    def __init__(self, ctx: UIContext) -> None:
        self.ctx = ctx

    def sweep(self, question: str, reference: str, budgets_text: str, waits_text: str, model_name: str,
              backend: str, max_answer: float, separate_runs: bool, request: gr.Request) -> Iterator[tuple]:
        """Yields (table rows, plot, status line): rows grow by one per finished run."""
        try:
            question = validate_question(question)
            settings = sweep_plan(budgets_text, waits_text)
            answer_cap = whole_number("Max answer tokens", max_answer, 1)
            loaded = self.ctx.load(model_name, backend)
        except S1AppError as failure:
            yield [], None, error_status_html(str(failure))
            return
        reference = reference.strip() if reference and reference.strip() else None
        item = Item("sweep", question, reference or "")
        with cancel_scope(self.ctx, request.session_hash, "sweep") as scope:
            yield from self._follow(loaded, item, RecordsInMemory(settings), answer_cap, scope, reference is not None,
                                    bool(separate_runs))

    def _follow(self, loaded: LoadedModel, item: Item, records: RecordsInMemory, answer_cap: int,
                scope: CancelScope, graded: bool, separate_runs: bool) -> Iterator[tuple]:
        """The plan runs in a worker; each run (as it starts) and each record come here to be shown."""
        pump: Pump = Pump()
        bench = Bench("sweep", (item,), "the Budget sweep tab", "")

        def work(emit) -> None:
            ask = EngineAsk(loaded, answer_cap, scope, self.ctx.run_log(), on_run=emit)
            execute(records, bench, ask, parallel=1, scope=scope, on_record=emit, separate_runs=separate_runs)

        pump.start("sweep", work)
        runs: list[Run] = []
        rows: list[list[Any]] = []
        view: RunView | None = None
        for batch in pump.batches(self.ctx.update_interval_s):
            for _, item_or_run in batch:
                if isinstance(item_or_run, WorkFailed):
                    yield _cells(rows), gr.skip(), error_status_html(str(item_or_run.error))
                    return
                if isinstance(item_or_run, Run):
                    runs.append(item_or_run)
                    view = RunView(item_or_run)
                else:
                    rows.append(sweep_row(item_or_run, _run_of(runs, item_or_run), graded))
            label = f"{len(rows)} of {len(records.settings)} settings done"
            yield _cells(rows), gr.skip(), _progress_html(label, view)
        methods = summarize(records.records(), {s.key: s.label for s in records.settings})
        done = f"{len(rows)} of {len(records.settings)} settings done" + (" (stopped)" if scope.cancelled.is_set() else "")
        shared = next((run for run in runs if run.probes), None)
        yield (_cells(rows), accuracy_figure(methods, "One question: correct vs thinking"),
               f'<div class="s1-status" data-state="finished" data-rows="{len(rows)}">{html.escape(done)}</div>'
               + (trajectory_html(shared, records.records()) if shared is not None and rows else ""))

    def stop(self, request: gr.Request) -> None:
        self.ctx.scopes.stop(request.session_hash, "sweep")

    def build(self) -> None:
        ctx = self.ctx
        gr.Markdown("Run one question at several budgets to see what budget forcing does: how much of the "
                    "budget the model uses, and (with a reference answer) whether more thinking gets it right. "
                    "The same method, grading and plot as the Benchmark tab, on one question (greedy: one "
                    "trajectory answers every setting, through answer probes at each budget and Wait).")
        with gr.Row():
            question = question_box(scale=3, elem_id="sweep-question")
            reference = gr.Textbox(label="Reference answer (optional)", scale=1, elem_id="sweep-reference")
        with gr.Row():
            budgets = gr.Textbox("0, 16, 64, 256", label="Max thinking tokens (list)", elem_id="sweep-budgets")
            waits = gr.Textbox("0", label="Waits (list)", elem_id="sweep-waits")
            max_answer = gr.Number(DEFAULTS.max_answer_tokens, label="Max answer tokens")
            separate = gr.Checkbox(False, label="Separate runs (one per setting, not one shared trajectory)",
                                   elem_id="sweep-separate")
        with gr.Row():
            model = gr.Dropdown(ctx.model_choices(), value=ctx.default_model.name, label="Model", allow_custom_value=True)
            backend = gr.Dropdown(BACKEND_CHOICES, value="", label="Backend")
        with gr.Row():
            run_button = gr.Button("Run sweep", variant="primary", elem_id="sweep-run")
            stop_button = gr.Button("Stop", variant="stop")
        status = gr.HTML(idle_status_html(), label="status", elem_id="sweep-status")
        plot = gr.Plot(label="Correct vs thinking tokens")
        table = gr.Dataframe(headers=SWEEP_HEADERS, label="Runs", interactive=False, wrap=True, elem_id="sweep-table")
        gr.on([run_button.click, question.submit], self.sweep,
              [question, reference, budgets, waits, model, backend, max_answer, separate],
              [table, plot, status], api_name="sweep", show_progress="hidden")
        stop_button.click(self.stop, None, None, api_name="sweep_stop", queue=False)


def _run_of(runs: list[Run], record: ItemRecord) -> Run | None:
    return next((run for run in runs if run.run_id in record.run_ids), None)


def _cells(rows: list[list[Any]]) -> list[list[Any]]:
    return [list(row) for row in rows]


def _progress_html(label: str, view: RunView | None) -> str:
    return f"<div>{html.escape(label)}</div>" + (view.status_html() if view is not None else "")
