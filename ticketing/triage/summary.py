"""A one-line summary for officers: at most 200 characters, and nothing the citizen did not say.

Extractive by default: the sentences closest in meaning to the whole grievance, in the
citizen's own order and words. When SUMMARY_MODEL_DIR points at a local sequence-to-sequence
model, it writes the summary instead; a generated summary naming a number or a name the
grievance does not contain is discarded for the extractive one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ticketing.triage.encoder import OFFLINE

MAX_CHARS = 200
ELLIPSIS = "…"
# Sentence ends: Latin punctuation, the Devanagari danda, line breaks.
SENTENCE_END = re.compile(r"(?<=[.!?।॥])\s+|\n+")
# What a generated summary may only repeat, never invent: numbers and capitalised names.
FACT = re.compile(r"\d+|\b[A-Z][a-z]+\b")
Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Summary:
    text: str
    method: str  # "verbatim", "extractive" or "model"


def tidy(text: str) -> str:
    return " ".join(text.split())


def trim(text: str, limit: int = MAX_CHARS) -> str:
    """Cut at a word boundary with an ellipsis, never inside a word."""
    text = tidy(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > limit // 2 else cut[:-1]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def sentences(text: str) -> list[str]:
    return [tidy(part) for part in SENTENCE_END.split(text) if part.strip()]


def extractive(text: str, embed: Embed) -> Summary:
    """The grievance itself when short; else its most central sentences, in order, within the limit."""
    whole = tidy(text)
    if len(whole) <= MAX_CHARS:
        return Summary(whole, "verbatim")
    parts = sentences(text)
    if len(parts) == 1:
        return Summary(trim(whole), "extractive")
    vectors = embed(parts)
    centre = vectors.mean(axis=0)
    # Centrality, with a small lead for the opening: citizens tend to start with the problem.
    ranking = vectors @ centre + np.linspace(0.05, 0.0, len(parts))
    chosen: list[int] = []
    used = 0
    for index in np.argsort(-ranking):
        length = len(parts[index]) + (1 if chosen else 0)
        if used + length <= MAX_CHARS:
            chosen.append(int(index))
            used += length
    if not chosen:
        return Summary(trim(parts[int(np.argmax(ranking))]), "extractive")
    return Summary(" ".join(parts[i] for i in sorted(chosen)), "extractive")


def faithful(summary: str, source: str) -> bool:
    """Whether every number and capitalised name in the summary is in the grievance."""
    return all(fact in source for fact in FACT.findall(summary))


class ModelSummariser:
    """A local sequence-to-sequence model (SUMMARY_MODEL_DIR) behind a transformers pipeline."""

    def __init__(self, path: Path) -> None:
        for key, value in OFFLINE.items():
            os.environ.setdefault(key, value)
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline

        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSeq2SeqLM.from_pretrained(path, local_files_only=True)
        self._pipeline: Any = pipeline("text2text-generation", model=model, tokenizer=tokenizer, device="cpu")

    def __call__(self, text: str) -> str:
        # A grievance longer than the model reads is cut to its opening, where the problem is told.
        output = self._pipeline(text, max_new_tokens=60, num_beams=1, do_sample=False, truncation=True)
        return tidy(str(output[0]["generated_text"]))


def summarise(text: str, embed: Embed, model: Callable[[str], str] | None = None) -> Summary:
    """The model's summary when there is a model and it invents nothing; else the extractive one."""
    if model is not None:
        generated = trim(model(text))
        if generated and faithful(generated, text):
            return Summary(generated, "model")
    return extractive(text, embed)
