"""From tokens to window feature ids: what the network's input layer embeds.

Each token is a *type* with three features: a word-vector row, a casing class and a suffix.
A window of half-size k around token i holds the types of tokens i-k .. i+k, padded with
sentence-start ``<s>`` and sentence-end ``</s>`` types at the edges. Embedding each feature
and concatenating over the 2k+1 positions (:class:`windowner.network.Embeddings`) gives
``X: (n, (2k+1)·d_total)``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

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


class Lexicon:
    """Maps token strings to feature ids: word row, casing class, suffix id.

    Word rows: ``0 .. T-1`` index the trainable table (``<unk>``, ``<s>``, ``</s>``, then the
    training vocabulary); rows ``T + r`` index row r of the frozen pretrained vectors, used for
    words seen only at tagging time. Suffix ids: 0 unknown, 1 padding, then frequent suffixes.
    """

    def __init__(self, words: Sequence[str], suffixes: Sequence[str], suffix_len: int, pretrained=None):
        self.words = list(words)
        self.word_row = {w: i for i, w in enumerate(self.words)}
        self.suffixes = list(suffixes)
        self.suffix_id = {s: i + 2 for i, s in enumerate(self.suffixes)}
        self.suffix_len = suffix_len
        self.pretrained = pretrained

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], pretrained=None, min_count: int = 2,
              suffix_len: int = 3, suffix_min_count: int = 5) -> "Lexicon":
        """Vocabulary from training tokens: every pretrained key they use, plus words absent from the
        pretrained vectors seen at least ``min_count`` times; suffixes seen ``suffix_min_count`` times."""
        counts = Counter(tok for sent in sentences for tok in sent)
        keys: dict[str, int] = {}
        suffixes: Counter = Counter()
        for tok, c in counts.items():
            key = pretrained.key_for(tok) if pretrained is not None else None
            if key is None and c >= min_count:
                key = word_key(tok)
            if key is not None:
                keys[key] = keys.get(key, 0) + c
            if suffix_len:
                suffixes[tok[-suffix_len:].lower()] += c
        words = list(SPECIAL_WORDS) + sorted(keys, key=lambda w: (-keys[w], w))
        sufs = sorted((s for s, c in suffixes.items() if c >= suffix_min_count), key=lambda s: (-suffixes[s], s))
        return cls(words, sufs, suffix_len, pretrained)

    @property
    def n_words(self) -> int:
        return len(self.words)

    def features(self, tokens: Sequence[str]) -> np.ndarray:
        """tokens: n strings -> (n, 3) word row, casing class, suffix id.

        Word row: the token's own training-vocabulary row, else the row its pretrained-vectors key has in the
        training vocabulary or, failing that, in the frozen vectors (all tokens searched at once), else the
        row of its lowercase digit-normalised form, else <unk>. TypeError for anything but a str."""
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"a token is {type(tok).__name__}; tokens must be str")
        out = np.empty((len(tokens), 3), dtype=np.int64)
        rows = [self.word_row.get(tok) for tok in tokens]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing and self.pretrained is not None:
            found, keys = self.pretrained.lookup_many([tokens[i] for i in missing])
            for i, r, key in zip(missing, found.tolist(), keys):
                if key is not None:
                    row = self.word_row.get(key)
                    rows[i] = self.n_words + r if row is None else row
        for i, (tok, row) in enumerate(zip(tokens, rows)):
            if row is None:
                row = self.word_row.get(word_key(tok), UNK_ROW)
            suf = self.suffix_id.get(tok[-self.suffix_len:].lower(), 0) if self.suffix_len else 0
            out[i] = (row, casing(tok), suf)
        return out

    def window_features(self, sentences: Sequence[Sequence[str]], k: int) -> np.ndarray:
        """Feature ids of every window position: (n_tokens, 2k+1, 3), sentence edges padded with <s>/</s>."""
        lengths = [len(s) for s in sentences]
        type_of: dict[str, int] = {}
        flat = np.fromiter((type_of.setdefault(t, len(type_of) + 2) for s in sentences for t in s),
                           dtype=np.int64, count=sum(lengths))
        table = np.concatenate([PADDING_FEATURES, self.features(list(type_of))])  # rows 0, 1: <s>, </s>
        return table[window_types(flat, lengths, k)]


PADDING_FEATURES = np.array([(BOS_ROW, PAD, 1), (EOS_ROW, PAD, 1)], dtype=np.int64)  # the <s> and </s> types


def window_types(flat_types: np.ndarray, lengths: Sequence[int], k: int,
                 bos: int = BOS_TYPE, eos: int = EOS_TYPE) -> np.ndarray:
    """(n,) type ids of sentences laid end to end -> (n, 2k+1) window type ids, edges padded."""
    padded = pad_flat(flat_types, lengths, k, bos, eos)
    return padded[window_indices(lengths, k)]
