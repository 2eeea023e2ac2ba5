"""The `s1app` command. Each command group lives in its own module; this file only wires them."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console

from s1app.cli import ask, chat, doctor, logs, models, train, ui
from s1app.cli import eval as eval_cli
from s1app.errors import BackendError, ModelFormatError, S1AppError
from s1app.llama_log import llama_log_report, show_llama_log

app = typer.Typer(
    help="s1app: watch a reasoning model think under a budget you set (s1 budget forcing).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("ask")(ask.ask)
app.command("chat")(chat.chat)
app.command("models")(models.list_models)
app.command("doctor")(doctor.doctor)
app.command("eval")(eval_cli.eval_command)
app.add_typer(logs.logs_app, name="logs")
app.command("train")(train.train)
app.command("curate")(train.curate)
app.command("export-model")(train.export_model)
app.command("ui")(ui.ui)


@app.callback()
def global_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", envvar="S1APP_VERBOSE",
                                          help="Show llama.cpp's own log (quiet otherwise; its last lines come with an error).")] = False,
) -> None:
    # Options for every command, given before the command's name: `s1app --verbose ask ...`.
    if verbose:
        show_llama_log()


def main(argv: list[str] | None = None) -> None:
    """Entry point: a person's mistake prints one clear line (exit 2), never a traceback."""
    if hasattr(signal, "SIGUSR1"):  # a command that seems stuck: `kill -USR1 PID` prints every thread's stack
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app(args=argv)
    except S1AppError as failure:
        console = Console(stderr=True)
        console.print(f"[bold red]Error:[/] {failure}", highlight=False, soft_wrap=True)
        if isinstance(failure, (BackendError, ModelFormatError)) and llama_log_report():
            console.print(llama_log_report(), style="dim", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        Console(stderr=True).print("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:  # the reader of our output went away (`s1app ask ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
