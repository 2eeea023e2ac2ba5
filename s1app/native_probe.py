"""``python -m s1app.native_probe MODEL.gguf``: load llama.cpp here and decode a few tokens.

Run in a child process by s1app.native_check (and ``s1app doctor``): if the build crashes on this
CPU, only the child dies. Prints one JSON object: tokens decoded, tokens/s, whether the build is
batch-invariant, and llama.cpp's own system info.
"""

from __future__ import annotations

import json
import sys
import threading
import time

PROBE_PROMPT = "The capital of France is"
PROBE_TOKENS = 16


def probe(model_path: str) -> dict:
    import llama_cpp

    from s1app.backends.base import Piece, Sampling
    from s1app.backends.llamacpp import LlamaCppBackend

    started = time.perf_counter()
    backend = LlamaCppBackend(model_path, context_length=256, parallel=2, check_build=False)
    loaded_s = time.perf_counter() - started
    prompt = backend.tokenize(PROBE_PROMPT, prompt=True)
    produced = [0, 0]

    def decode(index: int) -> None:  # two at once: the batched path is exercised too
        for item in backend.generate(prompt, max_tokens=PROBE_TOKENS, stop_token_ids=(), sampling=Sampling()):
            produced[index] += isinstance(item, Piece)

    decoding = time.perf_counter()
    workers = [threading.Thread(target=decode, args=(index,)) for index in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    decode_s = time.perf_counter() - decoding
    report = {
        "ok": sum(produced) == 2 * PROBE_TOKENS,
        "tokens": sum(produced),
        "tokens_per_s": round(sum(produced) / decode_s, 1) if decode_s > 0 else None,
        "load_s": round(loaded_s, 2),
        "batch_invariant": backend.batch_invariant,
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
    }
    backend.close()
    return report


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m s1app.native_probe MODEL.gguf")
    print(json.dumps(probe(sys.argv[1])), flush=True)
