"""A training run's settings: one YAML file per model size (torchtune style), flags over file.

Every key is a field of ``TrainConfig`` below; an unknown key, a wrong type or an inconsistent
value is a ConfigError saying what to change. No indirection: the recipe reads these fields.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from s1app.errors import ConfigError

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"


@dataclass(frozen=True, slots=True)
class TrainConfig:
    # -- what to train ---------------------------------------------------------------------
    model: str
    """A Hugging Face repo id or folder, a GGUF file, or an s1app registry name (GGUFs are
    dequantized once with transformers)."""
    dataset: str
    """A hub dataset name (simplescaling/s1K, simplescaling/s1K-1.1) or a local .parquet/.jsonl/.json
    of the same schema; a relative path is taken from the project root."""
    dataset_split: str = "train"
    trajectory: Literal["deepseek", "gemini"] | None = None
    """s1K-1.1 only: which teacher's thinking trajectory and attempt to train on."""
    max_samples: int | None = None
    block_size: int = 32768
    """Tokens per sample; longer samples are cut (and reported: a cut answer teaches thinking
    without answering, the paper's Table 8)."""
    # -- optimisation ----------------------------------------------------------------------
    epochs: int = 5
    global_batch_size: int = 16
    """Samples per optimizer step at any world size (gradient accumulation makes up the rest)."""
    micro_batch_size: int = 1
    learning_rate: float = 1e-5
    warmup_ratio: float = 0.05
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 1e-4
    max_grad_norm: float = 1.0
    max_steps: int | None = None
    """Stop after this many optimizer steps (the schedule is then this long too)."""
    seed: int = 42
    # -- precision and memory ----------------------------------------------------------------
    dtype: Literal["bf16", "fp32"] = "bf16"
    """Compute dtype; weights, gradients and optimizer state stay fp32 (mixed precision)."""
    gradient_checkpointing: bool = False
    cpu_threads: int | None = None
    """Threads per process when training on a CPU (default: the cores / the processes). On a busy
    machine 1 beats 2: an OpenMP thread spins while it waits for a descheduled peer."""
    attention: Literal["sdpa", "eager", "flash_attention_2"] = "sdpa"
    # -- output ----------------------------------------------------------------------------
    output_dir: str = "checkpoints/run"
    save_every_steps: int | None = None
    """Also save a resumable checkpoint every N steps (the last step is always saved)."""
    save_dtype: Literal["bf16", "fp32"] = "bf16"
    """Dtype of the Hugging Face weights in a checkpoint (resume state is always fp32)."""
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("block_size", "epochs", "global_batch_size", "micro_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("max_samples", "max_steps", "save_every_steps", "cpu_threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1 (or left out), got {value}.")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be above 0, got {self.learning_rate}.")

    def gradient_accumulation_steps(self, world_size: int) -> int:
        """Micro-batches each process runs per optimizer step so the global batch is the configured one."""
        per_pass = self.micro_batch_size * world_size
        if self.global_batch_size % per_pass:
            fitting = [n for n in range(1, self.global_batch_size + 1) if self.global_batch_size % (n * self.micro_batch_size) == 0]
            raise ConfigError(
                f"global_batch_size {self.global_batch_size} is not a multiple of micro_batch_size "
                f"{self.micro_batch_size} x {world_size} processes: run with one of {fitting} processes, "
                "or change global_batch_size / micro_batch_size."
            )
        return self.global_batch_size // per_pass


def config_path(name_or_path: str) -> Path:
    """A config file: a path, or a name in training/configs (``small-cpu`` or ``small-cpu.yaml``).
    A folder of that name (a run trained with ``--output-dir tiny-cpu``) is not a config file."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = CONFIGS_DIR / (name_or_path if name_or_path.endswith(".yaml") else f"{name_or_path}.yaml")
    if named.exists():
        return named
    known = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml")))
    raise ConfigError(f"No training config {name_or_path!r}: pass a YAML path or one of {known}.")


def load_config(name_or_path: str, **overrides: Any) -> TrainConfig:
    """Read a YAML config; ``overrides`` that are not None replace its values (flags over file)."""
    path = config_path(name_or_path)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as failure:
        raise ConfigError(f"{path} is not valid YAML ({failure}): fix the file.") from failure
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must be a mapping of keys to values (key: value per line).")
    values.update({key: value for key, value in overrides.items() if value is not None})
    return config_from_dict(values, str(path))


def config_from_dict(values: dict[str, Any], where: str = "the config") -> TrainConfig:
    fields = {field.name: field for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"Unknown key(s) {unknown} in {where}: the known keys are {sorted(fields)}.")
    missing = [name for name, field in fields.items() if field.default is dataclasses.MISSING and name not in values]
    if missing:
        raise ConfigError(f"{where} must set {missing}.")
    hints = get_type_hints(TrainConfig)
    return TrainConfig(**{key: _checked(key, value, hints[key], where) for key, value in values.items()})


def _checked(key: str, value: Any, hint: Any, where: str) -> Any:
    """``value`` as the field's type; YAML reads 1e-5 as a string, so numbers in strings are accepted."""
    allowed = [arg for arg in get_args(hint) if arg is not type(None)] if _is_optional(hint) else [hint]
    if value is None and _is_optional(hint):
        return None
    for kind in allowed:
        if get_origin(kind) is Literal:
            if value in get_args(kind):
                return value
            continue
        if kind is bool:
            if isinstance(value, bool):
                return value
            continue
        if kind is float and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return float(value)
            except ValueError:
                continue
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            return value
    expected = " or ".join(_describe(kind) for kind in allowed)
    raise ConfigError(f"{key} in {where} must be {expected}, got {value!r}.")


def _is_optional(hint: Any) -> bool:
    return get_origin(hint) in (types.UnionType, Union) and type(None) in get_args(hint)


def _describe(kind: Any) -> str:
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(repr(arg) for arg in get_args(kind))
    return {int: "a whole number", float: "a number", bool: "true or false", str: "text"}.get(kind, str(kind))
