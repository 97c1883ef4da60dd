"""The gazetteer column (table G): which name lists hold the token (:mod:`windowner.lexicon.gazetteers`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError, WindownerError
from .base import Feature
from .storage import read_bytes

if TYPE_CHECKING:
    from ..lexicon.gazetteers import Gazetteer
    from .lexicon import Lexicon


class GazetteerFeature(Feature):
    """The membership bitmask of :meth:`Gazetteer.ids` (padding: 0, no membership); the lists are saved in the
    model directory. Config field: ``gazetteer_dim`` (0: off)."""

    name, title = "G", "gazetteer"
    padding = (0, 0)
    file = "gazetteer.json.gz"
    files = (file,)

    def __init__(self, gazetteer: Gazetteer):
        self.gazetteer = gazetteer

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "gazetteer_dim", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> GazetteerFeature:
        from ..lexicon.gazetteers import Gazetteer

        return cls(Gazetteer.from_packages())

    def dim(self, config: Any) -> int:
        return int(config.gazetteer_dim)

    @property
    def n_rows(self) -> int:
        return self.gazetteer.n_ids

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.gazetteer.ids(tokens)

    def save(self, directory: Path) -> dict[str, Any]:
        (directory / self.file).write_bytes(self.gazetteer.to_bytes())
        return {}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> GazetteerFeature:
        from ..lexicon.gazetteers import Gazetteer

        path = directory / cls.file
        try:
            return cls(Gazetteer.from_bytes(read_bytes(path)))
        except ModelError:
            raise
        except WindownerError as exc:
            raise ModelError(f"{path}: {exc}; the file is corrupt — retrain the model") from None
