"""Forward–backward marginals equal brute-force enumeration over every valid tag sequence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from windowner.nn.decode import NEG, constraints, learned_transitions, viterbi
from windowner.nn.marginals import forward_backward, span_marginals
from windowner.text.tags import bio2_spans

LABEL_SETS = [["PER"], ["LOC", "PER"], ["DATE", "LOC", "PER"]]


def tag_list(labels: list[str]) -> list[str]:
    return ["O"] + [f"{p}-{x}" for x in labels for p in "BI"]


def enumerate_paths(em: np.ndarray, start: np.ndarray, trans: np.ndarray):
    """(path, probability) of every allowed tag sequence of one sentence, by brute force."""
    L, K = em.shape
    paths, scores = [], []
    for path in itertools.product(range(K), repeat=L):
        s = (
            start[path[0]]
            + em[0, path[0]]
            + sum(trans[a, b] + em[t + 1, b] for t, (a, b) in enumerate(zip(path, path[1:])))
        )
        if s > NEG / 2:  # no forbidden move
            paths.append(path)
            scores.append(s)
    scores = np.array(scores)
    p = np.exp(scores - scores.max())
    return paths, p / p.sum()


def brute_force(em, start, trans, tags):
    """(L, K) token marginals and {(label, a, b): probability of exactly that entity}."""
    paths, prob = enumerate_paths(em, start, trans)
    token = np.zeros(em.shape)
    spans: dict = {}
    for path, p in zip(paths, prob):
        for t, j in enumerate(path):
            token[t, j] += p
        for span in bio2_spans([tags[j] for j in path]):
            spans[span] = spans.get(span, 0.0) + p
    return token, spans


def transitions(tags, kind: str, rng):
    start, trans = constraints(tags)
    if kind == "learned":  # learned bigram scores on top of the constraints
        seqs = [[tags[j] for j in viterbi(rng.normal(size=(6, len(tags))), [6], start, trans)] for _ in range(20)]
        ls, lt = learned_transitions(seqs, tags)
        start, trans = start + ls, trans + lt
    return start, trans


@pytest.mark.parametrize("labels", LABEL_SETS)
@pytest.mark.parametrize("kind", ["constrained", "learned"])
def test_marginals_equal_brute_force(labels, kind):
    rng = np.random.default_rng(len(labels) + (kind == "learned"))
    tags = tag_list(labels)
    K = len(tags)
    start, trans = transitions(tags, kind, rng)
    lengths = [1, 4, 2, 0, 3, 5] if K <= 5 else [1, 3, 0, 4, 2]
    em = np.log(rng.uniform(0.01, 1.0, size=(sum(lengths), K))) * rng.uniform(0.5, 4)  # random emissions
    lattice = forward_backward(em, lengths, start, trans)
    marg = np.exp(lattice.log_marginals())
    np.testing.assert_allclose(marg.sum(axis=1), 1.0, atol=1e-10)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    for a0, b0 in zip(bounds[:-1], bounds[1:]):
        if a0 == b0:
            continue
        token, spans = brute_force(em[a0:b0], start, trans, tags)
        np.testing.assert_allclose(marg[a0:b0], token, atol=1e-10)
        # every possible span of every type, including spans no path takes (probability 0)
        cand = [(x, a, b) for x in labels for a in range(b0 - a0) for b in range(a + 1, b0 - a0 + 1)]
        got = span_marginals(
            lattice,
            em,
            trans,
            np.array([a0 + a for _, a, _ in cand]),
            np.array([a0 + b for _, _, b in cand]),
            np.array([tags.index("B-" + x) for x, _, _ in cand]),
            np.array([tags.index("I-" + x) for x, _, _ in cand]),
        )
        want = [spans.get(c, 0.0) for c in cand]
        np.testing.assert_allclose(got, want, atol=1e-10)
        chosen = rng.integers(0, K, b0 - a0)
        np.testing.assert_allclose(
            lattice.token_marginals(np.concatenate([np.zeros(a0, int), chosen, np.zeros(len(em) - b0, int)]))[a0:b0],
            token[np.arange(b0 - a0), chosen],
            atol=1e-10,
        )


def test_extreme_emissions_stay_finite():
    """Very confident heads (log-probabilities near -700) must not overflow or give NaN."""
    tags = tag_list(["LOC", "PER"])
    start, trans = constraints(tags)
    rng = np.random.default_rng(5)
    em = -np.abs(rng.normal(0, 300, size=(40, len(tags))))
    lattice = forward_backward(em, [40], start, trans)
    marg = np.exp(lattice.log_marginals())
    assert np.all(np.isfinite(marg)) and np.allclose(marg.sum(axis=1), 1.0)


def test_spans_must_lie_inside_one_sentence():
    tags = tag_list(["PER"])
    start, trans = constraints(tags)
    em = np.zeros((4, 3))
    lattice = forward_backward(em, [2, 2], start, trans)
    with pytest.raises(ValueError, match="inside one sentence"):
        span_marginals(lattice, em, trans, np.array([1]), np.array([3]), np.array([1]), np.array([2]))
    with pytest.raises(ValueError, match="sum to 3"):
        forward_backward(em, [1, 2], start, trans)
