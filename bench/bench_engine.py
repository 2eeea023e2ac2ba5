"""Engine speed on the embedded model, as ratios measured in one run (the machine is noisy).

(a) engine stream tok/s / raw ``Llama.generate`` loop tok/s, same model, prompt and token count
    (goal >= 0.95);
(b) thinking time per token with K forced Waits / the same without a Wait, on ONE model, the two
    cases alternated (and which goes first), both capped at the same number of thinking tokens:
    the time from the first thinking token to the end of thinking, so prompt evaluation is left
    out of both
    (goal <= 1.05: each continuation reuses the KV cache and evaluates only the Wait; it should
    agree with bench/bench_wait_gap.py, where a Wait costs about one token's time);
(c) total tok/s of two runs at once on one backend (compare view, two users) / tok/s of one run
    alone: above 1, since both are decoded in one batch per step;
(d) time to first token of each turn of a multi-turn chat with prefix reuse (the backend keeps the
    conversation's KV and evaluates only the new turn) / the same prompt evaluated cold: what the
    reproducible design keeps of prefix reuse (goal: well below 1 from the second turn on).

(a) runs each measurement on a fresh model, alternating engine and raw, ``--repeats`` times; (b)
alternates its two cases on one model, ``--repeats`` pairs; medians are reported.

    .venv/bin/python bench/bench_engine.py [--repeats 3] [--waits 4] [--cases abcd]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from llama_cpp import Llama

from s1app.backends.decode_loop import decode_loop
from s1app.backends.llamacpp import LlamaCppBackend
from s1app.session import Turn
from s1app.budget import BudgetConfig
from s1app.events import RunStarted, ThinkingDelta, ThinkingEnded, WaitInserted
from s1app.loading import prepare
from s1app.loops import LoopSettings
from s1app.registry import locate_weights, resolve_model
from s1app.session import Session

CONTEXT = 8192
STORY = "Write a long story about a dragon."


def fresh_model(parallel: int = 1):
    entry = resolve_model(None)
    backend = LlamaCppBackend(locate_weights(entry), name=entry.name, context_length=CONTEXT, parallel=parallel)
    return prepare(backend, entry)


def engine_thinking(question: str, config: BudgetConfig) -> tuple[float, int, int]:
    """Seconds from run start to the end of thinking, thinking tokens, of which forced."""
    model = fresh_model()
    session = Session(model)
    prompt = session.prompt_ids(question)
    started = ended = 0.0
    run = model.engine.start(prompt, config, question=question)
    for event in run:
        if isinstance(event, RunStarted):
            started = time.perf_counter()
        elif isinstance(event, ThinkingEnded):
            ended = time.perf_counter()
            tokens = event.position_tokens
    model.backend.close()
    return ended - started, tokens, run.thinking_tokens_forced


def thinking_span(model, question: str, config: BudgetConfig) -> tuple[float, int, int]:
    """(seconds from the first sampled thinking token to the end of thinking, tokens in that span,
    Waits inserted), on an already loaded ``model``."""
    first_at = ended = 0.0
    first_tokens = position = waits = 0
    for event in model.engine.start(Session(model).prompt_ids(question), config, question=question):
        if isinstance(event, ThinkingDelta) and not event.forced and not first_at:
            first_at, first_tokens = time.perf_counter(), event.tokens
        elif isinstance(event, WaitInserted):
            waits = event.waits_inserted
        elif isinstance(event, ThinkingEnded):
            ended, position = time.perf_counter(), event.position_tokens
    return ended - first_at, position - first_tokens, waits


def wait_pairs(waits: int, tokens: int, repeats: int) -> list[float]:
    """(b): per-token thinking time with Waits / without, one model, both capped at ``tokens``; the
    two cases alternate, and so does which goes first (what ran just before must not favour one)."""
    no_loop = LoopSettings(enabled=False)
    waited = BudgetConfig(max_thinking_tokens=tokens, num_waits=waits, loop=no_loop, max_answer_tokens=1)
    plain = BudgetConfig(max_thinking_tokens=tokens, loop=no_loop, max_answer_tokens=1)
    model = fresh_model()
    thinking_span(model, "What is 2+3?", BudgetConfig(max_thinking_tokens=16, loop=no_loop, max_answer_tokens=1))  # warm-up
    ratios = []
    for repeat in range(repeats):
        # "What is 2+3?" ends its thinking early, so it gets the Waits; the story is thought about at
        # length, so it reaches the same cap without one.
        cases = [("waits", "What is 2+3?", waited), ("plain", STORY, plain)]
        order = cases if repeat % 2 == 0 else cases[::-1]
        spans = {name: thinking_span(model, question, config) for name, question, config in order}
        (waited_s, waited_tokens, inserted), (plain_s, plain_tokens, _) = spans["waits"], spans["plain"]
        ratios.append((waited_s / waited_tokens) / (plain_s / plain_tokens))
        print(f"(b) pair {repeat + 1} ({'Waits' if repeat % 2 == 0 else 'no Wait'} first): {inserted} forced Waits, "
              f"{waited_tokens} tokens in {waited_s:.2f} s; no Wait, {plain_tokens} tokens in {plain_s:.2f} s")
    model.backend.close()
    return ratios


def raw_generation(prompt: list[int], count: int) -> float:
    """Seconds for llama-cpp-python's own generate loop to produce ``count`` tokens (greedy).

    It runs on the same decode thread as the engine (see s1app/backends/decode_loop.py for why a
    thread matters), so the two are compared on equal terms.
    """

    def timed() -> float:
        llama = Llama(model_path=locate_weights(resolve_model(None)), n_ctx=CONTEXT, n_threads=os.cpu_count(), verbose=False)
        started = time.perf_counter()
        produced = 0
        for _ in llama.generate(prompt, temp=0.0, top_k=40, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
            produced += 1
            if produced == count:
                break
        seconds = time.perf_counter() - started
        llama.close()
        return seconds

    return decode_loop().call(timed)


def concurrent_throughput(question: str, tokens: int) -> tuple[float, float]:
    """tok/s of one run alone, and total tok/s of two identical runs at once, on one backend."""
    model = fresh_model(parallel=2)
    config = BudgetConfig(max_thinking_tokens=tokens, loop=LoopSettings(enabled=False), max_answer_tokens=1)

    def one_run() -> int:
        return Session(model).ask(question, config).wait().stats.thinking_tokens_sampled

    def two_at_once() -> float:
        counts: list[int] = []
        threads = [threading.Thread(target=lambda: counts.append(one_run())) for _ in range(2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sum(counts) / (time.perf_counter() - started)

    two_at_once()  # warm-up: both sequences hold the prompt
    together = two_at_once()
    started = time.perf_counter()
    alone = one_run() / (time.perf_counter() - started)
    model.backend.close()
    return alone, together


CHAT_TURNS = [
    "What is the capital of France?", "And of Italy?", "Which of the two is bigger?",
    "Name a famous building in each.", "Which one is older?", "Summarise what we said.",
]


def time_to_first_token(model, turns: list[Turn], question: str, config: BudgetConfig) -> tuple[float, str]:
    """Seconds from asking to the first thinking token, and the answer (for the next turn)."""
    started = time.perf_counter()
    first = None
    answer = []
    for event in Session(model, turns=list(turns)).ask(question, config):
        if first is None and type(event).__name__ == "ThinkingDelta":
            first = time.perf_counter() - started
        elif type(event).__name__ == "AnswerDelta":
            answer.append(event.text)
    return first or 0.0, "".join(answer)


def multi_turn_reuse() -> list[tuple[int, float, float]]:
    """(prompt tokens, TTFT with the conversation's cache, TTFT cold) for each turn of one chat."""
    config = BudgetConfig(max_thinking_tokens=48, max_answer_tokens=32)
    warm_model, cold_model = fresh_model(), fresh_model()
    turns: list[Turn] = []
    rows = []
    for question in CHAT_TURNS:
        prompt_tokens = len(Session(warm_model, turns=list(turns)).prompt_ids(question))
        warm, answer = time_to_first_token(warm_model, turns, question, config)
        cold_model.backend.close()
        cold_model = fresh_model()  # nothing cached: the whole conversation is evaluated
        cold, _ = time_to_first_token(cold_model, turns, question, config)
        rows.append((prompt_tokens, warm, cold))
        turns.append(Turn(question, "", answer))
    warm_model.backend.close()
    cold_model.backend.close()
    return rows


def case_a(args) -> str:
    no_loop = LoopSettings(enabled=False)
    prompt_model = fresh_model()
    story_prompt = Session(prompt_model).prompt_ids(STORY)
    prompt_model.backend.close()
    ratios = []
    for repeat in range(args.repeats):
        seconds, tokens, _ = engine_thinking(STORY, BudgetConfig(max_thinking_tokens=args.tokens, loop=no_loop, max_answer_tokens=1))
        raw = raw_generation(story_prompt, tokens)
        ratios.append((tokens / seconds) / (tokens / raw))
        print(f"(a) run {repeat + 1}: engine {tokens / seconds:.1f} tok/s, raw loop {tokens / raw:.1f} tok/s over {tokens} tokens")
    return (f"(a) engine stream tok/s / raw Llama.generate tok/s: median {statistics.median(ratios):.3f} "
            f"(runs {', '.join(f'{r:.3f}' for r in ratios)}); goal >= 0.95")


def case_b(args) -> str:
    ratios = wait_pairs(args.waits, args.tokens, args.repeats)
    return (f"(b) thinking time per token with forced Waits (up to {args.waits}) / without, one model, alternated: "
            f"median {statistics.median(ratios):.3f} (pairs {', '.join(f'{r:.3f}' for r in ratios)}); goal <= 1.05")


def case_c(args) -> str:
    alone, together = concurrent_throughput(STORY, args.tokens // 2)
    print(f"(c) one run alone {alone:.1f} tok/s; two runs at once {together:.1f} tok/s in total")
    return f"(c) two runs at once, total tok/s / one run alone tok/s: {together / alone:.3f}"


def case_d(args) -> str:
    reuse = multi_turn_reuse()
    for turn, (prompt_tokens, warm, cold) in enumerate(reuse, start=1):
        print(f"(d) turn {turn}: prompt {prompt_tokens} tokens, first token after {warm * 1000:.0f} ms with the "
              f"conversation cached, {cold * 1000:.0f} ms cold")
    later = [warm / cold for _, warm, cold in reuse[1:]]
    return (f"(d) multi-turn time to first token, cached conversation / cold, turns 2-{len(reuse)}: "
            f"median {statistics.median(later):.3f} (turns {', '.join(f'{r:.2f}' for r in later)})")


CASES = {"a": case_a, "b": case_b, "c": case_c, "d": case_d}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--waits", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--cases", default="abcd", help="which measurements to run, e.g. b (default abcd)")
    args = parser.parse_args()
    summaries = [CASES[case](args) for case in args.cases if case in CASES]
    print()
    print("\n".join(summaries))


if __name__ == "__main__":
    main()
