"""The intent classifier's probabilities computed from the message's features directly."""

from __future__ import annotations

from typing import Any, List

from bot.rasa_patches.patch import Patch, Replacements


def probabilities(classifier: Any, message: Any) -> Any:
    """What `classifier.clf.predict_proba(classifier._create_X([message]))[0]` returns.

    The row Rasa builds is the message's sparse sentence features side by side, in the order
    the featurizers ran, then its dense ones; the scores are the coefficients of the columns it
    holds, plus the intercepts; multinomial probabilities are their softmax, one-vs-rest ones
    the normalised logistic of each (scikit-learn's LogisticRegression.predict_proba)."""
    import numpy as np
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT

    clf = classifier.clf
    coef = clf.coef_
    scores = np.array(clf.intercept_, dtype=float)
    sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
    offset = 0
    for feature in [f for f in sentence if f.is_sparse()] + [f for f in sentence if f.is_dense()]:
        values = feature.features
        if feature.is_sparse():
            row = values.tocoo()
            if row.nnz:
                scores += coef[:, offset + row.col] @ row.data
            offset += row.shape[1]
        else:
            dense = np.asarray(values, dtype=float).reshape(-1)
            scores += coef[:, offset:offset + dense.shape[0]] @ dense
            offset += dense.shape[0]
    if offset != coef.shape[1]:
        raise ValueError(f"the message has {offset} features, the classifier was trained on {coef.shape[1]}")
    ovr = clf.multi_class == "ovr" or (clf.multi_class == "auto" and (len(clf.classes_) <= 2 or
                                                                    clf.solver == "liblinear"))
    if len(clf.classes_) == 2:
        second = 1.0 / (1.0 + np.exp(-scores[0]))
        return np.array([1.0 - second, second])
    if ovr:
        each = 1.0 / (1.0 + np.exp(-scores))
        return each / each.sum()
    scores = np.exp(scores - scores.max())
    return scores / scores.sum()


def _intent_probabilities() -> Replacements:
    """Rasa builds a sparse matrix per message (a deep copy of the first featurizer's features,
    scipy's hstack for the others, vstack for the batch) and hands it to scikit-learn, whose
    checks cost more than the arithmetic: 3.9 ms of a message's Rasa CPU here for one short
    text. The same probabilities are computed from the features' non-zero columns."""
    from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
    from rasa.utils.tensorflow.constants import RANKING_LENGTH

    def process(self: LogisticRegressionClassifier, messages: List[Any]) -> List[Any]:
        for message in messages:
            ranking = sorted(({"name": name, "confidence": confidence}
                              for name, confidence in zip(self.clf.classes_, probabilities(self, message))),
                             key=lambda entry: -entry["confidence"])
            intent = ranking[0]
            if self.config[RANKING_LENGTH] > 0:
                ranking = ranking[: self.config[RANKING_LENGTH]]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    return {(LogisticRegressionClassifier, "process"): process}


INTENT_PROBABILITIES = Patch(
    "intent_probabilities", "the intent classifier's probabilities from the features' non-zero columns",
    _intent_probabilities,
    ("rasa.nlu.classifiers.logistic_regression_classifier:LogisticRegressionClassifier.process",
     "rasa.nlu.classifiers.logistic_regression_classifier:LogisticRegressionClassifier._create_X",
     "rasa.shared.nlu.training_data.message:Message.get_sparse_features",
     "rasa.shared.nlu.training_data.message:Message.get_dense_features",
     "rasa.shared.nlu.training_data.message:Message._combine_features",
     "rasa.shared.nlu.training_data.features:Features.combine_with_features"))
