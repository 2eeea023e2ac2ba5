"""The "answer if stopped now" strip: one entry per answer probe, under a run's thinking. Pure.

Live Chat (a Run's AnswerProbed events) and History (a stored run's ``record["probes"]``) render
through the same ``strip_html``; it reads probes shaped like ``s1app.run.probe_json`` (dicts), and
``probe_rows`` converts a Run's events to that shape once.

Each entry shows where the probe was taken (thinking tokens) and the answer extracted there. An
entry whose answer differs from the previous probe's is marked as a change; with a reference
answer each entry is coloured right or wrong (s1app.eval.grading). Every entry is an HTML
``<details>``: a click opens the probe's whole answer text. No newline is written: the Chatbot
reads its messages as Markdown, and one line stays one raw HTML block.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from s1app.events import AnswerProbed
from s1app.run import probe_json

NO_ANSWER = "no answer found"
STRIP_TITLE = "Answer if stopped now"
KIND_LABELS = {"budget": "a run capped here", "stop": "a run let to stop here (a Wait went in instead)"}

STRIP_CSS = """
.s1-probes { display: flex; flex-wrap: wrap; gap: 0.3em; align-items: flex-start; font-size: 0.9em; }
.s1-probes-title { font-weight: 600; margin-right: 0.4em; }
.s1-probe { border: 1px solid #d1d5db; border-radius: 4px; padding: 0 0.4em; background: #f9fafb; }
.s1-probe summary { cursor: pointer; font-family: ui-monospace, monospace; }
.s1-probe[open] { flex-basis: 100%; }
.s1-probe.s1-right { background: #dcfce7; border-color: #16a34a; color: #14532d; }
.s1-probe.s1-wrong { background: #fee2e2; border-color: #dc2626; color: #7f1d1d; }
.s1-probe.s1-changed { border-left-width: 4px; }
.s1-probe-change { font-weight: 700; }
.s1-probe-meta { color: #6b7280; font-size: 0.9em; }
"""


def probe_rows(probes: Sequence[AnswerProbed]) -> list[dict[str, Any]]:
    """A Run's probes in the stored shape (``s1app.run.probe_json``), the one ``strip_html`` reads."""
    return [probe_json(probe) for probe in probes]


def answer_kind_of(settings: dict[str, Any] | None) -> str:
    """The answer kind a run's probes were extracted with (its resolved settings), "math" if none."""
    probes = (settings or {}).get("probes")
    kind = probes.get("answer_kind") if isinstance(probes, dict) else None
    return kind or "math"


@lru_cache(maxsize=4096)
def probe_correct(text: str, reference: str, kind: str) -> bool | None:
    """Whether a probe's answer text is right against ``reference`` (None: no reference).
    Cached: a live strip is re-rendered every update, and math-verify is not free."""
    from s1app.eval.grading import grade

    return grade(text, reference, kind).correct  # type: ignore[arg-type]


def strip_html(probes: Sequence[dict[str, Any]], reference: str | None = None, kind: str = "math") -> str:
    """The strip for ``probes`` (dicts shaped like probe_json, in position order); "" with none."""
    if not probes:
        return ""
    reference = (reference or "").strip()
    entries, changes = [], 0
    for index, probe in enumerate(probes):
        changed = index > 0 and probe.get("extracted") != probes[index - 1].get("extracted")
        changes += changed
        correct = probe_correct(probe.get("text") or "", reference, kind) if reference else None
        entries.append(entry_html(probe, changed=changed, correct=correct))
    return (f'<div class="s1-probes" data-probes="{len(probes)}" data-changes="{changes}">'
            f'<span class="s1-probes-title">{STRIP_TITLE}:</span>{"".join(entries)}</div>')


def entry_html(probe: dict[str, Any], *, changed: bool, correct: bool | None) -> str:
    """One probe: a summary (position, answer, marks) that opens onto its whole answer text."""
    position = probe.get("thinking_tokens", 0)
    kind = probe.get("kind") or "budget"
    answer = probe.get("extracted")
    classes = ["s1-probe", f"s1-probe-{kind}"]
    if correct is not None:
        classes.append("s1-right" if correct else "s1-wrong")
    if changed:
        classes.append("s1-changed")
    verdict = "" if correct is None else (" ✓" if correct else " ✗")
    change = '<span class="s1-probe-change" title="a different answer from the probe before">Δ </span>' if changed else ""
    at = f"{position}" if kind == "budget" else f"stop {position}"
    shown = html.escape(answer) if answer else f"<i>{NO_ANSWER}</i>"
    attributes = (f'data-thinking-tokens="{position}" data-kind="{html.escape(kind)}" '
                  f'data-answer="{html.escape(answer or "")}" data-changed="{"yes" if changed else "no"}" '
                  f'data-correct="{"" if correct is None else ("yes" if correct else "no")}"')
    return (f'<details class="{" ".join(classes)}" {attributes}>'
            f'<summary title="{position} thinking tokens">{change}{at} tok → {shown}{verdict}</summary>'
            f'{details_html(probe)}</details>')


def details_html(probe: dict[str, Any]) -> str:
    """What opening an entry shows: how the probe was taken, then its answer text as a run would have it."""
    meta = [f"{probe.get('thinking_tokens', 0)} thinking tokens", f"stands for {KIND_LABELS.get(probe.get('kind'), 'a run')}"]
    waits = probe.get("waits_before") or 0
    if waits:
        meta.append(f"{waits} Wait{'s' if waits != 1 else ''} before")
    if probe.get("confidence") is not None:
        meta.append(f"confidence {probe['confidence']:.2f}")
    meta.append(f"{probe.get('answer_tokens', 0)} answer tokens · {probe.get('forced_tokens', 0)} tokens forced")
    if probe.get("stop_reason"):
        meta.append(str(probe["stop_reason"]))
    if probe.get("seconds") is not None:
        meta.append(f"{probe['seconds']:.2f} s")
    text = html.escape(probe.get("text") or "").replace("\r", "").replace("\n", "<br>")
    return (f'<div class="s1-probe-meta">{html.escape(" · ".join(meta))}</div>'
            f'<div class="s1-probe-text">{text or "<i>(empty)</i>"}</div>')
