"""The NER model at work: lexicon + embeddings + window network + BIO decoder, from tokens to tags.

Data flows one way: tokens -> window type ids -> log-probabilities (n, K) -> Viterbi -> BIO2 tags.
The fast path never builds the (n, D) window matrix: the first layer is linear, so each distinct
token type is projected through W once and windows sum the projections of their positions.

**Same text, same answer.** A token's result depends only on its window, never on the batch, the
cache or the thread count: every BLAS product has one fixed shape (projections in blocks of
:data:`PROJECTION_BLOCK` types, the output layer in blocks of :data:`FORWARD_BLOCK` windows, the last
block padded), and everything else is elementwise. ``tests/test_invariance.py`` checks the bytes.

**Thread safety without a read lock.** The types seen so far and their projections live in an
immutable :class:`TypeCache` snapshot. A call takes the current snapshot and reads only from it; a call
that meets new types takes the model's lock, appends them to copies or to rows no published snapshot
covers, and publishes a new snapshot. One loaded model can serve many threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

from ..evaluation.confidence import Scored, check_threshold, score_paths
from ..features import Lexicon, window_types, window_width
from ..nn.calibration import Calibration
from ..nn.decode import constraints, viterbi, viterbi_bio
from ..nn.embeddings import Embeddings
from ..nn.network import WindowNetwork
from .run import TrainingRun

if TYPE_CHECKING:
    from ..text.conventions import TokenizerRules
    from ..text.tokenizer import TokenizerTables

PROJECTION_CACHE_BYTES = 128 * 2**20  # first-layer projections kept across calls, per model
MAX_CACHED_TYPES = 2_000_000  # the type table starts afresh beyond this (bounded memory on endless streams)
PROJECTION_BLOCK = 256  # types per projection product (BLAS sees one shape)
FORWARD_BLOCK = 1024  # windows per output-layer product (BLAS sees one shape)
_THREADS = min(4, os.cpu_count() or 1)
_POOL = None
_POOL_LOCK = threading.Lock()


def _one_blas_thread() -> None:
    """Pool-thread initializer: this thread's BLAS calls use one thread (the pool's threads share the cores).

    Uses OpenBLAS's thread-local setting (``openblas_set_num_threads_local``, OpenBLAS ≥ 0.3.27), so no
    other thread of the process is affected; with another BLAS nothing changes. Results never depend on it.
    """
    import ctypes

    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("internal_api") == "openblas":
            try:
                set_local = ctypes.CDLL(info["filepath"]).openblas_set_num_threads_local
            except (OSError, AttributeError):
                continue
            set_local.argtypes = [ctypes.c_int]
            set_local(1)


def _pool():
    """The process-wide pool that runs every BLAS product of tagging (created on first use)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="windowner", initializer=_one_blas_thread)
    return _POOL


@dataclass(frozen=True)
class TypeCache:
    """A snapshot of the token types a model has seen: never changed once published.

    ``type_of`` maps a token to its type id; it is shared by the snapshots of one generation and only
    ever gains entries, so an id ≥ ``n`` belongs to a later snapshot and counts as unseen here.
    ``feats[:n]`` (n, c) are the types' feature ids (types 0, 1: the <s>, </s> padding); ``proj[:, :n]``
    (m, n, h) their first-layer projections for weights ``version`` (None: over the cache budget).
    """

    type_of: dict
    feats: np.ndarray
    n: int
    proj: np.ndarray | None
    version: int

    def lookup(self, tokens: Sequence[Hashable]) -> np.ndarray:
        """(len(tokens),) type ids, -1 for a token this snapshot does not hold."""
        ids = np.fromiter(map(self.type_of.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens))
        ids[ids >= self.n] = -1
        return ids


WEIGHT_NAMES = ("W", "b", "U", "start", "trans")  # every model's arrays besides its feature tables (lexicon.columns)


