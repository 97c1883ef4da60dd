"""The word-shape column (table S): capitals -> X, other letters -> x, digits -> d, runs collapsed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .vocabulary import VocabularyFeature, vocabulary

if TYPE_CHECKING:
    from .lexicon import Lexicon

MAX_SHAPE = 6  # characters of a collapsed shape kept (long shapes are rare and unhelpful)
_RUNS = re.compile(r"(.)\1+")


def shape(token: str) -> str:
    """The collapsed word shape: capitals -> "X", other letters -> "x", digits -> "d", other characters kept,
    runs of one class collapsed; at most MAX_SHAPE characters, then "~" ("McDonald's" -> "XxXx'x",
    "1,300" -> "d,d", "U.S." -> "X.X.")."""
    out = _RUNS.sub(
        r"\1", "".join("X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c for c in token)
    )
    return out if len(out) <= MAX_SHAPE else out[:MAX_SHAPE] + "~"


class ShapeFeature(VocabularyFeature):
    """The token's :func:`shape`. Config field: ``shape_dim`` (0: off)."""

    name, title = "S", "shape"
    file = "shapes.txt"
    files = (file,)

    @property
    def shapes(self) -> list[str]:
        return self.vocab

    def key(self, token: str) -> str:
        return shape(token)

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "shape_dim", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> ShapeFeature:
        return cls(vocabulary(counts, shape, config))

    def dim(self, config: Any) -> int:
        return int(config.shape_dim)

    @classmethod
    def load(cls, directory, config: Any, lexicon: Lexicon) -> ShapeFeature:
        return cls(cls.read_vocabulary(directory))
