"""Columns whose ids index a vocabulary of strings learned from the training tokens (suffix, prefix, shape)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .base import Feature
from .storage import read_lines, write_lines

if TYPE_CHECKING:
    from .lexicon import Lexicon

UNKNOWN, PADDING = 0, 1  # ids 2 .. are the vocabulary's
VOCAB_MIN_COUNT = 5  # occurrences that put a string in a vocabulary (a config may say ``suffix_min_count``)


def vocabulary(counts: Mapping[str, int], key: Callable[[str], str], config: Any) -> list[str]:
    """The strings ``key`` makes of the tokens ``counts`` holds (token -> occurrences) that occur at least
    ``config.suffix_min_count`` (default VOCAB_MIN_COUNT) times, most frequent first."""
    min_count = getattr(config, "suffix_min_count", VOCAB_MIN_COUNT)
    seen: Counter = Counter()
    for tok, c in counts.items():
        seen[key(tok)] += c
    return sorted((v for v, c in seen.items() if c >= min_count), key=lambda v: (-seen[v], v))


class VocabularyFeature(Feature):
    """Id 0 (UNKNOWN) for a string not in the vocabulary, 1 for padding, then the vocabulary; :meth:`key` is a
    token's string (none while not :attr:`active`: all ids 0). The vocabulary is one line each in :attr:`file`."""

    file: ClassVar[str]

    def __init__(self, vocab: Sequence[str]):
        self.vocab = list(vocab)
        self._ids = {v: i + 2 for i, v in enumerate(self.vocab)}

    @property
    def active(self) -> bool:
        return True

    def key(self, token: str) -> str:
        raise NotImplementedError

    @property
    def n_rows(self) -> int:
        return len(self.vocab) + 2

    def extend(self, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> VocabularyFeature:
        """The vocabulary, then the strings of ``counts`` it lacks that occur often enough (as :func:`vocabulary`
        counts them), most frequent first: their ids come after the old ones."""
        if not self.active:
            return self
        added = [v for v in vocabulary(counts, self.key, config) if v not in self._ids]
        if not added:
            return self
        grown = copy.copy(self)  # the subclass's own settings (e.g. the suffix length) carry over
        VocabularyFeature.__init__(grown, self.vocab + added)
        return grown

    def id_of(self, string: str) -> int:
        """The id of a vocabulary string (UNKNOWN if it is not one)."""
        return self._ids.get(string, UNKNOWN)

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        if not self.active:
            return np.zeros(len(tokens), dtype=np.int64)
        return np.array([self._ids.get(self.key(tok), UNKNOWN) for tok in tokens], dtype=np.int64)

    def save(self, directory: Path) -> dict[str, Any]:
        write_lines(directory / self.file, self.vocab)
        return {}

    @classmethod
    def read_vocabulary(cls, directory: Path) -> list[str]:
        return read_lines(directory / cls.file)
