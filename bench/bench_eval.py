"""Eval throughput on llama.cpp: is an eval of N questions N times one run, or batched?

(a) total thinking tokens/s of an eval of 16 GSM8K questions at one budget with ``--parallel 8``
    / the same eval one question at a time (goal >= 2.0);
(b) that ``--parallel 8`` eval against a plain batched llama-cpp-python loop over the same prompts
    (the limit): sampled tokens/s of the eval / tokens/s of the loop, which decodes the same
    number of tokens per prompt, 8 sequences per ``llama_decode`` (goal >= 0.9).

The eval is the real harness (s1app.eval.harness, budget forcing, greedy, no store) on a fresh
backend each time, so no prompt is already cached. The raw loop uses llama.cpp's low-level API:
one context, ``llama_batch_init`` with a sequence id per prompt, ``llama_decode`` once per step,
greedy argmax of ``llama_get_logits_ith``; prompts go in ``--parallel`` at a time, each group
prefilled in one batch. It runs on the backends' decode thread (s1app/backends/decode_loop.py:
one OpenMP team for the process), so both sides decode on equal terms. Measurements alternate; medians reported.

    flock -x /tmp/s1app-cpu.lock .venv/bin/python bench/bench_eval.py [--questions 16] [--budget 128] \\
        [--parallel 8] [--max-answer 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import llama_cpp as L
import numpy as np

from s1app.backends import BackendOptions, create_backend
from s1app.backends.decode_loop import decode_loop
from s1app.eval.harness import new_job, run_job
from s1app.eval.plan import EvalPlan
from s1app.cancel import CancelScope
from s1app.loading import prepare
from s1app.registry import locate_weights, resolve_model
from s1app.session import Session

CONTEXT = 8192


def fresh_model(parallel: int):
    """A new backend (nothing cached) that decodes up to ``parallel`` sequences together."""
    entry = resolve_model(None)
    options = BackendOptions(context_length=CONTEXT, parallel=parallel)
    return prepare(create_backend(entry.backend, locate_weights(entry), entry.name, options), entry)


def eval_once(questions: int, budget: int, max_answer: int, parallel: int) -> dict:
    """Run the harness; returns wall seconds, thinking tokens, sampled tokens per item, prompts."""
    model = fresh_model(max(parallel, 8))
    plan = EvalPlan.from_options(bench="gsm8k", methods="budget-forcing", budgets=str(budget), limit=questions,
                                 max_answer_tokens=max_answer)
    with tempfile.TemporaryDirectory() as out:
        job = new_job(plan, Path(out), loader=lambda spec, backend=None: model)
        started = time.perf_counter()
        run_job(job, parallel=parallel, scope=CancelScope())
        wall_s = time.perf_counter() - started
        records = {record.item_id: record for record in job.rundir.records()}
    items = job.bench.items
    result = {
        "wall_s": wall_s,
        "thinking_tokens": sum(r.thinking_tokens for r in records.values()),
        "sampled": [records[item.item_id].generated_tokens for item in items],
        "prompts": [Session(model).prompt_ids(item.question) for item in items],
    }
    model.backend.close()
    return result


def raw_batched(prompts: list[list[int]], counts: list[int], width: int) -> float:
    """Seconds for a plain batched greedy loop to decode counts[i] tokens after prompts[i]."""
    return decode_loop().call(lambda: _raw_batched(prompts, counts, width))


def _raw_batched(prompts: list[list[int]], counts: list[int], width: int) -> float:
    model_params = L.llama_model_default_params()
    model = L.llama_model_load_from_file(locate_weights(resolve_model(None)).encode(), model_params)
    params = L.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_seq_max = CONTEXT, CONTEXT, width
    params.n_threads = params.n_threads_batch = os.cpu_count() or 1
    ctx = L.llama_init_from_model(model, params)
    n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    batch = L.llama_batch_init(CONTEXT, 0, width)
    started = time.perf_counter()
    for first in range(0, len(prompts), width):
        group = list(range(first, min(first + width, len(prompts))))
        L.llama_memory_clear(L.llama_get_memory(ctx), True)
        entries = [(token, pos, seq, pos == len(prompts[i]) - 1)
                   for seq, i in enumerate(group) for pos, token in enumerate(prompts[i])]
        rows = _decode(ctx, batch, entries)
        produced = {seq: 0 for seq in range(len(group))}
        while True:
            active = [seq for seq in produced if produced[seq] < counts[group[seq]]]
            if not active:
                break
            step = []
            for seq in active:
                logits = np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, rows[seq]), shape=(n_vocab,))
                step.append((int(logits.argmax()), len(prompts[group[seq]]) + produced[seq], seq, True))
                produced[seq] += 1
            rows = _decode(ctx, batch, step)
    elapsed = time.perf_counter() - started
    L.llama_batch_free(batch)
    L.llama_free(ctx)
    L.llama_model_free(model)
    return elapsed


def _decode(ctx, batch, entries: list[tuple[int, int, int, bool]]) -> dict[int, int]:
    """One llama_decode of (token, position, sequence id, wants logits); returns seq -> logits row."""
    rows = {}
    for index, (token, pos, seq, logits) in enumerate(entries):
        batch.token[index], batch.pos[index] = token, pos
        batch.n_seq_id[index] = 1
        batch.seq_id[index][0] = seq
        batch.logits[index] = logits
        if logits:
            rows[seq] = index
    batch.n_tokens = len(entries)
    if L.llama_decode(ctx, batch) != 0:
        raise RuntimeError("llama_decode failed")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--budget", type=int, default=128)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--max-answer", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    ratios_a, ratios_b = [], []
    for repeat in range(1, args.repeats + 1):
        one = eval_once(args.questions, args.budget, args.max_answer, 1)
        many = eval_once(args.questions, args.budget, args.max_answer, args.parallel)
        raw_s = raw_batched(many["prompts"], many["sampled"], args.parallel)
        one_rate, many_rate = one["thinking_tokens"] / one["wall_s"], many["thinking_tokens"] / many["wall_s"]
        eval_rate, raw_rate = sum(many["sampled"]) / many["wall_s"], sum(many["sampled"]) / raw_s
        ratios_a.append(many_rate / one_rate)
        ratios_b.append(eval_rate / raw_rate)
        print(f"run {repeat}: one at a time {one['thinking_tokens']} thinking tokens in {one['wall_s']:.1f} s "
              f"({one_rate:.1f}/s); --parallel {args.parallel} {many['thinking_tokens']} in {many['wall_s']:.1f} s "
              f"({many_rate:.1f}/s); sampled {sum(many['sampled'])} tokens: eval {eval_rate:.1f}/s, "
              f"raw batched loop {raw_rate:.1f}/s ({raw_s:.1f} s)", flush=True)
    print()
    print(f"(a) --parallel {args.parallel} / one at a time, thinking tokens/s: median {statistics.median(ratios_a):.2f} "
          f"(runs {', '.join(f'{r:.2f}' for r in ratios_a)}); goal >= 2.0")
    print(f"(b) --parallel {args.parallel} eval / raw batched llama.cpp loop, tokens/s: median "
          f"{statistics.median(ratios_b):.2f} (runs {', '.join(f'{r:.2f}' for r in ratios_b)}); goal >= 0.9")


if __name__ == "__main__":
    main()
