"""The window classifier's math: forward and backward passes derived by hand.

For a batch of n windows ``X: (n, D)`` (``D = (2k+1)·d``) and K classes::

    X = [e(t_{i-k}); …; e(t_{i+k})]   the embeddings of the window's tokens (:class:`Embeddings`)
    Z = X Wᵀ + b        W: (h, D), b: (h,)      Z, H: (n, h)
    H = f(Z)
    S = H U             U: (h, K)               S, P: (n, K)
    P = sigmoid(S)      (or softmax(S) with the ``softmax`` head)

Backward, in matrix-calculus form, with ``G = ∂J/∂S``::

    ∂J/∂U = Hᵀ G
    δ     = (G Uᵀ) ∘ f'(Z)          # ∂J/∂Z, computed once ...
    ∂J/∂W = δᵀ X                    # ... and reused for W,
    ∂J/∂b = Σ_rows δ                # b
    ∂J/∂X = δ W                     # and the input (fine-tunes word vectors):
    ∂J/∂e_r = Σ over the window slots holding row r of the matching slice of ∂J/∂X
    (a bag table, e = (1/c) Σ_j e_{r_j} over a position's c ids: each r_j gets 1/c of that slice)

Shape convention: every gradient has exactly the shape of its parameter (not the
Jacobian's shape); :func:`check_shape` enforces it where each gradient is produced.
Each layer caches in ``forward`` exactly what its ``backward`` needs, and ``backward``
is "local gradient × upstream gradient". Parameters live in one place, the ``params`` dict of
:class:`WindowNetwork` (and ``tables`` of :class:`Embeddings`); layers look them up by name on every
call, so replacing an array there is all a loader or an optimiser has to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "HEADS",
    "ShapeError",
    "check_shape",
    "Linear",
    "Activation",
    "Dropout",
    "Output",
    "Embeddings",
    "SigmoidBCE",
    "SoftmaxCE",
    "WindowNetwork",
]


class ShapeError(AssertionError):
    """A gradient whose shape differs from its parameter's (the shape convention is broken)."""


def check_shape(grad: np.ndarray, like: np.ndarray | tuple, name: str) -> np.ndarray:
    """Assert ``grad`` has the shape of the parameter it belongs to; return it unchanged.

    Raised as :class:`ShapeError` (not a bare ``assert``) so ``python -O`` keeps the check.
    """
    want = like if isinstance(like, tuple) else like.shape
    if grad.shape != want:
        raise ShapeError(f"gradient d{name} has shape {grad.shape}, but {name} has shape {want}")
    return grad


# ---------------------------------------------------------------------------
# Activations: f and its derivative f', written side by side.
# f' receives both Z and H = f(Z) so that each can use whichever is cheaper.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivationFn:
    """An activation f, its derivative f' (given Z and H = f(Z)) and its Glorot gain."""

    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (Z, H) -> f'(Z)
    gain: float  # Glorot gain for initialisation


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # by sign, so that exp never overflows: 1 / (1 + e^-z) for z ≥ 0, e^z / (1 + e^z) below
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


ACTIVATIONS: dict[str, ActivationFn] = {
    # tanh'(z) = 1 - tanh(z)^2
    "tanh": ActivationFn(np.tanh, lambda z, h: 1.0 - h * h, gain=1.0),
    # relu'(z) = 1 if z > 0 else 0
    "relu": ActivationFn(lambda z: np.maximum(z, 0), lambda z, h: (z > 0).astype(z.dtype), gain=np.sqrt(2.0)),
    # sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))
    "sigmoid": ActivationFn(_sigmoid, lambda z, h: h * (1.0 - h), gain=4.0),
    # hardtanh (Collobert et al.): -1 below -1, z in between, 1 above; derivative 1 inside (-1, 1)
    "hardtanh": ActivationFn(lambda z: np.clip(z, -1, 1), lambda z, h: ((z > -1) & (z < 1)).astype(z.dtype), gain=1.0),
}


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


