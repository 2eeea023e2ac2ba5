"""The session log: every run recorded in SQLite as it streams; history, search, export, import.

The store only listens to events (s1app.events); the engine does not know it exists.

Public API (stable: `s1app logs`, `s1app ask/chat` and the UI's History tab use only this)::

    store = open_store(path=None)     # path > $S1APP_DB > ~/.local/share/s1app/sessions.db
                                      # raises StoreError (not SQLite, newer schema, unwritable...)
    store.path, store.read_only; store.close()        # also a context manager

    conversation = store.new_conversation(source="chat", title=None)
                                      # a multi-turn chat; its row is written with its first run
    log = RunLog(store, conversation=None, warn=print)   # the one logging path of every front end
    run = session.ask(question, config, cancel=flag, log=log)
                                      # a RunRecorder subscribes to the Run: each event is written
                                      # after the Run folds it; it never raises: on a store failure
                                      # log.warn is told once and the run goes on unrecorded; a run
                                      # whose stream ends before RunFinished is kept "interrupted"
    RunRecorder.attach(store, run, conversation=None, on_error=None, private_label=None)
                                      # the same, by hand; recorder.run_id, recorder.error

    list_runs(store, limit=20, search=None, offset=0) -> list[dict]
        newest first; summaries: id, started_at, status, model, backend, format, question,
        thinking_tokens, waits_inserted, answer_tokens, wall_s, conversation_id, turn
        (search: full-text over question, thinking and answer)
    count_runs(store, search=None) -> int
    get_run(store, run_id) -> dict    # full record (see RUN_RECORD_KEYS); a unique id prefix works;
                                      # raises StoreError when no run matches
    iter_runs(store, search=None) -> Iterator[dict]   # full records, oldest first, streamed
    export_runs(store, out, format="jsonl"|"csv"|"md", search=None) -> int   # out: path or text file
    import_runs(store, path) -> ImportReport(imported, skipped_existing)     # JSONL, all-or-nothing
    default_db_path() -> Path

Eval records (`s1app eval`) live in ``s1app.store.evals``: record_eval_run, record_eval_item,
eval_items(store, eval_run_id) and eval_items_of_run(store, run_id).

A full record holds the run's settings, thinking/answer text, `segments` (the text in order as
{"section": "thinking"|"delimiter"|"answer", "text", "forced"}: what the engine wrote is
forced=True), `interventions` (kind wait|cap|final-answer|loop-break|landing|probe-stop,
position_tokens, text), `probes` (the run's answer probes in order, each exactly
s1app.run.probe_json: thinking_tokens, kind, waits_before, text, extracted, confidence,
answer_tokens, forced_tokens, stop_reason, seconds, token_ids_sha256; so a record's probes equal
Run.to_json()["probes"]; a private run's keep text "" and extracted None), the stats, status
(running|finished|cancelled|failed|interrupted) and error.
"""

from s1app.store.db import Conversation, Store, default_db_path, open_store
from s1app.store.export import ImportReport, export_runs, import_runs
from s1app.store.queries import count_runs, get_run, iter_runs, list_runs
from s1app.store.recorder import RunRecorder
from s1app.store.records import RUN_RECORD_KEYS
from s1app.store.run_log import RunLog

__all__ = [
    "RUN_RECORD_KEYS",
    "Conversation",
    "ImportReport",
    "RunLog",
    "RunRecorder",
    "Store",
    "count_runs",
    "default_db_path",
    "export_runs",
    "get_run",
    "import_runs",
    "iter_runs",
    "list_runs",
    "open_store",
]
