"""The word → row index of a vectors file: sorted hashes of the keys' bytes, and its disk cache.

Keys are found through a sorted array of 55-bit hashes of their UTF-8 bytes and the row of each, and a hit is
confirmed against the key's own bytes, so a hash collision costs a comparison, never a wrong row. The arrays
are built with numpy (no per-key dict) and, for a vectors file, cached on disk under :func:`cache_dir` as .npy
files that later processes memory-map: a warm load reads a few pages, not 400 000 keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from bisect import bisect_left
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "INDEX_FORMAT",
    "KeyIndex",
    "cache_dir",
    "cache_path",
    "encode_keys",
    "index_for",
    "key_hash",
    "key_hashes",
    "write_npy",
]

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
        out[i] = key_hash(blob[offsets[i] : offsets[i + 1]].tobytes())
    if len(short) == 0:
        return out
    order = short[np.argsort(-lengths[short], kind="stable")]  # longest first
    length, start = lengths[order], offsets[order]
    h = out[order]
    # active[j]: how many keys are longer than j, i.e. have a byte at position j
    active = np.searchsorted(-length, -np.arange(int(length[0])), side="left")
    for j in range(int(length[0]) - 1, -1, -1):
        part = h[: active[j]]
        part *= np.uint64(256)
        part += blob[start[: active[j]] + j]
        part %= prime
    out[order] = h
    return out


def _same_keys(
    blob_a: np.ndarray, off_a: np.ndarray, ia: np.ndarray, blob_b: np.ndarray, off_b: np.ndarray, ib: np.ndarray
) -> np.ndarray:
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
        self._hv = self.hashes.data.cast("B").cast("Q")
        self._rv = self.rows.data.cast("B").cast("q")
        self._ov = self.offsets.data.cast("B").cast("q")
        self._bv = self.blob.data.cast("B")

    @classmethod
    def build(cls, keys: Sequence[str]) -> KeyIndex:
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
                    key = blob[offsets[r] : offsets[r + 1]].tobytes()
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
            if self._bv[ov[r] : ov[r + 1]] == data:
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
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_keys: int) -> KeyIndex:
        """Check the arrays' dtypes and shapes against ``n_keys`` (raise ValueError if they disagree)."""
        expect = {"hashes": np.uint64, "rows": np.int64, "offsets": np.int64, "blob": np.uint8}
        for name, dtype in expect.items():
            a = arrays[name]
            if a.dtype != dtype or a.ndim != 1:
                raise ValueError(f"{name}: {a.dtype} {a.shape}, expected a vector of {np.dtype(dtype)}")
        hashes, rows, offsets, blob = (arrays[n] for n in _INDEX_FILES)
        if (
            len(offsets) != n_keys + 1
            or len(hashes) != len(rows)
            or len(rows) > n_keys
            or offsets[0] != 0
            or offsets[-1] != len(blob)
            or (len(rows) and (rows.min() < 0 or rows.max() >= n_keys))
        ):
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


def cache_path(source: str, folder: str, prefix: str) -> Path | None:
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
    return cache_path(source, f"key-index-v{INDEX_FORMAT}", f"{INDEX_FORMAT}\0{_HASH_PRIME}")


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
    return all(write_npy(folder / f"{name}.npy", array) for name, array in index.arrays().items())


def write_npy(path: Path, array: np.ndarray) -> bool:
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


def index_for(source: str | None, n_keys: int, keys: Callable[[], Sequence[str]]) -> KeyIndex:
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
