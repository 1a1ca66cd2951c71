"""Sends messages without a single known word to the fallback.

A linear classifier given an all-zero feature row still names an intent, often with
confidence (its intercepts decide). "😀😀😀" or "xyz qwe" must not be read as "yes".
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import FromConfig

FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class UnknownWordsGuard(FromConfig, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # Featurizers (by alias) whose features say nothing about known words.
        return {"ignore_featurizers": []}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.ignore = tuple(config.get("ignore_featurizers") or ())


    def knows_a_word(self, message: Message) -> bool:
        for feature in message.features:
            if feature.attribute != TEXT or feature.type != FEATURE_TYPE_SENTENCE:
                continue
            if feature.origin in self.ignore:
                continue
            if feature.is_sparse() and feature.features.nnz > 0:
                return True
            if feature.is_dense() and feature.features.any():
                return True
        return False

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(INTENT) is None or self.knows_a_word(message):
                continue
            message.set(
                INTENT,
                {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0},
                add_to_output=True,
            )
            message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages
