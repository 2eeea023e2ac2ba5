"""Each reasoning family through real llama.cpp: a tiny GGUF with the family's real chat template
and special tokens (tests/family_gguf.py), the real engine, the CLI and the store. Where a test
needs the model to try to stop, tests/steered_backends.py makes that certain."""

from __future__ import annotations

import json

import pytest
from family_gguf import FAMILIES, write_family_gguf
from steered_backends import stopping_model

from s1app.backends import BackendOptions
from s1app.budget import BudgetConfig
from s1app.errors import ConfigError
from s1app.events import (
    AnswerDelta,
    RunFinished,
    RunStarted,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.loading import load_model
from s1app.loops import LoopSettings
from s1app.run import Run
from s1app.session import Session
from s1app.store.db import open_store
from s1app.store.queries import get_run

QUESTION = "What is 2+3?"
NO_LOOP_CHECK = LoopSettings(enabled=False)


@pytest.fixture(scope="session")
def family_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("family-gguf")


def family_model(family_dir, key: str):
    path = write_family_gguf(FAMILIES[key], family_dir)
    return load_model(str(path), options=BackendOptions(context_length=1024, parallel=1))


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, family_dir):
    return FAMILIES[request.param], family_model(family_dir, request.param)


class Events(list):
    """A run's events, in order, with the Run that folded them (``.run``: its stats)."""

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.run = run


def run_events(model, config: BudgetConfig, question: str = QUESTION) -> Events:
    return Events(Session(model).ask(question, config))


def finished(events: Events) -> Run:
    assert isinstance(events[-1], RunFinished) and sum(isinstance(e, RunFinished) for e in events) == 1
    return events.run


def token_id(model, text: str) -> int:
    (only,) = model.backend.tokenize(text)
    return only


def test_the_family_is_detected_and_its_special_tokens_are_single_ids(family):
    spec, model = family
    assert model.format_name == spec.expected_format
    for special in spec.special_tokens:
        assert len(model.backend.tokenize(special)) == 1, special
    tokens = model.format_tokens
    assert tokens.thinking_stop_texts == ()  # every end marker resolved to a stop id
    assert {token_id(model, marker) for marker in tokens.format.end_markers} <= tokens.thinking_stop_ids
    assert model.backend.detokenize(list(tokens.end_of_thinking_ids)) == tokens.format.end_of_thinking


def test_the_real_template_renders_and_thinking_is_open_at_the_end_of_the_prompt(family):
    spec, model = family
    text = Session(model).prompt_text(QUESTION)
    fmt = model.format_tokens.format
    assert QUESTION in text
    assert text.endswith(fmt.thinking_open) or text.endswith(fmt.thinking_open.rstrip("\n"))
    assert model.backend.tokenize(text, prompt=True)[-1] == model.backend.tokenize(text)[-1]


def test_a_cap_forces_the_familys_end_of_thinking_and_final_answer(family):
    _, model = family
    config = BudgetConfig(max_thinking_tokens=4, min_thinking_tokens=4, loop=NO_LOOP_CHECK, max_answer_tokens=2)
    events = run_events(model, config)
    stats = finished(events).stats
    ended = [e for e in events if isinstance(e, ThinkingEnded)]
    assert any(isinstance(e, ThinkingCapped) for e in events)
    assert len(ended) == 1 and ended[0].reason == "budget"
    assert ended[0].delimiter_text == model.format_tokens.format.end_of_thinking
    answer = [e for e in events if isinstance(e, AnswerDelta)]
    assert answer[0].forced and answer[0].text == "Final Answer:"
    assert stats.answer_tokens_sampled >= 1 and stats.thinking_tokens == 4


def test_k_waits_go_inside_the_thinking_and_end_of_turn_is_an_attempt_to_stop(family):
    _, model = family
    stopping = stopping_model(model, every_tokens=2)  # ends its turn (EOS) every 2 tokens
    events = run_events(stopping, BudgetConfig(max_thinking_tokens=64, num_waits=2, loop=NO_LOOP_CHECK, max_answer_tokens=2))
    stats = finished(events).stats
    assert [e.waits_inserted for e in events if isinstance(e, WaitInserted)] == [1, 2]
    end_at = next(i for i, e in enumerate(events) if isinstance(e, ThinkingEnded))
    forced_thinking = [i for i, e in enumerate(events) if isinstance(e, ThinkingDelta) and e.forced]
    assert [events[i].text for i in forced_thinking] == ["Wait", "Wait"] and max(forced_thinking) < end_at
    assert stats.thinking_end_reason == "model" and stats.thinking_tokens == 3 * 2 + 2 * len(model.backend.tokenize("Wait"))
    assert events[end_at].delimiter_text == model.format_tokens.format.end_of_thinking


def test_the_familys_own_end_marker_ends_thinking(family):
    _, model = family
    marker = model.format_tokens.format.end_markers[0]
    stopping = stopping_model(model, every_tokens=2, stop_token_ids=[token_id(model, marker)])
    events = run_events(stopping, BudgetConfig(max_thinking_tokens=64, loop=NO_LOOP_CHECK, max_answer_tokens=2))
    stats = finished(events).stats
    assert stats.thinking_end_reason == "model" and stats.thinking_tokens == 2 and stats.waits_inserted == 0


