"""The budget-forcing engine's edge cases, made certain with a scripted backend (fast, any CPU)."""

from __future__ import annotations

import pytest
from scripted_backend import Call, scripted_engine

from s1app.budget import BudgetConfig
from s1app.events import (
    AnswerDelta,
    RunFinished,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.loops import LoopSettings

NO_LOOPS = LoopSettings(enabled=False)


def run(script, config, format_name="prompted"):
    engine, backend = scripted_engine(script, format_name)
    prompt = backend.tokenize("<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n<think>\n", prompt=True)
    result = engine.start(prompt, config, question="What is 2+3?")
    events = list(result)
    assert isinstance(events[-1], RunFinished) and sum(isinstance(e, RunFinished) for e in events) == 1
    return events, backend, result


def text(events, kind):
    return "".join(e.text for e in events if isinstance(e, kind))


def test_an_end_marker_split_across_pieces_ends_thinking_and_is_never_shown():
    script = [Call("Two plus three is five.</think>"), Call(" 5")]
    events, backend, result = run(script, BudgetConfig(max_thinking_tokens=100, loop=NO_LOOPS))
    marker_ids = backend.tokenize("</think>")
    assert len(marker_ids) > 1, "the marker must span several tokens for this test to mean anything"
    assert text(events, ThinkingDelta) == "Two plus three is five."
    ended = next(e for e in events if isinstance(e, ThinkingEnded))
    assert ended.reason == "model" and ended.closed_by == "delimiter"
    answer_call = backend.calls[1].prompt_ids
    assert backend.detokenize(answer_call).count("</think>") == 1, "the model's marker was taken back; the engine wrote its own"
    assert result.stats.stop_reason == "end-of-answer"


def test_end_of_turn_while_thinking_is_a_try_to_stop_and_gets_a_wait():
    script = [Call("First idea.", then="stop"), Call(" Second idea.", then="stop"), Call(" 5")]
    events, backend, result = run(script, BudgetConfig(max_thinking_tokens=100, num_waits=1, loop=NO_LOOPS))
    waits = [e for e in events if isinstance(e, WaitInserted)]
    assert len(waits) == 1 and result.stats.waits_inserted == 1
    assert text(events, ThinkingDelta) == "First idea.Wait Second idea."
    assert result.stats.thinking_end_reason == "model" and result.thinking_closed_by == "end-of-turn"
    assert backend.calls[1].prompt_ids[-1] == backend.tokenize("Wait")[-1], "the Wait continues the context"


def test_a_wait_that_does_not_fit_the_budget_ends_thinking_by_the_budget():
    filler = "one two three four five six seven eight"
    budget = len(scripted_engine([])[1].tokenize(filler)) + 2  # two tokens left: the Wait needs more
    script = [Call(filler, then="stop"), Call(" 5")]
    events, _, result = run(script, BudgetConfig(max_thinking_tokens=budget, num_waits=3, ignore_str="Hold on, let me check",
                                         loop=NO_LOOPS))
    assert not any(isinstance(e, WaitInserted) for e in events)
    assert any(isinstance(e, ThinkingCapped) for e in events)
    stats = result.stats
    assert stats.thinking_end_reason == "budget" and stats.thinking_tokens <= budget
    assert text(events, AnswerDelta).startswith("Final Answer:")


def test_one_budget_covers_every_round_waits_included():
    script = [Call("a b c d e", then="stop") for _ in range(10)] + [Call(" 5")]
    events, backend, result = run(script, BudgetConfig(max_thinking_tokens=20, num_waits=9, loop=NO_LOOPS))
    stats = result.stats
    assert stats.thinking_tokens <= 20 and stats.thinking_end_reason == "budget"
    assert stats.thinking_tokens == stats.thinking_tokens_sampled + stats.thinking_tokens_forced
    assert [call.max_tokens for call in backend.calls[:-1]] == sorted((c.max_tokens for c in backend.calls[:-1]), reverse=True)


def test_a_backend_error_mid_round_ends_the_run_with_its_partial_text():
    script = [Call("Thinking hard about it", then="error")]
    events, _, result = run(script, BudgetConfig(max_thinking_tokens=100, loop=NO_LOOPS))
    finished = events[-1]
    assert finished.error and "scripted failure" in finished.error
    assert result.stats.stop_reason == "error" and result.stats.thinking_end_reason == "error"
    assert text(events, ThinkingDelta) == "Thinking hard about it"


@pytest.mark.parametrize("budget", [0, 1, 7])
def test_the_cap_holds_exactly_and_the_answer_follows_final_answer(budget):
    thinking = [Call("x " * 50, then="length")] if budget else []  # a budget of 0 never calls for thinking
    events, backend, result = run([*thinking, Call(" 5")], BudgetConfig(max_thinking_tokens=budget, loop=NO_LOOPS))
    stats = result.stats
    assert stats.thinking_tokens == budget and stats.thinking_end_reason == "budget"
    assert text(events, AnswerDelta) == "Final Answer: 5"
    assert [i.kind for i in result.interventions] == ["cap", "final-answer"]
