"""Difficulty, the paper's way: a question a reference model already answers correctly is too easy.

The reference models run through the app's own engine (``s1app.loading`` / ``Session``, any
backend the registry names) and are graded with the app's grading (``s1app.eval.grading``), so
"answers correctly" means here what it means in the app's sweeps and benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable

Solver = Callable[[str, str], bool]
"""(question, reference answer) -> whether the model's answer is right."""


def reference_solver(model: str, *, max_thinking_tokens: int = 512, max_answer_tokens: int = 128) -> Solver:
    """A greedy run of ``model`` (registry name or path) under a thinking budget, then graded."""
    from s1app.budget import BudgetConfig
    from s1app.eval.grading import grade
    from s1app.loading import load_model
    from s1app.session import Session

    loaded = load_model(model)
    config = BudgetConfig(max_thinking_tokens=max_thinking_tokens, max_answer_tokens=max_answer_tokens, temperature=0.0)

    def solves(question: str, reference: str) -> bool:
        run = Session(loaded).ask(question, config).wait()
        return grade(run.answer, reference).correct is True

    return solves
