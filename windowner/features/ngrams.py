"""The character n-gram column (table N): a bag of the token's hashed 3- to 5-grams, fastText/floret style."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import Feature

if TYPE_CHECKING:
    from .lexicon import Lexicon

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
            out.append(1 + zlib.crc32(marked[i : i + n].encode("utf-8")) % buckets)
    return out


class NgramFeature(Feature):
    """NGRAM_SLOTS ids of :func:`char_ngrams` per token, 0 in the slots a token leaves empty and for padding (row 0
    embeds nothing). Config fields: ``ngram_dim`` (0: off), ``ngram_buckets`` (the table has buckets + 1 rows)."""

    name, title = "N", "char n-grams"
    width = NGRAM_SLOTS
    padding = (0, 0)
    settings = ("ngram_buckets",)

    def __init__(self, buckets: int):
        self.buckets = int(buckets)

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "ngram_dim", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> NgramFeature:
        return cls(config.ngram_buckets)

    def dim(self, config: Any) -> int:
        return int(config.ngram_dim)

    @property
    def n_rows(self) -> int:
        return self.buckets + 1

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        out = np.zeros((len(tokens), NGRAM_SLOTS), dtype=np.int64)
        for i, tok in enumerate(tokens):
            ids = char_ngrams(tok, self.buckets)
            out[i, : len(ids)] = ids
        return out

    def save(self, directory: Path) -> dict[str, Any]:
        return {"ngram_buckets": self.buckets}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> NgramFeature:
        return cls(config.ngram_buckets)
