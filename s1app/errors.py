"""One exception type per kind of user mistake. Each message says what to do next."""


class S1AppError(Exception):
    """Base of every error the app shows to a person (CLI prints it, UI shows it)."""


class ConfigError(S1AppError):
    """A setting is out of range or inconsistent (budget, seed, min > max, ...)."""


class ModelNotFoundError(S1AppError):
    """The model name, path or hub id does not resolve to weights on disk."""


class ModelFormatError(S1AppError):
    """The file exists but is not something the chosen backend can load."""


class PromptTooLongError(S1AppError):
    """The prompt alone does not fit in the model's context window."""


class BackendError(S1AppError):
    """The backend failed (server down, died mid-stream, bad reply, missing package)."""


class StoreError(S1AppError):
    """The session store cannot be opened, read or written."""


class NativeCrashError(BackendError):
    """A native library (llama.cpp) crashed in a test run in a child process: the build does not
    run on this machine, so the app did not load it in-process."""


class DatasetError(S1AppError):
    """A training or curation dataset cannot be read, or lacks a column it needs."""


class CheckpointError(S1AppError):
    """A folder given as a training checkpoint is not one (or is incomplete)."""


class BenchmarkError(S1AppError):
    """The benchmark cannot be loaded: an unknown name, a missing file, JSONL without the fields."""


class EvalRunError(S1AppError):
    """An eval run folder cannot be resumed or read (no such run, a broken manifest, other settings)."""


class ExposureError(S1AppError):
    """The web UI would be reachable beyond this machine (or through a share link) without a login."""
