"""Check every hand-derived gradient against central finite differences (float64)."""

from __future__ import annotations

import itertools

import numpy as np

from .model import ACTIVATIONS, HEADS, WindowNetwork

TOLERANCE = 1e-6


def rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖), 0 when both vanish."""
    denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if denom == 0 else float(np.linalg.norm(analytic - numeric) / denom)


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(x+ε) − f(x−ε)) / 2ε for every entry of x, modified in place and restored."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def _away_from_kinks(net: WindowNetwork, X: np.ndarray, margin: float = 1e-3) -> bool:
    Z = X @ net.params["W"].T + net.params["b"]
    return bool(np.all(np.abs(Z) > margin) and np.all(np.abs(np.abs(Z) - 1) > margin))


def check_network(activation: str, head: str, n: int = 6, D: int = 10, h: int = 7, C: int = 4,
                  l2: float = 1e-2, seed: int = 0) -> dict[str, float]:
    """Relative error of ∂J/∂W, ∂J/∂b, ∂J/∂U and ∂J/∂X for one activation × head."""
    rng = np.random.default_rng(seed)
    for _ in range(100):  # piecewise-linear activations: keep Z away from the kinks
        net = WindowNetwork(D, h, C, activation=activation, head=head, l2=l2,
                            random_state=rng, dtype=np.float64)
        net.params["b"][:] = rng.normal(0, 0.5, h)
        X = rng.normal(0, 1.0, (n, D))
        if _away_from_kinks(net, X):
            break
    if head == "softmax":
        Y = np.eye(C)[rng.integers(0, C, n)]
    else:
        Y = (rng.random((n, C)) < 0.4).astype(np.float64)
    _, grads = net.loss_and_grads(X, Y)
    arrays = dict(net.params, X=X)
    return {name: rel_error(grads[name], numeric_grad(lambda: net.loss(X, Y), arr))
            for name, arr in arrays.items()}


def run_all(seed: int = 0) -> dict:
    """Every activation × head; returns {"max_rel_error": float, "checks": [...]}."""
    checks = []
    for act, head in itertools.product(sorted(ACTIVATIONS), sorted(HEADS)):
        for param, err in check_network(act, head, seed=seed).items():
            checks.append({"activation": act, "head": head, "param": param, "rel_error": err})
    return {"max_rel_error": max(c["rel_error"] for c in checks), "checks": checks}
