"""The loss curve of a run (PNG for docs/training.md) and its speed summary.

    python -m training.plot checkpoints/small-cpu/train_log.jsonl --out docs/training-small-cpu-loss.png
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def read_log(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def speed_summary(log: list[dict], skip_first: int = 1) -> dict[str, float]:
    """Median tokens/s and step time, leaving out the first step(s) (warm-up)."""
    steady = log[skip_first:] or log
    return {"tokens_per_s": statistics.median(entry["tokens_per_s"] for entry in steady),
            "step_s": statistics.median(entry["step_s"] for entry in steady),
            "steps": len(steady)}


def plot_loss(log: list[dict], out: str | Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [entry["step"] for entry in log]
    figure, loss_axis = plt.subplots(figsize=(7, 3.6), dpi=120)
    loss_axis.plot(steps, [entry["loss"] for entry in log], color="tab:blue", marker=".", label="loss (thinking + answer tokens)")
    loss_axis.set_xlabel("optimizer step (16 samples each)")
    loss_axis.set_ylabel("loss", color="tab:blue")
    rate_axis = loss_axis.twinx()
    rate_axis.plot(steps, [entry["lr"] for entry in log], color="tab:gray", linestyle="--", label="learning rate")
    rate_axis.set_ylabel("learning rate", color="tab:gray")
    loss_axis.set_title(title)
    loss_axis.grid(alpha=0.3)
    figure.legend(loc="upper right", bbox_to_anchor=(0.88, 0.88), fontsize=8)
    figure.tight_layout()
    figure.savefig(out)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="training.plot", description=__doc__.split("\n\n")[0])
    parser.add_argument("log", help="a run's train_log.jsonl")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title", default="small-cpu: SmolLM2-135M learning the s1 format")
    args = parser.parse_args(argv)
    log = read_log(args.log)
    plot_loss(log, args.out, args.title)
    print(json.dumps({"first_loss": log[0]["loss"], "last_loss": log[-1]["loss"], **speed_summary(log)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
