"""`s1app logs ...`: list, search, show, export and import the session log; and ``open_log``, the
RunLog that `ask`, `chat` and `eval` record into (a store failure warns and runs go on unrecorded)."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from s1app.cli.run_options import OPTION_TYPES
from s1app.errors import StoreError
from s1app.store import (
    RunLog,
    export_runs,
    get_run,
    import_runs,
    list_runs,
    open_store,
)
from s1app.store.export import FORCED_CLOSE, FORCED_OPEN

DbOption = OPTION_TYPES["db"]

FORCED_STYLE = "bold black on yellow"

logs_app = typer.Typer(help="The session log: every run, its thinking and what the engine forced.",
                       no_args_is_help=True)


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    md = "md"


SearchOption = Annotated[Optional[str], typer.Option("--search", "-q", help="Only runs whose question, thinking or answer match these words.")]


@logs_app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs, newest first.")] = 20,
    search: SearchOption = None,
    db: DbOption = None,
) -> None:
    """List recent runs (newest first)."""
    with open_store(db) as store:
        runs = list_runs(store, limit=limit, search=search)
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1, 0, 0))
    for column, width in (("run", 8), ("started", 11), ("status", 11), ("model", 5), ("think/ans", 9), ("waits", 5)):
        table.add_column(column, no_wrap=True, min_width=width)
    table.add_column("question", ratio=1, min_width=16, overflow="fold")
    for run in runs:
        table.add_row(run["id"][:8], _local_time(run["started_at"])[5:16], run["status"], run["model"] or "",
                      f"{run['thinking_tokens'] or 0}/{run['answer_tokens'] or 0}", str(run["waits_inserted"] or 0),
                      " ".join(run["question"].split())[:100])
    console = Console(highlight=False)
    if runs:
        console.print(table)
    else:
        console.print("No runs recorded yet." if not search else f"No runs match {search!r}.")


@logs_app.command("show")
def show_command(run_id: Annotated[str, typer.Argument(help="A run id (or its first characters).")], db: DbOption = None) -> None:
    """Re-render one run, with the text the engine forced marked."""
    with open_store(db) as store:
        record = get_run(store, run_id)
    console = Console(highlight=False)
    console.print(f"[bold]{record['question']}[/]")
    console.print(
        f"run {record['id']} · {_local_time(record['started_at'])} · {record['status']} · {record['model']} "
        f"({record['backend']}, {record['format']})", style="dim")
    console.print(Text(f"{FORCED_OPEN}marked{FORCED_CLOSE} = written by the engine, not the model", style=FORCED_STYLE))
    console.print()
    for section in (("thinking", "delimiter"), ("answer",)):
        text = Text()
        for segment in record["segments"] or []:
            if segment["section"] in section:
                if segment["forced"]:
                    text.append(f"{FORCED_OPEN}{segment['text']}{FORCED_CLOSE}", style=FORCED_STYLE)
                else:
                    text.append(segment["text"], style="dim" if section[0] == "thinking" else "")
        console.print(text)
    console.print()
    stats = (f"thinking {record['thinking_tokens']} tokens ({record['thinking_tokens_sampled']} sampled, "
             f"{record['thinking_tokens_forced']} forced) · waits {record['waits_inserted']} · "
             f"answer {record['answer_tokens']} tokens · stop {record['stop_reason']}")
    if record["wall_s"] is not None:
        stats += f" · {record['wall_s']:.1f} s · {record['tokens_per_s']:.1f} tok/s"
    console.print(stats, style="dim")
    for intervention in record["interventions"]:
        console.print(f"  {intervention['kind']} at thinking token {intervention['position_tokens']}: "
                      f"{intervention['text']!r}", style="dim")
    for probe in record.get("probes", []):
        confidence = "" if probe["confidence"] is None else f" (p {probe['confidence']:.2f})"
        console.print(f"  probe ({probe['kind']}) at thinking token {probe['thinking_tokens']}: "
                      f"{probe['extracted'] if probe['extracted'] is not None else '(no answer)'}{confidence}", style="cyan")
    if record["error"]:
        console.print(f"error: {record['error']}", style="red")


@logs_app.command("export")
def export_command(
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="jsonl (re-importable), csv or md.")] = ExportFormat.jsonl,
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="File to write (default: standard output).")] = None,
    search: SearchOption = None,
    db: DbOption = None,
) -> None:
    """Export runs (all, or those matching --search), oldest first."""
    with open_store(db) as store:
        count = export_runs(store, out if out else sys.stdout, format.value, search=search)
    if out:
        Console(stderr=True).print(f"Exported {count} run(s) to {out}.", highlight=False)


@logs_app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="A JSONL file written by `s1app logs export`.")],
    db: DbOption = None,
) -> None:
    """Import runs from JSONL. A malformed line imports nothing (its line number is reported)."""
    with open_store(db) as store:
        report = import_runs(store, file)
    Console(highlight=False).print(f"Imported {report.imported} run(s); {report.skipped_existing} already present.")


# -- recording for `ask` and `chat` -----------------------------------------------------------------


def _warn(message: str) -> None:
    Console(stderr=True).print(f"[bold yellow]Warning:[/] {message}", highlight=False)


def open_log(db: str | None, no_log: bool) -> RunLog | None:
    """The session log to record into, or None (--no-log, or it cannot be opened: warns)."""
    if no_log:
        return None
    try:
        return RunLog(open_store(db), warn=_warn)
    except StoreError as failure:
        _warn(f"{failure} Going on without recording.")
        return None


def _local_time(utc_iso: str | None) -> str:
    if not utc_iso:
        return ""
    try:
        return datetime.fromisoformat(utc_iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return utc_iso