class Linear:
    """``Z = X Wᵀ + b``. X: (n, D) -> Z: (n, h). W and b are read from ``params`` at every call."""

    def __init__(self, params: dict[str, np.ndarray], W: str = "W", b: str = "b"):
        self.params, self.W, self.b = params, W, b

    def forward(self, X: np.ndarray) -> np.ndarray:
        self.X = X  # backward needs X for ∂J/∂W
        Z = X @ self.params[self.W].T
        Z += self.params[self.b]
        return Z

    def backward(self, delta: np.ndarray, need_dX: bool = True) -> dict[str, np.ndarray]:
        """delta = ∂J/∂Z: (n, h). Returns ∂J/∂W, ∂J/∂b and (optionally) ∂J/∂X."""
        W, b = self.params[self.W], self.params[self.b]
        grads = {
            self.W: check_shape(delta.T @ self.X, W, self.W),  # δᵀ X
            self.b: check_shape(delta.sum(axis=0), b, self.b),  # Σ_rows δ
        }
        if need_dX:
            grads["X"] = check_shape(delta @ W, self.X, "X")  # δ W
        return grads


class Activation:
    """``H = f(Z)`` elementwise; backward multiplies by the diagonal Jacobian f'(Z)."""

    def __init__(self, name: str):
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
        self.name, self.fn = name, ACTIVATIONS[name]

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        """f(Z) without caching anything (inference)."""
        return self.fn.f(Z)

    def forward(self, Z: np.ndarray) -> np.ndarray:
        self.Z, self.H = Z, self.fn.f(Z)
        return self.H

    def backward(self, dH: np.ndarray) -> np.ndarray:
        return check_shape(dH * self.fn.df(self.Z, self.H), self.Z, "Z")  # δ = dH ∘ f'(Z)


class Dropout:
    """Inverted dropout: keeps each unit with probability 1-rate and rescales, only in training."""

    def __init__(self, rate: float, rng: np.random.Generator):
        self.rate, self.rng, self.mask = rate, rng, None

    def forward(self, A: np.ndarray, train: bool) -> np.ndarray:
        if not train or self.rate <= 0:
            self.mask = None
            return A
        scale = A.dtype.type(1.0 / (1.0 - self.rate))
        self.mask = (self.rng.random(A.shape, dtype=np.float32) >= self.rate) * scale  # 0 or 1/(1-rate), A's dtype
        return A * self.mask

    def backward(self, dA: np.ndarray) -> np.ndarray:
        return dA if self.mask is None else dA * self.mask


