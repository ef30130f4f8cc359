"""The GRM's own components of Rasa's NLU pipeline (config.yml)."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import regex
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import CountVectorizer

from bot.language import ENTITY, SPELLINGS, detect, named_language, one_spelling

# Rasa's CountVectorsFeaturizer hands scikit-learn the pattern `\b\w+\b` for the `re` module,
# whose `\w` leaves out the vowel signs and the virama (Unicode marks): it cuts "जग्गाको"
# into "जग" and "को" is lost. The tokenizer already splits words right (it uses the `regex`
# module, whose `\w` follows Unicode); the featurizer below finds words with the same module,
# so a Nepali word is one feature, as an English one is. English gives the same words as before.
_WORD = regex.compile(r"\b\w+\b")


def words(text: str) -> list[str]:
    """The words of a (lower-cased) message, marks kept inside them."""
    return list(_WORD.findall(text))


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
        # how words are found must train it (and DIET after it) again.
        return str(_WORD.pattern)

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


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class OneSpellingTokens(GraphComponent):
    """Gives every featurizer after it the tokens in one spelling.

    - The Devanagari spellings of a word (अरू, अरु) become one (bot/language.py), for the
      character n-grams and the word shapes as for the word counts: one spelling once
      understood as "nothing more" and the other not.
    - A grievance reference is random letters and digits ("GR-DXSJ-4214"): seen as
      characters, each pulled the classifier somewhere else, so "what about <reference>?"
      was understood for some references and not for others. Each becomes one token, the
      same placeholder for every reference. So does every one-time code (six random
      digits, Latin or Devanagari): "मेरो कोड ८६४१३७ हो" reads as the training examples do.

    Tokens keep their place in the message, and the entity extractors take a value from
    the message's text, so the reference itself is still found. The shapes are the training
    data's regexes of those names (data/nlu/status.yml, data/nlu/verification.yml), kept
    with the model.
    """

    # The training data's regex of each name, and the token that stands for what it matches.
    PLACEHOLDERS: ClassVar[dict[str, str]] = {"reference": "grreference", "code": "grcode"}
    _FILE = "patterns.json"

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        return f"{sorted(SPELLINGS.items())}|{sorted(cls.PLACEHOLDERS.items())}"  # see WholeWordCountVectorsFeaturizer

    def __init__(self, patterns: dict[str, list[str]], model_storage: ModelStorage, resource: Resource) -> None:
        self._patterns = [
            (re.compile(pattern, re.IGNORECASE), self.PLACEHOLDERS[name])
            for name, shapes in patterns.items()
            for pattern in shapes
        ]
        self._model_storage = model_storage
        self._resource = resource

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OneSpellingTokens:
        return cls({}, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> OneSpellingTokens:
        with model_storage.read_from(resource) as directory:
            patterns = json.loads((directory / cls._FILE).read_text(encoding="utf-8"))
        return cls(patterns, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        features = training_data.regex_features
        patterns = {name: [str(f["pattern"]) for f in features if f["name"] == name] for name in self.PLACEHOLDERS}
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self._FILE).write_text(json.dumps(patterns), encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            tokens: list[Token] | None = message.get(TOKENS_NAMES[TEXT])
            text = message.get(TEXT)
            if tokens and text:
                message.set(TOKENS_NAMES[TEXT], self._normalised(text, tokens))
        return messages

    def _normalised(self, text: str, tokens: list[Token]) -> list[Token]:
        spans = [
            (match.span(), placeholder) for pattern, placeholder in self._patterns for match in pattern.finditer(text)
        ]
        normalised: list[Token] = []
        for token in tokens:
            found = next(
                (((start, end), placeholder) for (start, end), placeholder in spans if start <= token.start < end), None
            )
            if found is None:
                spelt = one_spelling(token.text)
                normalised.append(Token(spelt, token.start, token.end, token.data, one_spelling(token.lemma)))
                continue
            (start, end), placeholder = found
            if not normalised or normalised[-1].start != start:
                normalised.append(Token(placeholder, start, end, lemma=placeholder))
        return normalised


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
