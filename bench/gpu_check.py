"""The app's first run on a GPU, in one prepared command: (a) the training recipe on a randomly
initialised model of SmolLM2-135M's architecture, tokens/s and MFU; (b) llama.cpp built with CUDA,
its decode tok/s on a small GGUF made on the spot (when a trimmed llama.cpp source travels).

The GPU machine has torch and transformers but not the embedded GGUF (98 MB, over the 64 MiB a
run may carry), so the kit is made here first, from the GGUF's metadata alone (no weights):

    .venv/bin/python bench/gpu_check.py kit --out .gpu_kit [--llama-src DIR]   # here
    python3 bench/gpu_check.py run --kit .gpu_kit --device cuda                 # there (docs/benchmarks.md)

The kit: config.json + tokenizer files of SmolLM2-135M, a vocab-only GGUF (the tokenizer for (b)),
platformdirs (the one package the app imports that the GPU image lacks), and with --llama-src a
copy of llama.cpp's source without its models, docs and examples. tests/test_gpu_check.py runs
``run --device cpu --steps 2`` so this file cannot rot between GPU loans.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPEC_DIR, VOCAB_GGUF, SITE_DIR, LLAMA_DIR = "model-spec", "vocab.gguf", "site", "llama.cpp"
TRACES = ROOT / "training" / "data" / "small-cpu-traces.jsonl"
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12}
"""Dense bf16 peak by GPU name (vendor spec sheets); MFU is printed only for these."""
LLAMA_SOURCE_SKIP = ("models", "docs", "examples", "pocs", "media", "tests", "benches", "app", "ci", "skills",
                     "tools/ui", "gguf-py/tests", ".git",
                     *(f"ggml/src/ggml-{backend}" for backend in ("cann", "et", "hexagon", "hip", "metal", "musa", "opencl",
                                                                  "openvino", "sycl", "virtgpu", "vulkan", "webgpu", "zdnn", "zendnn")))
"""Left out of the llama.cpp copy: vocab test models, docs, and what the build below leaves off
(every ggml backend but CPU and CUDA)."""
SETTINGS = {  # per device: a block long enough to keep a GPU busy; a CPU check only has to run
    "cuda": {"block_size": 2048, "global_batch_size": 16, "micro_batch_size": 8, "dtype": "bf16"},
    "cpu": {"block_size": 256, "global_batch_size": 2, "micro_batch_size": 1, "dtype": "fp32"},
}


# -- here: the kit ------------------------------------------------------------------------------


def make_kit(out: Path, llama_src: Path | None) -> None:
    import platformdirs
    from transformers import AutoConfig, AutoTokenizer

    from s1app.registry import resolve_model
    from training.model import model_source

    # The folder training dequantizes the embedded GGUF into (once per machine): its config and
    # tokenizer without parsing the GGUF's metadata again for each.
    source = model_source(resolve_model(None).name)
    spec = out / SPEC_DIR
    AutoConfig.from_pretrained(source.folder).save_pretrained(spec)
    AutoTokenizer.from_pretrained(source.folder).save_pretrained(spec)
    write_vocab_gguf(Path(source.source_gguf), out / VOCAB_GGUF)
    shutil.copytree(Path(platformdirs.__file__).parent, out / SITE_DIR / "platformdirs", dirs_exist_ok=True)
    if llama_src is not None:
        shutil.copytree(llama_src, out / LLAMA_DIR, dirs_exist_ok=True,
                        ignore=lambda folder, names: [n for n in names if _skipped(Path(folder) / n, llama_src)])
    size_mb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    print(f"kit: {out} ({size_mb:.1f} MiB; a device run carries at most 64 MiB)")


def _skipped(path: Path, root: Path) -> bool:
    return str(path.relative_to(root)) in LLAMA_SOURCE_SKIP


def write_vocab_gguf(source: Path, out: Path) -> None:
    """A GGUF with ``source``'s tokenizer and chat template and no tensors: what training.export
    copies into the GGUF it writes (provenance ``source_gguf``)."""
    import gguf

    from training.gguf_tokenizer import copy_tokenizer_fields

    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(str(out), reader.fields["general.architecture"].contents())
    copy_tokenizer_fields(writer, reader)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


# -- there: (a) the recipe on random weights --------------------------------------------------


def random_model(kit: Path, folder: Path) -> int:
    """SmolLM2-135M's architecture with random weights, saved as a Hugging Face folder; returns
    its parameter count (tied embeddings counted once: the lm_head matmul is real compute)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(kit / SPEC_DIR), dtype=torch.float32)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(kit / SPEC_DIR).save_pretrained(folder)
    (folder / "s1app_training.json").write_text(json.dumps({"source_gguf": str((kit / VOCAB_GGUF).resolve())}))
    return sum(parameter.numel() for parameter in model.parameters())


