"""The UI's Benchmark tab: its handler on the real model, and the tab in the app."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from s1app.store import open_store
from s1app.ui.app import serve_in_background
from s1app.ui.bench import BenchTab
from s1app.ui.context import UIContext


@dataclass
class FakeRequest:
    session_hash: str = "test-session"


@pytest.fixture
def tab(model, tmp_path):
    store = open_store(tmp_path / "sessions.db")
    yield BenchTab(UIContext(default_model=model, store=store), out_dir=tmp_path / "evals")
    store.close()


@pytest.mark.slow
def test_a_benchmark_run_fills_the_tables_and_the_plot_as_items_finish(tab):
    updates = list(tab.run("gsm8k", ["budget-forcing", "token-conditional+bf"], "0,16", "0", 2, 2, 8, "", "",
                           False, FakeRequest()))
    method_rows, point_rows, figure, status = updates[-1]
    assert 'data-state="finished"' in status and 'data-done="8"' in status
    assert "one shared trajectory per question" in status  # budget forcing's two budgets: one run per question
    assert [row[0] for row in method_rows] == ["budget-forcing", "token-conditional+bf"]
    assert [(row[0], row[1], row[2]) for row in point_rows] == [
        ("budget-forcing", "max 0", "2"), ("budget-forcing", "max 16", "2"),
        ("token-conditional+bf", "asked ≤ 0, max 0", "2"), ("token-conditional+bf", "asked ≤ 16, max 16", "2")]
    assert figure is not None and len(figure.axes[0].lines) == 2
    assert "Janet" not in str(updates)  # counts and answers only, never a question


@pytest.mark.parametrize(("bench", "methods", "budgets", "phrase"), [
    ("mmlu", ["budget-forcing"], "16", "Unknown benchmark"),
    ("gsm8k", [], "16", "No method given"),
    ("gsm8k", ["budget-forcing"], "16, x", "is not one"),
])
def test_bad_settings_show_an_error_in_the_status_line(tab, bench, methods, budgets, phrase):
    (update,) = list(tab.run(bench, methods, budgets, "0", 2, 1, 8, "", "", False, FakeRequest()))
    assert 'data-state="failed"' in update[3] and phrase in update[3]


def test_stop_keeps_the_finished_items(tab):
    updates = tab.run("gsm8k", ["budget-forcing"], "64", "0", 6, 1, 16, "", "", False, FakeRequest())
    next(updates)  # the first item is done
    tab.ctx.scopes.stop("test-session", "bench")
    *_, status = list(updates)[-1]
    assert 'data-state="stopped"' in status and "s1app eval --resume" in status
    assert 'data-done="6"' not in status


def test_the_app_serves_the_benchmark_tab_and_its_handler_answers(model):
    from gradio_client import Client

    demo, url = serve_in_background(UIContext(default_model=model))
    try:
        assert "bench" in {getattr(block, "id", None) for block in demo.blocks.values()}
        _methods, _points, _plot, status = Client(url, verbose=False).predict(
            bench="no-such-bench", methods=["budget-forcing"], budgets="16", waits="0", limit=1, parallel=1,
            max_answer=8, model_name="", backend="", api_name="/bench")
        assert 'data-state="failed"' in status and "Unknown benchmark" in status
    finally:
        demo.close()
