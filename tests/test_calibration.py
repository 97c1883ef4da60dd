"""Calibration maps recover known probabilities; ECE, reliability and PR-vs-threshold arithmetic; score_paths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from windowner.evaluation.confidence import (
    check_threshold,
    entity_outcomes,
    expected_calibration_error,
    pr_curve,
    reliability,
    score_paths,
)
from windowner.nn.calibration import Calibration, CalibrationMap, fit_map, fit_temperature
from windowner.nn.decode import constraints, viterbi_bio
from windowner.nn.marginals import forward_backward, span_marginals
from windowner.text.tags import bio2_spans

TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def test_isotonic_recovers_a_known_miscalibration():
    """Raw scores p whose true probability of being right is p²: the fitted map must give back p²."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 40_000)
    y = rng.uniform(0, 1, p.shape) < p**2
    cal = fit_map("isotonic", p, y)
    grid = np.linspace(0.05, 0.95, 19)
    assert np.max(np.abs(cal(grid) - grid**2)) < 0.04
    assert np.all(np.diff(cal(np.linspace(0, 1, 200))) >= 0)  # monotone
    # and the calibrated scores are calibrated on fresh data from the same source
    q = rng.uniform(0, 1, 40_000)
    assert expected_calibration_error(cal(q), rng.uniform(0, 1, q.shape) < q**2) < 0.02
    assert expected_calibration_error(q, rng.uniform(0, 1, q.shape) < q**2) > 0.1


@pytest.mark.parametrize("T", [0.5, 2.5])
def test_temperature_recovers_a_known_temperature(T):
    rng = np.random.default_rng(1)
    z = rng.normal(0, 4, 50_000)
    p_raw = 1 / (1 + np.exp(-z))
    y = rng.uniform(0, 1, z.shape) < 1 / (1 + np.exp(-z / T))
    assert fit_temperature(p_raw, y) == pytest.approx(T, rel=0.05)
    cal = fit_map("temperature", p_raw, y)
    np.testing.assert_allclose(cal(p_raw[:100]), 1 / (1 + np.exp(-z[:100] / cal.temperature)), rtol=1e-6)


def test_nothing_to_learn_gives_the_identity():
    p = np.array([0.2, 0.9])
    for method, y in (("isotonic", [1, 1]), ("temperature", [0, 0]), ("none", [0, 1]), ("isotonic", [])):
        cal = fit_map(method, p[: len(y)], np.array(y))
        assert cal.method == "identity" and np.array_equal(cal(p), p)
    with pytest.raises(ValueError, match="unknown calibration method"):
        fit_map("platt", p, np.array([0, 1]))


def test_maps_round_trip_through_json_and_reject_nonsense():
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 500)
    y = rng.uniform(0, 1, 500) < p
    both = Calibration(fit_map("isotonic", p, y), fit_map("temperature", p, y), {"sentences": 7})
    back = Calibration.from_dict(json.loads(json.dumps(both.to_dict())))
    assert back == both
    np.testing.assert_array_equal(back.entity(p), both.entity(p))
    bad = [
        ({"method": "isotonic", "x": [0.1, 0.05], "y": [0.1, 0.2]}, "increasing"),
        ({"method": "isotonic", "x": [0.1], "y": [1.5]}, "in \\[0, 1\\]"),
        ({"method": "isotonic", "x": [0.1], "y": []}, "same, non-zero length"),
        ({"method": "temperature", "temperature": -1}, "positive"),
        ({"method": "magic"}, "unknown calibration method"),
        ([], "JSON object"),
    ]
    for data, match in bad:
        with pytest.raises(ValueError, match=match):
            Calibration.from_dict({"entity": data, "token": {"method": "identity"}})


