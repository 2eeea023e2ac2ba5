"""A model's tokenizer on this machine: the text half of every backend (TokenizerSide).

Two sources, chosen by what the weights are:
- a GGUF file: llama.cpp with ``vocab_only=True`` (loads the vocabulary and metadata, no weights);
- a Hugging Face folder or repo id: transformers' AutoTokenizer (when transformers is installed).

Both answer the same questions the Backend protocol asks: tokenize (special tokens parsed),
detokenize (special tokens rendered), the chat template and the named special tokens.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol

from s1app.errors import BackendError
from s1app.llama_log import route_llama_log


class LocalTokenizer(Protocol):
    source: str
    """Where it came from, for messages and BackendInfo ("llama.cpp vocab of X", ...)."""

    def tokenize(self, text: str, *, prompt: bool = False) -> list[int]: ...
    def detokenize(self, token_ids: list[int]) -> str: ...
    def chat_template(self) -> str | None: ...
    def special_tokens(self) -> dict[str, int]: ...
    def adds_bos(self) -> bool: ...


class TokenizerSide:
    """The protocol's text half (tokenize, detokenize, chat_template, special_tokens), answered by
    the model's local tokenizer. Every backend has one, whatever generates its tokens; calls are
    serialized because concurrent runs tokenize from their own threads."""

    def __init__(self, tokenizer: LocalTokenizer) -> None:
        self.tokenizer = tokenizer
        self._tokenizer_lock = threading.Lock()
        self._specials = tokenizer.special_tokens()

    def tokenize(self, text: str, *, prompt: bool = False) -> list[int]:
        with self._tokenizer_lock:
            return self.tokenizer.tokenize(text, prompt=prompt)

    def detokenize(self, token_ids: list[int]) -> str:
        with self._tokenizer_lock:
            return self.tokenizer.detokenize(list(token_ids))

    def chat_template(self) -> str | None:
        return self.tokenizer.chat_template()

    def special_tokens(self) -> dict[str, int]:
        return dict(self._specials)


class GgufVocab:
    """The vocabulary and metadata of a GGUF file through llama.cpp (no weights loaded)."""

    def __init__(self, vocab, source: str) -> None:
        """``vocab``: a llama_cpp LlamaModel (vocab-only or full); use ``open`` for a file."""
        self._vocab = vocab
        self._metadata = dict(vocab.metadata())
        self.source = source

    @classmethod
    def open(cls, gguf_path: str) -> GgufVocab:
        import llama_cpp
        from llama_cpp._internals import LlamaModel

        route_llama_log()
        # The model object alone (no context): a context would only warn about its size.
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        try:
            vocab = LlamaModel(path_model=gguf_path, params=params, verbose=False)
        except (ValueError, RuntimeError) as failure:
            raise BackendError(f"Could not read the tokenizer of {gguf_path}: {failure}") from failure
        return cls(vocab, f"llama.cpp vocab of {Path(gguf_path).name}")

    def adds_bos(self) -> bool:
        return bool(self._vocab.add_bos_token())

    def tokenize(self, text: str, *, prompt: bool = False) -> list[int]:
        add_bos = prompt and self.adds_bos()
        ids = self._vocab.tokenize(text.encode("utf-8"), add_bos, True)
        bos = self._vocab.token_bos()
        if add_bos and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
            ids = ids[1:]
        return ids

    def detokenize(self, token_ids: list[int]) -> str:
        return self._vocab.detokenize(list(token_ids), special=True).decode("utf-8", errors="replace")

    def chat_template(self) -> str | None:
        return self._metadata.get("tokenizer.chat_template")

    def special_tokens(self) -> dict[str, int]:
        tokens = {"eos": self._vocab.token_eos(), "bos": self._vocab.token_bos(), "eot": self._vocab.token_eot()}
        return {name: token for name, token in tokens.items() if token is not None and token >= 0}

    def context_length(self) -> int | None:
        value = self._metadata.get(f"{self._metadata.get('general.architecture', '')}.context_length")
        return int(value) if value else None


class HfTokenizer:
    """A Hugging Face tokenizer (folder or repo id) through transformers."""

    def __init__(self, name_or_path: str) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError as failure:
            raise BackendError(
                f"Reading the tokenizer of {name_or_path} needs transformers (pip install transformers), "
                "or pass --model with the model's GGUF file."
            ) from failure
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        except (OSError, ValueError) as failure:
            raise BackendError(f"Could not load the tokenizer of {name_or_path}: {failure}") from failure
        self.source = f"transformers tokenizer of {name_or_path}"
        self._generation_eos = _generation_config_eos(name_or_path)

    def adds_bos(self) -> bool:
        bos = self._tokenizer.bos_token_id
        return bos is not None and self._tokenizer("a", add_special_tokens=True)["input_ids"][:1] == [bos]

    def tokenize(self, text: str, *, prompt: bool = False) -> list[int]:
        ids = self._tokenizer(text, add_special_tokens=prompt)["input_ids"]
        bos = self._tokenizer.bos_token_id
        if prompt and len(ids) > 1 and ids[0] == bos and ids[1] == bos:
            ids = ids[1:]
        return list(ids)

    def detokenize(self, token_ids: list[int]) -> str:
        return self._tokenizer.decode(list(token_ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def chat_template(self) -> str | None:
        template = getattr(self._tokenizer, "chat_template", None)
        return template if isinstance(template, str) else None

    def special_tokens(self) -> dict[str, int]:
        tokens = {"eos": self._tokenizer.eos_token_id, "bos": self._tokenizer.bos_token_id}
        # Chat models often end a turn with a token that is not the tokenizer's EOS (Qwen's
        # <|im_end|>); generation_config.json names it, as llama.cpp's "eot" does for GGUFs.
        extra = [token for token in self._generation_eos if token != tokens["eos"]]
        if extra:
            tokens["eot"] = extra[0]
        return {name: token for name, token in tokens.items() if token is not None and token >= 0}


def _generation_config_eos(name_or_path: str) -> list[int]:
    path = Path(name_or_path) / "generation_config.json"
    if not path.is_file():
        return []
    value = json.loads(path.read_text(encoding="utf-8")).get("eos_token_id")
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


def local_tokenizer(weights: str) -> LocalTokenizer:
    """The tokenizer for ``weights``: a GGUF file, a Hugging Face folder or a hub repo id."""
    path = Path(weights).expanduser()
    if path.is_file():
        with path.open("rb") as handle:
            if handle.read(4) == b"GGUF":
                return GgufVocab.open(str(path))
        raise BackendError(f"{weights} is neither a GGUF file nor a Hugging Face folder: no tokenizer to read.")
    return HfTokenizer(str(path) if path.is_dir() else weights)
