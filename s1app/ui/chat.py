"""Chat tab: a conversation whose thinking streams live under a budget slider and a Wait counter."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from s1app.errors import S1AppError
from s1app.events import Event
from s1app.session import Session, Turn, validate_question
from s1app.ui.context import BACKEND_CHOICES, UIContext, budget_config_from_ui
from s1app.ui.render import RunView, error_status_html, idle_status_html
from s1app.ui.streaming import EventPump, RunFailed
from s1app.ui.widgets import budget_control

log = logging.getLogger(__name__)


def describe_failure(error: BaseException) -> str:
    """What the page says when a run raised: the app's own message, or a short internal-error line."""
    if isinstance(error, S1AppError):
        return str(error)
    log.error("run failed", exc_info=error)
    return f"Internal error ({type(error).__name__}: {error}). The app is still running; see the server log."


def feed(view: RunView, item: Event | RunFailed) -> None:
    """One item from the pump into a view: an event, or the failure that ended the run."""
    if isinstance(item, RunFailed):
        view.fail(describe_failure(item.error))
    else:
        view.add((item,))


class ChatTab:
    """Builds the tab's components and owns its handlers (``ask``, ``stop``) for one app."""

    def __init__(self, ctx: UIContext) -> None:
        self.ctx = ctx

    # -- handlers --------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: list[dict] | None,
        turns: list[Turn] | None,
        conversation: Any,
        model_name: str,
        backend: str,
        max_thinking: float,
        waits: float,
        ignore_str: str,
        temperature: float,
        seed: float | None,
        min_thinking: float,
        max_answer: float,
        loop_detect: bool,
        request: gr.Request,
    ) -> Iterator[tuple]:
        """Stream one turn: yields (chat messages, status line, turns, log conversation, question box)."""
        history = list(history or [])
        turns = list(turns or [])
        try:
            question = validate_question(question)
            config = budget_config_from_ui(
                max_thinking=max_thinking, waits=waits, ignore_str=ignore_str, temperature=temperature,
                seed=seed, min_thinking=min_thinking, max_answer=max_answer, loop_detect=loop_detect,
                context_length=self.ctx.context_length,
            )
            loaded = self.ctx.load(model_name, backend)
        except S1AppError as failure:
            yield history, error_status_html(str(failure)), turns, conversation, gr.skip()
            return
        if conversation is None:
            conversation = self.ctx.new_conversation(source="ui")
        session = Session(loaded, turns=turns)
        flag = self.ctx.stop_flags.begin(request.session_hash, "chat")
        history.append({"role": "user", "content": html.escape(question)})
        view = RunView()
        pump: EventPump = EventPump()
        pump.start("chat", lambda: self.ctx.record(session.ask(question, config, cancel=flag),
                                                            conversation=conversation))
        try:
            yield history + view.messages(), view.status_html(), turns, conversation, ""
            for batch in pump.batches(self.ctx.update_interval_s):
                for _, item in batch:
                    feed(view, item)
                yield history + view.messages(), view.status_html(), session.turns, conversation, ""
        finally:
            # Also reached when the client goes away mid-run: the engine must not run on for nobody.
            flag.set()
            self.ctx.stop_flags.end(request.session_hash, "chat", flag)

    def stop(self, request: gr.Request) -> None:
        self.ctx.stop_flags.stop(request.session_hash, "chat")

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
                    question = gr.Textbox(
                        label="Question", placeholder="e.g. How many r's are in 'strawberry'?", lines=2,
                        scale=5, elem_id="chat-question",
                    )
                    with gr.Column(scale=1, min_width=120):
                        ask_button = gr.Button("Ask", variant="primary", elem_id="chat-ask")
                        stop_button = gr.Button("Stop", variant="stop", elem_id="chat-stop")
                        clear_button = gr.Button("New conversation", size="sm")
            with gr.Column(scale=1, min_width=280):
                max_thinking = budget_control(ctx.context_length, 256, "chat-max-thinking", presets=True)
                waits = gr.Number(0, label="Waits",
                                  info="Times to suppress the end of thinking and append the ignore string.",
                                  elem_id="chat-waits")
                ignore_str = gr.Textbox("Wait", label="Ignore string", elem_id="chat-ignore-str")
                temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature (0 = greedy)")
                seed = gr.Number(0, label="Seed (used when temperature > 0)")
                model = gr.Dropdown(ctx.model_choices(), value=ctx.default_model.name, label="Model",
                                    allow_custom_value=True, info="A registry name, a GGUF path, or hf:OWNER/REPO/FILE.",
                                    elem_id="chat-model")
                backend = gr.Dropdown(BACKEND_CHOICES, value="", label="Backend")
                with gr.Accordion("More", open=False, elem_id="chat-more"):
                    min_thinking = gr.Number(0, label="Min thinking tokens")
                    max_answer = gr.Number(256, label="Max answer tokens", elem_id="chat-max-answer")
                    loop_detect = gr.Checkbox(True, label="Loop detection (end thinking when it repeats itself)",
                                              elem_id="chat-loop-detect")

        inputs = [question, chatbot, turns, conversation, model, backend, max_thinking, waits, ignore_str, temperature, seed,
                  min_thinking, max_answer, loop_detect]
        outputs = [chatbot, status, turns, conversation, question]
        gr.on([ask_button.click, question.submit], self.ask, inputs, outputs, api_name="chat", show_progress="hidden")
        stop_button.click(self.stop, None, None, api_name="chat_stop", queue=False)
        clear_button.click(self.new_conversation, None, [chatbot, turns, conversation, status], api_name=False)