def test_harmony_analysis_is_the_thinking_the_final_channel_the_answer_and_return_ends_it(family_dir):
    model = family_model(family_dir, "harmony")
    end, done = token_id(model, "<|end|>"), token_id(model, "<|return|>")
    steered = stopping_model(model, every_tokens=3, stop_token_ids=[end, done])
    session = Session(steered)
    config = BudgetConfig(max_thinking_tokens=64, reasoning_effort="high", loop=NO_LOOP_CHECK, max_answer_tokens=16)
    assert "Reasoning: high" in session.prompt_text(QUESTION, config)
    run = session.ask(QUESTION, config)
    run.wait()
    stats = run.stats
    assert stats.thinking_tokens == 3 and stats.answer_tokens == 3 and stats.stop_reason == "end-of-answer"
    segments = [(s.section, s.forced, s.text) for s in run.segments]
    assert segments[1] == ("delimiter", True, "<|end|><|start|>assistant<|channel|>final<|message|>")
    assert run.thinking == segments[0][2] and run.answer == segments[2][2]
    assert run.started.settings["reasoning_effort"] == "high"


def test_qwen3_with_thinking_off_has_no_thinking_section_and_says_so(family_dir):
    model = family_model(family_dir, "qwen3")
    session = Session(model)
    config = BudgetConfig(thinking=False, max_thinking_tokens=64, num_waits=2, loop=NO_LOOP_CHECK, max_answer_tokens=4)
    assert session.prompt_text(QUESTION, config).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    events = Events(session.ask(QUESTION, config))
    stats = finished(events).stats
    assert not any(isinstance(e, ThinkingDelta | WaitInserted | ThinkingCapped) for e in events)
    assert [e.reason for e in events if isinstance(e, ThinkingEnded)] == ["off"]
    assert stats.thinking_tokens == 0 and stats.thinking_end_reason == "off" and stats.answer_tokens >= 1
    assert isinstance(events[0], RunStarted) and events[0].settings["thinking"] is False


def test_thinking_off_on_a_template_without_the_switch_is_refused_before_the_run(family_dir):
    model = family_model(family_dir, "r1-distill-qwen")
    with pytest.raises(ConfigError, match="no thinking switch"):
        Session(model).ask(QUESTION, BudgetConfig(thinking=False))


def test_seed_oss_budget_reaches_the_template_and_a_zero_budget_skips_thinking(family_dir):
    model = family_model(family_dir, "seed-oss")
    session = Session(model)
    assert "the thinking budget, which is 48" in session.prompt_text(QUESTION, BudgetConfig(max_thinking_tokens=48))
    events = Events(session.ask(QUESTION, BudgetConfig(max_thinking_tokens=0, loop=NO_LOOP_CHECK, max_answer_tokens=4)))
    assert finished(events).stats.thinking_end_reason == "off"
    assert events[0].settings["thinking"] is False


@pytest.mark.parametrize("key", sorted(FAMILIES))
def test_cli_json_and_the_store_mark_the_forced_text(family_dir, tmp_path, key, s1app):
    path = write_family_gguf(FAMILIES[key], family_dir)
    log = tmp_path / "sessions.db"
    result = s1app("ask", QUESTION, "--model", str(path), "--max-thinking", "4", "--min-thinking", "4",
                       "--max-answer", "2", "--no-loop-detect", "--json", "--db", str(log))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["format"] == FAMILIES[key].expected_format
    assert [i["kind"] for i in record["interventions"]] == ["cap", "final-answer"]
    stored = get_run(open_store(log), record["run_id"])
    forced = [(s["section"], s["text"]) for s in stored["segments"] if s["forced"]]
    assert forced == [("delimiter", record["interventions"][0]["text"]), ("answer", "Final Answer:")]


@pytest.mark.parametrize("args, phrase", [
    (["--model", "qwen3-4b", "--reasoning-effort", "high"], "think-tags format takes no reasoning effort"),
    (["--model", "gpt-oss-20b", "--reasoning-effort", "extreme"], "takes low, medium, high"),
    (["--model", "r1-distill-qwen-7b-gguf", "--format", "harmony", "--no-thinking"], "no thinking switch"),
    (["--format", "tags"], "Unknown reasoning format 'tags'"),
])
def test_bad_switches_are_clear_errors_before_any_model_loads(args, phrase, s1app):
    # The registry's Qwen3 / gpt-oss files are not on disk here: reaching the weights would fail otherwise.
    result = s1app("ask", QUESTION, *args)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert phrase in result.stdout + result.stderr


def test_the_ui_offers_a_switch_only_for_a_model_whose_family_takes_it(family_dir):
    from s1app.ui.chat import ChatTab
    from s1app.ui.context import UIContext

    harmony, qwen3, r1 = (family_model(family_dir, key) for key in ("harmony", "qwen3", "r1-distill-qwen"))
    ctx = UIContext(default_model=harmony, extra_models={"qwen3-tiny": qwen3, "r1-tiny": r1})
    assert ctx.switches_for(harmony.name) == {"reasoning_effort"}
    assert ctx.switches_for("qwen3-tiny") == {"enable_thinking"}
    assert ctx.switches_for("r1-tiny") == set()
    assert ctx.switches_for("gpt-oss-20b") == {"reasoning_effort"}  # a registry entry, not loaded: its format
    assert ctx.switches_for("smollm2-135m") == set()
    labels = {value: label for label, value in ctx.model_choice_labels()}
    assert labels["gpt-oss-tiny"] == "gpt-oss-tiny · harmony" and labels["qwen3-tiny"] == "qwen3-tiny · think-tags"
    effort, thinking = ChatTab(ctx).switch_controls("qwen3-tiny")
    assert effort["visible"] is False and thinking["visible"] is True
