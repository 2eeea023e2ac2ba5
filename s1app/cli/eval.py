"""`s1app eval`: a benchmark under the paper's test-time scaling methods; resumable, with a report.

A progress bar while it runs (counts only: never a question); then the summary tables on the
terminal, and in the run folder items.jsonl, summary.md, summary.json and the plot. Ctrl-C stops
the runs in flight and keeps every finished item; `--resume RUN` finishes the rest.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from s1app.cancel import CancelScope
from s1app.cli.interrupts import first_ctrl_c_calls
from s1app.cli.logs import open_log
from s1app.cli.paths import absolute_if_file
from s1app.cli.run_options import OPTION_TYPES, RunOptions
from s1app.errors import ConfigError
from s1app.eval.benches import BENCH_NAMES
from s1app.eval.harness import (
    EvalJob,
    EvalSummary,
    new_job,
    resumed_job,
    run_job,
    summarize_job,
)
from s1app.eval.methods import METHODS
from s1app.eval.plan import (
    DEFAULT_BUDGETS,
    DEFAULT_MAX_TRIES,
    DEFAULT_SWEEP,
    EVAL_MAX_ANSWER_TOKENS,
    EvalPlan,
)
from s1app.eval.records import ItemRecord
from s1app.eval.report import METHOD_HEADERS, POINT_HEADERS, SAVED_HEADERS, method_rows, point_rows, saved_rows
from s1app.eval.rundir import default_out_dir
from s1app.eval.shared import sharing_notes
from s1app.loading import LoadedModel, close_at_exit, load_model
from s1app.store import RunLog

ModelOption = OPTION_TYPES["model"]
BackendOption = OPTION_TYPES["backend"]
BaseUrlOption = OPTION_TYPES["base_url"]
ApiKeyOption = OPTION_TYPES["api_key"]
TokenizerOption = OPTION_TYPES["tokenizer"]
TimeoutOption = OPTION_TYPES["timeout"]
GpuLayersOption = OPTION_TYPES["gpu_layers"]
NoLogOption = OPTION_TYPES["no_log"]
DbOption = OPTION_TYPES["db"]


def eval_command(
    bench: Annotated[Optional[str], typer.Option("--bench", help=f"{' | '.join(BENCH_NAMES)} | FILE.jsonl (question/answer fields).")] = None,
    method: Annotated[Optional[str], typer.Option("--method", help=f"One or more, comma-separated: {', '.join(METHODS)}.")] = None,
    budgets: Annotated[Optional[str], typer.Option("--budgets", help=f"Thinking budgets in tokens (default {DEFAULT_BUDGETS}).")] = None,
    waits: Annotated[Optional[str], typer.Option("--waits", help="Budget forcing: Wait counts, e.g. 0,1,2 (default 0).")] = None,
    votes: Annotated[Optional[str], typer.Option("--votes", help="Majority voting: samples per question, e.g. 1,2,4.")] = None,
    max_tries: Annotated[Optional[int], typer.Option("--max-tries", help=f"Rejection sampling: samples at most per question (default {DEFAULT_MAX_TRIES}).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N questions.")] = None,
    max_answer: Annotated[Optional[int], typer.Option("--max-answer", help=f"Answer budget in tokens (default {EVAL_MAX_ANSWER_TOKENS}).")] = None,
    ceiling_tokens: Annotated[Optional[int], typer.Option("--ceiling-tokens", help="Cap for methods that do not cap thinking themselves (default: the context).")] = None,
    probe_every: Annotated[Optional[int], typer.Option("--probe-every", help=f"stable, confident: an answer probe every N thinking tokens (default {DEFAULT_SWEEP.probe_every}).")] = None,
    stable_k: Annotated[Optional[int], typer.Option("--stable-k", help=f"stable: end thinking when the last K probes agree (default {DEFAULT_SWEEP.stable_k}).")] = None,
    confidence: Annotated[Optional[float], typer.Option("--confidence", help=f"confident: end thinking at a probe this confident, 0-1 (default {DEFAULT_SWEEP.confidence}).")] = None,
    model: ModelOption = None,
    backend: BackendOption = None,
    base_url: BaseUrlOption = None,
    api_key: ApiKeyOption = None,
    tokenizer: TokenizerOption = None,
    timeout: TimeoutOption = 60.0,
    gpu_layers: GpuLayersOption = None,
    parallel: Annotated[int, typer.Option("--parallel", min=1, help="Questions run at once (batched by the backend).")] = 1,
    separate_runs: Annotated[bool, typer.Option("--separate-runs", help="Budget forcing: one run per setting instead of one shared greedy trajectory per question (same records, more compute).")] = False,
    resume: Annotated[Optional[str], typer.Option("--resume", help="Finish an interrupted eval run (its id or folder).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for eval runs (default: next to the session log).")] = None,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Evaluate a benchmark under test-time scaling methods: accuracy vs thinking tokens, Control / Scaling / Performance."""
    out_dir = out or default_out_dir(db)
    loader = _loader(parallel, base_url=base_url, api_key=api_key, tokenizer=tokenizer, timeout=timeout,
                     gpu_layers=gpu_layers)
    plan_options = {"--bench": bench, "--method": method, "--budgets": budgets, "--waits": waits, "--votes": votes,
                    "--max-tries": max_tries, "--limit": limit, "--max-answer": max_answer,
                    "--ceiling-tokens": ceiling_tokens, "--model": model, "--backend": backend,
                    "--probe-every": probe_every, "--stable-k": stable_k, "--confidence": confidence}
    job = _resumed(resume, plan_options, out_dir, loader) if resume else _new(plan_options, out_dir, loader)
    (console := Console(stderr=True, highlight=False)).print(f"eval run [bold]{job.rundir.run_id}[/] · {job.rundir.path}")
    try:
        cancelled = _run_with_progress(job, parallel, open_log(db, no_log), console, separate_runs)
    finally:  # a failed item (backend down, prompt too long) still leaves a summary of what finished
        # Closed as the process exits, not here (it stays the process's loaded model): after a cancel its
        # decode thread may still be freeing slots, and exiting under it crashed (SIGSEGV).
        close_at_exit(job.model)
        summary = summarize_job(job)
        _print_summary(summary)
        if summary.records < job.total_items:
            console.print(f"Stopped with {summary.records} of {job.total_items} items done; finish with: "
                          f"s1app eval --resume {job.rundir.run_id}" + (f" --out {out}" if out else ""))
    if summary.records < job.total_items:
        raise typer.Exit(130 if cancelled else 1)


