"""The gazetteer-list column (table M): the longest matches of a folder of name lists around the token (B/I per
channel: a type or a list, cased and lowercased; :mod:`windowner.lexicon.namelists`). A contextual feature: the
same token gets other ids in other sentences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError, WindownerError
from .base import Feature
from .storage import load_arrays

if TYPE_CHECKING:
    from ..lexicon.namelists import NameLists
    from .lexicon import Lexicon

BY = ("type", "list")


class NameListFeature(Feature):
    """A bag of one id per channel of :meth:`NameLists.channels`: 0 outside a match of the channel, else
    ``1 + 2·channel`` (the token begins a match) or ``2 + 2·channel`` (it continues one); padding 0. The tables are
    saved in the model directory (``name_lists.npz``, the list names in ``config.json``). Config fields:
    ``gazetteers`` (the folder; None: off), ``lists_dim``, ``lists_by`` (``type`` or ``list``)."""

    name, title = "M", "gazetteer lists"
    padding = (0, 0)
    contextual = True
    file = "name_lists.npz"
    files = (file,)
    settings = ("lists_by",)
    width = 6  # three types, cased and lowercased; an instance has one slot per channel

    def __init__(self, lists: NameLists, by: str):
        if by not in BY:
            raise WindownerError(f"lists-by must be one of {list(BY)}, got {by!r}")
        self.lists, self.by = lists, by
        self.width = len(lists.channels(by))

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return bool(getattr(config, "gazetteers", None)) and getattr(config, "lists_dim", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> NameListFeature:
        from ..lexicon.namelists import NameLists

        return cls(NameLists.load(config.gazetteers), config.lists_by)

    def dim(self, config: Any) -> int:
        return int(config.lists_dim)

    @property
    def n_rows(self) -> int:
        return 1 + 2 * self.width

    def sentence_ids(self, sentences: Sequence[Sequence[str]]) -> np.ndarray:
        states = self.lists.match(sentences, self.by)  # (n, channels): 0, 1 (B), 2 (I)
        base = 2 * np.arange(self.width, dtype=np.int64)
        return np.where(states > 0, base + states, 0)

    def save(self, directory: Path) -> dict[str, Any]:
        from ..lexicon.namelists import HASH
        from .storage import save_arrays

        save_arrays(directory / self.file, self.lists.arrays())
        return {"gazetteer_lists": list(self.lists.lists), "gazetteer_hash": HASH}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> NameListFeature:
        from ..lexicon.namelists import HASH, NameLists

        path = directory / cls.file
        if getattr(config, "gazetteer_hash", None) != HASH:
            raise ModelError(
                f"{directory / 'config.json'}: the gazetteer lists were hashed as "
                f"{getattr(config, 'gazetteer_hash', None)!r}, this windowner hashes them as {HASH!r}; retrain the "
                "model with this version"
            )
        names = getattr(config, "gazetteer_lists", None)
        if not isinstance(names, list) or not all(isinstance(n, str) and "/" in n for n in names):
            raise ModelError(f"{directory / 'config.json'}: gazetteer_lists must list the TYPE/NAME of each list")
        try:
            return cls(NameLists.from_arrays(names, load_arrays(path)), config.lists_by)
        except ModelError:
            raise
        except WindownerError as exc:
            raise ModelError(f"{path}: {exc}; the file is corrupt — retrain the model") from None
