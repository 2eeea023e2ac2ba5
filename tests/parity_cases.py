"""The runs every backend must agree on: one question, the embedded model's format, greedy."""

from __future__ import annotations

from s1app.budget import BudgetConfig

QUESTION = "What is 2+3?"
CASES: list[BudgetConfig] = [
    BudgetConfig(max_thinking_tokens=0, max_answer_tokens=16),
    BudgetConfig(max_thinking_tokens=16, num_waits=1, max_answer_tokens=16),
    BudgetConfig(max_thinking_tokens=64, num_waits=2, max_answer_tokens=16),
]


def control_problems(config: BudgetConfig, stats) -> list[str]:
    """What breaks Control in one finished run: thinking above the cap, Waits not as asked, no answer."""
    problems = []
    if stats.thinking_tokens > config.max_thinking_tokens:
        problems.append(f"thinking {stats.thinking_tokens} > cap {config.max_thinking_tokens}")
    if stats.waits_inserted > config.num_waits:
        problems.append(f"{stats.waits_inserted} Waits > {config.num_waits} asked")
    if stats.thinking_end_reason == "model" and stats.waits_inserted != config.num_waits:
        problems.append(f"model ended thinking after {stats.waits_inserted} of {config.num_waits} Waits")
    if stats.answer_tokens == 0:
        problems.append("no answer")
    return problems
