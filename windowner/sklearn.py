"""A scikit-learn estimator: ``WindowNERClassifier().fit(X, y).predict(X)`` on token lists and BIO2 tag lists.

``X`` is a list of sentences, each a list of token strings; ``y`` a list of tag lists of the same
lengths. ``score`` is the conlleval entity F1, so ``GridSearchCV`` and ``cross_val_score`` select
hyper-parameters by F1. The estimator is deliberately not a ``ClassifierMixin``: scikit-learn would
then stratify cross-validation folds on ``y``, which it cannot do for tag sequences (plain KFold is used).
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .api import check_tagged
from .ner import NERModel
from .training import TrainConfig, fit


class WindowNERClassifier(BaseEstimator):
    """The window NER tagger as a scikit-learn estimator; every argument is a :class:`~windowner.TrainConfig`
    hyper-parameter of the same name, except ``random_state`` (TrainConfig's ``seed``).

    Fitted attributes: ``model_`` (:class:`~windowner.ner.NERModel`), ``classes_`` (the BIO2 tags, "O"
    first), ``labels_`` (entity types), ``history_`` (one record per epoch).

    >>> est = WindowNERClassifier(hidden=100, epochs=5).fit(X_train, y_train)
    >>> est.predict([["Obama", "visited", "Paris"]])
    [['B-PER', 'O', 'B-LOC']]
    """

    def __init__(self, *, vectors: str = "glove-6b-50d", labels: Sequence[str] | None = None, window: int = 2,
                 hidden: int = 300, activation: str = "tanh", head: str = "sigmoid", epochs: int = 15,
                 lr: float = 0.03, momentum: float = 0.9, decay: float = 0.05, batch_size: int = 64,
                 l2: float = 0.0, dropout: float = 0.2, word_dropout: float = 0.1, fine_tune: bool = True,
                 embed_lr: float = 0.5,
                 case_dim: int = 8, suffix_dim: int = 16, suffix_len: int = 3, use_case: bool = True,
                 min_count: int = 2, transitions: str = "constrained", average_from: int = 3, patience: int = 4,
                 random_state: int | np.random.RandomState | None = 0):
        self.vectors = vectors
        self.labels = labels
        self.window = window
        self.hidden = hidden
        self.activation = activation
        self.head = head
        self.epochs = epochs
        self.lr = lr
        self.momentum = momentum
        self.decay = decay
        self.batch_size = batch_size
        self.l2 = l2
        self.dropout = dropout
        self.word_dropout = word_dropout
        self.fine_tune = fine_tune
        self.embed_lr = embed_lr
        self.case_dim = case_dim
        self.suffix_dim = suffix_dim
        self.suffix_len = suffix_len
        self.use_case = use_case
        self.min_count = min_count
        self.transitions = transitions
        self.average_from = average_from
        self.patience = patience
        self.random_state = random_state

    def _config(self) -> TrainConfig:
        params = self.get_params()
        rs = params.pop("random_state")
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            seed = int(rs)
        else:  # None or a RandomState: draw the seed, as scikit-learn estimators do
            seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        if params["labels"] is not None:
            params["labels"] = list(params["labels"])
        return TrainConfig(**params, seed=seed).validate()

    def fit(self, X: Sequence[Sequence[str]], y: Sequence[Sequence[str]],
            eval_set: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] | None = None) -> "WindowNERClassifier":
        """Train on sentences ``X`` (lists of tokens) and BIO2 tags ``y``; ``eval_set=(X_dev, y_dev)`` keeps the
        epoch with the best dev F1 and stops early (``patience``), as ``windowner train --dev`` does."""
        config = self._config()
        train = check_tagged(X, y)
        if not train:
            raise ValueError("X is empty: fit needs at least one sentence")
        dev = None
        if eval_set is not None:
            if not (isinstance(eval_set, (tuple, list)) and len(eval_set) == 2):
                raise TypeError("eval_set must be a pair (X_dev, y_dev)")
            dev = check_tagged(eval_set[0], eval_set[1], names=("X_dev", "y_dev"))
        model = fit(train, dev, config, progress=False, log=None)
        self._set_model(model)
        return self

    def _set_model(self, model: NERModel) -> None:
        self.model_ = model
        self.classes_ = np.asarray(model.tags, dtype=object)
        self.labels_ = list(model.labels)
        self.history_ = list(model.history)

    def predict(self, X: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIO2 tags of every token: a list of tag lists, one per sentence of ``X``."""
        check_is_fitted(self, "model_")
        from .tagger import Tagger

        return Tagger(self.model_).tag_tokens(_check_X(X))

    def score(self, X: Sequence[Sequence[str]], y: Sequence[Sequence[str]]) -> float:
        """Entity-level F1 (conlleval: an entity counts when its type and both boundaries are right), 0..1."""
        from .metrics import evaluate

        gold = check_tagged(X, y)
        pred = self.predict([t for t, _ in gold])
        return float(evaluate([g for _, g in gold], pred).overall.f1)

    def to_tagger(self):
        """A :class:`windowner.Tagger` for raw text, sharing the fitted model."""
        check_is_fitted(self, "model_")
        from .tagger import Tagger

        return Tagger(self.model_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a list of token lists, not a matrix
        tags.target_tags.required = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"X_types": ["string"], "requires_y": True}


def _check_X(X) -> list[list[str]]:
    from .api import _sentence_list

    sentences = _sentence_list(X, "X")
    for i, sent in enumerate(sentences):
        for j, tok in enumerate(sent):
            if not isinstance(tok, str):
                raise TypeError(f"X[{i}][{j}] is {type(tok).__name__}; tokens must be str")
    return sentences
