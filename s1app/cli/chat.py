"""`s1app chat`: an interactive multi-turn conversation in the terminal."""

from __future__ import annotations

from rich.console import Console

from s1app.cancel import CancelScope
from s1app.cli.logs import open_log
from s1app.cli.run_options import RunOptions, with_run_options
from s1app.cli.terminal_view import TerminalView
from s1app.cli.watch import watch
from s1app.errors import S1AppError
from s1app.session import Session


@with_run_options(max_thinking=512)
def chat(*, options: RunOptions) -> None:
    """Chat in the terminal; Ctrl-C stops the current answer, Ctrl-D (or /quit) leaves."""
    config = options.budget_config()
    loaded = options.load()
    session = Session(loaded)
    console = Console(highlight=False)
    log = open_log(options.db, options.no_log)
    log = log.new_conversation(source="chat") if log is not None else None
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
        scope = CancelScope()
        try:
            run = session.ask(question, config, cancel=scope.new_flag(), log=log)
        except S1AppError as failure:  # a prompt too long for the context: say so, keep chatting
            console.print(f"[bold red]Error:[/] {failure}")
            continue
        watch(run, scope, TerminalView(run, console))
