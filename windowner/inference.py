"""The NER model at work: lexicon + embeddings + window network + BIO decoder, from tokens to tags.

Data flows one way: tokens -> window type ids -> log-probabilities (n, K) -> Viterbi -> BIO2 tags.
The fast path never builds the (n, D) window matrix: the first layer is linear, so each distinct
token type is projected through W once and windows sum the projections of their positions.
"""

from __future__ import annotations

import os
from itertools import chain
from typing import Sequence

import numpy as np

from .calibration import Calibration
from .confidence import Scored, check_threshold, score_paths
from .decode import constraints, viterbi, viterbi_bio
from .features import Lexicon, window_types
from .network import Embeddings, WindowNetwork

_THREADS = min(4, os.cpu_count() or 1)
PROJECTION_CACHE_BYTES = 128 * 2**20  # first-layer projections kept across calls, per model
_BLOCK = 256  # rows per projection product
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="windowner")
    return _POOL


WEIGHT_NAMES = ("W", "b", "U", "E", "C", "F", "start", "trans")  # every array of a model, as saved


class NERModel:
    """A trained window tagger over pre-tokenized sentences (what a model directory holds).

    Attributes: ``config`` (hyper-parameters), ``tags`` (class names, "O" first), ``lexicon``,
    ``embeddings`` (input tables E, C, F), ``net`` (the window network: W, b, U), ``start``/``trans``
    (decoder scores), ``history`` (one record per training epoch), ``version`` (bumped by every change
    of the weights: :meth:`set_weights`, :meth:`weights_changed`), ``calibration`` (the maps that turn
    lattice marginals into calibrated scores; None: uncalibrated, e.g. a model saved before calibration).
    """

    def __init__(self, config: dict, tags: Sequence[str], lexicon: Lexicon, embeddings: Embeddings,
                 net: WindowNetwork, start: np.ndarray | None = None, trans: np.ndarray | None = None):
        self.config, self.tags, self.lexicon = dict(config), list(tags), lexicon
        self.embeddings, self.net = embeddings, net
        hard_start, hard_trans = constraints(self.tags)
        self._hard = (hard_start, hard_trans)
        self.start = hard_start if start is None else start
        self.trans = hard_trans if trans is None else trans
        self.history: list[dict] = []
        self.calibration: Calibration | None = None
        self.version = 0
        self.weights_changed()

    def weights(self) -> dict[str, np.ndarray]:
        """Every array of the model by name (:data:`WEIGHT_NAMES`); the arrays themselves, not copies."""
        return {**self.net.params, **self.embeddings.tables, "start": self.start, "trans": self.trans}

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace arrays by name (cast to the current dtype and checked for shape), e.g. a saved best epoch."""
        current = self.weights()
        for name, arr in arrays.items():
            if name not in current:
                raise KeyError(f"unknown weight {name!r}; the model has {', '.join(WEIGHT_NAMES)}")
            arr = np.asarray(arr, dtype=current[name].dtype)
            if arr.shape != current[name].shape:
                raise ValueError(f"weight {name} has shape {arr.shape}, the model's {current[name].shape}")
            store = (self.net.params if name in self.net.params else self.embeddings.tables
                     if name in self.embeddings.tables else None)
            if store is None:
                setattr(self, name, arr)
            else:
                store[name] = arr
        self.weights_changed()

    def weights_changed(self) -> None:
        """Call after changing weights in place (an optimiser step): cached projections are dropped."""
        self.version += 1
        # pure BIO constraints allow the O(K) decoder
        self._bio_only = bool(np.array_equal(self.start, self._hard[0]) and np.array_equal(self.trans, self._hard[1]))

    @property
    def window(self) -> int:
        return int(self.config["window"])

    @property
    def labels(self) -> list[str]:
        """Entity types, e.g. ["DATE", "LOC", "PER"]."""
        return sorted({t[2:] for t in self.tags if t != "O"})

    # -- features -----------------------------------------------------------------------------

    def window_features(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """(n_tokens, 2k+1, 3) word row / case / suffix ids of every window position."""
        windows = self.lexicon.windows(sentences, self.window)  # may grow the type table: read it after
        return self.lexicon.table[windows]

    # -- scores -------------------------------------------------------------------------------

    def log_proba_dense(self, feats: np.ndarray) -> np.ndarray:
        """Reference path: build X explicitly. feats: (n, m, 3) -> log P: (n, K)."""
        return self.net.log_proba(self.embeddings.forward(feats))

    def log_proba(self, sentences: Sequence[Sequence[str]], chunk: int = 2048) -> np.ndarray:
        """Fast path: (n_tokens, K) log-probabilities for sentences of tokens.

        The first layer is linear, so ``Z = b + Σ_p W_p v(type at p)``: project each distinct type in
        the batch once per window position, then sum gathered rows — no (n, D) matrix. Rows are
        processed in cache-sized chunks into reused buffers.
        """
        lengths = [len(s) for s in sentences]
        flat = self.lexicon.type_ids(list(chain.from_iterable(sentences)))
        net = self.net
        W, U = net.params["W"], net.params["U"]
        h, D = W.shape
        n = len(flat)
        if n == 0:
            return np.zeros((0, len(self.tags)), dtype=W.dtype)
        m = 2 * self.window + 1
        proj, rows, bos, eos = self._projections(flat)
        win = window_types(rows, lengths, self.window, bos=bos, eos=eos)
        logp = np.empty((n, U.shape[1]), dtype=W.dtype)

        def forward_chunk(a: int) -> None:
            w = win[a:a + chunk]
            z = proj[0].take(w[:, 0], axis=0)
            for p in range(1, m):
                z += proj[p].take(w[:, p], axis=0)
            logp[a:a + len(w)] = net.log_proba_from_z(z)

        starts = range(0, n, chunk)
        if len(starts) > 1 and _THREADS > 1:  # numpy releases the GIL in take/add/tanh/matmul
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1, user_api="blas"):  # our threads, not BLAS's, share the cores
                list(_pool().map(forward_chunk, starts))
        else:
            for a in starts:
                forward_chunk(a)
        return logp

    def _projections(self, flat: np.ndarray):
        """Per window position p, ``W_p v(type)`` for the types of ``flat`` (b folded into p = 0).

        Returns (proj: m arrays (rows, h), each token's row, the two padding rows). Types are
        append-only, so projections are kept across calls (up to PROJECTION_CACHE_BYTES) and only
        new types are projected; any change to the weights or the lexicon's cache starts afresh.
        """
        W, b = self.net.params["W"], self.net.params["b"]
        h, D = W.shape
        m = 2 * self.window + 1
        Wp = W.reshape(h, m, D // m)
        table = self.lexicon.table

        def project(types: np.ndarray) -> np.ndarray:  # (m, len(types), h)
            # Fixed-size row blocks: BLAS may round a row differently with the matrix's row count, and a
            # type's projection must not depend on which batch first brought it (nor on the process).
            n = len(types)
            V = np.zeros((-(-n // _BLOCK) * _BLOCK, self.embeddings.d_total), dtype=W.dtype)
            V[:n] = self.embeddings.type_vectors(table[types])
            out = np.empty((m, len(V), h), dtype=W.dtype)
            for p in range(m):
                for a in range(0, len(V), _BLOCK):
                    np.matmul(V[a:a + _BLOCK], Wp[:, p, :].T, out=out[p, a:a + _BLOCK])
            out[0] += b
            return out[:, :n]

        if len(table) * m * h * W.itemsize > PROJECTION_CACHE_BYTES:  # too many types: this batch's only
            present = np.zeros(len(table), dtype=bool)
            present[flat] = True
            uniq = np.flatnonzero(present)
            local = (np.cumsum(present) - 1)[flat]  # each token's rank among the batch's distinct types
            proj = project(np.concatenate([uniq, [0, 1]]))
            return list(proj), local, len(uniq), len(uniq) + 1
        key = (self.lexicon.generation, self.version)
        if getattr(self, "_proj_key", None) != key:
            self._proj, self._proj_done, self._proj_key = np.empty((m, 0, h), dtype=W.dtype), 0, key
        done = self._proj_done
        if len(table) > done:
            if len(table) > self._proj.shape[1]:
                grown = np.empty((m, 2 * len(table), h), dtype=W.dtype)
                grown[:, :done] = self._proj[:, :done]
                self._proj = grown
            self._proj[:, done:len(table)] = project(np.arange(done, len(table)))
            self._proj_done = len(table)
        return [self._proj[p, :self._proj_done] for p in range(m)], flat, 0, 1  # types 0, 1: <s>, </s>

    def predict(self, sentences: Sequence[Sequence[str]], with_proba: bool = False):
        """BIO2 tags for each sentence (and, if asked, the probability that each token's tag is right:
        :meth:`predict_scored`)."""
        if with_proba:
            scored = self.predict_scored(sentences)
            return scored.tags, scored.proba
        lengths = [len(s) for s in sentences]
        best = self._decode(self.log_proba(sentences), lengths)
        tags = np.asarray(self.tags, dtype=object)[best].tolist()
        bounds = np.cumsum([0] + lengths).tolist()
        return [tags[a:b] for a, b in zip(bounds, bounds[1:])]

    def predict_scored(self, sentences: Sequence[Sequence[str]], threshold: float = 0.0) -> Scored:
        """Tags, token probabilities and scored entities (:class:`~windowner.confidence.Scored`) per sentence.

        The tags are the decoder's best path; a token's probability is the (calibrated) marginal probability
        of its tag, an entity's score the (calibrated) probability that exactly this span has this label.
        Entities scoring below ``threshold`` are dropped and their tokens tagged O.
        """
        threshold = check_threshold(threshold)
        lengths = [len(s) for s in sentences]
        logp = self.log_proba(sentences)
        best = self._decode(logp, lengths)
        return score_paths(logp, lengths, best, self.tags, self.start, self.trans, self.calibration, threshold)

    def _decode(self, logp: np.ndarray, lengths: list[int]) -> np.ndarray:
        if self._bio_only:
            return viterbi_bio(logp, lengths, self.tags)
        return viterbi(logp, lengths, self.start, self.trans)
