"""The budget-forcing engine on the real embedded model (SmolLM2-135M GGUF, llama.cpp)."""

from __future__ import annotations

import threading

import pytest
from build_support import portable_cpu_build_only
from steered_backends import looping_model, stopping_model

from s1app.backends.base import Piece
from s1app.budget import BudgetConfig
from s1app.events import (
    AnswerDelta,
    RunFinished,
    RunStarted,
    ThinkingCapped,
    ThinkingDelta,
    ThinkingEnded,
    WaitInserted,
)
from s1app.forcing import BudgetForcer
from s1app.loops import LoopSettings
from s1app.run import Run
from s1app.session import Session

QUESTION = "What is 2+3?"
NO_LOOP_CHECK = LoopSettings(enabled=False)


class Events(list):
    """A run's events, in order, with the Run that folded them (``.run``: its stats and interventions)."""

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.run = run


def run(model, config: BudgetConfig, question: str = QUESTION, cancel=None) -> Events:
    return Events(Session(model).ask(question, config, cancel=cancel))


def finished(events: Events) -> Run:
    assert isinstance(events[-1], RunFinished)
    assert sum(isinstance(e, RunFinished) for e in events) == 1
    return events.run


class CountingBackend:
    """Delegates to the real backend and counts the pieces it streams (the backend's own count)."""

    def __init__(self, backend):
        self._backend = backend
        self.pieces = 0
        self.info = backend.info

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def generate(self, *args, **kwargs):
        for item in self._backend.generate(*args, **kwargs):
            if isinstance(item, Piece):
                self.pieces += 1
            yield item


@pytest.mark.parametrize("budget", [0, 1, 16, 64, pytest.param(256, marks=pytest.mark.slow)])
def test_max_budget_caps_thinking_and_an_answer_follows(model, budget):
    # A minimum equal to the cap turns every try to stop into a Wait: the budget certainly ends thinking.
    config = BudgetConfig(max_thinking_tokens=budget, min_thinking_tokens=budget, num_waits=3, loop=NO_LOOP_CHECK,
                          max_answer_tokens=32)
    events = run(model, config)
    stats = finished(events).stats
    assert budget - 3 < stats.thinking_tokens <= budget  # at the cap (a Wait of a few tokens may not fit)
    assert sum(e.tokens for e in events if isinstance(e, ThinkingDelta)) == stats.thinking_tokens
    ended = [e for e in events if isinstance(e, ThinkingEnded)]
    assert len(ended) == 1 and ended[0].reason == "budget" and stats.thinking_end_reason == "budget"
    assert any(isinstance(e, ThinkingCapped) for e in events)
    assert stats.answer_tokens >= 1 and stats.stop_reason in ("end-of-answer", "answer-limit")
    answer = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    assert answer.startswith("Final Answer:") and answer.strip()


@pytest.mark.parametrize("waits", [1, 2, 3])
def test_k_waits_are_inserted_exactly_k_times_when_the_model_tries_to_stop(model, waits):
    stopping = stopping_model(model, every_tokens=12)  # the model certainly tries to stop, often
    events = run(stopping, BudgetConfig(max_thinking_tokens=400, num_waits=waits, loop=NO_LOOP_CHECK, max_answer_tokens=16))
    stats = finished(events).stats
    inserted = [e for e in events if isinstance(e, WaitInserted)]
    assert [e.waits_inserted for e in inserted] == list(range(1, waits + 1))
    assert stats.waits_inserted == waits and stats.thinking_end_reason == "model"
    assert stats.thinking_tokens <= 12 * (waits + 1) + waits  # each round ends by 12 tokens, then a Wait
    forced = [e for e in events if isinstance(e, ThinkingDelta) and e.forced]
    assert [e.text for e in forced] == ["Wait"] * waits
    kinds = [i.kind for i in finished(events).interventions]
    assert kinds[:waits] == ["wait"] * waits and "wait" not in kinds[waits:]


