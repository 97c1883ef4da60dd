"""Minibatch stochastic gradient descent, plain or with momentum, with learning-rate decay."""

from __future__ import annotations

import numpy as np

from .network import check_shape


class SGD:
    """θ ← θ − η_t g (with momentum μ: v ← μ v − η_t g; θ ← θ + v), η_t = lr / (1 + decay · epoch).

    ``step`` updates dense parameters in place; ``step_rows`` updates only the given rows of an
    embedding table (sparse gradient, plain SGD: momentum on rarely seen rows would be stale).
    """

    def __init__(self, lr: float = 0.1, momentum: float = 0.0, decay: float = 0.0, clip: float | None = None):
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum, self.decay, self.clip = lr, momentum, decay, clip
        self.epoch = 0
        self._velocity: dict[str, np.ndarray] = {}

    @property
    def rate(self) -> float:
        return self.lr / (1.0 + self.decay * self.epoch)

    def _clipped(self, g: np.ndarray) -> np.ndarray:
        if self.clip is None:
            return g
        # np.linalg.norm's own formula (sqrt of the flat dot product, in g's dtype) without its per-call checks
        flat = g.ravel(order="K")
        norm = float(np.sqrt(flat.dot(flat)))
        return g * (self.clip / norm) if norm > self.clip else g

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        eta = self.rate
        for name, p in params.items():
            g = self._clipped(check_shape(grads[name], p, name))
            if self.momentum:
                v = self._velocity.get(name)
                if v is None:  # (setdefault would build a zeroed array at every step)
                    v = self._velocity[name] = np.zeros_like(p)
                v *= self.momentum
                v -= eta * g
                p += v
            else:
                p -= (eta * g).astype(p.dtype, copy=False)

    def step_rows(self, table: np.ndarray, rows: np.ndarray, grad_rows: np.ndarray, name: str = "table") -> None:
        """table[rows] -= η · grad_rows; rows unique. grad_rows: (len(rows), d)."""
        check_shape(grad_rows, (len(rows), table.shape[1]), f"{name}[rows]")
        table[rows] -= (self.rate * self._clipped(grad_rows)).astype(table.dtype, copy=False)


def minibatches(n: int, batch_size: int, rng: np.random.Generator | None):
    """Yield index arrays covering range(n) in batches, shuffled when rng is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def fit_dense(
    net,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 0.1,
    momentum: float = 0.0,
    decay: float = 0.0,
    random_state: int | None = 0,
) -> list[float]:
    """Train a :class:`~windowner.nn.network.WindowNetwork` on dense X: (n, D), Y: (n, K).

    Returns the per-epoch mean loss."""
    rng = np.random.default_rng(random_state)
    opt = SGD(lr, momentum, decay)
    history = []
    for epoch in range(epochs):
        opt.epoch = epoch
        total = 0.0
        for idx in minibatches(len(X), batch_size, rng):
            J, grads = net.loss_and_grads(X[idx], Y[idx], train=True, need_dX=False)
            opt.step(net.params, grads)
            total += J * len(idx)
        history.append(total / len(X))
    return history