def long_traces(out: Path, block_size: int, rows: int = 64) -> None:
    """Rows of the s1 schema whose thinking fills the block: the vendored traces, run together."""
    traces = [json.loads(line) for line in TRACES.read_text(encoding="utf-8").splitlines()]
    with out.open("w", encoding="utf-8") as file:
        for index in range(rows):
            thinking, step = "", index
            while len(thinking) < block_size * 5:  # ~4 characters a token: always past the block
                thinking += traces[step % len(traces)]["thinking_trajectories"][0] + "\n"
                step += rows
            file.write(json.dumps({**traces[index], "thinking_trajectories": [thinking]}) + "\n")


def train_check(kit: Path, device: str, steps: int, work: Path) -> dict:
    from s1app.cli.train import torchrun_command

    settings = SETTINGS[device]
    parameters = random_model(kit, work / "model")
    long_traces(work / "traces.jsonl", settings["block_size"])
    config = {"model": str(work / "model"), "dataset": str(work / "traces.jsonl"), "epochs": 1, "max_steps": steps,
              "learning_rate": 1e-4, "warmup_ratio": 0.0, "save_dtype": "fp32", **settings}  # fp32: export reads it with numpy
    (work / "config.yaml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(kit / SITE_DIR), os.environ.get("PYTHONPATH", "")])}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    command = torchrun_command(str(work / "config.yaml"), 1, steps, str(work / "out"), None)
    subprocess.run(command, check=True, cwd=ROOT, env=env)
    log = [json.loads(line) for line in (work / "out" / "train_log.jsonl").read_text().splitlines()]
    timed = log[1:] or log  # the first step pays for warm-up (CUDA context, allocator)
    tokens_per_s = statistics.median(entry["tokens_per_s"] for entry in timed)
    mean_tokens = statistics.mean(entry["tokens"] for entry in log) / settings["global_batch_size"]
    return {"parameters": parameters, "steps": len(log), "tokens_per_s": tokens_per_s,
            "flops_per_token": flops_per_token(parameters, kit, mean_tokens), "checkpoint": str(work / "out" / f"checkpoint-{steps:06d}")}


def flops_per_token(parameters: int, kit: Path, sequence_tokens: float) -> float:
    """Training FLOPs per token, PaLM's count: 6N for the matmuls + 12 * layers * width * sequence
    for attention (forward and backward)."""
    spec = json.loads((kit / SPEC_DIR / "config.json").read_text())
    return 6 * parameters + 12 * spec["num_hidden_layers"] * spec["hidden_size"] * sequence_tokens


def report_training(result: dict, device: str) -> None:
    name, peak = device_peak(device)
    mfu = f"{result['tokens_per_s'] * result['flops_per_token'] / peak:.1%}" if peak else "n/a"
    print(f"(a) training on {name}: {result['parameters'] / 1e6:.1f} M parameters, {result['steps']} steps, "
          f"{result['tokens_per_s']:.0f} tokens/s (median after step 1), MFU {mfu}")


def device_peak(device: str) -> tuple[str, float | None]:
    if device == "cpu":
        return "cpu", None
    import torch

    name = torch.cuda.get_device_name()
    return name, next((peak for key, peak in PEAK_BF16_FLOPS.items() if key in name), None)


# -- there: (b) llama.cpp with CUDA --------------------------------------------------------------


def llama_check(kit: Path, checkpoint: str, work: Path) -> str:
    source = kit / LLAMA_DIR
    if not source.exists():
        return f"(b) skipped: no llama.cpp source in {kit} (make the kit with --llama-src)"
    build = work / "llama-build"
    try:
        subprocess.run(["cmake", "-S", str(source), "-B", str(build), "-G", "Ninja", "-DGGML_CUDA=ON",
                        "-DCMAKE_CUDA_ARCHITECTURES=native", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
                        "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_APP=OFF",
                        "-DCMAKE_BUILD_TYPE=Release", *cublas_hints()], check=True)
        return decode_bench(kit, source, build, checkpoint, work)
    except subprocess.CalledProcessError as failure:
        return f"(b) failed: {' '.join(map(str, failure.cmd))[:200]} exited {failure.returncode} (its output is above)"


def cublas_hints() -> list[str]:
    """CMake flags naming cuBLAS where the CUDA toolkit lacks it but a pip wheel (torch's
    nvidia-cublas) has it; none where the toolkit has it."""
    import torch.utils.cpp_extension as extension

    if extension.CUDA_HOME and list(Path(extension.CUDA_HOME).glob("include/cublas_v2.h")):
        return []
    wheels = [Path(folder) / "nvidia" for folder in sys.path if (Path(folder) / "nvidia").is_dir()]
    headers = [header for wheel in wheels for header in wheel.rglob("cublas_v2.h")]
    if not headers:
        return []
    flags = [f"-DCMAKE_CUDA_FLAGS=-I{headers[0].parent}", f"-DCMAKE_CXX_FLAGS=-I{headers[0].parent}"]
    for name in ("cublas", "cublasLt"):
        library = next((lib for wheel in wheels for lib in sorted(wheel.rglob(f"lib{name}.so*"))), None)
        if library:
            flags.append(f"-DCUDA_{name}_LIBRARY={library}")
    return flags


def decode_bench(kit: Path, source: Path, build: Path, checkpoint: str, work: Path) -> str:
    subprocess.run(["cmake", "--build", str(build), "--target", "llama-bench", "-j", str(os.cpu_count())], check=True)
    model = work / "random-q8_0.gguf"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(kit / SITE_DIR), str(source / "gguf-py")])}
    subprocess.run([sys.executable, "-m", "training.export", checkpoint, "--out", str(model), "--quantization", "q8_0",
                    "--name", "gpu-check-random"], check=True, cwd=ROOT, env={**env, "S1APP_USER_MODELS_DIR": str(work)})
    bench = subprocess.run([str(build / "bin" / "llama-bench"), "-m", str(model), "-p", "0", "-n", "256", "-ngl", "99",
                            "-o", "json"], check=True, capture_output=True, text=True)
    decode = json.loads(bench.stdout)[0]
    return f"(b) llama.cpp CUDA build: decode {decode['avg_ts']:.0f} tok/s (tg256, q8_0 GGUF of the random model)"


def run_checks(kit: Path, device: str, steps: int) -> None:
    sys.path.insert(0, str(kit / SITE_DIR))
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        work = Path(folder)
        result = train_check(kit, device, steps, work)
        report_training(result, device)
        print(llama_check(kit, result["checkpoint"], work) if device == "cuda" else "(b) skipped: CPU run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    kit = commands.add_parser("kit", help="here: what the GPU machine needs, from the embedded GGUF's metadata")
    kit.add_argument("--out", type=Path, required=True)
    kit.add_argument("--llama-src", type=Path, help="a llama.cpp source tree to trim and take along")
    run = commands.add_parser("run", help="there: (a) the training recipe, (b) llama.cpp with CUDA")
    run.add_argument("--kit", type=Path, required=True)
    run.add_argument("--device", choices=sorted(SETTINGS), default="cuda")
    run.add_argument("--steps", type=int, default=8)
    args = parser.parse_args(argv)
    if args.command == "kit":
        make_kit(args.out, args.llama_src)
    else:
        run_checks(args.kit.resolve(), args.device, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
