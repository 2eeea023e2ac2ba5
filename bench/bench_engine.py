"""Engine speed on the embedded model, as ratios measured in one run (the machine is noisy).

(a) engine stream tok/s / raw ``Llama.generate`` loop tok/s, same model, prompt and token count
    (goal >= 0.95);
(b) time of thinking with K forced Waits / time of one uninterrupted generation of the same total
    token count (goal <= 1.05: each continuation reuses the KV cache of the shared prefix);
(c) total tok/s of two runs at once on one backend (compare view, two users) / tok/s of one run
    alone: above 1, since both are decoded in one batch per step;
(d) time to first token of each turn of a multi-turn chat with prefix reuse (the backend keeps the
    conversation's KV and evaluates only the new turn) / the same prompt evaluated cold: what the
    reproducible design keeps of prefix reuse (goal: well below 1 from the second turn on).

Each measurement runs on a fresh model, alternating engine and raw, ``--repeats`` times;
medians are reported.

    .venv/bin/python bench/bench_engine.py [--repeats 3] [--waits 4]
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
from s1app.events import RunStarted, ThinkingEnded
from s1app.loading import prepare
from s1app.loops import LoopSettings
from s1app.registry import locate_weights, resolve_model
from s1app.session import Session

CONTEXT = 8192


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
    for event in model.engine.run(prompt, config, question=question):
        if isinstance(event, RunStarted):
            started = time.perf_counter()
        elif isinstance(event, ThinkingEnded):
            ended = time.perf_counter()
            tokens = event.position_tokens
        elif type(event).__name__ == "RunFinished":
            forced = event.stats.thinking_tokens_forced
    model.backend.close()
    return ended - started, tokens, forced


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
        events = list(Session(model).ask(question, config))
        return events[-1].stats.thinking_tokens_sampled

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--waits", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    no_loop = LoopSettings(enabled=False)
    story = "Write a long story about a dragon."
    math = "What is 2+3?"
    prompt_model = fresh_model()
    story_prompt = Session(prompt_model).prompt_ids(story)
    math_prompt = Session(prompt_model).prompt_ids(math)
    prompt_model.backend.close()

    stream_ratios, wait_ratios = [], []
    for repeat in range(args.repeats):
        seconds, tokens, _ = engine_thinking(story, BudgetConfig(max_thinking_tokens=args.tokens, loop=no_loop, max_answer_tokens=1))
        raw = raw_generation(story_prompt, tokens)
        stream_ratios.append((tokens / seconds) / (tokens / raw))
        print(f"(a) run {repeat + 1}: engine {tokens / seconds:.1f} tok/s, raw loop {tokens / raw:.1f} tok/s over {tokens} tokens")

        seconds, tokens, forced = engine_thinking(
            math, BudgetConfig(max_thinking_tokens=args.tokens, num_waits=args.waits, loop=no_loop, max_answer_tokens=1)
        )
        raw = raw_generation(math_prompt, tokens)
        wait_ratios.append(seconds / raw)
        print(f"(b) run {repeat + 1}: {forced} forced Waits, {tokens} thinking tokens in {seconds:.2f} s; "
              f"uninterrupted {tokens} tokens in {raw:.2f} s")

    alone, together = concurrent_throughput(story, args.tokens // 2)
    print(f"(c) one run alone {alone:.1f} tok/s; two runs at once {together:.1f} tok/s in total")
    reuse = multi_turn_reuse()
    for turn, (prompt_tokens, warm, cold) in enumerate(reuse, start=1):
        print(f"(d) turn {turn}: prompt {prompt_tokens} tokens, first token after {warm * 1000:.0f} ms with the "
              f"conversation cached, {cold * 1000:.0f} ms cold")

    print()
    print(f"(a) engine stream tok/s / raw Llama.generate tok/s: median {statistics.median(stream_ratios):.3f} "
          f"(runs {', '.join(f'{r:.3f}' for r in stream_ratios)}); goal >= 0.95")
    print(f"(b) thinking time with forced Waits (up to {args.waits}) / uninterrupted generation of the same length: "
          f"median {statistics.median(wait_ratios):.3f} (runs {', '.join(f'{r:.3f}' for r in wait_ratios)}); goal <= 1.05")
    print(f"(c) two runs at once, total tok/s / one run alone tok/s: {together / alone:.3f}")
    later = [warm / cold for _, warm, cold in reuse[1:]]
    print(f"(d) multi-turn time to first token, cached conversation / cold, turns 2-{len(reuse)}: "
          f"median {statistics.median(later):.3f} (turns {', '.join(f'{r:.2f}' for r in later)})")


if __name__ == "__main__":
    main()
