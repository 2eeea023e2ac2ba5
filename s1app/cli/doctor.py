"""`s1app doctor`: what a bug report needs, and a test decode in a child process."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from s1app import diagnostics
from s1app.native_check import crash_message, probe_build
from s1app.registry import locate_weights, resolve_model


def doctor(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model to test-decode (default: the default model).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    probe: Annotated[bool, typer.Option("--probe/--no-probe", help="Test-decode a few tokens in a child process.")] = True,
) -> None:
    """Print the machine, the llama.cpp build, packages, backends, GPUs, the session log and the
    registry, then test-decode in a child process (a crashing build is named, with the fix)."""
    report = {
        "system": diagnostics.system(),
        "llama_cpp": diagnostics.llama_cpp(),
        "packages": diagnostics.packages(),
        "backends": diagnostics.backends(),
        "gpus": diagnostics.gpus(),
        "store": diagnostics.store(),
        "registry": diagnostics.registry(),
    }
    if probe:
        report["probe"] = _probe(model)
    report["problems"] = diagnostics.problems(report)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    if report.get("probe", {}).get("crashed"):
        sys.exit(1)


def _probe(model: str | None) -> dict:
    entry = resolve_model(model)
    if entry.backend != "llamacpp":
        return {"skipped": f"{entry.name} runs on {entry.backend}; the test decode is for llama.cpp models"}
    weights = locate_weights(entry)
    result = probe_build(weights)
    outcome = {"model": entry.name, "exit_code": result.returncode, **result.report}
    if result.crash_signal is not None:
        outcome.update(crashed=result.crash_signal, fix=crash_message(weights, result), stderr_tail=result.stderr_tail)
    elif not result.ok:
        outcome.update(failed=True, stderr_tail=result.stderr_tail)
    return outcome


def _print(report: dict) -> None:
    console = Console(highlight=False, soft_wrap=True)
    for section in ("system", "llama_cpp", "packages", "backends", "store", "probe"):
        if section not in report:
            continue
        console.print(f"[bold]{section}[/]")
        for key, value in report[section].items():
            if value is None or value == "" or value == {}:
                continue
            shown = ", ".join(value) if isinstance(value, list) else json.dumps(value) if isinstance(value, dict) else value
            console.print(f"  {key}: {escape(str(shown))}")
    console.print("[bold]gpus[/]")
    console.print("  " + escape("\n  ".join(report["gpus"]) or "none found"))
    console.print("[bold]registry[/]")
    for row in report["registry"]:
        console.print("  " + escape("  ".join(f"{key}={value}" for key, value in row.items())))
    console.print("[bold]problems[/]")
    console.print("  " + escape("\n  ".join(report["problems"]) or "none found"))
