"""Confidence: calibrated scores of decoded tag paths, thresholds, and how trustworthy the scores are.

:func:`score_paths` turns the decoder's best paths into what a user sees: each token's tag with the
probability that this tag is right, and each entity with the probability that this span with this label is
exactly right (lattice marginals, :mod:`windowner.nn.marginals`, passed through the model's calibration maps,
:mod:`windowner.nn.calibration`); entities below a threshold are dropped (their tokens become ``O``).

The rest is pure arithmetic on (score, correct) pairs of predicted entities, for ``windowner evaluate``
and reports: :func:`entity_outcomes` matches predictions with gold spans, :func:`reliability` gives the
reliability diagram and the expected calibration error (ECE), :func:`pr_curve` precision, recall and F1
against the threshold (:class:`PRCurve`, point by point :class:`CurvePoint`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..nn.calibration import Calibration
from ..nn.marginals import forward_backward, span_marginals
from ..text.tags import bio2_spans

ScoredSpan = tuple[str, int, int, float]  # (label, start token, end token exclusive, score)


class Scored(NamedTuple):
    """Per sentence: BIO2 ``tags``, ``proba`` (n_tokens,) the probability that each token's tag is right, and
    ``ents``: (label, start, end, score) with ``score`` the probability that the entity is exactly right."""

    tags: list[list[str]]
    proba: list[np.ndarray]
    ents: list[list[ScoredSpan]]


def check_threshold(threshold) -> float:
    """``threshold`` as a float in [0, 1]; ValueError (TypeError for a non-number) saying what is expected."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating, np.integer)):
        raise TypeError(f"threshold must be a number from 0 to 1, got {type(threshold).__name__}")
    value = float(threshold)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(
            f"threshold must be a number from 0 to 1 (entities scoring below it are dropped), got {threshold!r}"
        )
    return value


def score_paths(
    emissions: np.ndarray,
    lengths: Sequence[int] | np.ndarray,
    best: np.ndarray,
    tags: Sequence[str],
    start: np.ndarray,
    trans: np.ndarray,
    calibration: Calibration | None = None,
    threshold: float = 0.0,
) -> Scored:
    """Scores of the decoded paths ``best`` (n,) (tag indices, valid BIO2) of sentences laid end to end.

    emissions: (n, K) log-scores; ``start``/``trans``: the decoder's scores; ``calibration``: the model's
    maps (None: raw marginals). Entities scoring below ``threshold`` are dropped and their tokens tagged O;
    token probabilities are those of the tags returned.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    tags = list(tags)
    best = np.array(best, dtype=np.int64)
    n = len(best)
    cal = calibration or Calibration()
    lattice = forward_backward(emissions, lengths, start, trans)
    # entities: a B-X and the I-X after it (a valid path never starts a sentence with I-X)
    prefix = np.array([t[:2] for t in tags], dtype=object)
    is_i = (prefix == "I-")[best]
    starts = np.flatnonzero((prefix == "B-")[best])
    not_i = np.append(np.flatnonzero(~is_i), n)
    ends = not_i[np.searchsorted(not_i, starts, side="right")]
    labels = [tags[j][2:] for j in best[starts]]
    i_tag = np.array([tags.index("I-" + lab) for lab in labels], dtype=np.int64)
    raw = span_marginals(lattice, emissions, trans, starts, ends, best[starts], i_tag)
    scores = cal.entity(raw)
    keep = scores >= threshold
    if not keep.all():  # dropped entities: their tokens become O
        delta = np.zeros(n + 1, dtype=np.int64)
        np.add.at(delta, starts[~keep], 1)
        np.add.at(delta, ends[~keep], -1)
        best[np.cumsum(delta[:n]) > 0] = tags.index("O")
    proba = cal.token(lattice.token_marginals(best))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    tag_names = np.asarray(tags, dtype=object)[best].tolist()
    out_tags = [tag_names[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]
    out_proba = [proba[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    ents: list[list[ScoredSpan]] = [[] for _ in range(len(lengths))]
    sent = lattice.sentence
    for k in np.flatnonzero(keep).tolist():
        s = int(sent[starts[k]])
        ents[s].append((labels[k], int(starts[k] - bounds[s]), int(ends[k] - bounds[s]), float(scores[k])))
    return Scored(out_tags, out_proba, ents)


# -- how trustworthy are the scores -------------------------------------------------------------------


def entity_outcomes(
    gold: Sequence[Sequence[str]], ents: Sequence[Sequence[ScoredSpan]]
) -> tuple[np.ndarray, np.ndarray, int]:
    """(scores (m,), correct (m,) bool, number of gold entities) of the predicted entities ``ents``
    (per sentence, as in :class:`Scored`) against BIO2 ``gold`` tags; correct = same label and boundaries."""
    scores, correct, n_gold = [], [], 0
    for g, pred in zip(gold, ents):
        spans = set(bio2_spans(g))
        n_gold += len(spans)
        for label, a, b, score in pred:
            scores.append(score)
            correct.append((label, a, b) in spans)
    return np.array(scores, dtype=np.float64), np.array(correct, dtype=bool), n_gold


class Reliability(NamedTuple):
    """A reliability diagram: ``bins`` equal-width bins of [0, 1] (``edges`` (bins+1,)); per bin the number of
    predictions ``count``, their mean score ``confidence`` and the fraction correct ``accuracy`` (NaN in empty
    bins); ``ece`` = Σ_b count_b / N · |accuracy_b − confidence_b|."""

    edges: np.ndarray
    count: np.ndarray  # type: ignore[assignment]  # a public field name, shadowing tuple.count
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float

    def to_dict(self) -> dict:
        def clean(a):
            return [None if math.isnan(v) else round(float(v), 6) for v in a]

        return {
            "ece": round(self.ece, 6),
            "edges": clean(self.edges),
            "count": self.count.tolist(),
            "confidence": clean(self.confidence),
            "accuracy": clean(self.accuracy),
        }


def reliability(scores: np.ndarray, correct: np.ndarray, bins: int = 10) -> Reliability:
    """Bin predictions by score (bin ``min(⌊score·bins⌋, bins-1)``) and compare mean score with accuracy."""
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    which = np.minimum((scores * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, scores, minlength=bins) / count
        accuracy = np.bincount(which, correct, minlength=bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] * np.abs(accuracy[filled] - confidence[filled])) / max(len(scores), 1))
    return Reliability(np.linspace(0.0, 1.0, bins + 1), count, confidence, accuracy, ece)


def expected_calibration_error(scores: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE over ``bins`` equal-width bins (see :class:`Reliability`); 0 for no predictions."""
    return reliability(scores, correct, bins).ece


