"""The word-cluster column (table K): the k-means cluster of the token's pretrained vector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelError, WindownerError
from ..lexicon.vectors import read_rows
from .base import Feature
from .storage import load_arrays, save_arrays

if TYPE_CHECKING:
    from ..lexicon.clusters import WordClusters
    from .lexicon import Lexicon

NO_VECTOR = 0  # the id of a word without a pretrained vector; 1 is the padding, 2 + c cluster c


class ClusterFeature(Feature):
    """0 for a word without a pretrained vector, 1 padding, 2 + the cluster of its pretrained vector:
    ``word_cluster[row]`` for the rows of the word table (computed when fitted, saved), assigned on the fly for
    the frozen rows beyond it. Config fields: ``cluster_dim`` (0: off), ``vector_clusters`` (k), ``seed``."""

    name, title = "K", "cluster"
    file = "clusters.npz"
    files = (file,)

    def __init__(self, clusters: WordClusters, word_cluster: np.ndarray, pretrained: Any):
        word_cluster = np.asarray(word_cluster, dtype=np.int64)
        if word_cluster.ndim != 1 or (
            len(word_cluster)
            and not ((word_cluster == NO_VECTOR) | ((word_cluster >= 2) & (word_cluster < clusters.k + 2))).all()
        ):
            raise ValueError(f"word_cluster must hold one id (0, or 2 .. {clusters.k + 1}) per vocabulary word")
        self.clusters, self.word_cluster, self.pretrained = clusters, word_cluster, pretrained

    @classmethod
    def enabled(cls, config: Any) -> bool:
        return getattr(config, "cluster_dim", 0) > 0

    @classmethod
    def fit(cls, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> ClusterFeature:
        """k-means clusters of the pretrained vectors, and the cluster of each word of the word column."""
        from ..lexicon.clusters import WordClusters

        pretrained = lexicon.pretrained
        if pretrained is None:
            raise WindownerError(
                "word clusters (--cluster-dim) are k-means clusters of the pretrained vectors; "
                "train with vectors, or with --cluster-dim 0"
            )
        clusters = WordClusters.fit(pretrained.vectors, config.vector_clusters, seed=config.seed)
        words: list[str] = lexicon.words  # the first column's: the word column
        out = np.zeros(len(words), dtype=np.int64)
        rows = np.array([pretrained.index(w) for w in words], dtype=np.int64)
        known = np.flatnonzero(rows >= 0)
        out[known] = 2 + clusters.assign(np.asarray(pretrained.vectors[rows[known]]))
        return cls(clusters, out, pretrained)

    def extend(self, counts: Mapping[str, int], config: Any, lexicon: Lexicon) -> ClusterFeature:
        """The same clusters; the cluster of each word the word column has grown by, after the old words'."""
        words: list[str] = lexicon.words
        added = words[len(self.word_cluster) :]
        if not added:
            return self
        return type(self)(
            self.clusters, np.concatenate([self.word_cluster, self._word_clusters(added)]), self.pretrained
        )

    def _word_clusters(self, words: Sequence[str]) -> np.ndarray:
        """words: n str -> (n,) ids: 2 + the cluster of each word's pretrained vector, NO_VECTOR without one."""
        out = np.full(len(words), NO_VECTOR, dtype=np.int64)
        rows = np.array([self.pretrained.index(w) for w in words], dtype=np.int64)
        known = np.flatnonzero(rows >= 0)
        if len(known):
            out[known] = 2 + self.clusters.assign(np.asarray(self.pretrained.vectors[rows[known]]))
        return out

    def dim(self, config: Any) -> int:
        return int(config.cluster_dim)

    @property
    def n_rows(self) -> int:
        return self.clusters.k + 2

    def ids(self, tokens: Sequence[str], earlier: Mapping[str, np.ndarray]) -> np.ndarray:
        """The cluster of each token's word row (the first column's ids)."""
        word = next(iter(earlier.values())).reshape(-1)
        T = len(self.word_cluster)
        out = self.word_cluster[np.minimum(word, T - 1)]
        frozen = np.flatnonzero(word >= T)
        if len(frozen):
            out[frozen] = 2 + self.clusters.assign(read_rows(self.pretrained.vectors, word[frozen] - T))
        return out

    def save(self, directory: Path) -> dict[str, Any]:
        save_arrays(directory / self.file, {"centroids": self.clusters.centroids, "word_cluster": self.word_cluster})
        return {}

    @classmethod
    def load(cls, directory: Path, config: Any, lexicon: Lexicon) -> ClusterFeature:
        from ..lexicon.clusters import WordClusters

        path = directory / cls.file
        arrays = load_arrays(path, ("centroids", "word_cluster"))
        try:
            clusters = WordClusters(arrays["centroids"])
        except WindownerError as exc:
            raise ModelError(f"{path}: {exc}; the file is corrupt — retrain the model") from None
        pretrained = lexicon.pretrained
        if pretrained is None or clusters.centroids.shape[1] != pretrained.dim:
            raise ModelError(
                f"{path}: the centroids do not match the model's pretrained vectors; "
                "the model files do not belong together — retrain"
            )
        feature = cls(clusters, arrays["word_cluster"], pretrained)
        if len(feature.word_cluster) != next(iter(lexicon)).n_rows:
            raise ValueError("word_cluster must hold one id per vocabulary word")
        return feature
