"""Posterior probabilities under the BIO-constrained tag lattice: forward–backward, token and span marginals.

The decoder (:mod:`windowner.nn.decode`) scores a tag sequence ``y`` of a sentence of ``L`` tokens as ::

    s(y) = start[y_0] + Σ_{t=0}^{L-1} em[t, y_t] + Σ_{t=1}^{L-1} trans[y_{t-1}, y_t]

with ``em`` the per-token log-probabilities of the K tags (the model's head) and ``start``/``trans``
the BIO2 constraints (0 allowed, ``NEG`` forbidden), possibly plus learned bigram scores. Viterbi picks the
best ``y``; here every valid ``y`` gets the probability ``P(y) = exp(s(y)) / Z`` and we ask how much of it
agrees with a given tag or entity. Per-token constant factors cancel in ``Z``, so it does not matter whether
the head's probabilities sum to one over the tags (the sigmoid head's do not).

Forward–backward, all in log space, for one sentence (shapes per sentence; ``K`` tags)::

    α_0[j]   = start[j] + em[0, j]                                        α: (L, K)
    α_t[j]   = em[t, j] + log Σ_i exp(α_{t-1}[i] + trans[i, j])            t = 1 … L-1
    β_{L-1}[i] = 0                                                        β: (L, K)
    β_{t-1}[i] = log Σ_j exp(trans[i, j] + em[t, j] + β_t[j])              t = L-1 … 1
    log Z    = log Σ_j exp(α_{L-1}[j])          (= log Σ_j exp(α_0[j] + β_0[j]))
    P(y_t = j) = exp(α_t[j] + β_t[j] - log Z)

Each ``log Σ exp`` is taken with the row maximum ``m`` factored out, ``m + log(exp(x - m) @ exp(trans))``, so
the sum over predecessors is one small matrix product and nothing overflows; forbidden moves contribute
``exp(NEG) = 0`` exactly. Sentences are laid end to end as in :func:`windowner.nn.decode.viterbi_bio`:
``emissions`` is (n, K) for all tokens, and each numpy step handles position ``t`` of every sentence still
running (sorted longest first, the running ones are a prefix), so there is no Python loop per token.

The probability that tokens ``a … b-1`` form exactly one entity of type X (tags ``B-X I-X … I-X`` there and
no ``I-X`` right after it) is ::

    log P = α_a[B-X] + Σ_{t=a+1}^{b-1} (trans[y_{t-1}, I-X] + em[t, I-X]) + out - log Z
    out   = log Σ_{j ≠ I-X} exp(trans[y_{b-1}, j] + em[b, j] + β_b[j])    if b < L, else 0

with ``y_{b-1}`` the span's last tag (``B-X`` for a one-token span, else ``I-X``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Lattice(NamedTuple):
    """Forward–backward results for sentences laid end to end.

    ``alpha``, ``beta``: (n, K) log-space forward and backward scores of every token; ``log_z``: (S,) log
    normaliser of each sentence; ``sentence``: (n,) the sentence of each token; ``first``: (S,) flat index of
    each sentence's first token; ``lengths``: (S,).
    """

    alpha: np.ndarray
    beta: np.ndarray
    log_z: np.ndarray
    sentence: np.ndarray
    first: np.ndarray
    lengths: np.ndarray

    def log_marginals(self) -> np.ndarray:
        """(n, K) log P(y_t = j) of every token and tag."""
        return self.alpha + self.beta - self.log_z[self.sentence][:, None]

    def token_marginals(self, tag_index: np.ndarray) -> np.ndarray:
        """(n,) P(y_t = tag_index[t]): the posterior probability of one given tag per token."""
        t = np.arange(len(tag_index))
        logp = self.alpha[t, tag_index] + self.beta[t, tag_index] - self.log_z[self.sentence]
        return np.clip(np.exp(logp), 0.0, 1.0)


def _log_matmul(x: np.ndarray, exp_trans: np.ndarray) -> np.ndarray:
    """``log(exp(x) @ exp_trans)`` row by row, with each row's maximum factored out. x: (k, K).

    The product is summed over i = 0 … K-1 in that order with elementwise operations (no BLAS call), so a
    row's result does not depend on how many other rows there are: the same text, the same bits.
    """
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    acc = e[:, 0:1] * exp_trans[0]
    for i in range(1, exp_trans.shape[0]):
        acc += e[:, i : i + 1] * exp_trans[i]
    with np.errstate(divide="ignore"):  # a state no allowed move reaches: log 0 = -inf, probability 0
        return m + np.log(acc)


def forward_backward(
    emissions: np.ndarray, lengths: Sequence[int] | np.ndarray, start: np.ndarray, trans: np.ndarray
) -> Lattice:
    """α, β and log Z of every sentence (see the module docstring). emissions: (n, K) log-scores of
    sentences laid end to end, ``lengths`` (S,) summing to n; start: (K,), trans: (K, K) additive scores."""
    em = np.asarray(emissions, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    n, K = em.shape
    if int(lengths.sum()) != n:
        raise ValueError(f"sentence lengths sum to {int(lengths.sum())}, but there are {n} rows of emissions")
    first_all = np.cumsum(lengths) - lengths
    sentence = np.repeat(np.arange(len(lengths)), lengths)
    alpha = np.empty((n, K))
    beta = np.zeros((n, K))
    log_z = np.zeros(len(lengths))
    if n == 0:
        return Lattice(alpha, beta, log_z, sentence, first_all, lengths)
    exp_trans = np.exp(np.asarray(trans, dtype=np.float64))  # (K, K); forbidden moves: exactly 0
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    first = first_all[order]
    # running[t]: how many sentences (a prefix of `order`) are longer than t
    running = np.searchsorted(-lengths[order], -np.arange(int(lengths[order[0]])), side="left")
    alpha[first] = np.asarray(start, dtype=np.float64)[None, :] + em[first]
    for t in range(1, len(running)):
        pos = first[: running[t]] + t
        alpha[pos] = em[pos] + _log_matmul(alpha[pos - 1], exp_trans)
    for t in range(len(running) - 1, 0, -1):
        pos = first[: running[t]] + t
        beta[pos - 1] = _log_matmul(em[pos] + beta[pos], exp_trans.T)
    last = alpha[first + lengths[order] - 1]  # (S', K)
    m = last.max(axis=1)
    log_z[order] = m + np.log(np.exp(last - m[:, None]).sum(axis=1))
    return Lattice(alpha, beta, log_z, sentence, first_all, lengths)


def span_marginals(
    lattice: Lattice,
    emissions: np.ndarray,
    trans: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    b_tags: np.ndarray,
    i_tags: np.ndarray,
) -> np.ndarray:
    """(m,) P(tokens starts[k] … ends[k]-1 are exactly one entity whose tags are b_tags[k], i_tags[k], …),
    see the module docstring. starts, ends: (m,) flat token indices (end exclusive) inside one sentence;
    b_tags, i_tags: (m,) the indices of the entity type's B- and I- tags."""
    em = np.asarray(emissions, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    a, b = np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)
    b_tag, i_tag = np.asarray(b_tags, dtype=np.int64), np.asarray(i_tags, dtype=np.int64)
    if len(a) == 0:
        return np.zeros(0)
    s = lattice.sentence[a]
    stop = lattice.first[s] + lattice.lengths[s]  # flat index after each span's sentence
    if np.any(b <= a) or np.any(b > stop):
        raise ValueError("every span must hold at least one token and lie inside one sentence")
    # Σ_{t=a+1}^{b-1} em[t, I-X], token by token in order (each span's own sum, whatever else is in the
    # batch); then the moves B→I once and I→I the rest
    longer = b - a > 1
    inner = np.zeros(len(a))
    for d in range(1, int((b - a).max())):
        inside = a + d < b
        inner[inside] += em[a[inside] + d, i_tag[inside]]
    inner += np.where(longer, trans[b_tag, i_tag] + (b - a - 2) * trans[i_tag, i_tag], 0.0)
    log_p = lattice.alpha[a, b_tag] + inner - lattice.log_z[s]
    # out: the span ends at b-1, so the next tag (if any) is anything but I-X
    k = np.flatnonzero(b < stop)
    if len(k):
        last = np.where(longer[k], i_tag[k], b_tag[k])
        nxt = trans[last] + em[b[k]] + lattice.beta[b[k]]  # (k, K)
        nxt[np.arange(len(k)), i_tag[k]] = -np.inf
        m = nxt.max(axis=1, keepdims=True)
        log_p[k] += (m + np.log(np.exp(nxt - m).sum(axis=1, keepdims=True)))[:, 0]
    return np.clip(np.exp(log_p), 0.0, 1.0)