def _loader(parallel: int, **backend) -> Callable[..., LoadedModel]:
    """load_model with the backend's options. llama.cpp decodes at most its sequence count together:
    one per slot of ``--parallel`` (a probed run holds two of them, s1app.eval.runner.execute)."""
    return partial(load_model, options=RunOptions(**backend, parallel=parallel if parallel > 1 else None).backend_options())


def _resumed(run: str, plan_options: dict, out_dir: Path, loader) -> EvalJob:
    given = [name for name, value in plan_options.items() if value is not None]
    if given:
        raise ConfigError(f"--resume continues a run with its own settings: leave out {', '.join(given)}.")
    return resumed_job(run, out_dir, loader)


def _new(options: dict, out_dir: Path, loader) -> EvalJob:
    if not options["--bench"] or not options["--method"]:
        raise ConfigError("Say what to run: --bench NAME|FILE.jsonl and --method NAME (or --resume RUN).")
    plan = EvalPlan.from_options(
        bench=absolute_if_file(options["--bench"], (".jsonl", ".json")), methods=options["--method"], budgets=options["--budgets"],
        waits=options["--waits"], votes=options["--votes"],
        max_tries=DEFAULT_MAX_TRIES if options["--max-tries"] is None else options["--max-tries"],
        limit=options["--limit"],
        max_answer_tokens=EVAL_MAX_ANSWER_TOKENS if options["--max-answer"] is None else options["--max-answer"],
        ceiling_tokens=options["--ceiling-tokens"],
        model=absolute_if_file(options["--model"], (".gguf",)), backend=options["--backend"],
        **_adaptive(options))
    return new_job(plan, out_dir, loader)


def _adaptive(options: dict) -> dict:
    """The stopping rules' options that were given (the plan's defaults for the rest)."""
    names = {"--probe-every": "probe_every", "--stable-k": "stable_k", "--confidence": "confidence"}
    return {name: options[option] for option, name in names.items() if options[option] is not None}


def _run_with_progress(job: EvalJob, parallel: int, log: RunLog | None, console: Console, separate_runs: bool) -> bool:
    """Run the job under a progress bar; returns whether it was cancelled (Ctrl-C)."""
    for note in sharing_notes(job.rundir.settings, separate_runs=separate_runs):
        console.print(note)
    scope = CancelScope()
    finished = job.rundir.records()
    done, correct = len(finished), sum(record.correct for record in finished)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[score]}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress, _ctrl_c_cancels(scope, console):
        task = progress.add_task(f"{job.bench.name} · {', '.join(job.rundir.plan.methods)}", total=job.total_items,
                                 completed=done, score=f"{correct} correct")

        def advance(record: ItemRecord) -> None:
            nonlocal correct
            correct += record.correct
            progress.update(task, advance=1, score=f"{correct} correct")

        result = run_job(job, parallel=parallel, scope=scope, log=log, on_record=advance, separate_runs=separate_runs)
    return result.cancelled


def _ctrl_c_cancels(scope: CancelScope, console: Console):
    """First Ctrl-C: cancel the runs in flight and keep what finished. A second one: stop at once."""

    def stop() -> None:
        console.print("Stopping (Ctrl-C): finishing writes; finished items are kept. Ctrl-C again to quit now.")
        scope.cancel_all()

    return first_ctrl_c_calls(stop)


def _print_summary(summary: EvalSummary) -> None:
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 200  # piped into a file: do not squeeze the columns to 80
    tables = [(METHOD_HEADERS, method_rows(summary.methods)), (POINT_HEADERS, point_rows(summary.methods))]
    saved = saved_rows(summary.methods)  # adaptive methods only
    for headers, rows in tables + ([(SAVED_HEADERS, saved)] if saved else []):
        table = Table(*headers, header_style="bold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    files = [summary.markdown_path, summary.json_path] + ([summary.plot_path] if summary.plot_path else [])
    Console(stderr=True, highlight=False).print("written: " + ", ".join(str(path) for path in files))
    sys.stdout.flush()
