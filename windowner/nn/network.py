"""The window classifier's math: forward and backward passes derived by hand.

For a batch of n windows ``X: (n, D)`` (``D = (2k+1)·d``) and K classes::

    X = [e(t_{i-k}); …; e(t_{i+k})]   the embeddings of the window's tokens (:mod:`.embeddings`)
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

from collections.abc import Callable
from dataclasses import dataclass

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


HEADS: dict[str, type[SigmoidBCE] | type[SoftmaxCE]] = {"sigmoid": SigmoidBCE, "softmax": SoftmaxCE}


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

    def loss_and_grads(
        self, X: np.ndarray, Y: np.ndarray, train: bool = False, need_dX: bool = True, weights: np.ndarray | None = None
    ):
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
