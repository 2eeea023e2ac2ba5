"""Launch the s1app web UI: `python app.py [--model NAME|PATH] [--backend ...] [--host 127.0.0.1] [--port 7860]`.

Binds 127.0.0.1 unless told otherwise; never opens a public share link unless --share is given.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="s1app: budget forcing with live thinking, in the browser.")
    parser.add_argument("--model", help="Registry name, path to a GGUF, or hf:OWNER/REPO/FILE (default: the embedded model).")
    parser.add_argument("--backend", choices=["llamacpp", "vllm", "openai"], help="Backend (default: the model's).")
    parser.add_argument("--base-url", help="OpenAI-compatible server for --backend openai (default: $S1APP_BASE_URL or 127.0.0.1:8000).")
    parser.add_argument("--tokenizer", help="Tokenizer of a model served under another name (--backend openai): a GGUF, HF folder or hub repo id.")
    parser.add_argument("--gpu-layers", type=int, help="Layers llama.cpp offloads to the GPU (default: all on a GPU build, none on a CPU build).")
    parser.add_argument("--parallel", type=int, help="Runs llama.cpp decodes together in one batch (default: as fit 4 GiB of KV cache, at most 8).")
    parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1, this machine only).")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--db", help="Session log database path (default: $S1APP_DB or the user data folder).")
    parser.add_argument("--no-log", action="store_true", help="Do not record runs in the session log.")
    parser.add_argument("--auth", metavar="USER:PASS", help="Require this login (use it when binding beyond 127.0.0.1).")
    parser.add_argument("--share", action="store_true", help="Also open a public gradio.live link (off unless asked).")
    return parser.parse_args(argv)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SystemExit("error: --auth takes USER:PASS (both non-empty).")
    return user, password


def exposure_warning(host: str, share: bool, auth: tuple[str, str] | None) -> str | None:
    """A warning when the app is reachable beyond this machine without a login."""
    if auth is not None or (is_loopback(host) and not share):
        return None
    where = "a public share link" if share else host
    return (f"WARNING: serving on {where} without --auth: anyone who can reach it can use the model and "
            "read the session log. Pass --auth USER:PASS.")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    auth = parse_auth(args.auth)
    warning = exposure_warning(args.host, args.share, auth)
    if warning:
        print(warning, file=sys.stderr)

    from s1app.backends import BackendOptions
    from s1app.errors import S1AppError
    from s1app.loading import load_model
    from s1app.ui.app import build_app, launch
    from s1app.ui.context import UIContext

    options = BackendOptions(base_url=args.base_url, tokenizer=args.tokenizer, gpu_layers=args.gpu_layers, parallel=args.parallel)
    try:
        model = load_model(args.model, backend=args.backend, options=options)
    except S1AppError as failure:
        raise SystemExit(f"error: {failure}") from None
    store = None
    try:
        from s1app.store import open_store

        store = open_store(args.db)
    except S1AppError as failure:
        print(f"WARNING: session log unavailable ({failure}); runs will not be recorded.", file=sys.stderr)
    ctx = UIContext(default_model=model, store=store, log_runs=not args.no_log, backend_options=options)
    print(f"s1app: {model.name} ({model.backend.info.name}, format {model.format_name}) on http://{args.host}:{args.port}")
    launch(build_app(ctx), host=args.host, port=args.port, auth=auth, share=args.share)


if __name__ == "__main__":
    main()
