"""History tab: runs from the session store, searchable; replay one with forced text marked; export.

Reads only through the store's public API (s1app.store). Without a store (started with --no-log
and no readable log) the tab says so.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from s1app.errors import S1AppError
from s1app.ui.context import UIContext
from s1app.ui.render import error_status_html, record_messages

HISTORY_HEADERS = ["id", "started", "status", "model", "question", "thinking tokens", "Waits", "answer tokens", "time (s)"]
HISTORY_PAGE_RUNS = 100
EXPORT_FORMATS = [("JSONL", "jsonl"), ("CSV", "csv"), ("Markdown", "md")]


class HistoryTab:
    def __init__(self, ctx: UIContext) -> None:
        self.ctx = ctx

    def _store(self):
        if self.ctx.store is None:
            raise S1AppError("No session log is open (the app was started with --no-log, or the log could not be opened).")
        return self.ctx.store

    def list(self, search: str) -> tuple[list[list[Any]], str]:
        """(table rows, status line) for the runs matching ``search`` (all runs when empty), newest first."""
        from s1app.store import count_runs, list_runs

        try:
            store = self._store()
            query = search.strip() or None
            runs = list_runs(store, limit=HISTORY_PAGE_RUNS, search=query)
            total = count_runs(store, search=query)
        except S1AppError as failure:
            return [], error_status_html(str(failure))
        rows = [[run["id"][:12], (run["started_at"] or "")[:19].replace("T", " "), run["status"], run["model"],
                 run["question"], run["thinking_tokens"], run["waits_inserted"], run["answer_tokens"],
                 round(run["wall_s"] or 0.0, 2)] for run in runs]
        shown = f"{len(rows)} of {total}" if total > len(rows) else f"{total}"
        return rows, f'<div class="s1-status" data-runs="{total}">{shown} runs{" matching " + repr(query) if query else ""} · log: {store.path}</div>'

    def open(self, rows: Any, reference: str, event: gr.SelectData) -> tuple[list[dict], str]:
        """Replay the run in the clicked row (its probes coloured against ``reference``, when given)."""
        from s1app.store import get_run

        try:
            run_id = _row_id(rows, event.index[0])
            record = get_run(self._store(), run_id)
        except (S1AppError, IndexError, KeyError, TypeError) as failure:
            return [], error_status_html(f"Cannot open that run: {failure}")
        return record_messages(record, reference or ""), f'<div class="s1-status">run {record["id"]} · {record["status"]} · {record["model"]}</div>'

    def export(self, search: str, export_format: str) -> tuple[str | None, str]:
        """Write the runs matching ``search`` to a file and offer it as a download."""
        from s1app.store import export_runs

        try:
            store = self._store()
            folder = Path(tempfile.mkdtemp(prefix="s1app-export-"))
            path = folder / f"s1app-runs.{export_format}"
            count = export_runs(store, str(path), format=export_format, search=search.strip() or None)
        except S1AppError as failure:
            return None, error_status_html(str(failure))
        return str(path), f'<div class="s1-status" data-exported="{count}">Exported {count} runs as {export_format}.</div>'

    def build(self, tab: gr.Tab) -> None:
        """Lay the tab out; ``tab`` refreshes the list whenever it is opened."""
        with gr.Row():
            search = gr.Textbox(label="Search (question, thinking, answer)", scale=4, elem_id="history-search")
            refresh = gr.Button("Search / refresh", scale=1)
        status = gr.HTML(label="status")
        table = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, wrap=True, label="Runs (click one to replay it)",
                             elem_id="history-table")
        reference = gr.Textbox("", label="Reference answer (blank: none)", elem_id="history-reference",
                               info="Colours the replayed run's answer probes right (green) or wrong (red).")
        replay = gr.Chatbot(label="Replay", height=420, feedback_options=None, elem_id="history-replay")
        with gr.Row():
            export_format = gr.Radio(EXPORT_FORMATS, value="jsonl", label="Export format")
            export_button = gr.Button("Export these runs")
            download = gr.File(label="Download", interactive=False)
        gr.on([refresh.click, search.submit], self.list, search, [table, status], api_name="history_list")
        table.select(self.open, [table, reference], [replay, status], api_name=False)
        export_button.click(self.export, [search, export_format], [download, status], api_name="history_export")
        tab.select(self.list, search, [table, status], api_name=False)


def _row_id(rows: Any, index: int) -> str:
    """The run id in row ``index`` of the table's value (a pandas DataFrame or a list of rows)."""
    if hasattr(rows, "iloc"):
        return str(rows.iloc[index, 0])
    return str(rows[index][0])
