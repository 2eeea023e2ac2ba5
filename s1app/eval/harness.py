"""An eval from start to summary: create (or reopen) the run folder, run what is left, write the report.

The CLI (`s1app eval`) and the UI's Benchmark tab both drive this::

    job = new_job(plan, out_dir)            # or resumed_job(run_id, out_dir)
    result = run_job(job, parallel=8, scope=CancelScope(), log=run_log_or_None, on_record=...)
    summary = summarize_job(job)            # tables, summary.md/.json and the plot in the folder
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from s1app.cancel import CancelScope
from s1app.errors import EvalRunError, StoreError
from s1app.eval.benches import Bench, load_bench
from s1app.eval.metrics import MethodSummary, summarize
from s1app.eval.plan import EvalPlan
from s1app.eval.records import ItemRecord
from s1app.eval.report import summary_json, summary_markdown
from s1app.eval.rundir import PLOT, SUMMARY_JSON, SUMMARY_MD, EvalRunDir
from s1app.eval.runner import EngineAsk, ExecuteResult, execute
from s1app.loading import LoadedModel, load_model
from s1app.store import RunLog


@dataclass
class EvalJob:
    rundir: EvalRunDir
    bench: Bench
    model: LoadedModel

    @property
    def total_items(self) -> int:
        return len(self.bench.items) * len(self.rundir.settings)


@dataclass(frozen=True)
class EvalSummary:
    methods: list[MethodSummary]
    records: int
    markdown_path: Path
    json_path: Path
    plot_path: Path | None


def new_job(plan: EvalPlan, out_dir: Path, loader: Callable[..., LoadedModel] = load_model) -> EvalJob:
    """Validate the benchmark, load the model, then create the run folder (nothing is created on a mistake)."""
    bench = load_bench(plan.bench, plan.limit)
    model = loader(plan.model, backend=plan.backend)
    bench_info = {"name": bench.name, "source": bench.source, "sha256": bench.sha256, "items": len(bench.items)}
    model_info = {"spec": plan.model, "name": model.name, "backend": model.backend.info.name,
                  "format": model.format_name, "context_length": model.backend.info.context_length}
    return EvalJob(EvalRunDir.create(out_dir, plan, bench_info, model_info), bench, model)


def resumed_job(run: str, out_dir: Path, loader: Callable[..., LoadedModel] = load_model) -> EvalJob:
    """Reopen a run folder with its own plan; the data and the model must still be the same."""
    rundir = EvalRunDir.open(run, out_dir)
    plan = rundir.plan
    bench = load_bench(plan.bench, plan.limit)
    if bench.sha256 != rundir.manifest["bench"]["sha256"]:
        raise EvalRunError(f"The benchmark {plan.bench} changed since run {rundir.run_id} started, so its numbers "
                           "would mix two data sets: start a new eval run.")
    model = loader(plan.model, backend=plan.backend)
    recorded = rundir.manifest["model"]
    if (model.name, model.backend.info.name) != (recorded["name"], recorded["backend"]):
        raise EvalRunError(f"Run {rundir.run_id} was made with {recorded['name']} ({recorded['backend']}) but "
                           f"{plan.model or 'the default model'} is now {model.name} ({model.backend.info.name}): "
                           "start a new eval run for the new model.")
    return EvalJob(rundir, bench, model)


def run_job(job: EvalJob, *, parallel: int, scope: CancelScope, log: RunLog | None = None,
            on_record: Callable[[ItemRecord], None] | None = None, separate_runs: bool = False) -> ExecuteResult:
    """Run the items not yet done. ``log``: record the runs and the eval's rows in the session log
    (None: don't); a failure to write it warns once through ``log.warn`` and the eval goes on.
    ``separate_runs``: one run per greedy budget-forcing setting instead of a shared trajectory
    per question (the records come out the same: s1app.eval.trajectory)."""
    sink = _StoreSink(log.store, job.rundir, log.warn) if log is not None else None
    ask = EngineAsk(job.model, job.rundir.plan.max_answer_tokens, scope, log)

    def recorded(record: ItemRecord) -> None:
        if sink is not None:
            sink.write(record)
        if on_record is not None:
            on_record(record)

    return execute(job.rundir, job.bench, ask, parallel=parallel, scope=scope, on_record=recorded,
                   separate_runs=separate_runs)


def summarize_job(job: EvalJob) -> EvalSummary:
    """The metrics over every finished item; summary.md, summary.json and the plot written to the folder."""
    rundir = job.rundir
    records = rundir.records()
    labels = {setting.key: setting.label for setting in rundir.settings}
    methods = summarize(records, labels)
    title = f"{rundir.manifest['bench']['name']} · {rundir.manifest['model']['name']} · {len(job.bench.items)} items"
    markdown = rundir.write_file(SUMMARY_MD, summary_markdown(methods, title))
    data = {"run_id": rundir.run_id, "records": len(records), "expected": job.total_items,
            "methods": summary_json(methods)}
    json_path = rundir.write_file(SUMMARY_JSON, json.dumps(data, indent=2, ensure_ascii=False))
    from s1app.eval.plots import save_accuracy_plot  # matplotlib: ~0.4 s to import, only when a summary is drawn

    plot = save_accuracy_plot(methods, rundir.path / PLOT, title) if methods else None
    return EvalSummary(methods, len(records), markdown, json_path, plot)


class _StoreSink:
    """Eval rows in the session log; a store failure warns once and the eval goes on (JSONL has it all)."""

    def __init__(self, store, rundir: EvalRunDir, warn: Callable[[str], None]) -> None:
        from s1app.store.evals import record_eval_run

        self.store, self.rundir, self.warn = store, rundir, warn
        self.failed = False
        self._guard(lambda: record_eval_run(store, rundir.manifest, str(rundir.path)))

    def write(self, record: ItemRecord) -> None:
        from s1app.store.evals import record_eval_item

        self._guard(lambda: record_eval_item(self.store, self.rundir.run_id, record.to_json()))

    def _guard(self, write: Callable[[], None]) -> None:
        if self.failed:
            return
        try:
            write()
        except StoreError as failure:
            self.failed = True
            self.warn(f"{failure} Eval records go on to {self.rundir.path} only.")
