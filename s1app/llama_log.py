"""llama.cpp's own log, through Python logging: quiet unless asked for, kept for error reports.

llama.cpp writes its log (model loading, "~llama_context: CPU compute buffer size ...") to stderr
unless a callback is set with ``llama_log_set``; llama-cpp-python's own callback prints whenever
its logger has no level, which is the case when only its low-level classes are used (ours).
``route_llama_log`` replaces it: each line goes to the ``s1app.llama_cpp`` logger (hidden unless
``show_llama_log`` or ``s1app --verbose``) and into a short ring of recent lines that an error
message can quote (``recent_llama_log``).
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections import deque

log = logging.getLogger("s1app.llama_cpp")
log.addHandler(logging.NullHandler())  # quiet unless a handler is configured (Python's last resort would print warnings)

RECENT_LINES = 20
"""Lines of llama.cpp's log kept for an error report."""

# ggml_log_level: NONE, INFO, WARN, ERROR, DEBUG, CONT (continues the previous message).
GGML_LEVELS = {0: logging.CRITICAL, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR, 4: logging.DEBUG}
GGML_LOG_LEVEL_CONT = 5

_lock = threading.Lock()
_recent: deque[str] = deque(maxlen=RECENT_LINES)
_partial = {"text": "", "level": logging.INFO}
_printing = False  # whether show_llama_log was called
_callback = None  # the ctypes callback object: llama.cpp holds a raw pointer to it, so it must live


def _receive(level: int, text: bytes | None, _user_data) -> None:
    """Called by llama.cpp (any thread) with a piece of a message; whole lines are logged."""
    piece = (text or b"").decode("utf-8", errors="replace")
    with _lock:
        if level != GGML_LOG_LEVEL_CONT:
            _partial["level"] = GGML_LEVELS.get(level, logging.INFO)
        buffered = _partial["text"] + piece
        *lines, _partial["text"] = buffered.split("\n")
        lines = [line for line in lines if line.strip()]
        _recent.extend(lines)
        line_level = _partial["level"]
    for line in lines:
        log.log(line_level, "%s", line)


def route_llama_log() -> None:
    """Send llama.cpp's log to Python logging from now on (idempotent; call before loading a model)."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    _callback = llama_cpp.llama_log_callback(_receive)
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


def recent_llama_log() -> list[str]:
    """The last lines llama.cpp logged (at most RECENT_LINES), oldest first."""
    with _lock:
        return list(_recent)


def llama_log_shown() -> bool:
    """Whether llama.cpp's log is printed as it comes (then model loading need not hide stderr)."""
    return _printing


def llama_log_report() -> str:
    """What llama.cpp said last, to print with an error; "" when nothing was said, or when
    ``show_llama_log`` already printed it as it came."""
    lines = recent_llama_log()
    if not lines or llama_log_shown():
        return ""
    return "llama.cpp's last log lines:\n  " + "\n  ".join(lines)


def show_llama_log(stream=None) -> None:
    """Print llama.cpp's log as it comes (``s1app --verbose``): every level, to stderr."""
    global _printing
    _printing = True
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("llama.cpp: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False

