"""The landing text and the suppress list: the pure policy (real SmolLM2 tokenizer, no weights),
the engine's edge cases on a scripted backend, and the real model through llama.cpp."""

from __future__ import annotations

import pytest
from scripted_backend import Call, scripted_engine

from s1app.backends.base import Piece
from s1app.budget import BudgetConfig
from s1app.errors import ConfigError
from s1app.events import LandingInserted, ThinkingCapped, ThinkingDelta, ThinkingEnded
from s1app.loops import LoopSettings
from s1app.session import Session
from s1app.suppress import NOWAIT_WORDS, parse_suppress, spellings, suppressed_ids

NO_LOOPS = LoopSettings(enabled=False)
LANDING = " Okay, time is up. Let me give the final answer."
QUESTION = "What is 2+3?"


@pytest.fixture(scope="module")
def tokenize():
    """The embedded model's own tokenizer (its GGUF vocabulary; no weights loaded)."""
    return scripted_engine([])[1].tokenize


def run(script, config):
    engine, backend = scripted_engine(script)
    prompt = backend.tokenize("<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n<think>\n", prompt=True)
    result = engine.start(prompt, config, question=QUESTION)
    return list(result), backend, result


# -- the suppress list, pure --------------------------------------------------------------------

def test_a_word_is_spelled_as_given_lower_and_capitalised_with_and_without_a_space():
    assert spellings("Wait") == ["Wait", " Wait", "wait", " wait"]
    assert spellings(" hmm ") == ["hmm", " hmm", "Hmm", " Hmm"]


def test_only_one_token_spellings_are_banned(tokenize):
    assert suppressed_ids(["Wait"], tokenize) == {tokenize(s)[0] for s in ("Wait", " Wait", "wait", " wait")}
    assert len(tokenize("Hmm")) == 2, "SmolLM2 writes 'Hmm' as 'H' + 'mm': its 'H' must stay allowed"
    assert suppressed_ids(["Hmm"], tokenize) == {tokenize(" Hmm")[0]}


def test_a_persons_word_with_no_one_token_spelling_is_a_clear_error(tokenize):
    with pytest.raises(ConfigError, match="'double-check' is several tokens in every spelling"):
        suppressed_ids(["double-check"], tokenize)


def test_the_nowait_preset_is_the_papers_list_and_skips_words_this_vocabulary_splits(tokenize):
    assert len(NOWAIT_WORDS) == 17 and {"wait", "hmm", "alternatively", "double-check"} <= set(NOWAIT_WORDS)
    banned = suppressed_ids(["nowait"], tokenize)
    assert {tokenize(" Wait")[0], tokenize(" Hmm")[0], tokenize("Alternatively")[0]} <= banned
    assert tokenize(" double")[0] not in banned and tokenize("H")[0] not in banned


@pytest.mark.parametrize("text", ["Wait,,Hmm", "Wait, ", ","])
def test_an_empty_word_in_the_list_is_refused_before_any_model_loads(text):
    with pytest.raises(ConfigError, match="empty word"):
        parse_suppress(text)


def test_the_list_parses_words_and_preset_names():
    assert parse_suppress(" Wait, Hmm ,nowait") == ("Wait", "Hmm", "nowait")
    assert parse_suppress("") == ()


@pytest.mark.parametrize("suppress", [("",), ("  ",), ("Wait", 3)])
def test_a_blank_suppress_word_is_a_config_error(suppress):
    with pytest.raises(ConfigError, match="non-empty word"):
        BudgetConfig(suppress=suppress)


def test_suppress_given_as_one_string_is_a_config_error_not_a_list_of_letters():
    with pytest.raises(ConfigError, match="list of words"):
        BudgetConfig(suppress="Wait")


# -- the landing text and the ban in the engine (scripted) -------------------------------------

def test_a_landing_longer_than_the_budget_is_refused_once_tokenized():
    with pytest.raises(ConfigError, match=r"landing text is \d+ tokens but the thinking budget is 4"):
        run([], BudgetConfig(max_thinking_tokens=4, landing=LANDING))


def test_a_landing_with_a_budget_of_zero_is_refused_before_any_model_loads():
    with pytest.raises(ConfigError, match="cannot fit a thinking budget of 0"):
        BudgetConfig(max_thinking_tokens=0, landing="Okay.")


def test_the_landing_is_forced_inside_the_budget_when_the_budget_ends_thinking():
    budget = 24
    script = [Call("one two three four five six seven eight nine ten " * 4, then="length"), Call(" 5")]
    events, backend, result = run(script, BudgetConfig(max_thinking_tokens=budget, landing=LANDING, loop=NO_LOOPS))
    landing_tokens = len(backend.tokenize(LANDING))
    assert backend.calls[0].max_tokens == budget - landing_tokens, "thinking keeps the landing's room"
    landing = next(e for e in events if isinstance(e, LandingInserted))
    assert (landing.position_tokens, landing.text, landing.tokens) == (budget - landing_tokens, LANDING, landing_tokens)
    forced = [e for e in events if isinstance(e, ThinkingDelta) and e.forced]
    assert [e.text for e in forced] == [LANDING]
    kinds = [type(e) for e in events]
    assert kinds.index(ThinkingCapped) < kinds.index(LandingInserted) < kinds.index(ThinkingEnded)
    assert result.stats.thinking_tokens == budget and result.stats.thinking_end_reason == "budget"
    assert result.thinking.endswith(LANDING)
    assert [(i.kind, i.position_tokens) for i in result.interventions][:1] == [("landing", budget - landing_tokens)]
    tokens = scripted_engine([])[0].format_tokens
    written = [*backend.tokenize(LANDING), *tokens.end_of_thinking_ids, *tokens.final_answer_ids]
    assert backend.calls[1].prompt_ids[-len(written):] == written, "the answer follows the landing, then the delimiter"


