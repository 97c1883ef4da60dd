"""From tokens to window feature ids: what the network's input layer embeds.

Each token is a *type* with a few categorical features, one column each (:attr:`Lexicon.columns`, named
after the embedding table that embeds it): a word-vector row (E), a casing class (C) and a suffix (F),
and, when the model uses them, a prefix (P), a word shape (S), gazetteer membership (G) and a word
cluster (K). A window of
half-size k around token i holds the types of tokens i-k .. i+k, padded with sentence-start ``<s>`` and
sentence-end ``</s>`` types at the edges. Embedding each feature and concatenating over the 2k+1
positions (:class:`windowner.nn.network.Embeddings`) gives ``X: (n, (2k+1)·d_total)``.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from ..lexicon.vectors import read_rows

# Casing classes (Collobert et al. use a similar "caps" feature).
CASES = ("<pad>", "lower", "Title", "UPPER", "mixed", "digit", "has_digit", "punct", "other")
PAD, LOWER, TITLE, UPPER, MIXED, DIGIT, HAS_DIGIT, PUNCT, OTHER = range(len(CASES))
SPECIAL_WORDS = ("<unk>", "<s>", "</s>")
UNK_ROW, BOS_ROW, EOS_ROW = 0, 1, 2
BOS_TYPE, EOS_TYPE = 0, 1  # the first two types are the padding types

_PUNCT = re.compile(r"^[\W_]+$")


def casing(token: str) -> int:
    """The casing class of a token (an index into CASES)."""
    if token.isdigit():
        return DIGIT
    if any(c.isdigit() for c in token):
        return HAS_DIGIT
    if token.islower():
        return LOWER
    if token.isupper():
        return UPPER
    if token.istitle():
        return TITLE
    if any(c.isalpha() for c in token):
        return MIXED
    return PUNCT if _PUNCT.match(token) else OTHER


def word_key(token: str) -> str:
    """The key under which a word absent from the pretrained vectors gets a row: lowercase, digits → 0."""
    return re.sub(r"\d", "0", token.lower())


MAX_SHAPE = 6  # characters of a collapsed shape kept (long shapes are rare and unhelpful)
_RUNS = re.compile(r"(.)\1+")


def shape(token: str) -> str:
    """The collapsed word shape: capitals -> "X", other letters -> "x", digits -> "d", other characters kept,
    runs of one class collapsed; at most MAX_SHAPE characters, then "~" ("McDonald's" -> "XxXx'x",
    "1,300" -> "d,d", "U.S." -> "X.X.")."""
    out = _RUNS.sub(r"\1", "".join("X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c
                                    for c in token))
    return out if len(out) <= MAX_SHAPE else out[:MAX_SHAPE] + "~"


NGRAM_SLOTS = 16  # hashed character n-gram ids per token (fixed, so that feature ids stay one array)
NGRAM_SIZES = (3, 4, 5)


def char_ngrams(token: str, buckets: int) -> list[int]:
    """Ids (1 .. buckets) of the character n-grams of ``<token>``, as fastText/floret hash them into buckets.

    The token keeps its case; ``<`` and ``>`` mark its edges, so prefixes and suffixes are n-grams of their own. The
    3-grams come first, then the 4- and 5-grams, at most NGRAM_SLOTS in all (a word of up to 6 characters keeps every
    one). CRC-32 of the UTF-8 n-gram is the hash: the same in every process (Python's ``hash`` is salted).
    """
    marked = f"<{token}>"
    out: list[int] = []
    for n in NGRAM_SIZES:
        for i in range(len(marked) - n + 1):
            if len(out) == NGRAM_SLOTS:
                return out
            out.append(1 + zlib.crc32(marked[i:i + n].encode("utf-8")) % buckets)
    return out


def _centres(lengths: np.ndarray, k: int) -> np.ndarray:
    """Index of each token in the padded layout: flat index + k pads before + 2k per earlier sentence."""
    sent = np.repeat(np.arange(len(lengths)), lengths)
    return np.arange(int(lengths.sum())) + 2 * k * sent + k


def window_indices(lengths: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """(n_tokens, 2k+1) rows into the padded layout of :func:`pad_flat`, no Python loop per token."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return _centres(lengths, k)[:, None] + np.arange(-k, k + 1)[None, :]


def pad_flat(values: np.ndarray, lengths: Sequence[int] | np.ndarray, k: int, before, after) -> np.ndarray:
    """Sentences laid end to end, values: (n, ...) -> k ``before`` ahead of and k ``after`` behind each."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n_sent = len(lengths)
    out = np.full((len(values) + 2 * k * n_sent,) + values.shape[1:], before, dtype=values.dtype)
    ends = np.cumsum(lengths) + 2 * k * np.arange(n_sent) + k  # first slot after each sentence
    out[(ends[:, None] + np.arange(k)[None, :]).ravel()] = after
    out[_centres(lengths, k)] = values
    return out


def prefix_of(n: int):
    """token -> its first ``n`` characters, lowercased."""
    return lambda tok: tok[:n].lower()


def suffix_of(n: int):
    """token -> its last ``n`` characters, lowercased."""
    return lambda tok: tok[-n:].lower()


# Every feature column, by the name of its embedding table, in column order (a lexicon uses E, C, F and some of
# the others): what it holds.
TABLES = {"E": "word", "C": "case", "F": "suffix", "P": "prefix", "S": "shape", "G": "gazetteer", "K": "cluster",
          "N": "char n-grams"}
# The string-valued features with a vocabulary learned from the training tokens (ids: 0 unknown, 1 padding,
# then the vocabulary): table name -> the vocabulary's file in a model directory.
STRING_FEATURES = {"F": "suffixes.txt", "P": "prefixes.txt", "S": "shapes.txt"}


class Lexicon:
    """Maps token strings to feature ids, one column per embedding table (:attr:`columns`).

    Word rows (E): ``0 .. T-1`` index the trainable table (``<unk>``, ``<s>``, ``</s>``, then the
    training vocabulary); rows ``T + r`` index row r of the frozen pretrained vectors, used for
    words seen only at tagging time. Casing (C): an index into CASES. Suffix (F, always a column; all 0 when
    ``suffix_len`` is 0), prefix (P, when ``prefix_len`` > 0) and shape (S, when ``shapes`` is given): 0
    unknown, 1 padding, then the vocabulary. Gazetteer (G, when ``gazetteer`` is given): the membership
    bitmask of :meth:`windowner.lexicon.gazetteers.Gazetteer.ids` (padding: 0, no membership). Word cluster (K,
    when ``clusters`` is given): 0 for a word without a pretrained vector, 1 padding, 2 + the cluster of its
    pretrained vector (``word_cluster[row]`` for the trainable rows, computed by :meth:`build`). Character
    n-grams (N, when ``ngram_buckets`` > 0): NGRAM_SLOTS columns of :func:`char_ngrams` ids, 0 in the slots a
    token leaves empty and for padding (:attr:`widths` counts the id columns of each table; N is the last).
    """

    def __init__(self, words: Sequence[str], suffixes: Sequence[str], suffix_len: int, pretrained=None, *,
                 prefixes: Sequence[str] = (), prefix_len: int = 0, shapes: Sequence[str] | None = None,
                 gazetteer=None, clusters=None, word_cluster: np.ndarray | None = None, ngram_buckets: int = 0):
        self.words = list(words)
        self.word_row = {w: i for i, w in enumerate(self.words)}
        self.suffix_len, self.prefix_len = suffix_len, prefix_len
        self.pretrained = pretrained
        self.gazetteer = gazetteer
        self.vocabs: dict[str, list[str]] = {"F": list(suffixes)}
        self._key_of = {"F": suffix_of(suffix_len) if suffix_len else None}
        if prefix_len:
            self.vocabs["P"], self._key_of["P"] = list(prefixes), prefix_of(prefix_len)
        if shapes is not None:
            self.vocabs["S"], self._key_of["S"] = list(shapes), shape
        self._ids = {name: {v: i + 2 for i, v in enumerate(vocab)} for name, vocab in self.vocabs.items()}
        self.clusters = clusters
        if clusters is not None:
            if word_cluster is None:
                word_cluster = self._word_clusters()
            word_cluster = np.asarray(word_cluster, dtype=np.int64)
            if word_cluster.shape != (len(self.words),) or (len(word_cluster) and not (
                    (word_cluster == 0) | ((word_cluster >= 2) & (word_cluster < clusters.k + 2))).all()):
                raise ValueError(f"word_cluster must hold one id (0, or 2 .. {clusters.k + 1}) per vocabulary word")
        self.word_cluster = word_cluster
        self.ngram_buckets = int(ngram_buckets)
        self.columns = ("E", "C") + tuple(self.vocabs) + (("G",) if gazetteer is not None else ()) + \
            (("K",) if clusters is not None else ()) + (("N",) if self.ngram_buckets else ())
        self.widths = {c: NGRAM_SLOTS if c == "N" else 1 for c in self.columns}
        pad = {"E": (BOS_ROW, EOS_ROW), "C": (PAD, PAD), "G": (0, 0), "N": (0, 0)}
        self.padding = np.array([[pad.get(c, (1, 1))[j] for c in self.columns for _ in range(self.widths[c])]
                                 for j in (0, 1)], dtype=np.int64)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], pretrained=None, min_count: int = 2,
              suffix_len: int = 3, suffix_min_count: int = 5, prefix_len: int = 0, shapes: bool = False,
              gazetteer=None, clusters=None, ngram_buckets: int = 0) -> "Lexicon":
        """Vocabulary from training tokens: every pretrained key they use, plus words absent from the
        pretrained vectors seen at least ``min_count`` times; suffixes, prefixes and shapes seen
        ``suffix_min_count`` times."""
        counts = Counter(tok for sent in sentences for tok in sent)
        keys: dict[str, int] = {}
        found = pretrained.lookup_many(list(counts))[1] if pretrained is not None else [None] * len(counts)
        for (tok, c), key in zip(counts.items(), found):
            if key is None and c >= min_count:
                key = word_key(tok)
            if key is not None:
                keys[key] = keys.get(key, 0) + c
        words = list(SPECIAL_WORDS) + sorted(keys, key=lambda w: (-keys[w], w))

        def vocab(key_of) -> list[str]:
            seen: Counter = Counter()
            for tok, c in counts.items():
                seen[key_of(tok)] += c
            return sorted((v for v, c in seen.items() if c >= suffix_min_count), key=lambda v: (-seen[v], v))

        return cls(words, vocab(suffix_of(suffix_len)) if suffix_len else [], suffix_len, pretrained,
                   prefixes=vocab(prefix_of(prefix_len)) if prefix_len else (), prefix_len=prefix_len,
                   shapes=vocab(shape) if shapes else None, gazetteer=gazetteer, clusters=clusters,
                   ngram_buckets=ngram_buckets)

    def _word_clusters(self) -> np.ndarray:
        """(T,) the K id of each vocabulary word: 2 + the cluster of its pretrained vector, 0 without one."""
        out = np.zeros(len(self.words), dtype=np.int64)
        if self.pretrained is not None:
            rows = np.array([self.pretrained.index(w) for w in self.words], dtype=np.int64)
            known = np.flatnonzero(rows >= 0)
            out[known] = 2 + self.clusters.assign(np.asarray(self.pretrained.vectors[rows[known]]))
        return out

    @property
    def n_words(self) -> int:
        return len(self.words)

    @property
    def suffixes(self) -> list[str]:
        return self.vocabs["F"]

    def table_rows(self, name: str) -> int:
        """How many rows the embedding table of column ``name`` needs (ids 0 .. rows-1)."""
        if name == "E":
            return self.n_words
        if name == "C":
            return len(CASES)
        if name == "G":
            return self.gazetteer.n_ids
        if name == "K":
            return self.clusters.k + 2
        if name == "N":
            return self.ngram_buckets + 1
        return len(self.vocabs[name]) + 2

    def features(self, tokens: Sequence[str]) -> np.ndarray:
        """tokens: n strings -> (n, Σ widths) feature ids (one column per table, NGRAM_SLOTS for N).

        Word row: the token's own training-vocabulary row, else the row its pretrained-vectors key has in the
        training vocabulary or, failing that, in the frozen vectors (all tokens searched at once), else the
        row of its lowercase digit-normalised form, else <unk>. TypeError for anything but a str."""
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"a token is {type(tok).__name__}; tokens must be str")
        out = np.zeros((len(tokens), sum(self.widths.values())), dtype=np.int64)
        rows = [self.word_row.get(tok) for tok in tokens]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing and self.pretrained is not None:
            found, keys = self.pretrained.lookup_many([tokens[i] for i in missing])
            for i, r, key in zip(missing, found.tolist(), keys):
                if key is not None:
                    row = self.word_row.get(key)
                    rows[i] = self.n_words + r if row is None else row
        out[:, 0] = [self.word_row.get(word_key(tok), UNK_ROW) if row is None else row
                     for tok, row in zip(tokens, rows)]
        out[:, 1] = [casing(tok) for tok in tokens]
        for col, name in enumerate(self.vocabs, start=2):
            key_of, ids = self._key_of[name], self._ids[name]
            if key_of is not None:
                out[:, col] = [ids.get(key_of(tok), 0) for tok in tokens]
        if self.gazetteer is not None:
            out[:, self.columns.index("G")] = self.gazetteer.ids(tokens)
        if self.clusters is not None:
            word = out[:, 0]
            T = self.n_words
            col = self.columns.index("K")
            out[:, col] = self.word_cluster[np.minimum(word, T - 1)]
            base = np.flatnonzero(word >= T)
            if len(base):
                out[base, col] = 2 + self.clusters.assign(read_rows(self.pretrained.vectors, word[base] - T))
        if self.ngram_buckets:
            first = out.shape[1] - NGRAM_SLOTS
            for i, tok in enumerate(tokens):
                ids = char_ngrams(tok, self.ngram_buckets)
                out[i, first:first + len(ids)] = ids
        return out

    def window_features(self, sentences: Sequence[Sequence[str]], k: int) -> np.ndarray:
        """Feature ids of every window position: (n_tokens, 2k+1, Σ widths), sentence edges padded
        with <s>/</s>."""
        lengths = [len(s) for s in sentences]
        type_of: dict[str, int] = {}
        flat = np.fromiter((type_of.setdefault(t, len(type_of) + 2) for s in sentences for t in s),
                           dtype=np.int64, count=sum(lengths))
        table = np.concatenate([self.padding, self.features(list(type_of))])  # rows 0, 1: <s>, </s>
        return table[window_types(flat, lengths, k)]


def window_types(flat_types: np.ndarray, lengths: Sequence[int], k: int,
                 bos: int = BOS_TYPE, eos: int = EOS_TYPE) -> np.ndarray:
    """(n,) type ids of sentences laid end to end -> (n, 2k+1) window type ids, edges padded."""
    padded = pad_flat(flat_types, lengths, k, bos, eos)
    return padded[window_indices(lengths, k)]
