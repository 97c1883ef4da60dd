"""Word clusters: k-means centroids of the pretrained word vectors, and the cluster of any vector.

A cluster id is a coarse, frozen word class (Brown-cluster-like): words the training data never showed
share the id of the training words near them in the vector space. Centroids are fitted with
scikit-learn's ``MiniBatchKMeans`` on the first ``n_fit`` rows of the vectors (GloVe and word2vec files
list frequent words first), deterministically given the seed.
"""

from __future__ import annotations

import numpy as np

from ..errors import WindownerError

ASSIGN_BLOCK = 256  # vectors are assigned in products of exactly this many rows: the same ids in any batch


class WordClusters:
    """``centroids: (k, d)`` float32. :meth:`assign` maps vectors to the index of their nearest centroid."""

    def __init__(self, centroids: np.ndarray):
        centroids = np.asarray(centroids)
        if centroids.ndim != 2 or not len(centroids) or not np.isfinite(centroids).all():
            raise WindownerError(
                f"cluster centroids must be a finite (k, d) matrix with k ≥ 1, got shape {centroids.shape}"
            )
        self.centroids = centroids.astype(np.float32)
        self._C = self.centroids.astype(np.float64).T  # (d, k), for assign
        self._half_norms = 0.5 * (self._C * self._C).sum(axis=0)

    @property
    def k(self) -> int:
        return len(self.centroids)

    @classmethod
    def fit(cls, vectors: np.ndarray, k: int, seed: int = 0, n_fit: int = 50_000) -> WordClusters:
        """k-means on the first ``n_fit`` rows of ``vectors: (N, d)``."""
        from sklearn.cluster import MiniBatchKMeans

        X = np.asarray(vectors[:n_fit], dtype=np.float32)
        if len(X) < k:
            raise WindownerError(
                f"{k} word clusters need at least {k} word vectors, the vectors have {len(X)}; "
                "use fewer clusters (--vector-clusters)"
            )
        km = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=1, max_iter=50).fit(X)
        return cls(km.cluster_centers_)

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """vectors: (n, d) -> (n,) index of the nearest centroid (argmax of v·c − ‖c‖²/2, in float64)."""
        n = len(vectors)
        out = np.empty(n, dtype=np.int64)
        block = np.zeros((ASSIGN_BLOCK, self.centroids.shape[1]), dtype=np.float64)
        for a in range(0, n, ASSIGN_BLOCK):
            part = vectors[a : a + ASSIGN_BLOCK]
            block[: len(part)] = part
            block[len(part) :] = 0
            out[a : a + len(part)] = np.argmax(block @ self._C - self._half_norms, axis=1)[: len(part)]
        return out
