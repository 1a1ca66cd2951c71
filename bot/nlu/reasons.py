"""Why a citizen stays offline, read from the words they typed: a small classifier of the
NLU pipeline.

It learns the example sentences of data/lexicon/offline_reasons.yml, one class per reason,
and a class "none" from the NLU training examples of the intents that start something else
(look up a dossier, apply online, ask about a procedure, greet…): "tra cứu hồ sơ" typed after
"Vì sao … chưa nộp trực tuyến?" is a request, not a reason. A message is a reason unless
"none" is very likely (NOT_A_REASON); the action reads it only when the message answers that
question (bot/actions/feedback.py). Features are the accent-folded, teencode-expanded words
and character n-grams, as for the intents, so "ko bit lam" reads like "không biết làm".

Training keeps the sentences in the model; loading fits the classifier again (about a
second), so the model holds no pickled object.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.datafiles import read_yaml
from bot.nlu.lexicon import teencode_table
from bot.nlu.text import fold, normalise

OUTPUT = "offline_reason"
NONE = "none"
NOT_A_REASON = 0.8  # "none" at least this likely: a request, not a reason (measured in the README)
SENTENCES = "sentences.json"


class ReasonModel:
    """TF-IDF of folded words (1–2) and characters (2–4), then a logistic regression."""

    def __init__(self, sentences: Sequence[Tuple[str, str]], teencode: Mapping[str, str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        self.teencode = teencode
        features = FeatureUnion([
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ])
        self.model = make_pipeline(features, LogisticRegression(C=10.0, max_iter=1000))
        self.model.fit([self.key(text) for text, _ in sentences], [label for _, label in sentences])
        self.classes = [str(c) for c in self.model.classes_]
        self._fitted = self._parts()

    def key(self, text: str) -> str:
        return fold(normalise(text, self.teencode).text)

    def _parts(self) -> List[Tuple[Any, Dict[str, int], Any, Any]]:
        """Per vectoriser: its analyser, vocabulary, idf and its columns of the coefficients."""
        coef = self.model[-1].coef_
        parts, offset = [], 0
        for _, vectorizer in self.model[0].transformer_list:
            width = len(vectorizer.vocabulary_)
            parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_,
                          coef[:, offset:offset + width]))
            offset += width
        return parts

    def probabilities(self, key: str) -> Any:
        """`self.model.predict_proba([key])[0]` computed directly (sublinear TF-IDF, l2 norm per
        vectoriser, then the multinomial logistic regression): scikit-learn's checks and sparse
        matrices cost ten times the arithmetic for one short text (same numbers: tests/nlu)."""
        import numpy as np

        scores = np.array(self.model[-1].intercept_, dtype=float)
        for analyzer, vocabulary, idf, coef in self._fitted:
            counts: Dict[int, int] = {}
            for term in analyzer(key):
                column = vocabulary.get(term)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * idf[columns]
            weights /= np.sqrt(weights @ weights)
            scores += coef[:, columns] @ weights
        if len(self.classes) == 2:  # binary: one row of coefficients, the second class's
            second = 1.0 / (1.0 + np.exp(-scores[0]))
            return np.array([1.0 - second, second])
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()

    def classify(self, text: str) -> Tuple[str, float]:
        """The likeliest reason and its probability; NONE when a request is very likely."""
        probabilities = self.probabilities(self.key(text))
        if NONE in self.classes and probabilities[self.classes.index(NONE)] >= NOT_A_REASON:
            return NONE, float(probabilities[self.classes.index(NONE)])
        ranked = sorted(((p, c) for c, p in zip(self.classes, probabilities) if c != NONE), reverse=True)
        return ranked[0][1], float(ranked[0][0])


def sentences_of(examples_path: str, training_data: Optional[TrainingData],
                 requests: Sequence[str]) -> List[Tuple[str, str]]:
    """(text, class): the reasons' examples, and the NLU examples of the request intents."""
    sentences = [(str(line), reason) for reason, lines in read_yaml(Path(examples_path))["examples"].items()
                 for line in lines]
    if training_data is not None:
        sentences += [(m.get(TEXT), NONE) for m in training_data.intent_examples
                      if m.get(INTENT) in requests and m.get(TEXT)]
    return sentences


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class OfflineReasonClassifier(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"examples_path": "data/lexicon/offline_reasons.yml",
                "teencode_path": "data/lexicon/teencode.yml",
                "requests": []}  # the intents whose examples are "none"

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The example sentences are part of what is trained: a change retrains."""
        path = Path(config.get("examples_path") or cls.get_default_config()["examples_path"])
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 sentences: Optional[List[Tuple[str, str]]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self.model_storage = model_storage
        self.resource = resource
        self.model = ReasonModel(sentences, teencode_table(str(self.config["teencode_path"]))) if sentences else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "OfflineReasonClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        sentences = sentences_of(str(self.config["examples_path"]), training_data, self.config["requests"])
        with self.model_storage.write_to(self.resource) as folder:
            (folder / SENTENCES).write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
        return self.resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "OfflineReasonClassifier":
        try:
            with model_storage.read_from(resource) as folder:
                sentences = [tuple(pair) for pair in json.loads((folder / SENTENCES).read_text(encoding="utf-8"))]
        except (ValueError, OSError):
            sentences = []  # a model trained without it: reasons typed are "other"
        return cls(config, model_storage, resource, sentences)  # type: ignore[arg-type]

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            reason, confidence = self.model.classify(text)
            message.set(OUTPUT, {"name": reason, "confidence": round(confidence, 4)}, add_to_output=True)
        return messages
