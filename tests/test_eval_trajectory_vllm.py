"""The shared greedy sweep equals separate runs on vLLM too (CPU build, the embedded model converted).

vLLM runs in its own virtualenv, once per test session (tests/vllm_runs.py says why): the sweeps run
in tests/vllm_worker.py and this test compares what it reported.
"""

from __future__ import annotations

import pytest
from vllm_runs import vllm_results


@pytest.mark.slow
def test_the_shared_sweep_equals_separate_runs_on_vllm():
    sweeps = vllm_results()["sweeps"]
    shared, separate = sweeps["shared"], sweeps["separate"]
    assert len(shared) == len(separate) == 16
    assert all(record.pop("shared") for record in shared.values())
    assert not any(record.pop("shared") for record in separate.values())
    assert shared == separate
