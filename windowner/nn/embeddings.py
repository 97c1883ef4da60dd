"""The input layer: embedding tables looked up by the window's feature ids, and its backward pass.

A window position's input is the concatenation of one row per table (a bag table: the mean of its ids' rows);
:meth:`Embeddings.backward` turns ``∂J/∂X`` into summed gradient rows per table (see :mod:`.network` for the
derivation). Word ids at or beyond the trainable table's length read rows of frozen pretrained vectors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .network import check_shape

__all__ = ["Embeddings", "sum_rows"]


class Embeddings:
    """The input layer: window feature ids -> X, and ∂J/∂X -> row-sparse gradients of the tables.

    Each window position holds a token's feature ids, ``widths[name]`` (default 1) per table in the order of
    ``tables`` (the lexicon's columns). The first table is the word table (T, d_w): its ids ≥ T index the frozen
    pretrained ``base`` (B, d_w) instead — an array, or a function ``rows: (r,) -> (r, d_w)`` that reads them —,
    and they get no gradient. A table with ``widths[name]`` = M > 1 (the hashed character n-grams) takes M ids
    per position and embeds them as a bag: the mean of the rows of its nonzero ids (row 0 is padding: zero ids
    add nothing, get no gradient). A position's input is the concatenation of its tables' embeddings. Tables are
    read by name at every call.
    """

    def __init__(
        self,
        tables: dict[str, np.ndarray],
        base: np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
        widths: dict[str, int] | None = None,
    ):
        if not tables:
            raise ValueError("Embeddings needs at least the word table")
        self.tables = tables
        self.base = base
        self.widths = {name: int((widths or {}).get(name, 1)) for name in tables}
        self.word = next(iter(tables))
        if self.widths[self.word] != 1:
            raise ValueError(f"the word table {self.word} (the first) takes one id per position")

    @property
    def names(self) -> tuple[str, ...]:
        """The tables, in the order of the feature columns and of the input's column blocks."""
        return tuple(self.tables)

    @property
    def dims(self) -> tuple[int, ...]:
        """(d_w, d_c, d_s, ...): the column blocks of one position's input."""
        return tuple(table.shape[1] for table in self.tables.values())

    @property
    def d_total(self) -> int:
        return sum(self.dims)

    def _id_columns(self):
        """(name, table, first id column, width) of every table, in order."""
        col = 0
        for name, table in self.tables.items():
            yield name, table, col, self.widths[name]
            col += self.widths[name]

    def _base_rows(self, rows: np.ndarray) -> np.ndarray:
        base = self.base
        return np.asarray(base(rows) if callable(base) else base[rows])  # type: ignore[index]

    def word_vectors(self, rows: np.ndarray) -> np.ndarray:
        """rows: any shape of word rows -> vectors, from the word table below T and from the frozen base above."""
        E = self.tables[self.word]
        T = len(E)
        if self.base is None or rows.size == 0 or rows.max() < T:
            return E.take(rows, axis=0)  # take: the same rows as E[rows], faster
        out = np.empty(rows.shape + (E.shape[1],), dtype=E.dtype)
        low = rows < T
        out[low] = E[rows[low]]
        out[~low] = self._base_rows(rows[~low] - T).reshape(-1, E.shape[1])
        return out

    @staticmethod
    def _bag_scale(ids: np.ndarray) -> np.ndarray:
        """ids: (..., M) bag ids -> (..., M) 1/count for each nonzero id, 0 for the empty slots."""
        present = ids != 0
        count = np.maximum(present.sum(axis=-1, keepdims=True), 1)
        return present / count

    def type_vectors(self, feats: np.ndarray, scales: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """feats: (..., Σ widths) ids -> (..., d_total) concatenated embeddings; each bag table's (..., M) weights
        are put in ``scales`` when it is given."""
        blocks = []
        for name, table, col, width in self._id_columns():
            if col == 0:
                blocks.append(self.word_vectors(feats[..., 0]))
            elif width == 1:
                blocks.append(table.take(feats[..., col], axis=0))
            else:  # a bag: Σ_j scale_j · table[id_j]
                ids = feats[..., col : col + width]
                scale = self._bag_scale(ids).astype(table.dtype)
                if scales is not None:
                    scales[name] = scale
                blocks.append((table.take(ids, axis=0) * scale[..., None]).sum(axis=-2))
        return np.concatenate(blocks, axis=-1)

    def forward(self, feats: np.ndarray) -> np.ndarray:
        """feats: (n, m, Σ widths) ids of each window position -> X: (n, m·d_total)."""
        self.feats = feats  # backward needs the ids and the bags' weights
        self.scales: dict[str, np.ndarray] = {}
        n, m, _ = feats.shape
        return self.type_vectors(feats, self.scales).reshape(n, m * self.d_total)

    def backward(self, dX: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """dX: (n, m·d_total) -> {table: (unique rows, summed gradient rows)} (word rows only below T)."""
        n, m, _ = self.feats.shape
        check_shape(dX, (n, m * self.d_total), "X")
        dX = dX.reshape(n * m, self.d_total)
        grads = {}
        offset = 0
        for name, table, col, width in self._id_columns():
            d = table.shape[1]
            part = dX[:, offset : offset + d]
            offset += d
            if width == 1:
                ids = self.feats[..., col].reshape(-1)
            else:  # each nonzero id of a position's bag gets scale_j times the position's gradient
                bag = self.feats[..., col : col + width].reshape(n * m, width)
                scale = self.scales[name].reshape(n * m, width)
                pos, slot = np.nonzero(scale)
                ids = bag[pos, slot]
                part = part[pos] * scale[pos, slot, None]
            if col == 0:
                keep = ids < len(table)  # frozen pretrained rows get no gradient
                if not keep.all():
                    ids, part = ids[keep], part[keep]
            rows, g = sum_rows(ids, part, len(table))  # rows repeated in the batch accumulate
            grads[name] = (rows, check_shape(g, (len(rows), d), f"{name}[rows]"))
        return grads


def sum_rows(ids: np.ndarray, part: np.ndarray, n_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ids: (r,), part: (r, d) -> (sorted unique ids u, (len(u), d) sums of the rows of ``part`` per id).

    A stable sort groups equal ids and ``np.add.reduceat`` sums each group: the sums ``np.add.at`` would
    scatter (up to rounding), several times faster, in an order fixed by the ids alone. ``n_rows`` (ids are
    below it), when at most 2**16, lets the sort run on uint16 keys: numpy's radix sort, the same order."""
    if len(ids) == 0:
        return ids, part[:0]
    keys = ids.astype(np.uint16) if n_rows is not None and n_rows <= 2**16 else ids
    order = np.argsort(keys, kind="stable")
    ids = ids[order]
    first = np.empty(len(ids), dtype=bool)
    first[0] = True
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.empty_like(starts)  # np.diff(starts, append=len(ids)), without its per-call overhead
    np.subtract(starts[1:], starts[:-1], out=counts[:-1])
    counts[-1] = len(ids) - starts[-1]
    # most ids occur once, and such a row is its own sum: reduceat (whose cost grows with the number of
    # groups) sums only the repeated ones, each group exactly as it would among all of them
    sums = part.take(order[starts], axis=0)
    repeated = counts > 1
    if repeated.any():
        n = counts[repeated]
        sums[repeated] = np.add.reduceat(
            part.take(order[np.repeat(repeated, counts)], axis=0), np.cumsum(n) - n, axis=0
        )
    return ids[starts], sums


# ---------------------------------------------------------------------------
# Heads: scores -> probabilities and loss. Both give G = ∂J/∂S = (P - Y) / n, each row times its window's
# weight when the windows are weighted (J = (1/n) Σ_i w_i ℓ_i).
# ---------------------------------------------------------------------------
