"""Controls shared by the tabs."""

from __future__ import annotations

import gradio as gr

BUDGET_PRESETS = ["0", "16", "64", "256", "1024", "4096", "max"]


def budget_control(context_length: int, value: int, elem_id: str, *, presets: bool = False) -> gr.Number:
    """A thinking-budget slider with a typed box beside it; returns the box (the value handlers read).

    Why two widgets: a Gradio slider silently clamps a typed value to its range, so a budget typed
    out of range would run with another budget and no word said. The box keeps what was typed,
    and the handler's validation says what is wrong in the status line.
    """
    with gr.Row(equal_height=True):
        slider = gr.Slider(0, context_length, value=value, step=1, label="Max thinking tokens", scale=3,
                           elem_id=elem_id, elem_classes=["s1-slider-only"])
        typed = gr.Number(value, label="tokens", precision=None, scale=1, min_width=90, elem_id=f"{elem_id}-typed")
    slider.input(lambda tokens: tokens, slider, typed, queue=False, show_progress="hidden", api_name=False)
    typed.input(lambda tokens: tokens if tokens is not None and 0 <= tokens <= context_length else gr.skip(),
                typed, slider, queue=False, show_progress="hidden", api_name=False)
    if presets:
        choice = gr.Radio(BUDGET_PRESETS, label="Budget presets", value=None, elem_id=f"{elem_id}-presets")

        def preset(picked: str) -> tuple[int, int]:
            tokens = context_length if picked == "max" else int(picked)
            return tokens, tokens

        choice.input(preset, choice, [slider, typed], queue=False, show_progress="hidden", api_name=False)
    return typed


QUESTION_MAX_LINES = 8


def question_box(label: str = "Question", **options) -> gr.Textbox:
    """A question box where Enter sends and Shift+Enter starts a new line, as in every chat app.

    Why ``lines=1``: Gradio 6's Textbox sends ``submit`` on a bare Enter only when it is one line
    high (with ``lines`` > 1 it is Shift+Enter that submits); ``max_lines`` lets it grow as the
    question gets longer.
    """
    return gr.Textbox(label=label, lines=1, max_lines=QUESTION_MAX_LINES,
                      info="Enter sends · Shift+Enter: new line", **options)