class Output:
    """``S = H U``: one score per class. H: (n, h) -> S: (n, K). U is read from ``params``."""

    def __init__(self, params: dict[str, np.ndarray], U: str = "U"):
        self.params, self.U = params, U

    def forward(self, H: np.ndarray) -> np.ndarray:
        self.H = H
        return H @ self.params[self.U]

    def backward(self, G: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """G = ∂J/∂S: (n, K). Returns ({"U": Hᵀ G}, ∂J/∂H = G Uᵀ)."""
        U = self.params[self.U]
        dU = check_shape(self.H.T @ G, U, self.U)
        dH = check_shape(G @ U.T, self.H, "H")
        return {self.U: dU}, dH


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

    def __init__(self, tables: dict[str, np.ndarray],
                 base: np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
                 widths: dict[str, int] | None = None):
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
                ids = feats[..., col:col + width]
                scale = self._bag_scale(ids).astype(table.dtype)
                if scales is not None:
                    scales[name] = scale
                blocks.append((table.take(ids, axis=0) * scale[..., None]).sum(axis=-2))
        return np.concatenate(blocks, axis=-1)

    def forward(self, feats: np.ndarray) -> np.ndarray:
        """feats: (n, m, Σ widths) ids of each window position -> X: (n, m·d_total)."""
        self.feats, self.scales = feats, {}  # backward needs the ids and the bags' weights
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
            part = dX[:, offset:offset + d]
            offset += d
            if width == 1:
                ids = self.feats[..., col].reshape(-1)
            else:  # each nonzero id of a position's bag gets scale_j times the position's gradient
                bag = self.feats[..., col:col + width].reshape(n * m, width)
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
        sums[repeated] = np.add.reduceat(part.take(order[np.repeat(repeated, counts)], axis=0),
                                         np.cumsum(n) - n, axis=0)
    return ids[starts], sums


# ---------------------------------------------------------------------------
# Heads: scores -> probabilities and loss. Both give G = ∂J/∂S = (P - Y) / n, each row times its window's
# weight when the windows are weighted (J = (1/n) Σ_i w_i ℓ_i).
# ---------------------------------------------------------------------------


class SigmoidBCE:
    """Per-class sigmoid with binary cross-entropy, averaged over the batch (the lecture's head)."""

    name = "sigmoid"

    @staticmethod
    def proba(S: np.ndarray) -> np.ndarray:
        return _sigmoid(S)

    @staticmethod
    def log_proba(S: np.ndarray) -> np.ndarray:
        # log σ(s) = -log(1 + e^{-s}), computed stably
        return -np.logaddexp(0.0, -S)

    def forward(self, S: np.ndarray, Y: np.ndarray, weights: np.ndarray | None = None) -> float:
        """S, Y: (n, K), Y in {0, 1}; weights: (n,) or None. J = -(1/n) Σ w [y log p + (1-y) log(1-p)]."""
        self.P, self.Y, self.w = self.proba(S), Y, weights
        # -[y log σ(s) + (1-y) log σ(-s)] = log(1 + e^s) - y s
        return _batch_mean(np.logaddexp(0.0, S) - Y * S, weights)

    def backward(self) -> np.ndarray:
        return check_shape(_weighted((self.P - self.Y) / self.P.shape[0], self.w), self.P, "S")


class SoftmaxCE:
    """Softmax over the classes with categorical cross-entropy, averaged over the batch."""

    name = "softmax"

    @staticmethod
    def log_proba(S: np.ndarray) -> np.ndarray:
        S = S - S.max(axis=1, keepdims=True)
        return S - np.log(np.exp(S).sum(axis=1, keepdims=True))

    @classmethod
    def proba(cls, S: np.ndarray) -> np.ndarray:
        return np.exp(cls.log_proba(S))

    def forward(self, S: np.ndarray, Y: np.ndarray, weights: np.ndarray | None = None) -> float:
        """S, Y: (n, K), Y one-hot; weights: (n,) or None. J = -(1/n) Σ w log p_y."""
        logP = self.log_proba(S)
        self.P, self.Y, self.w = np.exp(logP), Y, weights
        return -_batch_mean(Y * logP, weights)

    def backward(self) -> np.ndarray:
        return check_shape(_weighted((self.P - self.Y) / self.P.shape[0], self.w), self.P, "S")


def _batch_mean(losses: np.ndarray, weights: np.ndarray | None) -> float:
    """(1/n) Σ_i w_i Σ_k losses[i, k] of (n, K) ``losses`` (all w_i = 1 without weights)."""
    return float((losses if weights is None else losses.sum(axis=1) * weights).sum() / losses.shape[0])


def _weighted(G: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """G: (n, K) with row i times weights[i] (in place); G itself without weights."""
    if weights is not None:
        G *= weights[:, None]
    return G


HEADS = {"sigmoid": SigmoidBCE, "softmax": SoftmaxCE}


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


def glorot_uniform(rng: np.random.Generator, fan_out: int, fan_in: int, gain: float, dtype) -> np.ndarray:
    """Glorot/Xavier uniform init, scaled by the activation's gain. Returns (fan_out, fan_in)."""
    limit = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(dtype)


class WindowNetwork:
    """One hidden layer window classifier on dense inputs X: (n, D) -> scores S: (n, K).

    Parameters live in ``self.params`` ({"W": (h, D), "b": (h,), "U": (h, K)}); ``loss_and_grads``
    returns ``∂J/∂θ`` for each of them plus ``∂J/∂X``, each with exactly its owner's shape.
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_classes: int,
        activation: str = "tanh",
        head: str = "sigmoid",
        l2: float = 0.0,
        dropout: float = 0.0,
        random_state: int | np.random.Generator | None = 0,
        dtype=np.float32,
    ):
        if head not in HEADS:
            raise ValueError(f"unknown head {head!r}; choose one of {sorted(HEADS)}")
        if min(n_in, n_hidden, n_classes) < 1:
            raise ValueError(f"sizes must be positive, got n_in={n_in}, n_hidden={n_hidden}, n_classes={n_classes}")
        rng = np.random.default_rng(random_state)
        self.act = Activation(activation)
        self.head = HEADS[head]()
        self.l2 = float(l2)
        gain = self.act.fn.gain
        self.params = {
            "W": glorot_uniform(rng, n_hidden, n_in, gain, dtype),
            "b": np.zeros(n_hidden, dtype=dtype),
            "U": glorot_uniform(rng, n_hidden, n_classes, 1.0, dtype),
        }
        self.dropout = Dropout(dropout, rng)
        self.hidden = Linear(self.params, "W", "b")
        self.output = Output(self.params, "U")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(D, h, K)."""
        h, D = self.params["W"].shape
        return D, h, self.params["U"].shape[1]

    def forward(self, X: np.ndarray, train: bool = False) -> np.ndarray:
        """X: (n, D) -> S: (n, K); caches what backward needs."""
        Z = self.hidden.forward(X)
        H = self.act.forward(Z)
        H = self.dropout.forward(H, train)
        return self.output.forward(H)

    def backward(self, G: np.ndarray, need_dX: bool = True) -> dict[str, np.ndarray]:
        """G = ∂J/∂S: (n, K) -> gradients of W, b, U (and X), L2 included."""
        grads, dH = self.output.backward(G)
        dH = self.dropout.backward(dH)
        delta = self.act.backward(dH)  # δ = (G Uᵀ) ∘ f'(Z), shared by W, b and X
        grads.update(self.hidden.backward(delta, need_dX))
        if self.l2:
            grads["W"] = grads["W"] + self.l2 * self.params["W"]
            grads["U"] = grads["U"] + self.l2 * self.params["U"]
        return grads

    def loss(self, X: np.ndarray, Y: np.ndarray, train: bool = False, weights: np.ndarray | None = None) -> float:
        """Mean loss on a batch, L2 term included. Y: (n, K) targets (0/1, one-hot for softmax); weights: (n,)
        per-window weights of the mean (None: all 1)."""
        J = self.head.forward(self.forward(X, train), Y, weights)
        if self.l2:
            J += 0.5 * self.l2 * float((self.params["W"] ** 2).sum() + (self.params["U"] ** 2).sum())
        return J

    def loss_and_grads(self, X: np.ndarray, Y: np.ndarray, train: bool = False, need_dX: bool = True,
                       weights: np.ndarray | None = None):
        """One forward and backward pass. Returns (J, {"W", "b", "U", "X": gradients})."""
        J = self.loss(X, Y, train, weights)
        return J, self.backward(self.head.backward(), need_dX)

    def log_proba(self, X: np.ndarray) -> np.ndarray:
        """X: (n, D) -> log P: (n, K)."""
        return self.head.log_proba(self.forward(X))

    def proba(self, X: np.ndarray) -> np.ndarray:
        """X: (n, D) -> P: (n, K)."""
        return self.head.proba(self.forward(X))

    def log_proba_from_z(self, Z: np.ndarray) -> np.ndarray:
        """Inference from pre-activations Z = X Wᵀ + b: (n, h) -> log P: (n, K); caches nothing."""
        return self.head.log_proba(self.act(Z) @ self.params["U"])
