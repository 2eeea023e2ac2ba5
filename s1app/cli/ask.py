"""`s1app ask`: one question under a budget, streamed live (or as one JSON object)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Annotated

import typer

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
from s1app.events import Event, RunFinished
from s1app.loading import load_model
from s1app.session import Session, validate_question
from s1app.threaded import ThreadedStream
from s1app.transcript import RunTranscript


def ask(
    question: Annotated[str, typer.Argument(help="The question to ask.")],
    model: ModelOption = None,
    backend: BackendOption = None,
    format: FormatOption = "auto",
    max_thinking: MaxThinkingOption = None,
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
    json_output: Annotated[bool, typer.Option("--json", help="Print the finished run as one JSON object.")] = False,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Ask one question and watch the model think under the budget."""
    question = validate_question(question)
    config = budget_config(max_thinking, min_thinking, waits, ignore_str, max_answer, temperature, top_p, seed, loop_detect)
    loaded = load_model(model, backend=backend, format=format, options=backend_options(base_url, api_key, timeout, tensor_parallel_size, gpu_memory_utilization, dtype))
    session = Session(loaded)
    cancel = threading.Event()
    view = None if json_output else TerminalView()
    transcript = RunTranscript()
    recorder = recorder_for(open_log(db, no_log))
    interrupted = False

    def show(event: Event) -> None:
        transcript.add(event)
        if recorder is not None:
            recorder.record(event)
        if view is not None:
            view.show(event)

    stream = ThreadedStream(lambda: session.ask(question, config, cancel))
    while True:
        try:
            for event in stream:
                show(event)
            break
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
    finished = transcript.finished
    if view is not None:
        view.close(finished)
    if json_output:
        print(json.dumps(transcript.to_json(), ensure_ascii=False))
    if interrupted:
        print("Cancelled (Ctrl-C): kept what the model had produced.", file=sys.stderr)
        raise typer.Exit(130)
    if isinstance(finished, RunFinished) and finished.error:
        raise typer.Exit(1)
