"""Why a citizen stays offline, read from the words they typed: a small classifier of the
NLU pipeline trained, when the model loads, on the example sentences of
data/lexicon/offline_reasons.yml (a few hundred lines: it fits in well under a second).

Every message gets `offline_reason` = {name, confidence} in its parse data; the action
reads it only when the message answers the question "Vì sao … chưa nộp trực tuyến?"
(bot/actions/feedback.py). Features are the accent-folded, teencode-expanded words and
character n-grams, as for the intents, so "ko bit lam" reads like "không biết làm".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Text, Tuple

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.component import FromConfig
from bot.nlu.lexicon import read_yaml, teencode_table
from bot.nlu.text import fold, normalise

OUTPUT = "offline_reason"


class ReasonModel:
    """TF-IDF of folded words (1–2) and characters (2–4), then a logistic regression."""

    def __init__(self, examples: Mapping[str, List[str]], teencode: Mapping[str, str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        self.teencode = teencode
        texts, labels = [], []
        for reason, lines in examples.items():
            for line in lines:
                texts.append(self.key(str(line)))
                labels.append(reason)
        features = FeatureUnion([
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ])
        self.model = make_pipeline(features, LogisticRegression(C=10.0, max_iter=1000))
        self.model.fit(texts, labels)

    def key(self, text: str) -> str:
        return fold(normalise(text, self.teencode).text)

    def classify(self, text: str) -> Tuple[str, float]:
        probabilities = self.model.predict_proba([self.key(text)])[0]
        best = int(probabilities.argmax())
        return str(self.model.classes_[best]), float(probabilities[best])


@lru_cache(maxsize=2)
def reason_model(examples_path: str, teencode_path: str) -> ReasonModel:
    examples = read_yaml(Path(examples_path))["examples"]
    return ReasonModel(examples, teencode_table(teencode_path))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class OfflineReasonClassifier(FromConfig, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"examples_path": "data/lexicon/offline_reasons.yml",
                "teencode_path": "data/lexicon/teencode.yml"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.model = reason_model(str(config["examples_path"]), str(config["teencode_path"]))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            reason, confidence = self.model.classify(text)
            message.set(OUTPUT, {"name": reason, "confidence": round(confidence, 4)}, add_to_output=True)
        return messages
