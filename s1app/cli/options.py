"""Options shared by `ask` and `chat`, and their conversion into a validated BudgetConfig."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from s1app.backends import BackendOptions
from s1app.budget import BudgetConfig
from s1app.loops import LoopSettings

ModelOption = Annotated[Optional[str], typer.Option("--model", "-m", help="Registry name, path to a GGUF/HF folder, or hf:OWNER/REPO/FILE.")]
BackendOption = Annotated[Optional[str], typer.Option("--backend", help="llamacpp | vllm | openai (default: the model's).")]
FormatOption = Annotated[str, typer.Option("--format", help="auto | s1 | think-tags | prompted.")]
BaseUrlOption = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")]
ApiKeyOption = Annotated[Optional[str], typer.Option("--api-key", envvar="S1APP_API_KEY", help="API key for --base-url.")]
MaxThinkingOption = Annotated[Optional[int], typer.Option("--max-thinking", help="Thinking budget in tokens (cap). Default: up to the context.")]
MinThinkingOption = Annotated[int, typer.Option("--min-thinking", help="Extend thinking with Waits until this many tokens.")]
WaitsOption = Annotated[int, typer.Option("--waits", help="Times to suppress end-of-thinking and append the ignore string.")]
IgnoreStrOption = Annotated[str, typer.Option("--ignore-str", help="Text appended to extend thinking.")]
MaxAnswerOption = Annotated[int, typer.Option("--max-answer", help="Answer budget in tokens.")]
TemperatureOption = Annotated[float, typer.Option("--temperature", "-t", help="0 is greedy and deterministic.")]
TopPOption = Annotated[float, typer.Option("--top-p")]
SeedOption = Annotated[Optional[int], typer.Option("--seed", help="Sampling seed (runs with the same seed repeat).")]
LoopDetectOption = Annotated[bool, typer.Option("--loop-detect/--no-loop-detect", help="End thinking when it repeats itself.")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to wait for a server's next token (--backend openai).")]
TensorParallelOption = Annotated[int, typer.Option("--tensor-parallel-size", help="GPUs to shard the model over (--backend vllm).")]
GpuMemoryOption = Annotated[float, typer.Option("--gpu-memory-utilization", help="Share of GPU memory vLLM may take.")]
DtypeOption = Annotated[Optional[str], typer.Option("--dtype", help="Weights dtype for vLLM (bfloat16, float16, float32).")]
NoLogOption = Annotated[bool, typer.Option("--no-log", help="Do not record this run in the session log.")]
DbOption = Annotated[Optional[str], typer.Option("--db", envvar="S1APP_DB", help="Session log database path.")]


def budget_config(
    max_thinking: int | None,
    min_thinking: int,
    waits: int,
    ignore_str: str,
    max_answer: int,
    temperature: float,
    top_p: float,
    seed: int | None,
    loop_detect: bool,
) -> BudgetConfig:
    return BudgetConfig(
        max_thinking_tokens=max_thinking,
        min_thinking_tokens=min_thinking,
        num_waits=waits,
        ignore_str=ignore_str,
        max_answer_tokens=max_answer,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        loop=LoopSettings(enabled=loop_detect),
    )


def backend_options(
    base_url: str | None,
    api_key: str | None,
    timeout_s: float = 60.0,
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float = 0.9,
    dtype: str | None = None,
) -> BackendOptions:
    return BackendOptions(
        base_url=base_url,
        api_key=api_key,
        timeout_s=timeout_s,
        tensor_parallel_size=tensor_parallel_size,
        gpu_memory_utilization=gpu_memory_utilization,
        dtype=dtype,
    )