class CurvePoint(NamedTuple):
    """One threshold of a :class:`PRCurve`: scores when only predictions with ``score >= threshold`` are kept
    (fractions in 0..1)."""

    threshold: float
    precision: float
    recall: float
    f1: float
    predicted: int
    correct: int


class PRCurve(NamedTuple):
    """Entity precision, recall and F1 when only entities scoring at least ``threshold`` are kept (arrays of
    the same length); ``predicted``/``correct``: how many entities are kept / right. Precision is 0 where
    nothing is kept (as conlleval reports it)."""

    threshold: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    predicted: np.ndarray
    correct: np.ndarray

    def to_dict(self) -> dict:
        return {
            name: [round(float(v), 6) if isinstance(v, float) else int(v) for v in getattr(self, name).tolist()]
            for name in self._fields
        }

    def best(self) -> int:
        """Index of the threshold with the highest F1 (the lowest such threshold)."""
        return int(np.argmax(self.f1))

    def points(self) -> list[CurvePoint]:
        """The curve threshold by threshold, as Python numbers."""
        return [CurvePoint(*row) for row in zip(*(getattr(self, name).tolist() for name in self._fields))]


def pr_curve(scores: np.ndarray, correct: np.ndarray, n_gold: int, thresholds: np.ndarray | None = None) -> PRCurve:
    """Precision, recall and F1 at each threshold (default 0, 0.01, …, 1) from the scores and outcomes of
    all predicted entities (predicted with threshold 0) and the number of gold entities.

    The one implementation: ``windowner evaluate`` (its JSON, plot and ``--html`` report) and
    :meth:`windowner.evaluation.report.ErrorAnalysis.curve` use it."""
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if scores.shape != correct.shape or scores.ndim != 1:
        raise ValueError(f"scores and correct must be two lists of one length, got {scores.shape} and {correct.shape}")
    t = np.round(np.linspace(0.0, 1.0, 101), 2) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    order = np.sort(scores)
    right = np.sort(scores[correct])
    predicted = len(order) - np.searchsorted(order, t, side="left")  # scores >= t
    hit = len(right) - np.searchsorted(right, t, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, hit / np.maximum(predicted, 1), 0.0)
        recall = hit / n_gold if n_gold else np.zeros(len(t))
        f1 = np.where(
            precision + recall > 0,
            2 * precision * recall / np.where(precision + recall > 0, precision + recall, 1),
            0.0,
        )
    return PRCurve(t, precision, np.asarray(recall, dtype=np.float64), f1, predicted, hit)


def _joined(name: str, dtype, doc: str) -> property:
    """A read-only property: the arrays collected in list attribute ``name``, concatenated."""

    def get(self) -> np.ndarray:
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return property(get, doc=doc)


class Outcomes:
    """Running totals for scoring confidence over batches: each predicted entity's score and whether it is
    exactly right, the number of gold entities, and each token's tag probability and whether the tag is right.

    >>> out = Outcomes(); out.add(gold_tags, model.predict_scored(tokens))
    >>> out.entity_reliability().ece, out.pr_curve().f1
    """

    def __init__(self) -> None:
        self._ent_scores: list[np.ndarray] = []
        self._ent_correct: list[np.ndarray] = []
        self._tok_proba: list[np.ndarray] = []
        self._tok_right: list[np.ndarray] = []
        self.n_gold = 0

    def add(self, gold: Sequence[Sequence[str]], scored: Scored, tokens: bool = True) -> None:
        """One batch: BIO2 ``gold`` tags and the :class:`Scored` prediction of the same sentences (tokens too
        unless ``tokens`` is False)."""
        scores, correct, n_gold = entity_outcomes(gold, scored.ents)
        self._ent_scores.append(scores)
        self._ent_correct.append(correct)
        self.n_gold += n_gold
        if tokens and scored.proba:
            self._tok_proba.append(np.concatenate(scored.proba))
            self._tok_right.append(
                np.array([p == g for pred, ref in zip(scored.tags, gold) for p, g in zip(pred, ref)], dtype=bool)
            )

    entity_scores = _joined("_ent_scores", np.float64, "(m,) the score of every predicted entity")
    entity_correct = _joined("_ent_correct", bool, "(m,) whether each predicted entity is exactly right")
    token_proba = _joined("_tok_proba", np.float64, "(n,) each token's tag probability")
    token_right = _joined("_tok_right", bool, "(n,) whether each token's tag is right")

    def entity_reliability(self, bins: int = 10) -> Reliability:
        return reliability(self.entity_scores, self.entity_correct, bins)

    def token_reliability(self, bins: int = 10) -> Reliability:
        return reliability(self.token_proba, self.token_right, bins)

    def pr_curve(self, thresholds: np.ndarray | None = None) -> PRCurve:
        return pr_curve(self.entity_scores, self.entity_correct, self.n_gold, thresholds)
