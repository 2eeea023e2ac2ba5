"""Where the registry's files live (the project's models/ folder and the user's own), and reading them."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

from s1app.errors import ConfigError

PROJECT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def models_dir() -> Path:
    """Where models.toml and dropped-in GGUF files live (``S1APP_MODELS_DIR`` overrides)."""
    return Path(os.environ.get("S1APP_MODELS_DIR") or PROJECT_MODELS_DIR)


def user_models_dir() -> Path:
    """Models a person added (training's export writes here): a models.toml beside the project's,
    in the user data dir (``S1APP_USER_MODELS_DIR`` overrides)."""
    override = os.environ.get("S1APP_USER_MODELS_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("s1app")) / "models"


def registry_files() -> list[Path]:
    """The models.toml files read, the project's first (a user's entries replace its)."""
    return [models_dir() / "models.toml", user_models_dir() / "models.toml"]


def read_tables(toml_path: Path, kind: str) -> dict[str, dict]:
    """The ``[kind.NAME]`` tables of a TOML file ("models" or "formats"); none when it is absent."""
    if not toml_path.exists():
        return {}
    try:
        return tomllib.loads(toml_path.read_text(encoding="utf-8")).get(kind, {})
    except tomllib.TOMLDecodeError as failure:
        raise ConfigError(f"{toml_path} is not valid TOML ({failure}): fix or remove it.") from failure