def test_a_loop_break_lands_too():
    script = [Call("I add two and three. " * 40, then="length"), Call(" 5")]
    events, _, result = run(script, BudgetConfig(max_thinking_tokens=400, landing=LANDING,
                                                 loop=LoopSettings(min_repeats=3, min_span_tokens=16)))
    assert result.stats.thinking_end_reason == "loop"
    assert [e.text for e in events if isinstance(e, ThinkingDelta) and e.forced] == [LANDING]
    assert result.thinking.endswith(LANDING) and "landing" in [i.kind for i in result.interventions]


def test_no_landing_when_the_model_ends_thinking_by_itself():
    events, _, result = run([Call("Five."), Call(" 5")], BudgetConfig(max_thinking_tokens=64, landing=LANDING))
    assert not any(isinstance(e, LandingInserted) for e in events)
    assert result.thinking == "Five." and result.stats.thinking_end_reason == "model"


def test_the_ban_holds_while_thinking_and_never_in_the_answer():
    config = BudgetConfig(max_thinking_tokens=64, suppress=("Wait", "the"), num_waits=1)
    _, backend, result = run([Call("First."), Call(" Then."), Call(" 5")], config)
    banned = suppressed_ids(["Wait", "the"], backend.tokenize)
    assert [call.banned_token_ids for call in backend.calls] == [banned, banned, frozenset()]
    assert result.thinking == "First.Wait Then.", "the forced Wait still goes in, suppressed or not"


def test_a_suppressed_stop_token_is_never_banned_so_thinking_can_end():
    tokenizer = scripted_engine([])[1]
    eos = tokenizer.special_tokens()["eos"]
    word = tokenizer.detokenize([eos])
    assert eos in suppressed_ids([word], tokenizer.tokenize), "the word is the stop token (else the test means nothing)"
    _, backend, _ = run([Call("Five."), Call(" 5")], BudgetConfig(max_thinking_tokens=64, suppress=(word,)))
    assert eos not in backend.calls[0].banned_token_ids


# -- the real model --------------------------------------------------------------------------

class RecordingBackend:
    """The real backend; keeps each call's sampled token ids with the ids it was told to ban."""

    def __init__(self, real) -> None:
        self._real = real
        self.info = real.info
        self.calls: list[tuple[frozenset[int], list[int]]] = []

    def __getattr__(self, name):
        return getattr(self._real, name)

    def generate(self, prompt_ids, **settings):
        sampled: list[int] = []
        self.calls.append((frozenset(settings.get("banned_token_ids", ())), sampled))
        for item in self._real.generate(prompt_ids, **settings):
            if isinstance(item, Piece):
                sampled.append(item.token_id)
            yield item


def recorded_run(model, config):
    backend = RecordingBackend(model.backend)
    return Session(model.with_backend(backend)).ask(QUESTION, config).wait(), backend


def test_suppressed_tokens_never_appear_in_the_real_models_thinking(model):
    config = BudgetConfig(max_thinking_tokens=96, max_answer_tokens=16)
    _, free = recorded_run(model, config)
    banned = suppressed_ids(["the"], model.backend.tokenize)
    assert banned & set(free.calls[0][1]), "without the ban the model writes 'the' here (else the test means nothing)"
    result, steered = recorded_run(model, BudgetConfig(max_thinking_tokens=96, max_answer_tokens=16, suppress=("the",)))
    thinking_calls = steered.calls[:-1]
    assert thinking_calls and all(told == banned for told, _ in thinking_calls)
    assert not banned & {token for _, sampled in thinking_calls for token in sampled}
    assert steered.calls[-1][0] == frozenset(), "the answer is free"
    assert result.error is None and result.stats.answer_tokens > 0


def test_the_real_models_landing_is_forced_and_thinking_stays_within_the_budget(model):
    budget = 40
    result = Session(model).ask(QUESTION, BudgetConfig(max_thinking_tokens=budget, max_answer_tokens=16,
                                                       min_thinking_tokens=budget, landing=LANDING)).wait()
    assert result.stats.thinking_tokens <= budget
    assert result.thinking.endswith(LANDING) and result.stats.thinking_end_reason == "budget"
    assert [s.text for s in result.segments if s.section == "thinking" and s.forced][-1].endswith(LANDING)
    assert "landing" in [i.kind for i in result.interventions]
    assert result.to_json()["settings"]["landing"] == LANDING
