"""The `s1app` command. Each command group lives in its own module; this file only wires them."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys

import typer
from rich.console import Console

from s1app.cli import ask, chat, doctor, logs, models, train
from s1app.cli import eval as eval_cli
from s1app.errors import S1AppError

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


def main() -> None:
    """Entry point: a person's mistake prints one clear line (exit 2), never a traceback."""
    if hasattr(signal, "SIGUSR1"):  # a command that seems stuck: `kill -USR1 PID` prints every thread's stack
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app()
    except S1AppError as failure:
        Console(stderr=True).print(f"[bold red]Error:[/] {failure}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        Console(stderr=True).print("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:  # the reader of our output went away (`s1app ask ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
