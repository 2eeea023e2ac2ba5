"""What each item is asked, as in the paper: the question itself, plus a method's instruction.

AIME, MATH, AMC and GSM8K ask the bare question; GPQA asks the question and its four options
(shuffled per item with a fixed seed, so every run asks the same thing). The conditional-control
methods append the paper's instruction after a blank line (s1 paper, §3.1 and appendix E.1; the
wording is that of the paper's evaluation code, simplescaling/lm-evaluation-harness, branch s1).
"""

from __future__ import annotations

import random

OPTION_LETTERS = ("A", "B", "C", "D")
OPTION_SHUFFLE_SEED = 0
"""Part of every GPQA item's shuffle seed: change it and every option order changes."""

TOKEN_CONDITIONAL = "Think for up to {tokens} tokens."
STEP_CONDITIONAL = "Think for up to {steps} steps."
TOKENS_PER_STEP = 100
"""The paper's step: "around 100 tokens". A step budget is judged (Control) and capped (SCC + budget
forcing) as this many thinking tokens per step, since the models run here write no step markers."""
SHORT_THINKING = "Answer after a short amount of thinking. Do not spend excessive time double-checking your work."
LONG_THINKING = (
    "Answer after a long amount of thinking. If you feel like you are finished early, spend the extra "
    "time trying to double-check your work until you are absolutely sure that you have the correct answer."
)


def with_instruction(question: str, instruction: str) -> str:
    """The question with a method's instruction after it (unchanged when there is none)."""
    return f"{question}\n\n{instruction}" if instruction else question


def token_conditional(tokens: int) -> str:
    return TOKEN_CONDITIONAL.format(tokens=tokens)


def step_conditional(steps: int) -> str:
    return STEP_CONDITIONAL.format(steps=steps)


def multiple_choice(item_id: str, question: str, correct: str, incorrect: list[str]) -> tuple[str, str]:
    """(prompt, correct letter): the question and its four options in an order fixed by the item id."""
    options = [correct, *incorrect]
    random.Random(f"{OPTION_SHUFFLE_SEED}:{item_id}").shuffle(options)
    lines = [f"{letter}) {option.strip()}" for letter, option in zip(OPTION_LETTERS, options)]
    return f"{question.strip()}\n\n" + "\n".join(lines), OPTION_LETTERS[options.index(correct)]
