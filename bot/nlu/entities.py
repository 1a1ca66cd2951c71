"""Entity extraction that needs Vietnamese folding or canonical values.

- `GazetteerEntityExtractor`: procedure and place names from the project's data files,
  matched on the normalised, accent-folded text ("so do", "sổ đỏ", "SỔ ĐỎ" alike).
- `EntityValueNormaliser`: turns what the regexes found into one canonical value
  (dossier codes, phone and ID numbers) so actions never see "000 00 12 h46 …".
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import FromConfig
from bot.nlu.gazetteer import DATA_FILES, Gazetteer, gazetteer_from_config
from bot.nlu.values import canonical_value


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class GazetteerEntityExtractor(FromConfig, GraphComponent, EntityExtractorMixin):
    """Finds procedure and locality names listed in the data files."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return dict(DATA_FILES)

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        self.gazetteer: Gazetteer = gazetteer_from_config(self._config)


    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            taken = [(e["start"], e["end"]) for e in message.get(ENTITIES, [])]
            found = [
                {
                    "entity": match.entity,
                    "value": match.value,
                    "start": match.start,
                    "end": match.end,
                    "confidence_entity": 1.0,
                }
                for match in self.gazetteer.find(text)
                if not any(match.start < end and start < match.end for start, end in taken)
            ]
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name(found),
                add_to_output=True,
            )
        return messages


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class EntityValueNormaliser(FromConfig, GraphComponent, EntityExtractorMixin):
    """Canonical values for dossier codes, phone and ID numbers; drops impossible ones."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, config: Dict[Text, Any]) -> None:
        pass


    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = []
            for entity in message.get(ENTITIES, []):
                value = canonical_value(entity["entity"], entity.get("value"))
                if value is None:
                    continue
                if value != entity.get("value"):
                    entity = self.add_processor_name({**entity, "value": value})
                entities.append(entity)
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
