"""From per-token class scores to valid BIO2 tag sequences (entity spans: :func:`windowner.text.tags.bio2_spans`).

A Viterbi pass over the log-scores finds the best tag sequence in which ``I-X`` only follows
``B-X`` or ``I-X`` (and no sentence starts with ``I-X``). Optional transition scores, estimated
from the training tags, add Collobert et al.'s sentence-level preference between neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NEG = -1e9  # "forbidden": large but finite so that sums stay finite
TRANSITIONS = ("constrained", "learned")  # the decoder's transition scores: BIO constraints, or plus learned bigrams


def constraints(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(start (K,), trans (K, K)) additive scores: 0 where allowed, NEG where BIO2 forbids it."""
    K = len(tags)
    start = np.zeros(K)
    trans = np.zeros((K, K))
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            start[j] = NEG
            for i, prev in enumerate(tags):
                if prev[2:] != tag[2:] or prev == "O":
                    trans[i, j] = NEG
    return start, trans


def learned_transitions(tag_sequences, tags: Sequence[str], smoothing: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the first tag and of tag bigrams from the training tags (add-k smoothed counts):
    ``log P(y_1) − log P(y)`` and ``log P(y_t | y_{t−1}) − log P(y_t)``.

    The emissions are already the network's log P(y_t | window), which holds the tag prior; a bigram
    log-probability alone would count that prior twice (and, the tags being mostly O, push entities out),
    so the prior is divided out, as hybrid HMM/network taggers turn posteriors into scaled likelihoods."""
    index = {t: i for i, t in enumerate(tags)}
    K = len(tags)
    start = np.full(K, smoothing)
    pair = np.full((K, K), smoothing)
    unigram = np.full(K, smoothing)
    for seq in tag_sequences:
        ids = [index[t] for t in seq]
        if ids:
            start[ids[0]] += 1
            np.add.at(pair, (ids[:-1], ids[1:]), 1)
            np.add.at(unigram, ids, 1)
    prior = np.log(unigram / unigram.sum())
    return np.log(start / start.sum()) - prior, np.log(pair / pair.sum(axis=1, keepdims=True)) - prior[None, :]


def viterbi(
    emissions: np.ndarray, lengths: Sequence[int] | np.ndarray, start: np.ndarray, trans: np.ndarray, batch: int = 4096
) -> np.ndarray:
    """Best tag index per token. emissions: (n, K) log-scores of sentences laid end to end.

    Vectorised across sentences: sentences are sorted by length and processed in padded blocks,
    with one numpy step per position (no Python loop per token).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n, K = emissions.shape
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    out = np.empty(n, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    for lo in range(0, len(order), batch):
        block = order[lo : lo + batch]
        block = block[lengths[block] > 0]
        if len(block) == 0:
            continue
        L = int(lengths[block].max())
        pos = offsets[block][:, None] + np.arange(L)[None, :]  # (S, L)
        valid = np.arange(L)[None, :] < lengths[block][:, None]
        em = emissions[np.where(valid, pos, 0)]  # (S, L, K)
        score = start[None, :] + em[:, 0]
        back = np.zeros((len(block), L, K), dtype=np.int64)
        for t in range(1, L):
            cand = score[:, :, None] + trans[None]  # (S, prev, next)
            best_prev = cand.argmax(axis=1)
            new = np.take_along_axis(cand, best_prev[:, None, :], axis=1)[:, 0] + em[:, t]
            live = valid[:, t][:, None]
            score = np.where(live, new, score)
            back[:, t] = np.where(live, best_prev, np.arange(K)[None, :])
        path = np.empty((len(block), L), dtype=np.int64)
        path[:, -1] = score.argmax(axis=1)
        for t in range(L - 1, 0, -1):
            path[:, t - 1] = back[np.arange(len(block)), t, path[:, t]]
        out[pos[valid]] = path[valid]
    return out


def viterbi_bio(emissions: np.ndarray, lengths: Sequence[int] | np.ndarray, tags: Sequence[str]) -> np.ndarray:
    """Same result as :func:`viterbi` with the pure BIO2 constraints of :func:`constraints`, in O(K) per token.

    Under those constraints ``O`` and ``B-X`` may follow anything, so their best predecessor is the
    overall best; ``I-X`` may follow only ``B-X`` or ``I-X``, so it compares just those two.
    Sentences are sorted longest first, so the ones still running at position t are a prefix.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n, K = emissions.shape
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    tags = list(tags)
    i_idx = np.array([j for j, t in enumerate(tags) if t.startswith("I-")], dtype=np.int64)
    b_idx = np.array([tags.index("B-" + tags[j][2:]) for j in i_idx], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    first = (np.cumsum(lengths) - lengths)[order]  # flat index of each sentence's first token
    running = np.searchsorted(-lengths[order], -np.arange(int(lengths[order[0]])), side="left")  # length > t
    back = np.empty((n, K), dtype=np.int16)
    score = emissions[first].astype(np.float64)
    score[:, i_idx] = NEG
    for t in range(1, len(running)):
        k = running[t]
        pos = first[:k] + t
        sc = score[:k]
        best = sc.argmax(axis=1)  # the best predecessor of O and every B-X
        bp = np.repeat(best[:, None], K, axis=1)
        new = sc[np.arange(k), best][:, None] + emissions[pos]
        from_b = sc[:, b_idx] >= sc[:, i_idx]  # I-X continues B-X or I-X, whichever scores more
        new[:, i_idx] = np.where(from_b, sc[:, b_idx], sc[:, i_idx]) + emissions[pos][:, i_idx]
        bp[:, i_idx] = np.where(from_b, b_idx, i_idx)
        score[:k] = new
        back[pos] = bp
    cur = score.argmax(axis=1)
    for t in range(len(running) - 1, -1, -1):
        k = running[t]
        pos = first[:k] + t
        out[pos] = cur[:k]
        if t:
            cur[:k] = back[pos, cur[:k]]
    return out