def test_reliability_and_ece_by_hand():
    scores = np.array([0.05, 0.15, 0.15, 0.95, 0.95, 0.95, 0.95, 1.0])
    correct = np.array([0, 0, 1, 1, 1, 1, 0, 1], dtype=bool)
    rel = reliability(scores, correct, bins=10)
    assert rel.count.tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 0, 5]
    assert rel.accuracy[1] == 0.5 and rel.confidence[9] == pytest.approx(0.96)
    want = (1 * 0.05 + 2 * abs(0.5 - 0.15) + 5 * abs(0.8 - 0.96)) / 8
    assert rel.ece == pytest.approx(want)
    assert json.loads(json.dumps(rel.to_dict()))["accuracy"][2] is None
    assert expected_calibration_error(np.zeros(0), np.zeros(0, dtype=bool)) == 0.0


def test_pr_curve_equals_counting_at_each_threshold():
    rng = np.random.default_rng(3)
    scores = rng.uniform(0, 1, 300).round(2)  # ties at the thresholds themselves
    correct = rng.uniform(0, 1, 300) < scores
    curve = pr_curve(scores, correct, n_gold=250)
    for i, t in enumerate(curve.threshold):
        kept = scores >= t
        assert curve.predicted[i] == kept.sum() and curve.correct[i] == (kept & correct).sum()
        p = (kept & correct).sum() / kept.sum() if kept.any() else 0.0
        r = (kept & correct).sum() / 250
        assert curve.precision[i] == pytest.approx(p) and curve.recall[i] == pytest.approx(r)
        assert curve.f1[i] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    assert curve.threshold[0] == 0 and curve.threshold[-1] == 1 and len(curve.threshold) == 101
    assert curve.f1[curve.best()] == curve.f1.max()
    assert set(json.loads(json.dumps(curve.to_dict()))) == set(curve._fields)


def test_entity_outcomes_match_label_and_both_boundaries():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC"]]
    ents = [[("PER", 0, 2, 0.9), ("LOC", 2, 4, 0.4)], [("PER", 1, 2, 0.3)]]
    scores, correct, n_gold = entity_outcomes(gold, ents)
    assert scores.tolist() == [0.9, 0.4, 0.3] and correct.tolist() == [True, False, False] and n_gold == 3


