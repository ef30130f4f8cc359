"""The GRM's own components of Rasa's NLU pipeline (config.yml)."""

from __future__ import annotations

from typing import Any

import regex
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.feature_extraction.text import CountVectorizer

from bot.language import ENTITY, SPELLINGS, detect, named_language, one_spelling

# Rasa's CountVectorsFeaturizer hands scikit-learn the pattern `\b\w+\b` for the `re` module,
# whose `\w` leaves out the vowel signs and the virama (Unicode marks): it cuts "जग्गाको"
# into "जग" and "को" is lost. The tokenizer already splits words right (it uses the `regex`
# module, whose `\w` follows Unicode); the featurizer below finds words with the same module,
# so a Nepali word is one feature, as an English one is. English gives the same words as before.
_WORD = regex.compile(r"\b\w+\b")


def words(text: str) -> list[str]:
    """The words of a (lower-cased) message, marks kept inside them, in one spelling."""
    return list(_WORD.findall(one_spelling(text)))


def _whole_words(vectorizers: dict[str, CountVectorizer]) -> dict[str, CountVectorizer]:
    for vectorizer in vectorizers.values():
        if vectorizer.analyzer == "word":
            vectorizer.set_params(token_pattern=None, tokenizer=words)
    return vectorizers


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class WholeWordCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer with words found by Unicode's rules."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        # Rasa reuses a cached featurizer while its config and data are unchanged: a change of
        # how words are found or spelt must train it (and DIET after it) again.
        return f"{_WORD.pattern}|{sorted(SPELLINGS.items())}"

    @classmethod
    def _create_shared_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        return _whole_words(super()._create_shared_vocab_vectorizers(parameters, vocabulary))

    @classmethod
    def _create_independent_vocab_vectorizers(
        cls, parameters: dict[str, Any], vocabulary: Any | None = None
    ) -> dict[str, CountVectorizer]:
        return _whole_words(super()._create_independent_vocab_vectorizers(parameters, vocabulary))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(GraphComponent):
    """Adds a `language` entity to a message whose language is clear."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = self._named(message.get(ENTITIES) or [])
            message.set(ENTITIES, entities, add_to_output=True)
            if any(entity.get("entity") == ENTITY for entity in entities):
                continue  # the citizen named a language
            text = message.get(TEXT) or ""
            found = detect(text)
            if found:
                entity = {
                    "entity": ENTITY,
                    "value": found,
                    "start": 0,
                    "end": len(text),
                    "extractor": "LanguageDetector",
                }
                message.set(ENTITIES, [*entities, entity], add_to_output=True)
        return messages

    @staticmethod
    def _named(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entities with each `language` one as "en" or "ne": the classifier may pass on a
        span no synonym maps ("nepali bhasa"), which would set the slot to that text; one that
        names no language is dropped."""
        kept = []
        for entity in entities:
            if entity.get("entity") == ENTITY:
                code = named_language(str(entity.get("value") or ""))
                if code is None:
                    continue
                entity = {**entity, "value": code}
            kept.append(entity)
        return kept