@pytest.mark.parametrize("waits", [1, 3])
def test_waits_never_exceed_k_and_the_cap_holds_whatever_the_model_does(model, waits):
    events = run(model, BudgetConfig(max_thinking_tokens=64, num_waits=waits, loop=NO_LOOP_CHECK, max_answer_tokens=16))
    stats = finished(events).stats
    inserted = [e for e in events if isinstance(e, WaitInserted)]
    assert stats.waits_inserted == len(inserted) <= waits and stats.thinking_tokens <= 64
    if stats.thinking_end_reason == "model":  # it ended thinking on its own: only after all K Waits
        assert stats.waits_inserted == waits
    else:
        assert stats.thinking_end_reason in ("budget", "loop")


def test_the_ignore_string_is_configurable(model):
    events = run(stopping_model(model, every_tokens=10), BudgetConfig(max_thinking_tokens=2000, num_waits=2, ignore_str="Hmm", loop=NO_LOOP_CHECK, max_answer_tokens=8))
    forced = [e.text for e in events if isinstance(e, ThinkingDelta) and e.forced]
    assert forced == ["Hmm", "Hmm"]


def test_minimum_thinking_is_held_by_extending_with_waits(model):
    stopping = stopping_model(model, every_tokens=20)  # tries to stop after 20 tokens of each round
    stats = finished(run(stopping, BudgetConfig(max_thinking_tokens=2000, min_thinking_tokens=70, loop=NO_LOOP_CHECK, max_answer_tokens=8))).stats
    assert stats.thinking_tokens >= 70 and stats.thinking_end_reason == "model"
    assert stats.waits_inserted == 3  # 20 + Wait + 20 + Wait + 20 + Wait + 20 = 83 >= 70: then it may stop


def test_forced_waits_on_the_real_model_count_inside_the_thinking_budget(model):
    events = run(model, BudgetConfig(max_thinking_tokens=100, num_waits=50, loop=NO_LOOP_CHECK, max_answer_tokens=8))
    stats = finished(events).stats
    assert stats.thinking_tokens <= 100
    assert stats.thinking_tokens == stats.thinking_tokens_sampled + stats.thinking_tokens_forced
    assert stats.thinking_tokens_forced == stats.waits_inserted  # "Wait" is one token in this vocabulary


def test_token_accounting_adds_up_across_events_stats_and_backend(model):
    counting = CountingBackend(model.backend)
    engine = BudgetForcer(counting, model.format_tokens)
    prompt = Session(model).prompt_ids(QUESTION)
    events = Events(engine.start(prompt, BudgetConfig(max_thinking_tokens=120, num_waits=2, loop=NO_LOOP_CHECK, max_answer_tokens=24)))
    stats = finished(events).stats
    thinking = [e for e in events if isinstance(e, ThinkingDelta)]
    answer = [e for e in events if isinstance(e, AnswerDelta)]
    ended = next(e for e in events if isinstance(e, ThinkingEnded))
    assert sum(e.tokens for e in thinking) == stats.thinking_tokens
    assert sum(e.tokens for e in thinking if e.forced) == stats.thinking_tokens_forced
    assert sum(e.tokens for e in answer) == stats.answer_tokens
    assert sum(e.tokens for e in answer if not e.forced) == stats.answer_tokens_sampled
    assert counting.pieces == stats.thinking_tokens_sampled + stats.answer_tokens_sampled
    forced_answer = sum(e.tokens for e in answer if e.forced)
    assert stats.forced_tokens == stats.thinking_tokens_forced + ended.delimiter_tokens + forced_answer
    started = events[0]
    assert isinstance(started, RunStarted) and started.prompt_tokens == len(prompt) == stats.prompt_tokens


def test_greedy_runs_repeat_exactly(model):
    config = BudgetConfig(max_thinking_tokens=80, num_waits=1, max_answer_tokens=24)
    first, second = run(model, config).run, run(model, config).run
    assert first.thinking and (first.thinking, first.answer) == (second.thinking, second.answer)


@pytest.mark.slow
def test_seeded_sampling_repeats_and_other_seeds_differ(model):
    def texts(seed):
        return run(model, BudgetConfig(max_thinking_tokens=60, temperature=1.0, seed=seed, max_answer_tokens=8)).run.thinking

    assert texts(11) == texts(11)
    assert len({texts(11), texts(12), texts(13)}) > 1


