"""Chat tab: a conversation whose thinking streams live under a budget slider and a Wait counter."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import gradio as gr

from s1app.budget import DEFAULTS
from s1app.errors import S1AppError
from s1app.numbers import whole_number
from s1app.session import Session, Turn, validate_question
from s1app.ui.context import (
    ANSWER_KINDS,
    BACKEND_CHOICES,
    UIContext,
    budget_config_from_ui,
    probe_settings_from_ui,
)
from s1app.ui.render import RunView, error_status_html, idle_status_html
from s1app.ui.streaming import cancel_scope, watch_runs
from s1app.ui.widgets import budget_control, question_box


REASONING_EFFORT_CHOICES = [("the template's default", ""), ("low", "low"), ("medium", "medium"), ("high", "high")]
"""A value for every choice, "" included, so API callers may leave it out for models without the switch."""


class ChatTab:
    """Builds the tab's components and owns its handlers (``ask``, ``stop``) for one app."""

    def __init__(self, ctx: UIContext) -> None:
        self.ctx = ctx

    # -- handlers --------------------------------------------------------------------------

    def ask(
        self, question: str, history: list[dict] | None, turns: list[Turn] | None, conversation: Any,
        model_name: str, backend: str, max_thinking: float, waits: float, ignore_str: str, temperature: float,
        seed: float | None, min_thinking: float, max_answer: float, loop_detect: bool, gpu_layers: float | None,
        reasoning_effort: str | None, thinking: bool,
        probe_every: float | None, probe_tokens: float, stop_when_stable: float | None,
        stop_when_confident: str | None, answer_kind: str, reference: str, landing: str, suppress: str,
        request: gr.Request,
    ) -> Iterator[tuple]:
        """Stream one turn: yields (chat messages, status line, turns, log conversation, question box)."""
        history = list(history or [])
        turns = list(turns or [])
        try:
            question = validate_question(question)
            loaded = self.ctx.load(model_name, backend, whole_number("GPU layers", gpu_layers, -1, optional=True))
            config = budget_config_from_ui(
                max_thinking=max_thinking, waits=waits, ignore_str=ignore_str, temperature=temperature,
                seed=seed, min_thinking=min_thinking, max_answer=max_answer, loop_detect=loop_detect,
                context_length=loaded.backend.info.context_length, reasoning_effort=reasoning_effort, thinking=thinking,
                probes=probe_settings_from_ui(every=probe_every, tokens=probe_tokens, stop_when_stable=stop_when_stable,
                                              stop_when_confident=stop_when_confident, answer_kind=answer_kind),
                landing=landing, suppress=suppress,
            )
        except S1AppError as failure:
            yield history, error_status_html(failure), turns, conversation, gr.skip()
            return
        if conversation is None:
            conversation = self.ctx.new_conversation(source="ui")
        session = Session(loaded, turns=turns)
        with cancel_scope(self.ctx, request.session_hash, "chat") as scope:
            try:
                run = session.ask(question, config, cancel=scope.new_flag(), log=self.ctx.run_log(conversation))
            except S1AppError as failure:  # the conversation no longer fits the context
                yield history, error_status_html(failure), turns, conversation, gr.skip()
                return
            history.append({"role": "user", "content": html.escape(question)})
            view = RunView(run, reference=reference or "")
            for _ in watch_runs(self.ctx, {"chat": view}):
                yield history + view.messages(), view.status_html(), session.turns, conversation, ""

    def stop(self, request: gr.Request) -> None:
        self.ctx.scopes.stop(request.session_hash, "chat")

    def switch_controls(self, model_name: str) -> tuple:
        """Show the reasoning-effort and thinking controls only for a model whose family takes them
        (reset, so a hidden control never sends a value the next model refuses)."""
        switches = self.ctx.switches_for(model_name)
        return (gr.update(visible="reasoning_effort" in switches, value=""),
                gr.update(visible="enable_thinking" in switches, value=True))

    def _template_switches(self) -> tuple[gr.Dropdown, gr.Checkbox]:
        """The template switches' controls, shown only when the starting model's family takes them."""
        switches = self.ctx.switches_for(self.ctx.default_model.name)
        reasoning_effort = gr.Dropdown(REASONING_EFFORT_CHOICES, value="", label="Reasoning effort",
                                       visible="reasoning_effort" in switches, elem_id="chat-reasoning-effort",
                                       info="The template's reasoning effort (harmony models such as gpt-oss).")
        thinking = gr.Checkbox(DEFAULTS.thinking, label="Thinking (off: the template skips it; budget controls do not apply)",
                               visible="enable_thinking" in switches, elem_id="chat-thinking")
        return reasoning_effort, thinking

    @staticmethod
    def _probe_controls() -> list[gr.components.Component]:
        """The answer probes' fields (the "answer if stopped now" strip) and the engine's extras, in
        ``ask``'s order. Landing and suppress show only where this build's BudgetConfig takes them."""
        gr.Markdown("**Answer probes**: what the model would answer if its thinking stopped now.")
        return [
            gr.Number(DEFAULTS.probes.every, label="Probe interval (thinking tokens; 0 = off)", elem_id="chat-probe-every"),
            gr.Number(DEFAULTS.probes.tokens, label="Probe tokens", elem_id="chat-probe-tokens",
                      info="Answer tokens each probe decodes at most."),
            gr.Number(DEFAULTS.probes.stop_when_stable, label="Stop when stable (k; 0 = off)", elem_id="chat-stop-stable",
                      info="End thinking once k probes in a row give the same answer."),
            gr.Textbox("", label="Stop when confident (p; blank = off)", elem_id="chat-stop-confident",
                       info="End thinking at a probe whose answer tokens' mean probability is at least p, e.g. 0.9."),
            gr.Dropdown(ANSWER_KINDS, value=DEFAULTS.probes.answer_kind, label="Answer kind", elem_id="chat-answer-kind",
                        info="How a probe's answer is found and graded."),
            gr.Textbox("", label="Reference answer (blank: none)", elem_id="chat-reference",
                       info="Colours each probe right (green) or wrong (red)."),
            gr.Textbox("", label="Landing text", elem_id="chat-landing",
                       info="Text the engine writes as it ends thinking at the budget (blank: none)."),
            gr.Textbox("", label="Suppress", elem_id="chat-suppress",
                       info='Comma-separated words the model may not write, or "nowait" (blank: none).'),
        ]

    @staticmethod
    def new_conversation() -> tuple:
        return [], [], None, idle_status_html()

    # -- layout ----------------------------------------------------------------------------

    def build(self) -> None:
        ctx = self.ctx
        turns = gr.State([])
        conversation = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", height=520, elem_id="chat-chatbot", buttons=["copy"],
                    feedback_options=None, placeholder="Ask a question: the thinking streams here, live.",
                )
                status = gr.HTML(idle_status_html(), label="status", elem_id="chat-status")
                with gr.Row():
                    question = question_box(placeholder="e.g. How many r's are in 'strawberry'?", scale=5,
                                            elem_id="chat-question")
                    with gr.Column(scale=1, min_width=120):
                        ask_button = gr.Button("Ask", variant="primary", elem_id="chat-ask")
                        stop_button = gr.Button("Stop", variant="stop", elem_id="chat-stop")
                        clear_button = gr.Button("New conversation", size="sm")
            with gr.Column(scale=1, min_width=280):
                max_thinking = budget_control(ctx.context_length, 256, "chat-max-thinking", presets=True)
                waits = gr.Number(DEFAULTS.num_waits, label="Waits",
                                  info="Times to suppress the end of thinking and append the ignore string.",
                                  elem_id="chat-waits")
                ignore_str = gr.Textbox(DEFAULTS.ignore_str, label="Ignore string", elem_id="chat-ignore-str")
                temperature = gr.Slider(0, 2, value=DEFAULTS.temperature, step=0.05, label="Temperature (0 = greedy)")
                seed = gr.Number(0, label="Seed (used when temperature > 0)")
                model = gr.Dropdown(ctx.model_choice_labels(), value=ctx.default_model.name, label="Model",
                                    allow_custom_value=True, info="A registry name, a GGUF path, or hf:OWNER/REPO/FILE.",
                                    elem_id="chat-model")
                backend = gr.Dropdown(BACKEND_CHOICES, value="", label="Backend")
                with gr.Accordion("More", open=False, elem_id="chat-more"):
                    min_thinking = gr.Number(DEFAULTS.min_thinking_tokens, label="Min thinking tokens")
                    max_answer = gr.Number(DEFAULTS.max_answer_tokens, label="Max answer tokens", elem_id="chat-max-answer")
                    loop_detect = gr.Checkbox(DEFAULTS.loop.enabled, label="Loop detection (end thinking when it repeats itself)",
                                              elem_id="chat-loop-detect")
                    gpu_layers = gr.Number(None, label="GPU layers (llama.cpp)", precision=0, elem_id="chat-gpu-layers",
                                           info="Blank: all on a GPU build of llama.cpp, none on a CPU build.")
                    reasoning_effort, thinking = self._template_switches()
                    probe_controls = self._probe_controls()

        inputs = [question, chatbot, turns, conversation, model, backend, max_thinking, waits, ignore_str, temperature, seed,
                  min_thinking, max_answer, loop_detect, gpu_layers, reasoning_effort, thinking, *probe_controls]
        outputs = [chatbot, status, turns, conversation, question]
        gr.on([ask_button.click, question.submit], self.ask, inputs, outputs, api_name="chat", show_progress="hidden")
        model.change(self.switch_controls, model, [reasoning_effort, thinking], api_name=False, queue=False)
        stop_button.click(self.stop, None, None, api_name="chat_stop", queue=False)
        clear_button.click(self.new_conversation, None, [chatbot, turns, conversation, status], api_name=False)
