"""The suffix (table F) and prefix (table P) columns: a token's last or first characters, lowercased."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .vocabulary import VocabularyFeature, vocabulary

if TYPE_CHECKING:
    from .lexicon import Lexicon


class SuffixFeature(VocabularyFeature):
    """The last ``length`` characters. Config fields: ``suffix_len`` (0: off, a 0-wide table), ``suffix_dim``."""

    name, title = "F", "suffix"
    core = True
    file = "suffixes.txt"
    files = (file,)
    settings = ("suffix_len",)

    def __init__(self, vocab: list[str], length: int):
        super().__init__(vocab)
        self.length = int(length)

    @property
    def active(self) -> bool:
        return self.length > 0

    @property
    def suffixes(self) -> list[str]:
        return self.vocab

    @property
    def suffix_len(self) -> int:
        return self.length

    def key(self, token: str) -> str:
        return token[-self.length :].lower()

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> SuffixFeature:
        feature = cls([], getattr(config, "suffix_len", 3))
        return cls(vocabulary(counts, feature.key, config), feature.length) if feature.active else feature

    def dim(self, config: Any) -> int:
        return int(config.suffix_dim) if self.length else 0

    def save(self, directory: Path) -> dict[str, Any]:
        super().save(directory)
        return {"suffix_len": self.length}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> SuffixFeature:
        return cls(cls.read_vocabulary(directory), int(config.suffix_len))


class PrefixFeature(VocabularyFeature):
    """The first ``length`` characters. Config fields: ``prefix_len`` (0: off), ``prefix_dim``."""

    name, title = "P", "prefix"
    file = "prefixes.txt"
    files = (file,)
    settings = ("prefix_len",)

    def __init__(self, vocab: list[str], length: int):
        super().__init__(vocab)
        self.length = int(length)

    @property
    def prefixes(self) -> list[str]:
        return self.vocab

    @property
    def prefix_len(self) -> int:
        return self.length

    def key(self, token: str) -> str:
        return token[: self.length].lower()

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "prefix_len", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> PrefixFeature:
        feature = cls([], config.prefix_len)
        return cls(vocabulary(counts, feature.key, config), feature.length)

    def dim(self, config: Any) -> int:
        return int(config.prefix_dim)

    def save(self, directory: Path) -> dict[str, Any]:
        super().save(directory)
        return {"prefix_len": self.length}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> PrefixFeature:
        return cls(cls.read_vocabulary(directory), int(config.prefix_len))
