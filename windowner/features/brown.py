"""The Brown-cluster column (table B): the token's cluster path prefixes at several depths, from a cluster file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError, WindownerError
from .base import Feature
from .storage import read_lines, write_lines

if TYPE_CHECKING:
    from ..lexicon.brownfile import BrownClusters
    from .lexicon import Lexicon

UNLISTED = 1  # the id of a word the cluster file does not list (in the first slot; the others 0)


def parse_depths(text: str) -> tuple[int, ...]:
    """``"4,6,10,20"`` -> (4, 6, 10, 20): distinct depths of 1 to 64 bits; WindownerError naming the flag."""
    try:
        depths = tuple(int(x) for x in str(text).split(","))
    except ValueError:
        depths = ()
    if not depths or len(set(depths)) != len(depths) or not all(1 <= d <= 64 for d in depths):
        raise WindownerError(
            f"brown-depths must be distinct cluster path depths of 1 to 64 bits, comma-separated "
            f"(e.g. 4,6,10,20), got {text!r}"
        )
    return depths


class BrownFeature(Feature):
    """A bag of one id per depth: the cluster at that depth (the path's prefix; the whole path when it is shorter)
    of the token's cluster in a Brown cluster file, looked up as written, lowercased, then title-cased;
    :data:`UNLISTED` for a word the file does not list, 0 for padding. Ids are given per distinct path, in
    file order. The file's ``PATH<TAB>WORD`` lines are kept in the model directory. Config fields:
    ``clusters`` (the file; None: off), ``brown_dim``, ``brown_depths``."""

    name, title = "B", "Brown cluster"
    padding = (0, 0)
    file = "brown_clusters.tsv"
    files = (file,)
    settings = ("brown_depths",)
    width = 4  # the default depths' count; an instance has one slot per depth

    def __init__(self, clusters: BrownClusters, depths: Sequence[int]):
        self.clusters, self.depths = clusters, tuple(depths)
        self.width = len(self.depths)
        self._path_ids: dict[str, np.ndarray] = {}
        prefix_ids: dict[tuple[int, str], int] = {}
        for path in dict.fromkeys(clusters.paths.values()):
            self._path_ids[path] = np.array(
                [prefix_ids.setdefault((j, path[:d]), len(prefix_ids) + 2) for j, d in enumerate(self.depths)],
                dtype=np.int64,
            )
        self._rows = len(prefix_ids) + 2
        self._unlisted = np.zeros(self.width, dtype=np.int64)
        self._unlisted[0] = UNLISTED

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return bool(getattr(config, "clusters", None)) and getattr(config, "brown_dim", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> BrownFeature:
        from ..lexicon.brownfile import read_clusters

        depths = parse_depths(config.brown_depths)
        if str(config.clusters).isdigit() and not Path(config.clusters).exists():
            raise WindownerError(
                f"--clusters takes a Brown cluster file, and there is no file {config.clusters!r}; the number of "
                "k-means clusters of the pretrained vectors (--cluster-dim) is --vector-clusters"
            )
        return cls(read_clusters(config.clusters), depths)

    def dim(self, config: Any) -> int:
        return int(config.brown_dim)

    @property
    def n_rows(self) -> int:
        return self._rows

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        out = np.empty((len(tokens), self.width), dtype=np.int64)
        lookup, path_ids = self.clusters.path, self._path_ids
        for i, tok in enumerate(tokens):
            path = lookup(tok)
            out[i] = self._unlisted if path is None else path_ids[path]
        return out

    def save(self, directory: Path) -> dict[str, Any]:
        write_lines(directory / self.file, self.clusters.lines())
        return {"brown_depths": ",".join(map(str, self.depths))}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> BrownFeature:
        from ..lexicon.brownfile import BrownClusters

        path = directory / cls.file
        try:
            return cls(BrownClusters.parse(read_lines(path), str(path)), parse_depths(config.brown_depths))
        except ModelError:
            raise
        except WindownerError as exc:  # a DataError names the file and line
            raise ModelError(f"{exc}; the model file is corrupt — retrain the model") from None
