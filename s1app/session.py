"""One conversation: its turns, and the prompt each new question is asked with."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from s1app.budget import BudgetConfig
from s1app.chat_template import render_chat
from s1app.errors import ConfigError
from s1app.formats import ReasoningFormat, check_switches, template_variables
from s1app.loading import LoadedModel

if TYPE_CHECKING:
    from s1app.store.run_log import RunLog
from s1app.events import RunFinished
from s1app.run import Run


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    thinking: str
    answer: str


def build_prompt_text(
    fmt: ReasoningFormat,
    chat_template: str | None,
    turns: list[Turn],
    question: str,
    *,
    system_prompt: str | None = None,
    bos_text: str = "",
    eos_text: str = "",
    variables: dict[str, Any] | None = None,
) -> str:
    """The chat-templated prompt with thinking opened (``variables``: the template's switches).

    Earlier turns keep only their answers: reasoning templates (R1, Qwen3) strip earlier
    thinking themselves, and s1 / prompted models were not trained to see it.
    """
    messages: list[dict[str, str]] = []
    system = system_prompt or fmt.system_prompt
    if system:
        messages.append({"role": "system", "content": system})
    for turn in turns:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer.strip()})
    messages.append({"role": "user", "content": question})
    text = render_chat(chat_template, messages, bos_token=bos_text, eos_token=eos_text, variables=variables)
    if thinking_is_closed(fmt, text):
        return text  # thinking off: the template wrote an empty think block (Qwen3 enable_thinking=false)
    if text.endswith(fmt.thinking_open) or text.endswith(fmt.thinking_open.rstrip("\n")):
        return text  # the template pre-fills the opening (R1 distills end with "<think>\n")
    return text + fmt.thinking_open


def thinking_is_closed(fmt: ReasoningFormat, prompt_text: str) -> bool:
    """True when the template itself closed thinking, so the run has no thinking section."""
    return bool(fmt.thinking_closed) and prompt_text.rstrip().endswith(fmt.thinking_closed)


def validate_question(question: object) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ConfigError("The question is empty: type a question to ask the model.")
    return question.strip()


@dataclass
class Session:
    """A conversation with one loaded model. Not thread-safe: one session per user."""

    model: LoadedModel
    system_prompt: str | None = None
    turns: list[Turn] = field(default_factory=list)

    def prompt_text(self, question: str, config: BudgetConfig | None = None) -> str:
        model = self.model
        return build_prompt_text(
            model.format_tokens.format,
            model.chat_template,
            self.turns,
            question,
            system_prompt=self.system_prompt,
            bos_text=model.bos_text,
            eos_text=model.eos_text,
            variables=template_variables(model.format_tokens.format, config or BudgetConfig()),
        )

    def prompt_ids(self, question: str, config: BudgetConfig | None = None) -> list[int]:
        return self.model.backend.tokenize(self.prompt_text(question, config), prompt=True)

    def ask(self, question: str, config: BudgetConfig, *, cancel: threading.Event | None = None,
            log: RunLog | None = None) -> Run:
        """One run: iterate it for its events live, or ``wait()`` for it whole. The question is
        checked and the prompt built now; the turn is kept when the run finishes (cancelled too).
        ``log``: the session log the run is recorded to as it streams (None: not recorded)."""
        question = validate_question(question)
        fmt = self.model.format_tokens.format
        check_switches(fmt, config, self.model.chat_template)
        text = self.prompt_text(question, config)
        if config.thinking and thinking_is_closed(fmt, text):
            config = replace(config, thinking=False)  # e.g. Seed-OSS with a thinking budget of 0
        prompt = self.model.backend.tokenize(text, prompt=True)
        run = self.model.engine.start(prompt, config, question=question, cancel=cancel)

        def keep_turn(event: object) -> None:
            if isinstance(event, RunFinished):
                self.turns.append(Turn(question, run.thinking, run.answer))

        run.subscribe(keep_turn)
        if log is not None:
            log.attach(run)
        return run
