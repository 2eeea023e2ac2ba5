"""What a real browser on the same machine costs the engine: tokens/s a person sees vs the engine alone.

The issue's goal is measured with gradio_client (bench_ui_stream.py). This script measures the
other end: Debian's Chromium (headless, software rendering, driven by Playwright) opens the app,
asks the same question under the same budget, and the wall time from the click to the finished
status line is compared with the engine alone, alternating, on the same model. On a 2-core
machine the browser's rendering of every update competes with llama.cpp's two threads.

    .venv/bin/python bench/bench_ui_browser.py [--thinking 512] [--rounds 5] [--interval 0.1]
    .venv/bin/python bench/bench_ui_browser.py --trace trace.json   # one traced run: where Chromium's time goes
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_ui_stream import QUESTION, engine_run  # noqa: E402
from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, STATUS  # noqa: E402


def browser_run(browser, url: str, thinking: int, answer: int) -> tuple[int, float]:
    """(tokens, seconds from the Ask click to the finished status line) in a fresh page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(180_000)
    try:
        page.goto(url)
        page.wait_for_selector("#chat-question textarea")
        page.locator("#chat-question textarea").fill(QUESTION)
        page.locator("#chat-max-thinking-typed input").fill(str(thinking))
        page.locator("#chat-max-thinking-typed input").press("Enter")
        page.locator("#chat-more").get_by_text("More").click()
        page.locator("#chat-max-answer input").fill(str(answer))
        page.locator("#chat-loop-detect input").uncheck()
        page.wait_for_timeout(500)
        started = time.perf_counter()
        page.locator("#chat-ask").click()
        page.wait_for_selector('#chat-status [data-state="finished"]')
        seconds = time.perf_counter() - started
        status = page.locator(STATUS)
        tokens = int(status.get_attribute("data-thinking-tokens")) + int(status.get_attribute("data-answer-tokens"))
        return tokens, seconds
    finally:
        page.close()


def trace_summary(path: str, top: int = 15) -> list[tuple[str, float]]:
    """Seconds of the renderer's main thread per top-level trace event name, largest first."""
    events = json.loads(Path(path).read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    main_threads = {(e["pid"], e["tid"]) for e in events
                    if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"}
    spans = sorted((e["ts"], e["ts"] + e.get("dur", 0), e["name"]) for e in events
                   if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in main_threads)
    totals: collections.Counter = collections.Counter()
    covered_until = 0.0
    for start, end, name in spans:  # top level only: a span inside the previous one is its child
        if start >= covered_until:
            totals[name] += (end - start) / 1e6
            covered_until = end
    return totals.most_common(top)


def main() -> None:
    from s1app.ui.streaming import DEFAULT_INTERVAL_S

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thinking", type=int, default=512)
    parser.add_argument("--answer", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="the UI's update interval (s)")
    parser.add_argument("--trace", help="record a Chromium performance trace of one run to this file and summarize it")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from s1app.budget import BudgetConfig
    from s1app.loading import load_model
    from s1app.loops import LoopSettings
    from s1app.ui.app import serve_in_background
    from s1app.ui.context import UIContext

    model = load_model()
    config = BudgetConfig(max_thinking_tokens=args.thinking, max_answer_tokens=args.answer, temperature=0.0,
                          seed=0, loop=LoopSettings(enabled=False))
    demo, url = serve_in_background(UIContext(default_model=model, update_interval_s=args.interval))
    engine_run(model, config)  # warm-up
    print(f"model {model.name} · {os.cpu_count()} CPUs · budget {args.thinking} + {args.answer} tokens · "
          f"UI batch interval {args.interval * 1000:.0f} ms · {CHROMIUM} headless")
    ratios = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        if args.trace:
            browser.start_tracing(path=args.trace, categories=["devtools.timeline", "v8", "blink"])
            seen, seen_s = browser_run(browser, url, args.thinking, args.answer)
            browser.stop_tracing()
            print(f"traced run: {seen} tokens in {seen_s:.2f} s; renderer main thread, top-level events:")
            for name, seconds in trace_summary(args.trace):
                print(f"  {seconds:7.3f} s  {name}")
            browser.close()
            demo.close()
            return
        for round_index in range(1, args.rounds + 1):
            tokens, wall_s, _ = engine_run(model, config)
            seen, seen_s = browser_run(browser, url, args.thinking, args.answer)
            ratios.append((seen / seen_s) / (tokens / wall_s))
            print(f"round {round_index}: engine {tokens} tokens in {wall_s:.2f} s = {tokens / wall_s:.1f} tok/s · "
                  f"browser {seen} tokens in {seen_s:.2f} s = {seen / seen_s:.1f} tok/s · browser/engine {ratios[-1]:.3f}")
        browser.close()
    print(f"median browser/engine = {statistics.median(ratios):.3f}")
    demo.close()


if __name__ == "__main__":
    main()
