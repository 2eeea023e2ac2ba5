"""Budget policy, context planning, loop and end-marker matching: pure, no model."""

import pytest

from s1app.budget import BudgetConfig, plan_context
from s1app.errors import ConfigError, PromptTooLongError
from s1app.loops import LoopSettings, RepetitionDetector
from s1app.stop_text import StopTextMatcher


@pytest.mark.parametrize(
    "settings, complaint",
    [
        ({"max_thinking_tokens": -1}, "max_thinking_tokens must be at least 0"),
        ({"max_thinking_tokens": 1.5}, "max_thinking_tokens must be a whole number"),
        ({"max_thinking_tokens": True}, "max_thinking_tokens must be a whole number"),
        ({"num_waits": -2}, "num_waits must be at least 0"),
        ({"min_thinking_tokens": 50, "max_thinking_tokens": 10}, "is above max_thinking_tokens"),
        ({"max_answer_tokens": 0}, "max_answer_tokens must be at least 1"),
        ({"temperature": -0.1}, "temperature must be between 0 and 5"),
        ({"top_p": 0}, "top_p must be above 0"),
        ({"num_waits": 1, "ignore_str": ""}, "ignore_str is empty"),
    ],
)
def test_bad_budget_settings_are_refused_with_a_clear_message(settings, complaint):
    with pytest.raises(ConfigError, match=complaint):
        BudgetConfig(**settings)


def test_waits_are_wanted_until_both_the_count_and_the_minimum_are_met():
    config = BudgetConfig(num_waits=2, min_thinking_tokens=100)
    assert config.wants_wait(thinking_tokens=500, waits_inserted=0)
    assert config.wants_wait(thinking_tokens=500, waits_inserted=1)
    assert not config.wants_wait(thinking_tokens=500, waits_inserted=2)
    assert config.wants_wait(thinking_tokens=99, waits_inserted=2)
    assert not BudgetConfig().wants_wait(thinking_tokens=0, waits_inserted=0)


def test_budget_that_fits_the_context_is_kept():
    plan = plan_context(BudgetConfig(max_thinking_tokens=100, max_answer_tokens=50), 20, 8, 1000)
    assert (plan.max_thinking_tokens, plan.max_answer_tokens, plan.clipped) == (100, 50, None)


def test_budget_larger_than_the_context_is_clipped_with_a_warning():
    plan = plan_context(BudgetConfig(max_thinking_tokens=5000, max_answer_tokens=100), 200, 8, 2048)
    assert plan.max_thinking_tokens == 2048 - 200 - 8 - 100
    assert plan.clipped is not None and plan.clipped.requested_thinking_tokens == 5000
    assert "lowered from 5000" in plan.clipped.message


def test_no_budget_means_up_to_the_context_without_a_warning():
    plan = plan_context(BudgetConfig(max_answer_tokens=100), 200, 8, 2048)
    assert plan.max_thinking_tokens == 2048 - 200 - 8 - 100 and plan.clipped is None


def test_prompt_alone_too_long_is_a_clear_error():
    with pytest.raises(PromptTooLongError, match="shorten the question"):
        plan_context(BudgetConfig(), 2047, 8, 2048)


def test_repeated_block_is_detected_as_a_loop_with_its_period():
    detector = RepetitionDetector(LoopSettings(max_period_tokens=8, min_repeats=4, min_span_tokens=12))
    found = [detector.push(token) for token in [9, 8, 7] + [1, 2, 3] * 6]
    first = next(i for i, period in enumerate(found) if period)
    assert found[first] == 3
    assert first == 3 + 12 - 1  # the 12th token of the repeated span


def test_varied_text_is_not_a_loop():
    detector = RepetitionDetector(LoopSettings())
    assert not any(detector.push(token) for token in range(1000))


def test_disabled_loop_detection_never_fires():
    detector = RepetitionDetector(LoopSettings(enabled=False))
    assert not any(detector.push(7) for _ in range(500))


def test_end_marker_split_across_tokens_is_held_back_then_dropped():
    matcher = StopTextMatcher(("</think>",))
    shown = []
    for piece in ["So 5", ".\n", "</", "th", "ink", ">"]:
        released = matcher.feed(piece)
        shown += released.texts
        if released.matched:
            break
    assert shown == ["So 5", ".\n"]
    assert released.matched and released.dropped_tokens == 4


def test_text_that_only_looks_like_a_marker_start_is_released():
    matcher = StopTextMatcher(("</think>",))
    assert matcher.feed("a <").texts == []
    assert matcher.feed("b").texts == ["a <", "b"]
    assert matcher.flush().texts == []


def test_marker_inside_one_token_drops_that_token():
    """A token holding text before the marker ("done</think>") is dropped whole, its "done" too.

    Why: the engine takes the marker's tokens back out of the context and writes its own
    delimiter, so the model continues from a context without that token. Keeping "done" on
    screen would show text the model does not see; keeping it in the context would mean
    re-tokenizing model text into tokens the model never chose (another context than any run
    without the cut, so not reproducible). What is shown is exactly what the model continues
    from (docs/reproducibility.md).
    """
    released = StopTextMatcher(("</think>",)).feed("done</think>")
    assert released.matched and released.texts == [] and released.dropped_tokens == 1
