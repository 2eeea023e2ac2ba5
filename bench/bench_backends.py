"""Per backend, measured in one run on the embedded model, same prompt, greedy:

  (a) budget-forcing overhead: generate N/2 tokens, append "Wait", continue to N tokens (the
      engine's re-send of the whole context, served from the prefix cache) / one uninterrupted
      generation of N tokens. Goal ~1x.
  (b) engine stream tok/s (Session.ask with thinking held open to N tokens: sampled thinking
      tokens as its events arrive, first to last) / the backend's raw stream tok/s
      (backend.generate, no stop tokens, same N, timed the same way). Goal >= 0.95.

    .venv/bin/python bench/bench_backends.py                       # llamacpp, openai (+ vllm if .venv-vllm exists)
    .venv/bin/python bench/bench_backends.py --backends llamacpp --tokens 256
    .venv-vllm/bin/python bench/bench_backends.py --backends vllm  # in the Python that has vLLM

openai means the OpenAI-compatible backend against ``python -m llama_cpp.server`` started here
(one thread; see run_backend).
Each figure is the median of ``--repeats`` runs (default 5; the machine is noisy) (first run of each kind discarded as warm-up).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from s1app.backends import BackendOptions, create_backend  # noqa: E402
from s1app.backends.base import Piece, Sampling  # noqa: E402
from s1app.budget import BudgetConfig  # noqa: E402
from s1app.events import RunFinished, ThinkingDelta  # noqa: E402
from s1app.loading import prepare  # noqa: E402
from s1app.loops import LoopSettings  # noqa: E402
from s1app.registry import locate_weights, resolve_model  # noqa: E402
from s1app.session import Session  # noqa: E402

QUESTION = "Explain step by step why the sum of two odd numbers is always even."
GREEDY = Sampling()


def stream(backend, prompt_ids: list[int], max_tokens: int) -> tuple[list[int], float, float]:
    """(ids, seconds from the call to the last token, seconds from the first token to the last)."""
    ids: list[int] = []
    started = time.perf_counter()
    first = last = started
    for item in backend.generate(prompt_ids, max_tokens=max_tokens, stop_token_ids=(), sampling=GREEDY):
        if isinstance(item, Piece):
            last = time.perf_counter()
            if not ids:
                first = last
            ids.append(item.token_id)
    return ids, last - started, last - first


def engine_stream_rate(events) -> float:
    """Sampled thinking tokens/s as the engine's stream delivers them, timed like ``stream``: from
    the first sampled token's event to the last one's (the forced end of thinking and the answer
    after it are not part of the raw stream it is compared with)."""
    tokens, first, last = 0, None, 0.0
    for event in events:
        if isinstance(event, ThinkingDelta) and not event.forced:
            last = time.perf_counter()
            if first is None:
                first, tokens = last, event.tokens - 1  # as in stream(): intervals after the first token
            else:
                tokens += event.tokens
        elif isinstance(event, RunFinished) and event.error:
            raise SystemExit(f"the engine run failed: {event.error}")
    return tokens / (last - first)


def measure(backend, tokens: int, repeats: int) -> dict:
    loaded = prepare(backend, resolve_model(None))
    prompt = Session(loaded).prompt_ids(QUESTION)
    wait_ids = backend.tokenize("Wait")
    half = tokens // 2
    whole_s, forced_s, raw_tok_s, engine_tok_s = [], [], [], []
    for repeat in range(repeats + 1):
        ids, seconds, decode_s = stream(backend, prompt, tokens)
        # The forced run starts from a prompt the cache has seen, as the engine's second round does;
        # the whole run gets the same warm start.
        first_half, first_s, _ = stream(backend, prompt, half)
        second, second_s, _ = stream(backend, prompt + first_half + wait_ids, tokens - half - len(wait_ids))
        config = BudgetConfig(max_thinking_tokens=tokens, min_thinking_tokens=tokens, max_answer_tokens=1,
                              loop=LoopSettings(enabled=False))
        engine_rate = engine_stream_rate(Session(loaded).ask(QUESTION, config))
        if repeat == 0:
            continue  # warm-up
        whole_s.append(seconds)
        forced_s.append(first_s + second_s)
        raw_tok_s.append((len(ids) - 1) / decode_s)
        engine_tok_s.append(engine_rate)
    return {
        "backend": backend.info.name,
        "tokens": tokens,
        "uninterrupted_s": statistics.median(whole_s),
        "forced_wait_s": statistics.median(forced_s),
        "forced_over_uninterrupted": statistics.median(forced_s) / statistics.median(whole_s),
        "raw_tok_s": statistics.median(raw_tok_s),
        "engine_tok_s": statistics.median(engine_tok_s),
        "engine_over_raw": statistics.median(engine_tok_s) / statistics.median(raw_tok_s),
    }


def run_backend(name: str, tokens: int, repeats: int) -> dict:
    entry = resolve_model(None)
    weights = locate_weights(entry)
    if name == "llamacpp":
        backend = create_backend("llamacpp", weights, entry.name, BackendOptions(context_length=2048))
        return measure(backend, tokens, repeats) | {"backend": "llamacpp (in-process)"}
    if name == "openai":
        from llama_server import llama_server

        # One thread: with two, llama_cpp.server decodes each request on whichever worker thread
        # its thread pool picks, and OpenMP runs full speed only on the first one (80 tok/s on the
        # first request, ~25 after it, by chance): the ratios would measure that lottery, not us.
        with llama_server(weights, n_threads=1) as (base_url, _process):
            backend = create_backend("openai", weights, entry.name, BackendOptions(base_url=base_url))
            return measure(backend, tokens, repeats) | {"backend": "openai -> llama_cpp.server"}
    if name == "vllm":
        backend = create_backend("vllm", weights, entry.name, BackendOptions(context_length=2048))
        try:
            return measure(backend, tokens, repeats) | {"backend": "vllm (in-process, CPU)"}
        finally:
            backend.close()
    raise SystemExit(f"unknown backend {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="all", help="comma list of llamacpp, openai, vllm; or all")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON line per backend")
    args = parser.parse_args()
    names = ["llamacpp", "openai", "vllm"] if args.backends == "all" else args.backends.split(",")
    rows = []
    for name in names:
        if name == "vllm" and args.backends == "all":
            python = ROOT / ".venv-vllm" / "bin" / "python"
            if not python.exists():
                print("vllm: skipped (no .venv-vllm; make setup-vllm)", file=sys.stderr)
                continue
            out = subprocess.run([str(python), __file__, "--backends", "vllm", "--tokens", str(args.tokens),
                                  "--repeats", str(args.repeats), "--json"], capture_output=True, text=True)
            rows += [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
            if out.returncode:
                print(out.stderr[-2000:], file=sys.stderr)
            continue
        rows.append(run_backend(name, args.tokens, args.repeats))
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'backend':28} {'N':>4} {'whole s':>8} {'forced s':>9} {'forced/whole':>12} "
          f"{'raw tok/s':>10} {'engine tok/s':>12} {'engine/raw':>10}")
    for row in rows:
        print(f"{row['backend']:28} {row['tokens']:>4} {row['uninterrupted_s']:>8.2f} {row['forced_wait_s']:>9.2f} "
              f"{row['forced_over_uninterrupted']:>12.2f} {row['raw_tok_s']:>10.1f} {row['engine_tok_s']:>12.1f} "
              f"{row['engine_over_raw']:>10.2f}")


if __name__ == "__main__":
    main()
