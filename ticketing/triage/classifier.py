"""Which categories a grievance belongs to, learnt from labelled examples at start-up.

Every category of the configured tree that has no active sub-category is a label. Its
prototypes are its name and description (English and Nepali) and its labelled examples;
adding examples improves the classifier without touching code. Two views of a text:

- sentence embeddings from the transformers model, for English (and for Nepali when the
  model is multilingual);
- character n-grams (TF-IDF) of the same prototypes, which work on any script and on
  misspellings, and carry Nepali when the embedding model cannot read it.

A logistic regression per view is fitted on the prototypes when the process starts (a
second or two); it weighs every prototype, where nearest-prototype matching let a single
lookalike example decide (65% against 60% top-1 in 5-fold cross-validation on the
examples, see docs/triage.md). Scores are the regressions' probabilities, averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from ticketing.store.vocabulary import Priority
from ticketing.triage.encoder import Embedder
from ticketing.triage.guard import TOKEN
from ticketing.triage.language import Language

# Inverse regularisation strength; 10 did best in cross-validation (1 underfits, 100 overfits).
REGULARISATION_C = 10.0
# Where the embeddings read the language, the n-gram view counts this much. 5-fold
# cross-validation on the 1,405 examples with multilingual-e5-small, top-1 English /
# Devanagari / romanised: 0.5 gave 84.1 / 81.4 / 68.1%, 0.6 83.7 / 81.1 / 69.5%, 0.7
# 83.3 / 80.2 / 70.4%, the n-grams alone 79.1 / 73.7 / 69.8%.
NGRAM_WEIGHT = 0.6


@dataclass(frozen=True)
class Label:
    """A category a grievance can be filed under, as the configured tree describes it."""

    code: str
    name: str
    name_ne: str
    description: str
    priority: Priority

    @property
    def prototypes(self) -> tuple[str, ...]:
        english = f"{self.name}. {self.description}".strip(". ")
        return (english, self.name_ne) if self.name_ne else (english,)


@dataclass(frozen=True)
class Example:
    """A grievance with the category an officer (or the shipped set) gave it."""

    text: str
    code: str


def _regression(features: Any, owners: np.ndarray) -> LogisticRegression:
    # Balanced: a category with few examples is not drowned by one with many.
    model = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=3000)
    return model.fit(features, owners)


class Classifier:
    """Scores every label for a grievance; fitted once per process, then read-only."""

    def __init__(self, encoder: Embedder, labels: Sequence[Label], examples: Sequence[Example]) -> None:
        self.encoder = encoder
        self.labels = tuple(labels)
        index = {label.code: i for i, label in enumerate(self.labels)}
        texts = [text for label in self.labels for text in label.prototypes]
        owners = [index[label.code] for label in self.labels for _ in label.prototypes]
        for example in examples:
            if example.code in index:  # an example of a category since retired is no label's
                texts.append(example.text)
                owners.append(index[example.code])
        classes = np.asarray(owners)
        embedded = encoder.embed_many(texts, passages=True)
        self._by_meaning = _regression(embedded, classes)
        self._vectorizer = FeatureUnion(
            [
                ("grams", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
                # Whole words beside the n-grams: "muabja" is one strong feature, where its
                # n-grams are shared with many other words (5-fold CV on the examples: romanised
                # 66.7% -> 69.8%, Devanagari 72.0% -> 73.7%, English 77.2% -> 79.1%, n-grams alone).
                ("words", TfidfVectorizer(token_pattern=TOKEN.pattern, sublinear_tf=True)),
            ]
        )
        self._by_grams = _regression(self._vectorizer.fit_transform(texts), classes)

    def scores(self, text: str, language: Language) -> np.ndarray:
        """One score per label (summing to one), for a grievance in `language`."""
        # Every label has prototypes of its own, so the regressions' classes are the labels, in order.
        by_grams = self._by_grams.predict_proba(self._vectorizer.transform([text]))[0]
        if language.is_nepali and not self.encoder.multilingual:
            return np.asarray(by_grams, dtype=np.float32)
        by_meaning = self._by_meaning.predict_proba(self.encoder.embed([text]))[0]
        return np.asarray((1 - NGRAM_WEIGHT) * by_meaning + NGRAM_WEIGHT * by_grams, dtype=np.float32)
