"""Drives one in-process vLLM engine (the embedded GGUF, converted) through the budget engine and
the eval harness, and prints one JSON report; run by tests/vllm_runs.py in the Python that has
vLLM (one engine start for every vLLM test: ~30-70 s each here). Not a test file."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parity_cases import CASES, QUESTION, control_problems  # noqa: E402
from sweep_records import COMPARED, sweep_records  # noqa: E402

from s1app.backends import BackendOptions, create_backend  # noqa: E402
from s1app.backends.base import Finish, Sampling  # noqa: E402
from s1app.budget import BudgetConfig  # noqa: E402
from s1app.convert import hf_folder_for_gguf  # noqa: E402
from s1app.eval.plan import EvalPlan  # noqa: E402
from s1app.events import ThinkingDelta  # noqa: E402
from s1app.loading import prepare  # noqa: E402
from s1app.registry import locate_weights, resolve_model  # noqa: E402
from s1app.session import Session  # noqa: E402


def finished_run(loaded, config: BudgetConfig, cancel: threading.Event | None = None):
    run = Session(loaded).ask(QUESTION, config, cancel=cancel).wait()
    return run, run.thinking + run.answer


def logprobs_and_bans(backend, prompt: list[int], eos: int) -> dict:
    """Greedy pieces with their logprobs, then the same call with its first two tokens banned."""
    def pieces(**options):
        items = backend.generate(prompt, max_tokens=8, stop_token_ids={eos}, sampling=Sampling(), **options)
        return [item for item in items if not isinstance(item, Finish)]

    free = pieces(logprobs=True)
    banned = [free[0].token_id, free[1].token_id]
    steered = pieces(banned_token_ids=banned)
    return {"free_ids": [p.token_id for p in free], "free_logprobs": [p.logprob for p in free],
            "plain_logprobs": [p.logprob for p in pieces()], "banned": banned,
            "steered_ids": [p.token_id for p in steered]}


def probed_runs(loaded) -> dict:
    """A greedy run held to 64 thinking tokens with probes every 16 against the same run without;
    its second probe against the run held to that probe's position."""
    from s1app.loops import LoopSettings
    from s1app.probes import ProbeSettings

    def held(tokens: int, probes: ProbeSettings = ProbeSettings()) -> BudgetConfig:
        return BudgetConfig(max_thinking_tokens=tokens, min_thinking_tokens=tokens, max_answer_tokens=12,
                            loop=LoopSettings(enabled=False), probes=probes)

    unprobed_run = finished_run(loaded, held(64))[0]
    probed_run = finished_run(loaded, held(64, ProbeSettings(every=16, tokens=12)))[0]
    probe = probed_run.probes[1]
    capped = finished_run(loaded, held(probe.position_tokens))[0]
    return {"same_tokens": unprobed_run.finished.token_ids_sha256 == probed_run.finished.token_ids_sha256,
            "positions": [p.position_tokens for p in probed_run.probes],
            "confidences": [p.confidence for p in probed_run.probes],
            "probe_is_capped_run": probe.token_ids_sha256 == capped.finished.token_ids_sha256,
            "probe_text_is_capped_answer": probe.text == capped.answer}


def shared_and_separate_sweeps(loaded) -> dict:
    """A greedy budget x Waits sweep (2 GSM8K questions x budgets 0, 16, 32, 64 x Waits 0, 1), from
    one shared trajectory per question and in separate runs: the records of each, by setting."""
    plan = EvalPlan.from_options(bench="gsm8k", methods="bf", budgets="0,16,32,64", waits="0,1", max_answer_tokens=16)
    return {name: {"|".join(key): {f: getattr(record, f) for f in (*COMPARED, "shared")}
                   for key, record in sweep_records(loaded, plan, separate_runs=separate, limit=2, parallel=2).items()}
            for name, separate in (("shared", False), ("separate", True))}


def main() -> None:
    entry = resolve_model(None)
    # The test session's GGUF (tests/vllm_runs.py passes it): its converted folder is then the one
    # the training tests dequantize, converted once per machine; otherwise this Python's own copy.
    weights = sys.argv[1] if len(sys.argv) > 1 else locate_weights(entry)
    backend = create_backend("vllm", weights, entry.name, BackendOptions(context_length=2048))
    loaded = prepare(backend, entry)
    report: dict = {"info": {"name": backend.info.name, "context_length": backend.info.context_length,
                             "token_counts": backend.info.token_counts, "format": loaded.format_name},
                    # the folder the engine loaded (converted on first use, cached): `vllm serve` serves it too
                    "folder": str(hf_folder_for_gguf(weights))}

    report["parity"] = []
    for config in CASES:
        finished, _ = finished_run(loaded, config)
        report["parity"].append({"error": finished.error, "stats": asdict(finished.stats),
                                 "control_problems": control_problems(config, finished.stats)})

    greedy = BudgetConfig(max_thinking_tokens=24, num_waits=1, max_answer_tokens=12)
    report["greedy_texts"] = [finished_run(loaded, greedy)[1] for _ in range(2)]

    cancel = threading.Event()
    deltas = 0
    last = Session(loaded).ask(QUESTION, BudgetConfig(max_thinking_tokens=300, min_thinking_tokens=200), cancel=cancel)
    for event in last:
        if isinstance(event, ThinkingDelta):
            deltas += 1
            if deltas == 3:
                cancel.set()
    report["cancel"] = {"stop_reason": last.stats.stop_reason, "thinking_tokens": last.stats.thinking_tokens}

    results: list = [None, None]

    def one(index: int) -> None:
        results[index] = finished_run(loaded, BudgetConfig(max_thinking_tokens=12, max_answer_tokens=8))[0]

    threads = [threading.Thread(target=one, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report["concurrent"] = [{"error": run.error, "thinking_tokens": run.stats.thinking_tokens} for run in results]

    prompt = Session(loaded).prompt_ids(QUESTION)
    eos = backend.special_tokens()["eos"]
    items = list(backend.generate(prompt, max_tokens=64, stop_token_ids={eos}, sampling=Sampling()))
    report["stop"] = {"finish": items[-1].reason, "stop_token_id": items[-1].stop_token_id, "eos": eos,
                      "eos_yielded": any(getattr(item, "token_id", None) == eos for item in items[:-1]),
                      "last_is_finish": isinstance(items[-1], Finish)}
    report["logprobs_and_bans"] = logprobs_and_bans(backend, prompt, eos)
    report["probes"] = probed_runs(loaded)
    report["sweeps"] = shared_and_separate_sweeps(loaded)
    long_prompt = prompt * (backend.info.context_length // len(prompt) + 1)
    report["too_long"] = [item.reason for item in backend.generate(long_prompt, max_tokens=8, stop_token_ids={eos},
                                                                   sampling=Sampling())]
    backend.close()
    print(json.dumps(report, default=str), flush=True)


if __name__ == "__main__":  # vLLM starts its engine processes with spawn: the guard is required
    main()
