"""windowner.WindowNERClassifier: a scikit-learn estimator over token lists and BIO2 tag lists."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils import estimator_checks

import windowner
from windowner.model.config import TrainConfig

from conftest import make_corpus

SMALL = dict(hidden=16, epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def data():
    train, test = make_corpus(200, 21), make_corpus(60, 22)
    return [t for t, _ in train], [g for _, g in train], [t for t, _ in test], [g for _, g in test]


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    return windowner.WindowNERClassifier(**SMALL, random_state=3).fit(X, y)


def test_parameters_mirror_train_config():
    est = windowner.WindowNERClassifier()
    params = est.get_params()
    config = {f.name: f.default for f in fields(TrainConfig)}
    assert set(params) == (set(config) - {"seed"}) | {"random_state"}
    assert params["random_state"] == config["seed"]
    assert {k: v for k, v in params.items() if k != "random_state"} == {k: v for k, v in config.items() if k != "seed"}


@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_estimator_cloneable,
        estimator_checks.check_estimator_repr,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
    ],
)
def test_sklearn_checks_that_apply_to_sequence_data(check):
    check("WindowNERClassifier", windowner.WindowNERClassifier(hidden=16))


def test_clone_get_params_set_params(fitted):
    est = windowner.WindowNERClassifier(hidden=16, lr=0.05, labels=["PER"])
    assert est.set_params(epochs=3, window=1) is est
    assert est.get_params()["epochs"] == 3 and est.get_params()["window"] == 1
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params() and not hasattr(copy, "model_")
    with pytest.raises(ValueError, match="hiddden"):
        est.set_params(hiddden=3)
    assert "hidden=16" in repr(est)


def test_fit_predict_score(fitted, data):
    _, _, X_test, y_test = data
    assert list(fitted.classes_) == ["O", "B-DATE", "I-DATE", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert fitted.labels_ == ["DATE", "LOC", "PER"] and len(fitted.history_) == 2
    assert fitted.model_.config["hidden"] == 16 and fitted.model_.config["seed"] == 3
    pred = fitted.predict(X_test)
    assert [len(p) for p in pred] == [len(x) for x in X_test]
    from windowner.evaluation.metrics import evaluate

    f1 = fitted.score(X_test, y_test)
    assert f1 == evaluate(y_test, pred).overall.f1
    assert 0.5 < f1 <= 1.0
    assert fitted.score(X_test, y_test) == fitted.score([tuple(x) for x in X_test], [tuple(t) for t in y_test])
    doc = fitted.to_tagger()("Kofi Mensah visited Paris .")
    assert [t.tag for t in doc.tokens] == fitted.predict([["Kofi", "Mensah", "visited", "Paris", "."]])[0]


def test_eval_set_early_stopping(data):
    X, y, X_test, y_test = data
    est = windowner.WindowNERClassifier(**SMALL, random_state=0).fit(X, y, eval_set=(X_test, y_test))
    assert "dev_f1" in est.history_[-1]


def test_same_random_state_gives_identical_models(fitted, data):
    X, y, X_test, _ = data
    again = clone(fitted).fit(X, y)
    for name, arr in fitted.model_.weights().items():
        np.testing.assert_array_equal(again.model_.weights()[name], arr)
    assert again.predict(X_test) == fitted.predict(X_test)
    other = clone(fitted).set_params(random_state=4).fit(X, y)
    assert not np.array_equal(other.model_.weights()["W"], fitted.model_.weights()["W"])
    rs = windowner.WindowNERClassifier(**SMALL, random_state=np.random.RandomState(0)).fit(X, y)  # sklearn style
    assert rs.model_.config["seed"] >= 0


def test_not_fitted(data):
    with pytest.raises(NotFittedError):
        windowner.WindowNERClassifier().predict(data[0])


@pytest.mark.parametrize(
    "X, y, exc, match",
    [
        ("Kofi visited Paris", [["B-PER", "O", "B-LOC"]], TypeError, "X must be a list of sentences"),
        (["Kofi", "visited"], [["B-PER"], ["O"]], TypeError, "X\\[0\\] is str, not a list of str"),
        ([["Kofi", "visited"]], [["B-PER"]], ValueError, "X\\[0\\] has 2 tokens but y\\[0\\] has 1 tags"),
        ([["Kofi"], ["Paris"]], [["B-PER"]], ValueError, "X has 2 sentences but y has 1"),
        ([["Kofi"]], [["PER"]], ValueError, "y\\[0\\]: invalid NER tag 'PER'"),
        ([[1.5]], [["O"]], TypeError, "X\\[0\\]\\[0\\] is float"),
        ([], [], ValueError, "X is empty"),
    ],
)
def test_fit_validates_input(X, y, exc, match):
    with pytest.raises(exc, match=match):
        windowner.WindowNERClassifier(**SMALL).fit(X, y)


def test_bad_hyper_parameter_is_reported_at_fit(data):
    est = windowner.WindowNERClassifier(activation="softplus")  # scikit-learn: __init__ does not validate
    with pytest.raises(windowner.errors.WindownerError, match="activation must be one of"):
        est.fit(data[0][:5], data[1][:5])


def test_predict_validates_input(fitted):
    with pytest.raises(TypeError, match="X must be a list of sentences"):
        fitted.predict("Kofi visited Paris")
    with pytest.raises(TypeError, match="X\\[1\\]\\[0\\] is int"):
        fitted.predict([["Kofi"], [3]])


def test_grid_search(data):
    X, y, X_test, y_test = data
    grid = GridSearchCV(windowner.WindowNERClassifier(**SMALL), {"window": [1, 2], "lr": [0.05, 0.2]}, cv=2)
    grid.fit(X[:120], y[:120])
    assert len(grid.cv_results_["params"]) == 4
    assert np.all((grid.cv_results_["mean_test_score"] >= 0) & (grid.cv_results_["mean_test_score"] <= 1))
    assert grid.best_params_ in grid.cv_results_["params"]
    assert grid.best_estimator_.get_params()["window"] == grid.best_params_["window"]
    assert 0 < grid.score(X_test, y_test) <= 1
    scores = cross_val_score(windowner.WindowNERClassifier(**SMALL), X[:60], y[:60], cv=2)
    assert scores.shape == (2,)
