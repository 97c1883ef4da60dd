"""The window classifier's math: forward and backward passes derived by hand.

For a batch of n windows ``X: (n, D)`` (``D = (2k+1)·d``)::

    Z = X Wᵀ + b        W: (h, D), b: (h,)      Z, H: (n, h)
    H = f(Z)
    S = H U             U: (h, C)               S, P: (n, C)
    P = sigmoid(S)      (or softmax(S) with the ``softmax`` head)

Backward, in matrix-calculus form, with ``G = ∂J/∂S``::

    ∂J/∂U = Hᵀ G
    δ     = (G Uᵀ) ∘ f'(Z)          # ∂J/∂Z, computed once ...
    ∂J/∂W = δᵀ X                    # ... and reused for W,
    ∂J/∂b = Σ_rows δ                # b
    ∂J/∂X = δ W                     # and the input (fine-tunes word vectors)

Shape convention: every gradient has exactly the shape of its parameter (not the
Jacobian's shape); :func:`check_shape` enforces it where each gradient is produced.
Each layer caches in ``forward`` exactly what its ``backward`` needs, and ``backward``
is "local gradient × upstream gradient".
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
    "Scores",
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
class _Act:
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (Z, H) -> f'(Z)
    gain: float  # Glorot gain for initialisation


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # split by sign so that exp never overflows
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


ACTIVATIONS: dict[str, _Act] = {
    # tanh'(z) = 1 - tanh(z)^2
    "tanh": _Act(np.tanh, lambda z, h: 1.0 - h * h, gain=1.0),
    # relu'(z) = 1 if z > 0 else 0
    "relu": _Act(lambda z: np.maximum(z, 0), lambda z, h: (z > 0).astype(z.dtype), gain=np.sqrt(2.0)),
    # sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))
    "sigmoid": _Act(_sigmoid, lambda z, h: h * (1.0 - h), gain=4.0),
    # hardtanh (Collobert et al.): -1 below -1, z in between, 1 above; derivative 1 inside (-1, 1)
    "hardtanh": _Act(lambda z: np.clip(z, -1, 1), lambda z, h: ((z > -1) & (z < 1)).astype(z.dtype), gain=1.0),
}


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


class Linear:
    """``Z = X Wᵀ + b``. X: (n, D) -> Z: (n, h)."""

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W, self.b = W, b

    def forward(self, X: np.ndarray) -> np.ndarray:
        self.X = X  # backward needs X for ∂J/∂W
        return X @ self.W.T + self.b

    def backward(self, delta: np.ndarray, need_dX: bool = True) -> dict[str, np.ndarray]:
        """delta = ∂J/∂Z: (n, h). Returns ∂J/∂W, ∂J/∂b and (optionally) ∂J/∂X."""
        grads = {
            "W": check_shape(delta.T @ self.X, self.W, "W"),  # δᵀ X
            "b": check_shape(delta.sum(axis=0), self.b, "b"),  # Σ_rows δ
        }
        if need_dX:
            grads["X"] = check_shape(delta @ self.W, self.X, "X")  # δ W
        return grads


class Activation:
    """``H = f(Z)`` elementwise; backward multiplies by the diagonal Jacobian f'(Z)."""

    def __init__(self, name: str):
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
        self.name, self.fn = name, ACTIVATIONS[name]

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
        self.mask = (self.rng.random(A.shape) >= self.rate).astype(A.dtype) / (1.0 - self.rate)
        return A * self.mask

    def backward(self, dA: np.ndarray) -> np.ndarray:
        return dA if self.mask is None else dA * self.mask


