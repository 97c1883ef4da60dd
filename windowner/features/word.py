"""The word column (table E): a row of the trainable word table, or beyond it a row of the frozen pretrained vectors."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Feature
from .storage import read_lines, write_lines

if TYPE_CHECKING:
    from .lexicon import Lexicon

SPECIAL_WORDS = ("<unk>", "<s>", "</s>")
UNK_ROW, BOS_ROW, EOS_ROW = 0, 1, 2
UNTRAINED_DIM, UNTRAINED_SCALE = 50, 0.1  # the word table without pretrained vectors
VOCAB_FILE = "vocab.txt"


def word_key(token: str) -> str:
    """The key under which a word absent from the pretrained vectors gets a row: lowercase, digits → 0."""
    return re.sub(r"\d", "0", token.lower())


class WordFeature(Feature):
    """Word rows: ``0 .. T-1`` index the trainable table (``<unk>``, ``<s>``, ``</s>``, then the training
    vocabulary); ``T + r`` indexes row r of the frozen pretrained vectors, for words seen only at tagging time.

    Config fields: ``min_count`` (a word absent from the vectors gets a row when seen this often), ``fine_tune``.
    """

    name, title = "E", "word"
    padding = (BOS_ROW, EOS_ROW)
    dropout_id = UNK_ROW  # word dropout teaches the <unk> row and the context to stand in for unseen words
    core = True
    files = (VOCAB_FILE,)

    def __init__(self, words: Sequence[str], pretrained: Any = None):
        self.words = list(words)
        self.word_row = {w: i for i, w in enumerate(self.words)}
        self.pretrained = pretrained

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> WordFeature:
        """Every pretrained key the tokens use, plus words absent from the vectors seen ``min_count`` times."""
        pretrained, min_count = lexicon.pretrained, getattr(config, "min_count", 2)
        keys: dict[str, int] = {}
        found = pretrained.lookup_many(list(counts))[1] if pretrained is not None else [None] * len(counts)
        for (tok, c), key in zip(counts.items(), found):
            if key is None and c >= min_count:
                key = word_key(tok)
            if key is not None:
                keys[key] = keys.get(key, 0) + c
        return cls(list(SPECIAL_WORDS) + sorted(keys, key=lambda w: (-keys[w], w)), pretrained)

    def extend(self, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> WordFeature:
        """The vocabulary, then the words :meth:`fit` would take from ``counts`` that it lacks (most frequent
        first): their rows come after the old ones."""
        added = [w for w in self.fit(counts, config, lexicon).words if w not in self.word_row]
        return type(self)(self.words + added, self.pretrained) if added else self

    @property
    def n_words(self) -> int:
        return len(self.words)

    @property
    def n_rows(self) -> int:
        return len(self.words)

    def dim(self, config: Any) -> int:
        return UNTRAINED_DIM if self.pretrained is None else int(self.pretrained.dim)

    def trainable(self, config: Any) -> bool:
        return bool(config.fine_tune)

    def init_table(self, dim: int, rng: np.random.Generator) -> np.ndarray:
        """The pretrained vector of each word that has one; N(0, s²) draws (s: the vectors' spread) for the
        others and, drawn again, for <unk>, <s> and </s>."""
        pretrained = self.pretrained
        scale = UNTRAINED_SCALE if pretrained is None else float(np.asarray(pretrained.vectors[:10000]).std())
        E = rng.normal(0, scale, (self.n_words, dim)).astype(np.float32)
        if pretrained is not None:
            rows = np.array([pretrained.index(w) for w in self.words], dtype=np.int64)
            known = rows >= 0
            E[known] = pretrained.vectors[rows[known]]
        E[: len(SPECIAL_WORDS)] = rng.normal(0, scale, (len(SPECIAL_WORDS), dim))
        return E

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        """The token's own row, else the row its pretrained-vectors key has in the vocabulary or, failing that,
        in the frozen vectors (all tokens searched at once), else the row of its lowercase digit-normalised
        form, else <unk>."""
        rows = [self.word_row.get(tok) for tok in tokens]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing and self.pretrained is not None:
            found, keys = self.pretrained.lookup_many([tokens[i] for i in missing])
            for i, r, key in zip(missing, found.tolist(), keys):
                if key is not None:
                    row = self.word_row.get(key)
                    rows[i] = self.n_words + r if row is None else row
        return np.array(
            [self.word_row.get(word_key(tok), UNK_ROW) if row is None else row for tok, row in zip(tokens, rows)],
            dtype=np.int64,
        )

    def check_table(self, table: np.ndarray) -> str | None:
        if self.pretrained is not None and self.pretrained.dim != table.shape[1]:
            return (
                f"the pretrained vectors have dimension {self.pretrained.dim}, the model's word table "
                f"{table.shape[1]}; retrain the model with these vectors"
            )
        return None

    def save(self, directory: Path) -> dict[str, Any]:
        write_lines(directory / VOCAB_FILE, self.words)
        return {"n_words": self.n_words}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> WordFeature:
        return cls(read_lines(directory / VOCAB_FILE), lexicon.pretrained)
