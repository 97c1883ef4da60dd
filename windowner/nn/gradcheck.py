"""Check every hand-derived gradient against central finite differences (float64).

Covered: ∂J/∂W, ∂J/∂b, ∂J/∂U and ∂J/∂X of the network for every activation × head, the same through a
dropout mask (fixed by re-seeding its generator for each evaluation), and the row-sparse gradients of
the embedding table of every registered feature (:func:`windowner.features.registered`: word, casing, suffix, ...,
and any plug-in's; a bag table for a feature of width > 1) that :meth:`Embeddings.backward` scatters.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..features import registered
from .embeddings import Embeddings
from .network import ACTIVATIONS, HEADS, WindowNetwork

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
    """True when no pre-activation is within ``margin`` of 0 or ±1 (where relu/hardtanh have kinks)."""
    Z = X @ net.params["W"].T + net.params["b"]
    return bool(np.all(np.abs(Z) > margin) and np.all(np.abs(np.abs(Z) - 1) > margin))


def _network(
    activation: str,
    head: str,
    rng: np.random.Generator,
    D: int,
    h: int,
    K: int,
    n: int,
    l2: float,
    dropout: float = 0.0,
    X: np.ndarray | None = None,
) -> tuple[WindowNetwork, np.ndarray]:
    """A float64 network whose pre-activations on X stay away from the kinks of piecewise-linear f."""
    for _ in range(100):
        net = WindowNetwork(
            D, h, K, activation=activation, head=head, l2=l2, dropout=dropout, random_state=rng, dtype=np.float64
        )
        net.params["b"][:] = rng.normal(0, 0.5, h)
        X_try = rng.normal(0, 1.0, (n, D)) if X is None else X
        if _away_from_kinks(net, X_try):
            break
    return net, X_try


def _targets(head: str, rng: np.random.Generator, n: int, K: int) -> np.ndarray:
    if head == "softmax":
        return np.eye(K)[rng.integers(0, K, n)]
    return (rng.random((n, K)) < 0.4).astype(np.float64)


def check_network(
    activation: str,
    head: str,
    n: int = 6,
    D: int = 10,
    h: int = 7,
    K: int = 4,
    l2: float = 1e-2,
    seed: int = 0,
    dropout: float = 0.0,
    weighted: bool = False,
) -> dict[str, float]:
    """Relative error of ∂J/∂W, ∂J/∂b, ∂J/∂U and ∂J/∂X for one activation × head (through a dropout
    mask of this rate, the same mask in every evaluation; ``weighted``: windows weighted as training's
    ``o_window_keep`` weights them)."""
    rng = np.random.default_rng(seed)
    net, X = _network(activation, head, rng, D, h, K, n, l2, dropout)
    Y = _targets(head, rng, n, K)
    mask_seed = int(rng.integers(2**31))
    weights = rng.choice([1.0, 2.5], n) if weighted else None

    def loss() -> float:
        net.dropout.rng = np.random.default_rng(mask_seed)  # the same mask every time
        return net.loss(X, Y, train=True, weights=weights)

    loss()
    grads = net.backward(net.head.backward())
    arrays = dict(net.params, X=X)
    return {name: rel_error(grads[name], numeric_grad(loss, arr)) for name, arr in arrays.items()}


def check_embeddings(
    activation: str,
    head: str,
    n: int = 6,
    m: int = 3,
    tables: dict[str, tuple[int, int, int]] | None = None,
    n_base: int = 3,
    h: int = 5,
    K: int = 3,
    seed: int = 0,
    bag: int = 4,
) -> dict[str, float]:
    """Relative error of the gradients of every embedding table (dense (rows, d) views of the sparse row gradients)
    through the whole network. ``tables``: name -> (rows, d, ids per position); by default one small table per
    registered feature (:func:`windowner.features.registered`), ``bag`` ids per position for a feature of width > 1,
    0 for an empty slot of a bag (some positions hold none). Word rows (the first table's) ≥ its row count index the
    frozen ``base`` and get none."""
    rng = np.random.default_rng(seed)
    if tables is None:
        tables = {f.name: (4 + i % 3, 2 + i % 3, bag if f.width > 1 else 1) for i, f in enumerate(registered())}
    arrays = {name: rng.normal(0, 1.0, (r, d)) for name, (r, d, _) in tables.items()}
    widths = {name: w for name, (_, _, w) in tables.items()}
    first = next(iter(tables))
    emb = Embeddings(arrays, base=rng.normal(0, 1.0, (n_base, tables[first][1])), widths=widths)
    blocks = []
    for name, (r, _, w) in tables.items():
        if name == first:  # repeats: rows must accumulate; rows ≥ r read the frozen base
            blocks.append(rng.integers(0, r + n_base, (n, m, 1)))
        elif w == 1:
            blocks.append(rng.integers(0, r, (n, m, 1)))
        else:  # a bag: repeats, empty slots, and a position without ids
            ids = rng.integers(0, r, (n, m, w)) * (rng.random((n, m, w)) < 0.7)
            ids[0, 0] = 0
            blocks.append(ids)
    feats = np.concatenate(blocks, axis=-1)
    return check_tables(emb, feats, activation, head, h=h, K=K, rng=rng)


def check_tables(
    emb: Embeddings,
    feats: np.ndarray,
    activation: str = "tanh",
    head: str = "sigmoid",
    h: int = 5,
    K: int = 3,
    rng: np.random.Generator | None = None,
) -> dict[str, float]:
    """Relative error of the row gradients of ``emb``'s (float64) tables for the window ids ``feats: (n, m, Σ widths)``
    through a new float64 network (h hidden units, K classes): the finite differences are taken over the rows the
    ids touch only (any other row gets no gradient), so that a real model's tables can be checked too."""
    rng = np.random.default_rng(0) if rng is None else rng
    n, m, _ = feats.shape
    net, _ = _network(activation, head, rng, m * emb.d_total, h, K, n, 0.0, X=emb.forward(feats))
    Y = _targets(head, rng, n, K)

    def loss() -> float:
        return net.loss(emb.forward(feats), Y)

    _, grads = net.loss_and_grads(emb.forward(feats), Y)
    first = np.cumsum([0] + [emb.widths[name] for name in emb.names])
    block = {name: feats[..., a : a + emb.widths[name]] for name, a in zip(emb.names, first)}
    out = {}
    for name, (idx, g) in emb.backward(grads["X"]).items():
        table = emb.tables[name]
        touched = np.unique(block[name][block[name] < len(table)])
        if not np.isin(idx, touched).all():
            out[name] = np.inf  # a gradient for a row no id points at
            continue
        dense = np.zeros((len(touched), table.shape[1]))
        dense[np.searchsorted(touched, idx)] = g
        rows = table[touched]  # a copy: perturbed, then written back for each evaluation

        def loss_of_rows(table: np.ndarray = table, touched: np.ndarray = touched, rows: np.ndarray = rows) -> float:
            table[touched] = rows
            return loss()

        numeric = numeric_grad(loss_of_rows, rows)
        table[touched] = rows
        out[name] = rel_error(dense, numeric)
    return out


def run_all(seed: int = 0) -> dict:
    """Every activation × head: the network's parameters and input, the same through dropout, and the
    embedding tables; returns {"max_rel_error": float, "checks": [...]}."""
    checks: list[dict[str, Any]] = []
    for act, head in itertools.product(sorted(ACTIVATIONS), sorted(HEADS)):
        parts = [
            ("", check_network(act, head, seed=seed)),
            (" (dropout)", check_network(act, head, seed=seed, dropout=0.5)),
            (" (weighted windows)", check_network(act, head, seed=seed, weighted=True)),
            ("", check_embeddings(act, head, seed=seed)),
        ]
        for suffix, errors in parts:
            for param, err in errors.items():
                checks.append({"activation": act, "head": head, "param": param + suffix, "rel_error": err})
    return {"max_rel_error": max(c["rel_error"] for c in checks), "checks": checks}
