"""Evaluation: benchmarks, local grading, the s1 paper's test-time scaling methods and metrics.

Eval reads only the engine's events (through ``outcome.outcome_of``); it never reaches a backend.

```
benches.py   the vendored benchmarks (data/, with SOURCES.md) and user JSONL -> Items
gpqa.py      GPQA Diamond from the authors' encrypted zip, in memory only
prompts.py   what is asked: the question (GPQA: with shuffled options) + a method's instruction
grading.py   extract the final answer; compare by kind (math-verify, integer, number, letter)
methods.py   budget forcing, no intervention, token-/class-conditional, rejection sampling,
             majority voting -> Settings (the points of a curve)
policies.py  one item under one Setting -> one graded ItemRecord (a run, tries, or a vote)
outcome.py   a run's events -> RunOutcome (the one place events are read)
privacy.py   a private item's events with the text taken out, for the session log
records.py   ItemRecord: one JSONL line, one store row
plan.py      EvalPlan: the validated settings of an eval run (kept in its manifest)
rundir.py    the run folder: manifest, items.jsonl (append + fsync), summary files
runner.py    items `parallel` at a time on a thread pool; cancel; the Ask the policies use
harness.py   new / resumed job -> run -> summary (the CLI and the UI's Benchmark tab use it)
metrics.py   Control, Scaling, Performance and per-setting costs: pure functions over records
report.py    the summary as table rows / Markdown / JSON
plots.py     accuracy vs average thinking tokens, one line per method
```
"""
