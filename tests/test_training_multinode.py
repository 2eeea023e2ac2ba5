"""Multi-node training shown on one machine: two `s1app train --nnodes 2 --nproc 1` node
processes meet at torchrun's c10d rendezvous on 127.0.0.1 and train tiny-cpu with the same
per-step loss as `--nproc 2` on one node; the SLURM script launches that very command.

Slow (two tiny trainings, about two minutes on 2 cores; the single-node one is shared with
test_training_sft.py).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from llama_server import free_port
from training_support import PROJECT_ROOT, read_log, tiny_run

# two node processes (<= 600 s) and the single-node run, on a machine that may be busy
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

SBATCH = PROJECT_ROOT / "training" / "slurm" / "sft.sbatch"
NODE_TIMEOUT_S = 600


def node_arguments(master_port: int, rendezvous_id: str, output_dir: Path) -> list[str]:
    """What each node of the two-node job runs after ``python -m s1app``."""
    return ["train", "--config", "tiny-cpu", "--nnodes", "2", "--nproc", "1", "--master-addr", "127.0.0.1",
            "--master-port", str(master_port), "--rdzv-id", rendezvous_id, "--output-dir", str(output_dir)]


def run_two_nodes(arguments: list[str]) -> list[subprocess.CompletedProcess]:
    """Both node processes at once (they wait for each other at the rendezvous), each bounded."""
    # Two "nodes" share this machine's cores: one thread each, as torchrun gives --nproc 2 processes.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    nodes = [subprocess.Popen([sys.executable, "-m", "s1app", *arguments], cwd=PROJECT_ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = []
    try:
        for node in nodes:
            stdout, stderr = node.communicate(timeout=NODE_TIMEOUT_S)
            results.append(subprocess.CompletedProcess(node.args, node.returncode, stdout, stderr))
    finally:
        for node in nodes:
            if node.poll() is None:
                node.kill()
                node.wait()
    return results


@pytest.fixture(scope="module")
def two_node_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("two-nodes") / "tiny-cpu"
    arguments = node_arguments(free_port(), "two-node-test", output_dir)
    results = run_two_nodes(arguments)
    for result in results:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return arguments, output_dir


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    return str(tmp_path_factory.getbasetemp() / "training-runs")


def test_two_nodes_train_with_the_same_per_step_loss_as_two_processes_on_one_node(two_node_run, runs_root):
    _, output_dir = two_node_run
    two_nodes = read_log(output_dir)
    one_node = read_log(tiny_run(runs_root))
    assert [entry["step"] for entry in two_nodes] == [1, 2, 3, 4]
    assert all(entry["world_size"] == 2 for entry in two_nodes)
    for multi, single in zip(two_nodes, one_node):
        assert multi["loss"] == pytest.approx(single["loss"], rel=1e-5)
        assert multi["lr"] == pytest.approx(single["lr"])
        assert multi["tokens"] == single["tokens"]
    assert (output_dir / "checkpoint-000004" / "model.safetensors").exists()


def sbatch_launch(values: dict[str, str], extra: list[str]) -> list[str]:
    """The script's srun line as the command it runs on a node: srun and its flags dropped,
    each "$NAME" replaced by ``values[NAME]`` and "$@" by ``extra``."""
    text = SBATCH.read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("srun "))
    words = shlex.split(line)[1:]
    while words[0].startswith("--"):
        words.pop(0)
    command = []
    for word in words:
        if word == "$@":
            command += extra
        elif word.startswith("$"):
            command.append(values[word[1:]])
        else:
            command.append(word)
    return command


def test_the_slurm_script_launches_the_same_command_on_every_node(two_node_run):
    arguments, output_dir = two_node_run
    port, rendezvous_id = arguments[arguments.index("--master-port") + 1], arguments[arguments.index("--rdzv-id") + 1]
    values = {"PYTHON": sys.executable, "CONFIG": "tiny-cpu", "SLURM_NNODES": "2", "GPUS_PER_NODE": "1",
              "HEAD_NODE": "127.0.0.1", "SLURM_JOB_ID": rendezvous_id}
    launch = sbatch_launch(values, ["--output-dir", str(output_dir)])
    assert "--master-port 29500" in " ".join(launch)
    launch[launch.index("--master-port") + 1] = port  # the test's free port in place of SLURM's fixed one
    assert launch == [sys.executable, "-m", "s1app", *arguments]


def test_more_than_one_node_without_a_meeting_address_is_a_clear_error(tmp_path, s1app):
    result = s1app("train", "--config", "tiny-cpu", "--nnodes", "2", "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "--nnodes 2 needs --master-addr" in result.stderr