class Scores:
    """``S = H U``: one score per class. H: (n, h) -> S: (n, C)."""

    def __init__(self, U: np.ndarray):
        self.U = U

    def forward(self, H: np.ndarray) -> np.ndarray:
        self.H = H
        return H @ self.U

    def backward(self, G: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """G = ∂J/∂S: (n, C). Returns ({"U": Hᵀ G}, ∂J/∂H = G Uᵀ)."""
        dU = check_shape(self.H.T @ G, self.U, "U")
        dH = check_shape(G @ self.U.T, self.H, "H")
        return {"U": dU}, dH


# ---------------------------------------------------------------------------
# Heads: scores -> probabilities and loss. Both give G = ∂J/∂S = (P - Y) / n.
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

    def forward(self, S: np.ndarray, Y: np.ndarray) -> float:
        """S, Y: (n, C), Y in {0, 1}. J = -(1/n) Σ [y log p + (1-y) log(1-p)]."""
        self.P, self.Y = self.proba(S), Y
        # -[y log σ(s) + (1-y) log σ(-s)] = log(1 + e^s) - y s
        return float((np.logaddexp(0.0, S) - Y * S).sum() / S.shape[0])

    def backward(self) -> np.ndarray:
        return check_shape((self.P - self.Y) / self.P.shape[0], self.P, "S")


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

    def forward(self, S: np.ndarray, Y: np.ndarray) -> float:
        """S, Y: (n, C), Y one-hot. J = -(1/n) Σ log p_y."""
        logP = self.log_proba(S)
        self.P, self.Y = np.exp(logP), Y
        return float(-(Y * logP).sum() / S.shape[0])

    def backward(self) -> np.ndarray:
        return check_shape((self.P - self.Y) / self.P.shape[0], self.P, "S")


HEADS = {"sigmoid": SigmoidBCE, "softmax": SoftmaxCE}


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


def glorot_uniform(rng: np.random.Generator, fan_out: int, fan_in: int, gain: float, dtype) -> np.ndarray:
    """Glorot/Xavier uniform init, scaled by the activation's gain. Returns (fan_out, fan_in)."""
    limit = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(dtype)


class WindowNetwork:
    """One hidden layer window classifier on dense inputs X: (n, D) -> scores S: (n, C).

    Parameters live in ``self.params`` ({"W": (h, D), "b": (h,), "U": (h, C)}); ``loss_and_grads``
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
        self._bind()

    def _bind(self) -> None:
        """(Re)attach the layers to the arrays in ``self.params``."""
        self.hidden = Linear(self.params["W"], self.params["b"])
        self.scores = Scores(self.params["U"])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(D, h, C)."""
        h, D = self.params["W"].shape
        return D, h, self.params["U"].shape[1]

    def forward(self, X: np.ndarray, train: bool = False) -> np.ndarray:
        """X: (n, D) -> S: (n, C); caches what backward needs."""
        Z = self.hidden.forward(X)
        H = self.act.forward(Z)
        H = self.dropout.forward(H, train)
        return self.scores.forward(H)

    def backward(self, G: np.ndarray, need_dX: bool = True) -> dict[str, np.ndarray]:
        """G = ∂J/∂S: (n, C) -> gradients of W, b, U (and X), L2 included."""
        grads, dH = self.scores.backward(G)
        dH = self.dropout.backward(dH)
        delta = self.act.backward(dH)  # δ = (G Uᵀ) ∘ f'(Z), shared by W, b and X
        grads.update(self.hidden.backward(delta, need_dX))
        if self.l2:
            grads["W"] = grads["W"] + self.l2 * self.params["W"]
            grads["U"] = grads["U"] + self.l2 * self.params["U"]
        return grads

    def loss(self, X: np.ndarray, Y: np.ndarray, train: bool = False) -> float:
        """Mean loss on a batch, L2 term included. Y: (n, C) targets (0/1, one-hot for softmax)."""
        J = self.head.forward(self.forward(X, train), Y)
        if self.l2:
            J += 0.5 * self.l2 * float((self.params["W"] ** 2).sum() + (self.params["U"] ** 2).sum())
        return J

    def loss_and_grads(self, X: np.ndarray, Y: np.ndarray, train: bool = False, need_dX: bool = True):
        """One forward and backward pass. Returns (J, {"W", "b", "U", "X": gradients})."""
        J = self.loss(X, Y, train)
        return J, self.backward(self.head.backward(), need_dX)

    def log_proba(self, X: np.ndarray) -> np.ndarray:
        """X: (n, D) -> log P: (n, C)."""
        return self.head.log_proba(self.forward(X))

    def proba(self, X: np.ndarray) -> np.ndarray:
        """X: (n, D) -> P: (n, C)."""
        return self.head.proba(self.forward(X))