@pytest.mark.parametrize(
    "bad, exc",
    [
        (-0.1, ValueError),
        (1.5, ValueError),
        (float("nan"), ValueError),
        ("0.5", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_check_threshold(bad, exc):
    with pytest.raises(exc, match="threshold must be a number from 0 to 1"):
        check_threshold(bad)
    assert check_threshold(1) == 1.0 and check_threshold(np.float32(0.25)) == 0.25


def test_score_paths_scores_and_thresholds():
    rng = np.random.default_rng(4)
    lengths = [5, 0, 7, 3, 9]
    em = np.log(rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=sum(lengths)))
    start, trans = constraints(TAGS)
    best = viterbi_bio(em, lengths, TAGS)
    raw = score_paths(em, lengths, best, TAGS, start, trans)
    flat = np.asarray(TAGS, dtype=object)[best].tolist()
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    assert [t for s in raw.tags for t in s] == flat
    lattice = forward_backward(em, lengths, start, trans)
    np.testing.assert_allclose(np.concatenate(raw.proba), lattice.token_marginals(best))
    all_ents = [(s, e) for s, ents in enumerate(raw.ents) for e in ents]
    assert [(lab, a, b) for _, (lab, a, b, _) in all_ents] == [
        sp for s in range(len(lengths)) for sp in bio2_spans(flat[bounds[s] : bounds[s + 1]])
    ]
    assert len(all_ents) >= 4
    want = span_marginals(
        lattice,
        em,
        trans,
        np.array([bounds[s] + a for s, (_, a, _, _) in all_ents]),
        np.array([bounds[s] + b for s, (_, _, b, _) in all_ents]),
        np.array([TAGS.index("B-" + lab) for _, (lab, *_) in all_ents]),
        np.array([TAGS.index("I-" + lab) for _, (lab, *_) in all_ents]),
    )
    np.testing.assert_allclose([e[3] for _, e in all_ents], want)
    # a threshold keeps exactly the entities scoring at or above it; the others' tokens become O
    cut = sorted(e[3] for _, e in all_ents)[len(all_ents) // 2]
    kept = score_paths(em, lengths, best, TAGS, start, trans, threshold=cut)
    assert [e for s in kept.ents for e in s] == [e for _, e in all_ents if e[3] >= cut]
    for s in range(len(lengths)):
        assert bio2_spans(kept.tags[s]) == [e[:3] for e in kept.ents[s]]
        dropped = {i for lab, a, b, sc in raw.ents[s] if sc < cut for i in range(a, b)}
        assert all(kept.tags[s][i] == ("O" if i in dropped else raw.tags[s][i]) for i in range(lengths[s]))
    o_marg = np.exp(lattice.log_marginals()[:, 0])
    dropped_flat = [
        bounds[s] + i for s in range(len(lengths)) for i in range(lengths[s]) if kept.tags[s][i] != raw.tags[s][i]
    ]
    np.testing.assert_allclose(np.concatenate(kept.proba)[dropped_flat], o_marg[dropped_flat])
    # a calibration map applies to the scores, before the threshold
    halve = Calibration(
        CalibrationMap("isotonic", (0.0, 1.0), (0.0, 0.5)), CalibrationMap("isotonic", (0.0, 1.0), (0.0, 0.5))
    )
    cal = score_paths(em, lengths, best, TAGS, start, trans, halve, threshold=0.0)
    np.testing.assert_allclose([e[3] for s in cal.ents for e in s], np.array([e[3] for _, e in all_ents]) / 2)
    np.testing.assert_allclose(np.concatenate(cal.proba), np.concatenate(raw.proba) / 2)
    top = score_paths(em, lengths, best, TAGS, start, trans, threshold=1.0)
    assert all(e[3] == 1.0 for s in top.ents for e in s)


# -- what the maps are fitted on, at training time ----------------------------------------------------------------


def _train(tiny_corpus, dev=True, **changes):
    from windowner.model.config import TrainConfig
    from windowner.model.training import fit

    cfg = TrainConfig(**{**dict(hidden=16, epochs=2, batch_size=32, lr=0.1, seed=3), **changes})
    return fit(tiny_corpus["train"], tiny_corpus["dev"] if dev else None, cfg, progress=False, log=None)


def _same_weights(a, b) -> bool:
    return all(np.array_equal(a.weights()[k], b.weights()[k]) for k in a.weights())


def test_with_dev_the_maps_are_fitted_on_dev_and_the_model_trains_once(tiny_corpus):
    model = _train(tiny_corpus)
    info = model.calibration.info
    assert info["fitted_on"] == "dev" and info["held_out_sentences"] == len(tiny_corpus["dev"])
    assert "refit" not in info and len(model.history) <= 2  # one run, not two
    # the weights are those of an uncalibrated run: calibration only adds the maps
    assert _same_weights(model, _train(tiny_corpus, calibration="none"))


def test_without_dev_or_when_asked_the_maps_are_fitted_on_held_out_training_sentences(tiny_corpus):
    uncalibrated = _train(tiny_corpus, calibration="none")
    for model in (_train(tiny_corpus, calibration_data="held-out"), _train(tiny_corpus, dev=False)):
        info = model.calibration.info
        assert info["fitted_on"] == "held-out" and info["refit"] is True
        assert info["held_out_sentences"] == round(0.1 * len(tiny_corpus["train"]))
    # the refit trains on all sentences exactly as an uncalibrated run (with the same dev set) does
    assert _same_weights(_train(tiny_corpus, calibration_data="held-out"), uncalibrated)
    no_refit = _train(tiny_corpus, calibration_data="held-out", calibration_refit=False)
    assert "refit" not in no_refit.calibration.info and not _same_weights(no_refit, uncalibrated)
