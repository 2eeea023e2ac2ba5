"""`s1app ask`: one question under a budget, streamed live (or as one JSON object)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from s1app.cancel import CancelScope
from s1app.cli.logs import open_log
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
    scope = CancelScope()
    run = session.ask(question, config, cancel=scope.new_flag(), log=open_log(options.db, options.no_log))
    interrupted = watch(run, scope, None if json_output else TerminalView(run))
    if json_output:
        print(json.dumps(run.to_json(), ensure_ascii=False))
    if interrupted:
        print("Cancelled (Ctrl-C): kept what the model had produced.", file=sys.stderr)
        raise typer.Exit(130)
    if run.finished is not None and run.finished.error:
        if llama_log_report():
            print(llama_log_report(), file=sys.stderr)
        raise typer.Exit(1)
