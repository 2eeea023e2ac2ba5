"""Where the registry's files live: the project's models/ folder and the user's own."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

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
