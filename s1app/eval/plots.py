"""The paper's plot: accuracy vs average thinking tokens, one line per method (matplotlib, no pyplot)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from s1app.eval.metrics import MethodSummary

SYMLOG_LINEAR_BELOW_TOKENS = 16
"""The x axis is logarithmic (as in the paper) but linear near 0, where a budget of 0 sits."""


def accuracy_figure(methods: Sequence[MethodSummary], title: str = "") -> Figure:
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    for summary in methods:
        points = sorted(summary.points, key=lambda point: point.mean_thinking_tokens)
        axes.plot([p.mean_thinking_tokens for p in points], [p.accuracy_pct for p in points], marker="o",
                  label=summary.method)
    axes.set_xscale("symlog", linthresh=SYMLOG_LINEAR_BELOW_TOKENS)
    axes.set(xlabel="average thinking tokens", ylabel="accuracy (%)", title=title or "Accuracy vs thinking")
    top = max((p.accuracy_pct for m in methods for p in m.points), default=0.0)
    axes.set_ylim(-2, max(10.0, min(100.0, top * 1.2 + 2)))
    axes.grid(True, alpha=0.3)
    if methods:
        axes.legend(fontsize="small")
    return figure


def save_accuracy_plot(methods: Sequence[MethodSummary], path: Path, title: str = "") -> Path:
    accuracy_figure(methods, title).savefig(path, dpi=120)
    return path
