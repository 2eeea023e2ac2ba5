"""The options every run-making command shares (model, backend, budget, sampling, log), by name.

``RunOptions`` holds them; ``@with_run_options(...)`` adds them to a command's signature (so
typer shows and parses them like the command's own) and passes the command one RunOptions. A
command can change a default: ``@with_run_options(max_thinking=512)``.

This module keeps real annotation objects (no ``from __future__ import annotations``): typer
reads them from the signature built here.
"""

import functools
import inspect
from dataclasses import dataclass, fields
from typing import Annotated, Optional

import typer

from s1app.backends import BACKEND_NAMES, BackendOptions
from s1app.budget import DEFAULTS, BudgetConfig
from s1app.errors import ConfigError
from s1app.formats import check_switches, get_format
from s1app.loading import LoadedModel, load_entry
from s1app.loops import LoopSettings
from s1app.probes import ProbeSettings
from s1app.registry import resolve_model, with_overrides
from s1app.suppress import parse_suppress

RULE_PROBE_EVERY = 64
"""Probe interval a stopping rule uses when --probe-every is not given."""

OPTION_TYPES = {
    "model": Annotated[Optional[str], typer.Option("--model", "-m", help="Registry name, path to a GGUF/HF folder, or hf:OWNER/REPO/FILE.")],
    "backend": Annotated[Optional[str], typer.Option("--backend", help=f"{' | '.join(BACKEND_NAMES)} (default: the model's).")],
    "format": Annotated[str, typer.Option("--format", help="auto | harmony | seed-oss | magistral | think-tags | s1 | prompted, or a [formats.NAME] of models.toml.")],
    "max_thinking": Annotated[Optional[int], typer.Option("--max-thinking", help="Thinking budget in tokens (cap). Default: up to the context.")],
    "min_thinking": Annotated[int, typer.Option("--min-thinking", help="Extend thinking with Waits until this many tokens.")],
    "waits": Annotated[int, typer.Option("--waits", help="Times to suppress end-of-thinking and append the ignore string.")],
    "ignore_str": Annotated[str, typer.Option("--ignore-str", help="Text appended to extend thinking.")],
    "max_answer": Annotated[int, typer.Option("--max-answer", help="Answer budget in tokens.")],
    "temperature": Annotated[float, typer.Option("--temperature", "-t", help="0 is greedy and deterministic.")],
    "top_p": Annotated[float, typer.Option("--top-p")],
    "seed": Annotated[Optional[int], typer.Option("--seed", help="Sampling seed (runs with the same seed repeat).")],
    "loop_detect": Annotated[bool, typer.Option("--loop-detect/--no-loop-detect", help="End thinking when it repeats itself.")],
    "reasoning_effort": Annotated[Optional[str], typer.Option("--reasoning-effort", help="low | medium | high: the template's reasoning effort (harmony models such as gpt-oss).")],
    "thinking": Annotated[bool, typer.Option("--thinking/--no-thinking", help="--no-thinking: the template skips thinking (Qwen3's enable_thinking); the run only answers.")],
    "probe_every": Annotated[Optional[int], typer.Option("--probe-every", help="Probe every N thinking tokens: what the model would answer if stopped there (a line per probe; --json 'probes').")],
    "probe_tokens": Annotated[int, typer.Option("--probe-tokens", help="Answer tokens a probe decodes at most.")],
    "stop_when_stable": Annotated[Optional[int], typer.Option("--stop-when-stable", help="End thinking once K probes in a row give the same answer (probes every --probe-every tokens, default 64).")],
    "stop_when_confident": Annotated[Optional[float], typer.Option("--stop-when-confident", help="End thinking at a probe whose answer's mean token probability is at least P, in (0, 1].")],
    "landing": Annotated[str, typer.Option("--landing", help="Text forced to end thinking when the budget (or a loop break) cuts it, inside the budget, e.g. 'Okay, time is up. Let me give the final answer.'")],
    "suppress": Annotated[Optional[str], typer.Option("--suppress", help="Comma-separated words the model may not write while thinking, or nowait (the NoWait paper's list).")],
    "base_url": Annotated[Optional[str], typer.Option("--base-url", envvar="S1APP_BASE_URL", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")],
    "api_key": Annotated[Optional[str], typer.Option("--api-key", envvar="S1APP_API_KEY", help="API key for --base-url.")],
    "tokenizer": Annotated[Optional[str], typer.Option("--tokenizer", help="Tokenizer of the served model (--backend openai): a GGUF, HF folder or hub repo id. Default: --model.")],
    "timeout": Annotated[float, typer.Option("--timeout", help="Seconds to wait for a server's next token (--backend openai).")],
    "gpu_layers": Annotated[Optional[int], typer.Option("--gpu-layers", help="Layers llama.cpp offloads to the GPU (default: all on a GPU build, none on a CPU build).")],
    "parallel": Annotated[Optional[int], typer.Option("--parallel", help="Runs llama.cpp decodes together in one batch (default: as many as fit 4 GiB of KV cache, at most 8).")],
    "tensor_parallel_size": Annotated[int, typer.Option("--tensor-parallel-size", help="GPUs to shard the model over (--backend vllm).")],
    "gpu_memory_utilization": Annotated[float, typer.Option("--gpu-memory-utilization", help="Share of GPU memory vLLM may take.")],
    "dtype": Annotated[Optional[str], typer.Option("--dtype", help="Weights dtype for vLLM (bfloat16, float16, float32).")],
    "no_log": Annotated[bool, typer.Option("--no-log", help="Do not record this run in the session log.")],
    "db": Annotated[Optional[str], typer.Option("--db", envvar="S1APP_DB", help="Session log database path.")],
}


@dataclass(frozen=True)
class RunOptions:
    model: Optional[str] = None
    backend: Optional[str] = None
    format: str = "auto"
    max_thinking: Optional[int] = DEFAULTS.max_thinking_tokens
    min_thinking: int = DEFAULTS.min_thinking_tokens
    waits: int = DEFAULTS.num_waits
    ignore_str: str = DEFAULTS.ignore_str
    max_answer: int = DEFAULTS.max_answer_tokens
    temperature: float = DEFAULTS.temperature
    top_p: float = DEFAULTS.top_p
    seed: Optional[int] = DEFAULTS.seed
    loop_detect: bool = DEFAULTS.loop.enabled
    reasoning_effort: Optional[str] = DEFAULTS.reasoning_effort
    thinking: bool = DEFAULTS.thinking
    probe_every: Optional[int] = None
    probe_tokens: int = DEFAULTS.probes.tokens
    stop_when_stable: Optional[int] = None
    stop_when_confident: Optional[float] = None
    landing: str = DEFAULTS.landing
    suppress: Optional[str] = None
    base_url: Optional[str] = None
    api_key: Optional[str] = None
    tokenizer: Optional[str] = None
    timeout: float = 60.0
    gpu_layers: Optional[int] = None
    parallel: Optional[int] = None
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    dtype: Optional[str] = None
    no_log: bool = False
    db: Optional[str] = None

    def budget_config(self) -> BudgetConfig:
        """Validated here, before any model loads (ConfigError says what to fix)."""
        return BudgetConfig(
            max_thinking_tokens=self.max_thinking, min_thinking_tokens=self.min_thinking, num_waits=self.waits,
            ignore_str=self.ignore_str, max_answer_tokens=self.max_answer, temperature=self.temperature,
            top_p=self.top_p, seed=self.seed, loop=LoopSettings(enabled=self.loop_detect),
            reasoning_effort=self.reasoning_effort, thinking=self.thinking, probes=self.probe_settings(),
            landing=self.landing, suppress=parse_suppress(self.suppress or ""),
        )

    def probe_settings(self) -> ProbeSettings:
        """The probe options; the CLI's own limits first (the library's 0 means off, here it is a mistake)."""
        if self.probe_every is not None and self.probe_every < 1:
            raise ConfigError(f"--probe-every must be at least 1 token, got {self.probe_every}: "
                              "leave it out for no probes.")
        if self.stop_when_stable is not None and self.stop_when_stable < 2:
            raise ConfigError(f"--stop-when-stable needs at least 2 probes that agree, got {self.stop_when_stable}.")
        ruled = self.stop_when_stable is not None or self.stop_when_confident is not None
        every = self.probe_every or (RULE_PROBE_EVERY if ruled else 0)
        return ProbeSettings(every=every, tokens=self.probe_tokens, stop_when_stable=self.stop_when_stable or 0,
                             stop_when_confident=self.stop_when_confident)

    def backend_options(self) -> BackendOptions:
        return BackendOptions(
            base_url=self.base_url, api_key=self.api_key, tokenizer=self.tokenizer, timeout_s=self.timeout,
            parallel=self.parallel, gpu_layers=self.gpu_layers, tensor_parallel_size=self.tensor_parallel_size,
            gpu_memory_utilization=self.gpu_memory_utilization, dtype=self.dtype,
        )

    def load(self) -> LoadedModel:
        """The model, with the run's template switches checked against its format: before the
        weights load when the format is named (registry entry or --format), else right after."""
        entry = with_overrides(resolve_model(self.model, backend=self.backend), backend=self.backend, format=self.format)
        config = self.budget_config()
        if entry.format != "auto":
            check_switches(get_format(entry.format), config)
        model = load_entry(entry, self.backend_options())
        check_switches(model.format_tokens.format, config, model.chat_template)
        return model


def with_run_options(**defaults):
    """Give the decorated command every RunOptions field as a CLI option; it receives ``options``."""
    shared = [inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, annotation=OPTION_TYPES[field.name],
                                default=defaults.get(field.name, field.default)) for field in fields(RunOptions)]

    def decorate(command):
        own = [parameter for name, parameter in inspect.signature(command, eval_str=True).parameters.items()
               if name != "options"]

        @functools.wraps(command)
        def with_options(**values):
            shared_values = {parameter.name: values.pop(parameter.name) for parameter in shared}
            return command(**values, options=RunOptions(**shared_values))

        with_options.__signature__ = inspect.Signature(own + shared)
        with_options.__annotations__ = {parameter.name: parameter.annotation for parameter in own + shared}
        del with_options.__wrapped__  # typer must read the signature above, not the command's
        return with_options

    return decorate
