"""Does streaming to the browser slow the engine down? Tokens/s delivered to a client vs the engine alone.

Measures, on the same model, prompt, budget and greedy settings, alternating the two so a busy
machine hurts both alike:
  engine: Session.ask iterated in-process, tokens / wall time to RunFinished;
  client: the Chat tab's /chat endpoint through gradio_client (streaming), tokens / wall time from
          submit to the last update received.
Tokens are thinking + answer tokens (the run's own counts). Prints each pair, the medians and
client/engine (goal >= 0.90), and how many updates the client got (batched, not one per token).

    .venv/bin/python bench/bench_ui_stream.py [--thinking 512] [--answer 64] [--rounds 6] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUESTION = "Write a short story about a robot who learns to paint."


def engine_run(model, config) -> tuple[int, float, str]:
    """The engine alone, iterated in a worker thread as the UI and the CLI run it.

    (In the main thread llama.cpp's OpenMP spin-waiting made runs here 5-200x slower on a busy
    2-core machine; OMP_WAIT_POLICY=passive removes the gap. A worker thread is what users get.)
    """
    from s1app.session import Session

    result: list = []
    started = time.perf_counter()
    worker = threading.Thread(target=lambda: result.append(Session(model).ask(QUESTION, config).wait()))
    worker.start()
    worker.join()
    wall_s = time.perf_counter() - started
    run = result[0]
    return run.thinking_tokens + run.answer_tokens, wall_s, run.thinking


def client_run(url: str, thinking: int, answer: int) -> tuple[int, float, int, str]:
    """One /chat run from a fresh client session (a reused session would make it a follow-up turn).

    Runs in a process of its own, as a browser does: the client's parsing of every update is not
    the server's work and must not hold the server's interpreter lock.
    """
    from gradio_client import Client

    client = Client(url, verbose=False)
    started = time.perf_counter()
    job = client.submit(question=QUESTION, model_name="", backend="", max_thinking=thinking, waits=0,
                        ignore_str="Wait", temperature=0, seed=0, min_thinking=0, max_answer=answer,
                        loop_detect=False, gpu_layers=None, api_name="/chat")
    # Wait on the job's future: iterating the job would poll every millisecond, CPU a browser
    # does not spend. The job still receives every streamed update (job.outputs()).
    job.result()
    wall_s = time.perf_counter() - started
    updates = len(job.outputs())
    messages, status, _question = job.outputs()[-1]
    numbers = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', status))
    if numbers.get("state") != "finished":
        raise RuntimeError(f"the UI run did not finish: {status}")
    tokens = int(numbers["thinking-tokens"]) + int(numbers["answer-tokens"])
    thinking = next(m for m in messages if (m.get("metadata") or {}).get("title"))["content"]
    thinking_text = thinking[0]["text"] if isinstance(thinking, list) else thinking
    return tokens, wall_s, updates, thinking_text


def main() -> None:
    from s1app.ui.streaming import DEFAULT_INTERVAL_S

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thinking", type=int, default=512, help="max thinking tokens (the model uses all of them)")
    parser.add_argument("--answer", type=int, default=64, help="max answer tokens")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S,
                        help="the UI's update interval in seconds (default: the app's)")
    args = parser.parse_args()

    from s1app.budget import BudgetConfig
    from s1app.loading import load_model
    from s1app.loops import LoopSettings
    from s1app.ui.app import serve_in_background
    from s1app.ui.context import UIContext

    model = load_model()
    config = BudgetConfig(max_thinking_tokens=args.thinking, max_answer_tokens=args.answer, temperature=0.0,
                          seed=0, loop=LoopSettings(enabled=False))
    context = UIContext(default_model=model, update_interval_s=args.interval)  # no store: measure streaming only
    demo, url = serve_in_background(context)
    client = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    client.submit(client_run, url, 8, 8).result()  # warm-up: start the client process, import gradio_client
    engine_run(model, config)  # warm-up: page in the weights, fill caches
    print(f"model {model.name} · {os.cpu_count()} CPUs · budget {args.thinking} thinking + {args.answer} answer tokens · "
          f"UI batch interval {args.interval * 1000:.0f} ms")
    engine_rates, client_rates, ratios = [], [], []
    for round_index in range(1, args.rounds + 1):
        # Alternate which side goes first, so a machine that slows down or speeds up hurts both alike.
        sides = ["engine", "client"] if round_index % 2 else ["client", "engine"]
        for side in sides:
            if side == "engine":
                tokens, wall_s, engine_thinking = engine_run(model, config)
            else:
                ui_tokens, ui_wall_s, updates, ui_thinking = client.submit(
                    client_run, url, args.thinking, args.answer).result()
        engine_rates.append(tokens / wall_s)
        client_rates.append(ui_tokens / ui_wall_s)
        ratios.append(client_rates[-1] / engine_rates[-1])
        print(f"round {round_index}: engine {tokens} tokens in {wall_s:.2f} s = {engine_rates[-1]:.1f} tok/s · "
              f"client {ui_tokens} tokens in {ui_wall_s:.2f} s = {client_rates[-1]:.1f} tok/s "
              f"({updates} updates, {ui_tokens / max(updates, 1):.1f} tokens per update) · client/engine {ratios[-1]:.3f}")
        if ui_tokens != tokens:
            print(f"  note: token counts differ ({tokens} vs {ui_tokens}): the two runs did not produce the same text")
    engine_median, client_median = statistics.median(engine_rates), statistics.median(client_rates)
    print(f"median: engine {engine_median:.1f} tok/s · client {client_median:.1f} tok/s · "
          f"client/engine = {statistics.median(ratios):.3f} (median of the rounds' ratios; goal >= 0.90)")
    client.shutdown()
    demo.close()


if __name__ == "__main__":
    main()
