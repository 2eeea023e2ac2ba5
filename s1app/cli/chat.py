"""`s1app chat`: an interactive multi-turn conversation in the terminal."""

from __future__ import annotations

import threading

from rich.console import Console

from s1app.cli.logs import open_log, recorder_for
from s1app.cli.options import (
    ApiKeyOption,
    BackendOption,
    BaseUrlOption,
    DtypeOption,
    GpuMemoryOption,
    DbOption,
    FormatOption,
    IgnoreStrOption,
    LoopDetectOption,
    MaxAnswerOption,
    MaxThinkingOption,
    MinThinkingOption,
    ModelOption,
    NoLogOption,
    SeedOption,
    TensorParallelOption,
    TimeoutOption,
    TemperatureOption,
    TopPOption,
    WaitsOption,
    backend_options,
    budget_config,
)
from s1app.cli.terminal_view import TerminalView
from s1app.errors import ConfigError
from s1app.loading import load_model
from s1app.session import Session
from s1app.threaded import ThreadedStream


def chat(
    model: ModelOption = None,
    backend: BackendOption = None,
    format: FormatOption = "auto",
    max_thinking: MaxThinkingOption = 512,
    min_thinking: MinThinkingOption = 0,
    waits: WaitsOption = 0,
    ignore_str: IgnoreStrOption = "Wait",
    max_answer: MaxAnswerOption = 512,
    temperature: TemperatureOption = 0.0,
    top_p: TopPOption = 1.0,
    seed: SeedOption = None,
    loop_detect: LoopDetectOption = True,
    base_url: BaseUrlOption = None,
    api_key: ApiKeyOption = None,
    timeout: TimeoutOption = 60.0,
    tensor_parallel_size: TensorParallelOption = 1,
    gpu_memory_utilization: GpuMemoryOption = 0.9,
    dtype: DtypeOption = None,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Chat in the terminal; Ctrl-C stops the current answer, Ctrl-D (or /quit) leaves."""
    config = budget_config(max_thinking, min_thinking, waits, ignore_str, max_answer, temperature, top_p, seed, loop_detect)
    loaded = load_model(model, backend=backend, format=format, options=backend_options(base_url, api_key, timeout, tensor_parallel_size, gpu_memory_utilization, dtype))
    session = Session(loaded)
    console = Console(highlight=False)
    log = open_log(db, no_log)
    conversation = log.new_conversation(source="chat") if log is not None else None
    console.print(f"[bold]s1app chat[/] · {loaded.name} · thinking budget {config.max_thinking_tokens} · waits {config.num_waits}")
    while True:
        try:
            question = console.input("[bold green]you> [/]")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if question.strip() in ("/quit", "/exit"):
            return
        if not question.strip():
            continue
        cancel = threading.Event()
        view = TerminalView(console)
        stream = ThreadedStream(lambda q=question: session.ask(q, config, cancel))
        recorder = recorder_for(log, conversation)
        finished = None
        while True:
            try:
                for event in stream:
                    view.show(event)
                    if recorder is not None:
                        recorder.record(event)
                    finished = event
                break
            except KeyboardInterrupt:
                cancel.set()
            except ConfigError as failure:
                console.print(f"[bold red]Error:[/] {failure}")
                break
        view.close(finished if finished is not None and type(finished).__name__ == "RunFinished" else None)
