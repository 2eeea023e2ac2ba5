"""The Blocks: one tab per view, one queue sized for two users plus a compare."""

from __future__ import annotations

import socket

import gradio as gr

from s1app.ui.bench import BenchTab
from s1app.ui.chat import ChatTab
from s1app.ui.compare import CompareTab
from s1app.ui.context import UIContext
from s1app.ui.history import HistoryTab
from s1app.ui.render import CSS
from s1app.ui.sweep import SweepTab

# Concurrent handlers per event listener. The llama.cpp backend decodes every running sequence
# in one batch (up to its --parallel slots; runs beyond wait for a slot inside the backend rather
# than in Gradio's queue), so two users, or the two sides of a compare, generate at once.
CONCURRENCY_PER_LISTENER = 4

# Gradio's queue looks for new work every 1 ms, and for progress to send every 10 ms, even when
# idle: measured ~7 % of a core with nothing asked, CPU that on a 2-core machine comes out of
# llama.cpp's threads (docs/ui.md#performance). A job now starts at most 10 ms later; the app
# shows no Gradio progress bars.
QUEUE_POLL_S = 0.01
PROGRESS_POLL_S = 0.1

THEME = gr.themes.Soft()


def build_app(ctx: UIContext) -> gr.Blocks:
    info = ctx.default_model.backend.info
    with gr.Blocks(title="s1app: test-time scaling") as demo:
        gr.Markdown(
            f"### s1app · budget forcing, live\n"
            f"Model **{ctx.default_model.name}** ({info.name}, format {ctx.default_model.format_name}, "
            f"context {info.context_length} tokens). Text the engine forced is "
            f'<mark class="s1-forced">marked</mark>.'
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                ChatTab(ctx).build()
            with gr.Tab("Compare", id="compare"):
                CompareTab(ctx).build()
            with gr.Tab("Budget sweep", id="sweep"):
                SweepTab(ctx).build()
            with gr.Tab("Benchmark", id="bench"):
                BenchTab(ctx).build()
            with gr.Tab("History", id="history") as history_tab:
                HistoryTab(ctx).build(history_tab)

        def stop_closed_session(request: gr.Request) -> None:
            ctx.scopes.stop_session(request.session_hash)

        demo.unload(stop_closed_session)
    demo.queue(default_concurrency_limit=CONCURRENCY_PER_LISTENER)
    calm_idle_queue(demo)
    return demo


def calm_idle_queue(demo: gr.Blocks) -> None:
    """Slow Gradio's idle polling (private attributes of gradio 6's Queue; left alone if renamed)."""
    queue = getattr(demo, "_queue", None)
    if hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = max(queue.sleep_when_free, QUEUE_POLL_S)
    if hasattr(queue, "progress_update_sleep_when_free"):
        queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, PROGRESS_POLL_S)


def launch(demo: gr.Blocks, *, host: str, port: int | None, auth: tuple[str, str] | None = None,
           share: bool = False, block: bool = True, quiet: bool = False) -> None:
    demo.launch(server_name=host, server_port=port, auth=auth, share=share, theme=THEME, css=CSS,
                prevent_thread_lock=not block, quiet=quiet, footer_links=["api", "settings"])


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def serve_in_background(ctx: UIContext, host: str = "127.0.0.1") -> tuple[gr.Blocks, str]:
    """Build and launch the app on a free port without blocking (tests, benchmarks); returns (demo, url).

    Stop it with ``demo.close()``.
    """
    demo = build_app(ctx)
    port = free_port(host)
    launch(demo, host=host, port=port, block=False, quiet=True)
    return demo, f"http://{host}:{port}/"
