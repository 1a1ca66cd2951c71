"""Features that say what kind of names a message contains.

"khai tử", "gplx" or "huyện Bắc Trà My" alone are answers (inform), while the same words
inside a question are its topic. Bag-of-words features cannot see that difference; these
can: whether the message holds a procedure, a place or a typed value (dossier code,
phone, ID number), and whether it holds nothing else.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.gazetteer import DATA_FILES, gazetteer_from_config
from bot.nlu.values import dossier_code_spans, number_spans

_KINDS = ("procedure", "locality", "value")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class NameShapeFeaturizer(SparseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **SparseFeaturizer.get_default_config(),
            **DATA_FILES,
            # Five features among thousands of word counts: scaled up so that the
            # classifier's regularisation does not drown them (measured: make eval).
            "weight": 4.0,
        }

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.weight = float(config.get("weight", 1.0))
        self.gazetteer = gazetteer_from_config(config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "NameShapeFeaturizer":
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if tokens:  # every tokenised message gets the same number of features
                sequence, sentence = self.features(message.get(TEXT) or "", tokens)
                self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def spans(self, text: str) -> List[Tuple[int, int, str]]:
        found = [(m.start, m.end, m.entity) for m in self.gazetteer.find(text)]
        found += [(s, e, "value") for s, e in dossier_code_spans(text) + number_spans(text)]
        return found

    def features(self, text: str, tokens: list) -> Tuple[scipy.sparse.coo_matrix, scipy.sparse.coo_matrix]:
        spans = self.spans(text)
        sequence = np.zeros((len(tokens), len(_KINDS)))
        covered = 0
        for row, token in enumerate(tokens):
            for start, end, kind in spans:
                if token.start < end and start < token.end:
                    sequence[row, _KINDS.index(kind)] = 1.0
            covered += bool(sequence[row].any())
        kinds = {kind for _, _, kind in spans}
        sentence = np.array([[
            float("procedure" in kinds),
            float("locality" in kinds),
            float("value" in kinds),
            float(bool(spans) and covered == len(tokens)),
            float(len(tokens) == 1),
        ]])
        return (
            scipy.sparse.coo_matrix(sequence * self.weight),
            scipy.sparse.coo_matrix(sentence * self.weight),
        )
