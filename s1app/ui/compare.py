"""Compare tab: one question, two configurations (models, backends or budgets) streaming side by side.

One handler starts both runs on one Pump, so they generate at the same time in two worker
threads and each batch updates both columns; the summary table fills in as each side finishes.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from s1app.budget import DEFAULTS, BudgetConfig
from s1app.errors import S1AppError
from s1app.loading import LoadedModel
from s1app.session import Session, validate_question
from s1app.ui.context import BACKEND_CHOICES, UIContext, budget_config_from_ui
from s1app.ui.render import (
    SUMMARY_HEADERS,
    RunView,
    error_status_html,
    idle_status_html,
)
from s1app.ui.streaming import cancel_scope, watch_runs
from s1app.ui.widgets import budget_control, question_box

SIDES = ("A", "B")


@dataclass
class _SideControls:
    model: gr.Dropdown
    backend: gr.Dropdown
    max_thinking: gr.Number
    waits: gr.Number


class _Side:
    """One column's run: its view, and what the chatbot shows."""

    def __init__(self, label: str, question: str, loaded: LoadedModel, config: BudgetConfig, view: RunView) -> None:
        self.label = label
        self.question = question
        self.loaded = loaded
        self.config = config
        self.view = view

    def describe(self) -> str:
        return (f"{self.label}: {self.loaded.name} · {self.loaded.backend.info.name} · "
                f"max {self.config.max_thinking_tokens} · Waits {self.config.num_waits}")

    def messages(self) -> list[dict]:
        return [{"role": "user", "content": html.escape(self.question)}, *self.view.messages()]


class CompareTab:
    def __init__(self, ctx: UIContext) -> None:
        self.ctx = ctx

    def compare(
        self,
        question: str,
        model_a: str, backend_a: str, max_thinking_a: float, waits_a: float,
        model_b: str, backend_b: str, max_thinking_b: float, waits_b: float,
        ignore_str: str, temperature: float, seed: float | None, max_answer: float,
        request: gr.Request,
    ) -> Iterator[tuple]:
        """Yields (chat A, status A, chat B, status B, summary rows) per batch."""
        with cancel_scope(self.ctx, request.session_hash, "compare") as scope:
            try:
                question = validate_question(question)
                sides = []
                for label, model, backend, max_thinking, waits in (
                    ("A", model_a, backend_a, max_thinking_a, waits_a),
                    ("B", model_b, backend_b, max_thinking_b, waits_b),
                ):
                    loaded = self.ctx.load(model, backend)
                    config = budget_config_from_ui(max_thinking=max_thinking, waits=waits, ignore_str=ignore_str,
                                                   temperature=temperature, seed=seed, max_answer=max_answer,
                                                   context_length=loaded.backend.info.context_length)
                    # A fresh Session per side: the compare is single-turn, and the two runs share nothing.
                    run = Session(loaded).ask(question, config, cancel=scope.new_flag(), log=self.ctx.run_log())
                    sides.append(_Side(label, question, loaded, config, RunView(run)))
            except S1AppError as failure:
                message = error_status_html(failure)
                yield [], message, [], message, []
                return
            for _ in watch_runs(self.ctx, {side.label: side.view for side in sides}):
                yield self._outputs(sides)

    @staticmethod
    def _outputs(sides: list[_Side]) -> tuple:
        a, b = sides
        rows = [side.view.summary_row(side.describe()) for side in sides if side.view.state != "running"]
        return a.messages(), a.view.status_html(), b.messages(), b.view.status_html(), rows

    def stop(self, request: gr.Request) -> None:
        self.ctx.scopes.stop(request.session_hash, "compare")

    def build(self) -> None:
        ctx = self.ctx
        question = question_box(elem_id="compare-question",
                                placeholder="One question, asked under both configurations at once.")
        with gr.Row():
            ignore_str = gr.Textbox(DEFAULTS.ignore_str, label="Ignore string")
            temperature = gr.Slider(0, 2, value=DEFAULTS.temperature, step=0.05, label="Temperature (0 = greedy)")
            seed = gr.Number(0, label="Seed (used when temperature > 0)")
            max_answer = gr.Number(DEFAULTS.max_answer_tokens, label="Max answer tokens", elem_id="compare-max-answer")
        controls: dict[str, _SideControls] = {}
        outputs: list[gr.components.Component] = []
        with gr.Row(equal_height=False):
            for label, default_budget, default_waits in (("A", 32, 0), ("B", 256, 2)):
                with gr.Column():
                    gr.Markdown(f"**Configuration {label}**")
                    with gr.Row():
                        model = gr.Dropdown(ctx.model_choices(), value=ctx.default_model.name, label="Model",
                                            allow_custom_value=True)
                        backend = gr.Dropdown(BACKEND_CHOICES, value="", label="Backend")
                    max_thinking = budget_control(ctx.context_length, default_budget, f"compare-max-thinking-{label}")
                    waits = gr.Number(default_waits, label="Waits", elem_id=f"compare-waits-{label}")
                    controls[label] = _SideControls(model, backend, max_thinking, waits)
                    chatbot = gr.Chatbot(label=f"Run {label}", height=420, elem_id=f"compare-chat-{label}",
                                         feedback_options=None)
                    status = gr.HTML(idle_status_html(), label=f"status {label}", elem_id=f"compare-status-{label}")
                    outputs += [chatbot, status]
        with gr.Row():
            run_button = gr.Button("Run both", variant="primary", elem_id="compare-run")
            stop_button = gr.Button("Stop", variant="stop", elem_id="compare-stop")
        summary = gr.Dataframe(headers=SUMMARY_HEADERS, label="Summary", interactive=False, wrap=True,
                               elem_id="compare-summary")
        side_inputs = [c for label in SIDES for c in (controls[label].model, controls[label].backend,
                                                      controls[label].max_thinking, controls[label].waits)]
        gr.on([run_button.click, question.submit], self.compare,
              [question, *side_inputs, ignore_str, temperature, seed, max_answer], [*outputs, summary],
              api_name="compare", show_progress="hidden")
        stop_button.click(self.stop, None, None, api_name="compare_stop", queue=False)

