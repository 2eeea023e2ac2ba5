"""`s1app ui` (and `python app.py`, which calls it): the web UI, on this machine unless told otherwise.

Its model and log options are the ones every `s1app` command shares (run_options.OPTION_TYPES);
the rest say where it listens and who may log in (ui_access: no network without a login).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from s1app.cli.run_options import OPTION_TYPES, RunOptions
from s1app.cli.ui_access import AUTH_ENV, check_exposure, login_from
from s1app.errors import StoreError

ModelOption = OPTION_TYPES["model"]
BackendOption = OPTION_TYPES["backend"]
BaseUrlOption = OPTION_TYPES["base_url"]
TokenizerOption = OPTION_TYPES["tokenizer"]
ApiKeyOption = OPTION_TYPES["api_key"]
TimeoutOption = OPTION_TYPES["timeout"]
GpuLayersOption = OPTION_TYPES["gpu_layers"]
ParallelOption = OPTION_TYPES["parallel"]
NoLogOption = OPTION_TYPES["no_log"]
DbOption = OPTION_TYPES["db"]
DEFAULT_PORT = 7860


def ui(
    model: ModelOption = None,
    backend: BackendOption = None,
    base_url: BaseUrlOption = None,
    tokenizer: TokenizerOption = None,
    api_key: ApiKeyOption = None,
    timeout: TimeoutOption = 60.0,
    gpu_layers: GpuLayersOption = None,
    parallel: ParallelOption = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind (default 127.0.0.1: this machine only; "
                                                     "any other needs a login).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    auth: Annotated[Optional[str], typer.Option("--auth", envvar=AUTH_ENV, metavar="USER:PASS",
                                                help=f"Require this login (or set ${AUTH_ENV}, out of shell history).")] = None,
    auth_file: Annotated[Optional[Path], typer.Option("--auth-file", help="A file whose first line is USER:PASS.")] = None,
    share: Annotated[bool, typer.Option("--share", help="Also open a public gradio.live link (needs a login).")] = False,
    insecure_no_auth: Annotated[bool, typer.Option("--insecure-no-auth",
                                                   help="Serve beyond this machine without a login (anyone can read the session log).")] = False,
    no_log: NoLogOption = False,
    db: DbOption = None,
) -> None:
    """Open the web UI: Chat, Compare, Budget sweep, Benchmark, History."""
    login = login_from(auth, auth_file)
    warning = check_exposure(host, share, login, insecure_no_auth)  # refuses before any model loads
    if warning:
        print(warning, file=sys.stderr)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from s1app.ui.app import build_app, launch
    from s1app.ui.context import UIContext

    options = RunOptions(model=model, backend=backend, base_url=base_url, tokenizer=tokenizer, api_key=api_key,
                         timeout=timeout, gpu_layers=gpu_layers, parallel=parallel)
    loaded = options.load()
    ctx = UIContext(default_model=loaded, store=_open_store(db), log_runs=not no_log,
                    backend_options=options.backend_options())
    print(f"s1app: {loaded.name} ({loaded.backend.info.name}, format {loaded.format_name}) on http://{host}:{port}")
    launch(build_app(ctx), host=host, port=port, auth=login, share=share)


def _open_store(db: str | None):
    """The session log for History (opened even with --no-log, which only stops recording)."""
    from s1app.store import open_store

    try:
        return open_store(db)
    except StoreError as failure:
        print(f"WARNING: session log unavailable ({failure}); runs will not be recorded.", file=sys.stderr)
        return None