class NERModel:
    """A trained window tagger over pre-tokenized sentences (what a model directory holds).

    Attributes: ``config`` (hyper-parameters), ``tags`` (class names, "O" first), ``lexicon``,
    ``embeddings`` (one input table per lexicon column), ``net`` (the window network: W, b, U), ``start``/``trans``
    (decoder scores), ``history`` (one record per training epoch), ``run`` (the facts of the training run:
    :class:`~windowner.model.run.TrainingRun`), ``version`` (bumped by every change of the weights:
    :meth:`set_weights`, :meth:`weights_changed`), ``calibration`` (the maps that turn lattice marginals into
    calibrated scores; None: uncalibrated, e.g. a model saved before calibration).
    """

    def __init__(
        self,
        config: dict,
        tags: Sequence[str],
        lexicon: Lexicon,
        embeddings: Embeddings,
        net: WindowNetwork,
        start: np.ndarray | None = None,
        trans: np.ndarray | None = None,
    ):
        self.config, self.tags, self.lexicon = dict(config), list(tags), lexicon
        self.embeddings, self.net = embeddings, net
        hard_start, hard_trans = constraints(self.tags)
        self._hard = (hard_start, hard_trans)
        self.start = hard_start if start is None else start
        self.trans = hard_trans if trans is None else trans
        self.history: list[dict] = []
        self.run = TrainingRun()
        self.calibration: Calibration | None = None
        # how raw text is cut into tokens (windowner.text.conventions.TokenizerRules,
        # windowner.text.tokenizer.TokenizerTables):
        # set by training and by model_files; None for a model without them (spaCy's English tokenizer)
        self.tokenizer_rules: TokenizerRules | None = None
        self.tokenizer_tables: TokenizerTables | None = None
        self.version = 0
        self._lock = threading.Lock()  # held only to publish a grown TypeCache
        self._types = TypeCache({}, lexicon.padding.copy(), 2, None, -1)
        self._sole_user = False  # see training()
        self.weights_changed()
        self._decoder_changed()

    @contextmanager
    def training(self) -> Iterator[NERModel]:
        """``with model.training():`` the calling thread (training's) is the model's only user until the block
        ends: the projections of new weights then overwrite the previous ones in place (a fresh buffer costs
        ~100 ms of page faults per conll03 dev pass). Outside it the model may be shared by threads."""
        self._sole_user = True
        try:
            yield self
        finally:
            self._sole_user = False

    def weights(self) -> dict[str, np.ndarray]:
        """Every array of the model by name (:data:`WEIGHT_NAMES` and the feature tables); the arrays themselves,
        not copies."""
        return {**self.net.params, **self.embeddings.tables, "start": self.start, "trans": self.trans}

    def set_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace arrays by name (cast to the current dtype and checked for shape), e.g. a saved best epoch."""
        current = self.weights()
        for name, arr in arrays.items():
            if name not in current:
                raise KeyError(f"unknown weight {name!r}; the model has {', '.join(current)}")
            arr = np.asarray(arr, dtype=current[name].dtype)
            if arr.shape != current[name].shape:
                raise ValueError(f"weight {name} has shape {arr.shape}, the model's {current[name].shape}")
            store = (
                self.net.params
                if name in self.net.params
                else self.embeddings.tables
                if name in self.embeddings.tables
                else None
            )
            if store is None:
                setattr(self, name, arr)
            else:
                store[name] = arr
        self.weights_changed()
        self._decoder_changed()

    def weights_changed(self) -> None:
        """Call after changing weights in place (an optimiser step): cached projections are dropped."""
        self.version += 1

    def _decoder_changed(self) -> None:
        # pure BIO constraints allow the O(K) decoder; start/trans change only through __init__ and set_weights
        self._bio_only = bool(np.array_equal(self.start, self._hard[0]) and np.array_equal(self.trans, self._hard[1]))

    @property
    def window(self) -> int:
        return int(self.config["window"])

    @property
    def window_width(self) -> int:
        """Tokens per window: 2k+1."""
        return window_width(self.window)

    @property
    def labels(self) -> list[str]:
        """Entity types, e.g. ["DATE", "LOC", "PER"]."""
        return sorted({t[2:] for t in self.tags if t != "O"})

    # -- features -----------------------------------------------------------------------------

    def window_features(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """(n_tokens, 2k+1, c) feature ids (one column per embedding table) of every window position."""
        return self.lexicon.window_features(sentences, self.window)

    # -- scores -------------------------------------------------------------------------------

    def log_proba_dense(self, feats: np.ndarray) -> np.ndarray:
        """Reference path: build X explicitly. feats: (n, m, c) -> log P: (n, K)."""
        return self.net.log_proba(self.embeddings.forward(feats))

    def log_proba(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        """Fast path: (n_tokens, K) log-probabilities for sentences of tokens.

        The first layer is linear, so ``Z = b + Σ_p W_p v(type at p)``: each distinct type is projected
        once per window position, and a window sums the gathered rows of its positions — no (n, D)
        matrix. Windows go through the rest of the network in blocks of FORWARD_BLOCK rows.
        """
        lengths = [len(s) for s in sentences]
        tokens = self.lexicon.type_keys(sentences)
        net, U = self.net, self.net.params["U"]
        n = len(tokens)
        if n == 0:
            return np.zeros((0, U.shape[1]), dtype=U.dtype)
        ids, cache = self._known_types(tokens)
        if cache.proj is not None:
            proj, rows, bos, eos = cache.proj, ids, 0, 1
        else:  # over the cache budget: project this call's types only
            present = np.zeros(cache.n, dtype=bool)
            present[ids] = True
            uniq = np.flatnonzero(present)
            rows = (np.cumsum(present) - 1)[ids]  # each token's rank among the call's distinct types
            proj = self._project_in_pool(cache.feats[np.concatenate([uniq, [0, 1]])])
            bos, eos = len(uniq), len(uniq) + 1
        win = window_types(rows, lengths, self.window, bos=bos, eos=eos)
        padded = -(-n // FORWARD_BLOCK) * FORWARD_BLOCK
        if padded > n:  # the last block is padded (with <s> windows) to the one shape BLAS sees
            win = np.concatenate([win, np.full((padded - n, win.shape[1]), bos, dtype=win.dtype)])
        logp = np.empty((padded, U.shape[1]), dtype=U.dtype)

        def forward_block(a: int) -> None:
            w = win[a : a + FORWARD_BLOCK]
            z = proj[0].take(w[:, 0], axis=0)
            for p in range(1, w.shape[1]):
                z += proj[p].take(w[:, p], axis=0)
            logp[a : a + FORWARD_BLOCK] = net.log_proba_from_z(z)

        list(_pool().map(forward_block, range(0, padded, FORWARD_BLOCK)))  # numpy releases the GIL here
        return logp[:n]

    def _project(self, feats: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """feats: (t, c) feature ids of t types -> (m, t, h) first-layer projections ``W_p v(type)`` of each
        window position p (b folded into p = 0), written into ``out`` when given, in products of exactly
        PROJECTION_BLOCK rows (the last block through a padded buffer)."""
        W, b = self.net.params["W"], self.net.params["b"]
        h, D = W.shape
        m = self.window_width
        Wp = W.reshape(h, m, D // m)
        t = len(feats)
        if out is None:
            out = np.empty((m, t, h), dtype=W.dtype)
        V = self.embeddings.type_vectors(feats).astype(W.dtype, copy=False)
        full = t - t % PROJECTION_BLOCK
        last = np.zeros((PROJECTION_BLOCK, V.shape[1]), dtype=W.dtype)
        last[: t - full] = V[full:]
        buf = np.empty((PROJECTION_BLOCK, h), dtype=W.dtype)
        for p in range(m):
            Wt = Wp[:, p, :].T
            for a in range(0, full, PROJECTION_BLOCK):
                np.matmul(V[a : a + PROJECTION_BLOCK], Wt, out=out[p, a : a + PROJECTION_BLOCK])
            if full < t:
                np.matmul(last, Wt, out=buf)
                out[p, full:] = buf[: t - full]
        out[0] += b
        return out

    def _project_in_pool(self, feats: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`_project` on the pool's threads, in chunks of whole PROJECTION_BLOCKs: the products (and
        so the bits) of one call, on every core."""
        if out is None:
            W = self.net.params["W"]
            out = np.empty((self.window_width, len(feats), W.shape[0]), dtype=W.dtype)
        step = max(1, -(-len(feats) // (_THREADS * PROJECTION_BLOCK))) * PROJECTION_BLOCK
        list(
            _pool().map(lambda a: self._project(feats[a : a + step], out[:, a : a + step]), range(0, len(feats), step))
        )
        return out

    def _known_types(self, tokens: list[Hashable]) -> tuple[np.ndarray, TypeCache]:
        """Type ids of ``tokens`` and a snapshot holding all of them (and their projections, within budget).

        Lock-free when every token is known and the projections match the weights; otherwise the new
        types are added under the lock and a new snapshot is published.
        """
        cache = self._types
        if cache.version == self.version:
            ids = cache.lookup(tokens)
            if not (ids < 0).any():
                return ids, cache
        with self._lock:
            cache = self._grow(tokens)
            self._types = cache
        return cache.lookup(tokens), cache

    def _grow(self, tokens: list[Hashable]) -> TypeCache:
        """A snapshot holding every token of ``tokens`` (called with the lock held)."""
        cache = self._types
        new = list(dict.fromkeys(t for t, i in zip(tokens, cache.lookup(tokens)) if i < 0))
        type_of, feats, n = cache.type_of, cache.feats, cache.n
        if n + len(new) > MAX_CACHED_TYPES:  # start afresh; snapshots in use keep the old table
            type_of, feats, n = {}, self.lexicon.padding.copy(), 2
            new = list(dict.fromkeys(tokens))
        grown = n + len(new)
        if grown > len(feats):  # rows beyond n are unpublished, so they may be written in place
            feats = np.concatenate([feats[:n], np.empty((grown + max(grown, 1024), feats.shape[1]), dtype=np.int64)])
        feats[n:grown] = self.lexicon.features(new)
        h = self.net.params["W"].shape[0]
        m = self.window_width
        same_types = cache.type_of is type_of
        current = same_types and cache.version == self.version
        # stale projections are overwritten in place when no reader but us holds them: all rows again (done = 0)
        proj = cache.proj if current or (same_types and self._sole_user) else None
        done = n if current and proj is not None else 0
        if grown * m * h * self.net.params["W"].itemsize > PROJECTION_CACHE_BYTES:
            proj = None
        elif grown > done:
            if proj is None or grown > proj.shape[1]:
                # room for the whole budget at once: the pages of unused rows are never touched (so cost no
                # memory), and growing never copies the cache (which held old and new copies at once)
                itemsize = self.net.params["W"].itemsize
                bigger = np.empty(
                    (m, max(PROJECTION_CACHE_BYTES // (m * h * itemsize), grown), h), dtype=self.net.params["W"].dtype
                )
                if proj is not None:
                    bigger[:, :done] = proj[:, :done]
                proj = bigger
            self._project_in_pool(feats[done:grown], proj[:, done:grown])
        type_of.update(zip(new, range(n, grown)))  # last: published ids point at rows already written
        return TypeCache(type_of, feats, grown, proj, self.version)

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
        """Tags, token probabilities and scored entities (:class:`~windowner.evaluation.confidence.Scored`) per
        sentence.

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
