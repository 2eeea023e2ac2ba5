"""Helpers for tests that need a real server: llama-cpp-python's OpenAI-compatible server on
127.0.0.1, and tiny misbehaving HTTP servers for the fault tests (they are not what is tested)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_gguf() -> str:
    from s1app.registry import locate_weights, resolve_model

    return locate_weights(resolve_model(None))


def wait_until_serving(process: subprocess.Popen, base_url: str, start_timeout_s: float, server: str,
                       output: Callable[[], str] = str) -> None:
    """Until ``GET base_url/models`` answers 200; a server that exits or is not up in time is an
    error, with what ``output()`` returns (the server's log) appended."""
    deadline = time.monotonic() + start_timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{server} exited with {process.returncode} before answering\n{output()}")
        try:
            if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server} did not answer within {start_timeout_s:g} s\n{output()}")
        time.sleep(0.3)


@contextlib.contextmanager
def llama_server(gguf: str, *, n_ctx: int = 2048, n_threads: int = 2,
                 start_timeout_s: float = 120.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """``python -m llama_cpp.server`` on a free port; yields (base_url, process)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", str(n_ctx), "--n_threads", str(n_threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(process, base_url, start_timeout_s, "llama_cpp.server")
        yield base_url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def fake_server(model_id: str, *, completion_status: int = 200, completion_body: dict | None = None,
                completion_delay_s: float = 0.0) -> Iterator[str]:
    """A tiny HTTP server that lists ``model_id`` and answers /v1/completions as told."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._json(200, {"object": "list", "data": [{"id": model_id, "object": "model", "owned_by": "test"}]})

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(completion_delay_s)
            self._json(completion_status, completion_body or {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
