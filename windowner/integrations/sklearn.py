"""A scikit-learn estimator: ``WindowNERClassifier().fit(X, y).predict(X)`` on token lists and BIO2 tag lists.

``X`` is a list of sentences, each a list of token strings; ``y`` a list of tag lists of the same
lengths. ``score`` is the conlleval entity F1, so ``GridSearchCV`` and ``cross_val_score`` select
hyper-parameters by F1. The estimator is deliberately not a ``ClassifierMixin``: scikit-learn would
then stratify cross-validation folds on ``y``, which it cannot do for tag sequences (plain KFold is used).
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Sequence
from dataclasses import fields

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..evaluation.metrics import evaluate
from ..model.config import TrainConfig
from ..model.inference import NERModel
from ..model.training import as_sentences, check_tagged, fit
from ..tagger import Tagger

# the estimator's parameters: TrainConfig's fields, with scikit-learn's ``random_state`` for ``seed``
_PARAMS = {("random_state" if f.name == "seed" else f.name): f.default for f in fields(TrainConfig)}


class WindowNERClassifier(BaseEstimator):
    """The window NER tagger as a scikit-learn estimator; every argument is a :class:`~windowner.TrainConfig`
    hyper-parameter of the same name, except ``random_state`` (TrainConfig's ``seed``; an int, None or a
    ``RandomState``).

    Fitted attributes: ``model_`` (:class:`~windowner.model.inference.NERModel`), ``classes_`` (the BIO2 tags, "O"
    first), ``labels_`` (entity types), ``history_`` (one record per epoch), ``run_`` (the facts of the
    training run: :class:`~windowner.model.run.TrainingRun`, e.g. ``run_.best_epoch``).

    >>> est = WindowNERClassifier(hidden=100, epochs=5).fit(X_train, y_train)
    >>> est.predict([["Obama", "visited", "Paris"]])
    [['B-PER', 'O', 'B-LOC']]
    """

    def __init__(self, **params):
        unknown = sorted(set(params) - set(_PARAMS))
        if unknown:
            raise TypeError(f"unknown parameter(s) {', '.join(unknown)}; valid: {', '.join(_PARAMS)}")
        for name, default in _PARAMS.items():
            setattr(self, name, params.get(name, default))

    # scikit-learn reads the parameter names from __init__'s signature: give it the schema's
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # a function object takes it
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
            for name, default in _PARAMS.items()
        ]
    )

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

    def fit(
        self,
        X: Sequence[Sequence[str]],
        y: Sequence[Sequence[str]],
        eval_set: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]] | None = None,
    ) -> WindowNERClassifier:
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
        self.run_ = model.run

    def predict(self, X: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIO2 tags of every token: a list of tag lists, one per sentence of ``X``."""
        check_is_fitted(self, "model_")
        return Tagger(self.model_).tag_tokens(_check_X(X))

    def score(self, X: Sequence[Sequence[str]], y: Sequence[Sequence[str]]) -> float:
        """Entity-level F1 (conlleval: an entity counts when its type and both boundaries are right), 0..1."""
        gold = check_tagged(X, y)
        pred = self.predict([t for t, _ in gold])
        return float(evaluate([g for _, g in gold], pred).overall.f1)

    def to_tagger(self):
        """A :class:`windowner.Tagger` for raw text, sharing the fitted model."""
        check_is_fitted(self, "model_")
        return Tagger(self.model_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a list of token lists, not a matrix
        tags.target_tags.required = True
        return tags

    def _more_tags(self) -> dict:  # scikit-learn < 1.6
        return {"X_types": ["string"], "requires_y": True}


def _check_X(X) -> list[list[str]]:
    sentences = as_sentences(X, "X")
    for i, sent in enumerate(sentences):
        for j, tok in enumerate(sent):
            if not isinstance(tok, str):
                raise TypeError(f"X[{i}][{j}] is {type(tok).__name__}; tokens must be str")
    return sentences