def test_cancel_ends_the_run_with_what_it_had(model):
    cancel = threading.Event()
    # A minimum of 4000 keeps it thinking even if the model tries to stop: it is still thinking at 20.
    config = BudgetConfig(max_thinking_tokens=4000, min_thinking_tokens=4000, loop=NO_LOOP_CHECK)
    the_run = Session(model).ask("Write a long story about a dragon.", config, cancel=cancel)
    events = []
    for event in the_run:
        events.append(event)
        if sum(isinstance(e, ThinkingDelta) for e in events) == 20:
            cancel.set()
    stats = the_run.stats
    assert stats.stop_reason == "cancelled" and stats.thinking_end_reason == "cancelled"
    assert 20 <= stats.thinking_tokens <= 21
    assert not any(isinstance(e, AnswerDelta) for e in events)


@pytest.mark.slow
@portable_cpu_build_only
def test_two_runs_at_once_match_the_same_runs_one_after_another(model):
    configs = [BudgetConfig(max_thinking_tokens=48, max_answer_tokens=16), BudgetConfig(max_thinking_tokens=96, num_waits=1, max_answer_tokens=16)]
    questions = ["What is 2+3?", "Name a colour."]

    def texts(events):
        folded = Run(events).wait()
        return folded.thinking, folded.answer

    sequential = [texts(run(model, c, q)) for c, q in zip(configs, questions)]
    results: list = [None, None]

    def worker(index):
        results[index] = texts(run(model, configs[index], questions[index]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert results == sequential


def test_streamed_text_equals_the_detokenized_tokens(model):
    backend = model.backend
    prompt = backend.tokenize("<|im_start|>user\nWrite the word 'café', a Chinese greeting 你好世界 and the emoji 🙂 ten times.<|im_end|>\n<|im_start|>assistant\n", prompt=True)
    from s1app.backends.base import Sampling

    pieces = [p for p in backend.generate(prompt, max_tokens=120, stop_token_ids=(), sampling=Sampling()) if isinstance(p, Piece)]
    text = "".join(p.text for p in pieces)
    assert len(pieces) == 120 and text == backend.detokenize([p.token_id for p in pieces])


def test_characters_split_across_tokens_come_out_whole():
    from s1app.backends.llamacpp import IncrementalDetokenizer, token_bytes
    from s1app.backends.local_tokenizer import GgufVocab
    from s1app.registry import locate_weights, resolve_model

    vocab = GgufVocab.open(locate_weights(resolve_model(None)))
    original = "café 你好世界 🙂 naïve"
    tokens = vocab.tokenize(original)
    piece_text = IncrementalDetokenizer(token_bytes(vocab._vocab))
    texts = [piece_text(token) for token in tokens]
    assert "".join(texts) == original
    assert "" in texts  # some characters span several tokens: nothing shows until they are whole
    assert all("\ufffd" not in text for text in texts)


def test_budget_above_the_context_is_clipped_with_a_warning(model):
    from s1app.events import BudgetClipped

    events = run(model, BudgetConfig(max_thinking_tokens=100_000, max_answer_tokens=8, loop=NO_LOOP_CHECK, num_waits=0))
    clipped = [e for e in events if isinstance(e, BudgetClipped)]
    assert len(clipped) == 1 and clipped[0].effective_thinking_tokens < model.backend.info.context_length
    assert finished(events).stats.thinking_tokens <= clipped[0].effective_thinking_tokens


def test_loop_detection_ends_thinking_and_moves_to_the_answer(model):
    events = run(looping_model(model, period=8), BudgetConfig(max_thinking_tokens=1500, num_waits=6, max_answer_tokens=8))
    stats = finished(events).stats
    assert stats.thinking_end_reason == "loop" and stats.thinking_tokens < 200
    assert "loop-break" in [i.kind for i in finished(events).interventions]
    assert stats.answer_tokens >= 1
