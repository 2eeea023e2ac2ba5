"""Two ways to probe a llama.cpp run, measured in one process: a fork beside it, or in place.

- fork (what the engine does): the probe is a ``generate(..., fork=True)`` call; the decoder
  copies the run's KV stream into a free slot (``seq_cp``) and decodes the probe in the same
  batch as the run, which never pauses;
- in place: the run stops every N tokens, the probe is decoded in the run's own stream (the
  decoder picks the slot holding the prefix), and the run goes on from there (its stale tail is
  removed with ``seq_rm`` when it is readmitted).

Both hold the run to the same greedy thinking tokens (checked), probing every ``--every`` tokens
with ``--probe-tokens`` answer tokens. Prints wall time and the run's thinking tok/s for no
probes, fork and in place, and the ratios to no probes.

    .venv/bin/python bench/bench_fork.py [--tokens 512] [--every 64] [--probe-tokens 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from s1app.backends.base import Finish, Sampling
from s1app.budget import BudgetConfig
from s1app.loading import load_model
from s1app.loops import LoopSettings
from s1app.probes import ProbeSettings
from s1app.session import Session

QUESTION = "Explain in detail how a bicycle works."
GREEDY = Sampling()


def engine_run(model, tokens: int, probes: ProbeSettings) -> tuple[float, float, str]:
    config = BudgetConfig(max_thinking_tokens=tokens, min_thinking_tokens=tokens, max_answer_tokens=1,
                          loop=LoopSettings(enabled=False), probes=probes)
    started = time.perf_counter()
    run = Session(model).ask(QUESTION, config).wait()
    return time.perf_counter() - started, run.tokens_per_s, run.finished.token_ids_sha256


def in_place_run(model, tokens: int, every: int, probe_tokens: int) -> tuple[float, float, list[int]]:
    """The run's thinking in rounds of ``every`` tokens, each followed by a probe in its own stream."""
    backend, fmt = model.backend, model.format_tokens
    context = Session(model).prompt_ids(QUESTION)
    prompt = len(context)
    forced = list(fmt.end_of_thinking_ids) + list(fmt.final_answer_ids)
    started = time.perf_counter()
    thinking_s = 0.0
    while len(context) - prompt < tokens:
        round_started = time.perf_counter()
        for item in backend.generate(context, max_tokens=min(every, tokens - (len(context) - prompt)),
                                     stop_token_ids=(), sampling=GREEDY):
            if isinstance(item, Finish):
                break
            context.append(item.token_id)
        thinking_s += time.perf_counter() - round_started
        if len(context) - prompt < tokens:
            for item in backend.generate(context + forced, max_tokens=probe_tokens,
                                         stop_token_ids=fmt.answer_stop_ids, sampling=GREEDY, logprobs=True):
                if isinstance(item, Finish):
                    break
    return time.perf_counter() - started, tokens / thinking_s, context[prompt:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--every", type=int, default=64)
    parser.add_argument("--probe-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = load_model()
    probes = ProbeSettings(every=args.every, tokens=args.probe_tokens)
    rows: dict[str, list[tuple[float, float]]] = {"no probes": [], "fork": [], "in place": []}
    for _ in range(args.rounds):
        plain = engine_run(model, args.tokens, ProbeSettings())
        forked = engine_run(model, args.tokens, probes)
        assert forked[2] == plain[2], "probing changed the run's tokens"
        placed = in_place_run(model, args.tokens, args.every, args.probe_tokens)
        rows["no probes"].append(plain[:2])
        rows["fork"].append(forked[:2])
        rows["in place"].append(placed[:2])
    base_wall = statistics.median(w for w, _ in rows["no probes"])
    base_rate = statistics.median(r for _, r in rows["no probes"])
    print(f"{args.tokens} thinking tokens, a probe every {args.every} ({args.probe_tokens} answer tokens), "
          f"median of {args.rounds} rounds")
    for name, values in rows.items():
        wall, rate = statistics.median(w for w, _ in values), statistics.median(r for _, r in values)
        print(f"  {name:9s}: wall {wall:6.2f} s ({wall / base_wall:.2f}x)  thinking {rate:6.1f} tok/s "
              f"({rate / base_rate:.2f} of no probes)")


if __name__ == "__main__":
    main()
