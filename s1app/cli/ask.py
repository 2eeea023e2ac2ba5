"""`s1app ask`: one question under a budget, streamed live (or as one JSON object)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Annotated

import typer

from s1app.cli.logs import open_log, recorder_for
from s1app.cli.run_options import RunOptions, with_run_options
from s1app.cli.terminal_view import TerminalView
from s1app.cli.watch import watch
from s1app.llama_log import llama_log_report
from s1app.session import Session, validate_question


@with_run_options()
def ask(
    question: Annotated[str, typer.Argument(help="The question to ask.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the finished run as one JSON object.")] = False,
    *,
    options: RunOptions,
) -> None:
    """Ask one question and watch the model think under the budget."""
    question = validate_question(question)
    config = options.budget_config()
    session = Session(options.load())
    cancel = threading.Event()
    run = session.ask(question, config, cancel)
    view = None if json_output else TerminalView()
    interrupted = watch(run, cancel, view, recorder_for(open_log(options.db, options.no_log)))
    if json_output:
        print(json.dumps(run.to_json(), ensure_ascii=False))
    if interrupted:
        print("Cancelled (Ctrl-C): kept what the model had produced.", file=sys.stderr)
        raise typer.Exit(130)
    if run.finished is not None and run.finished.error:
        if llama_log_report():
            print(llama_log_report(), file=sys.stderr)
        raise typer.Exit(1)
