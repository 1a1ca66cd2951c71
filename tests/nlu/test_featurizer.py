"""Sentence-only count vectors: the same sentence features as Rasa's featurizer, nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.featurizer import SentenceCountVectorsFeaturizer

EXAMPLES = [("đăng ký khai sinh", "hoi_thu_tuc"), ("lệ phí bao nhiêu", "hoi_le_phi"),
            ("kiểm tra hồ sơ", "check_dossier_status"), ("xin chào", "greet")]


def trained(cls, tmp_path, config):
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    data = TrainingData([Message(data={TEXT: text, INTENT: intent}) for text, intent in EXAMPLES])
    tokenizer.process_training_data(data)
    featurizer = cls.create({**cls.get_default_config(), **config}, LocalModelStorage(tmp_path),
                            Resource(cls.__name__), ExecutionContext(GraphSchema({}), cls.__name__))
    featurizer.train(data)
    return tokenizer, featurizer


@pytest.mark.parametrize("config", [{"analyzer": "word", "max_ngram": 2},
                                    {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4}])
def test_same_sentence_features_and_no_token_matrices(tmp_path, config):
    messages = {}
    for cls in (CountVectorsFeaturizer, SentenceCountVectorsFeaturizer):
        tokenizer, featurizer = trained(cls, tmp_path, config)
        message = Message(data={TEXT: "lệ phí khai sinh bao nhiêu"})
        tokenizer.process([message])
        featurizer.process([message])
        messages[cls] = message
    stock, ours = messages[CountVectorsFeaturizer], messages[SentenceCountVectorsFeaturizer]
    assert [f.type for f in ours.features if f.attribute == TEXT] == [FEATURE_TYPE_SENTENCE]
    assert {f.type for f in stock.features if f.attribute == TEXT} == {FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE}
    stock_sentence, ours_sentence = stock.get_sparse_features(TEXT)[1], ours.get_sparse_features(TEXT)[1]
    assert np.array_equal(stock_sentence.features.toarray(), ours_sentence.features.toarray())
    assert ours_sentence.features.sum() > 0
