"""The pipeline's featurizers: sentence-level only, since nothing in it reads per-token ones.

- NameShapeFeaturizer: "khai tử", "gplx" or "huyện Bắc Trà My" alone are answers (inform),
  while the same words inside a question are its topic. Bag-of-words features cannot see that
  difference; these can: whether the message holds a procedure, a place or a typed value
  (dossier code, phone, ID number), and whether it holds nothing else.
- SentenceCountVectorsFeaturizer: Rasa's CountVectorsFeaturizer without the per-token
  (sequence) matrices of the text. The classifier (logistic regression) and the guard read
  sentence features only, and entities come from regexes and the gazetteer, so those matrices
  were built and stacked for every message for nobody: a tenth of the Rasa server's CPU under
  load (py-spy, `make bench`). The sentence features, hence the predictions, are unchanged.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
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

    def features(self, text: str, tokens: list) -> Tuple[None, scipy.sparse.coo_matrix]:
        spans = self.spans(text)
        covered = sum(any(token.start < end and start < token.end for start, end, _ in spans) for token in tokens)
        kinds = {kind for _, _, kind in spans}
        sentence = np.array([[
            float("procedure" in kinds),
            float("locality" in kinds),
            float("value" in kinds),
            float(bool(spans) and covered == len(tokens)),
            float(len(tokens) == 1),
        ]])
        return None, scipy.sparse.coo_matrix(sentence * self.weight)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """CountVectorsFeaturizer, same configuration, without sequence features for the text."""

    def _create_features(
        self, attribute: Text, all_tokens: List[List[Text]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        if attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
            return super()._create_features(attribute, all_tokens)
        sentences: List[Optional[scipy.sparse.spmatrix]] = []
        for tokens in all_tokens:
            if not tokens:
                sentences.append(None)
                continue
            sentence = self.vectorizers[attribute].transform([" ".join(tokens)])
            sentence.sort_indices()
            sentences.append(sentence.tocoo())
        return [None] * len(all_tokens), sentences
