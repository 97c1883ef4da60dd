"""Calibration maps: raw lattice probabilities -> probabilities that match observed frequencies.

A map is fitted at training time on sentences held out from SGD (see :func:`windowner.model.training.fit`) from
pairs (raw probability ``p``, outcome ``y`` in {0, 1}) and applied to every score the model gives:

``isotonic``
    the non-decreasing step function that best fits ``y`` (pool-adjacent-violators, scikit-learn's
    ``IsotonicRegression``), stored as its breakpoints ``x`` (increasing) and values ``y`` and applied by
    linear interpolation with ``np.interp`` (constant beyond the ends) — plain JSON numbers, no pickle.
    One pseudo-observation at each end (a right one at p = 0, a wrong one at p = 1) keeps the map off
    exactly 0 and 1, which a finite held-out set cannot justify.
``temperature``
    ``sigmoid(logit(p) / T)`` with the one parameter ``T > 0`` chosen by maximum likelihood.
``identity``
    no change (models trained without calibration, or written before it existed).

Only fitting an isotonic map imports scikit-learn; applying a map needs numpy alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

METHODS = ("isotonic", "temperature", "none")  # the choices of TrainConfig.calibration
_EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class CalibrationMap:
    """One monotone map [0, 1] -> [0, 1]: ``method`` is "isotonic" (``x``, ``y``), "temperature"
    (``temperature``) or "identity"; ``samples``: how many (p, y) pairs it was fitted on."""

    method: str = "identity"
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    temperature: float = 1.0
    samples: int = 0

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """The calibrated probabilities of raw probabilities ``p`` (any shape)."""
        p = np.asarray(p, dtype=np.float64)
        if self.method == "isotonic":
            return np.interp(p, self.x, self.y)
        if self.method == "temperature":
            return 1.0 / (1.0 + np.exp(-_logit(p) / self.temperature))
        return p

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "samples": self.samples}
        if self.method == "isotonic":
            out.update(x=list(self.x), y=list(self.y))
        elif self.method == "temperature":
            out["temperature"] = self.temperature
        return out

    @classmethod
    def from_dict(cls, data: Any) -> CalibrationMap:
        """Inverse of :meth:`to_dict`; ValueError saying what is wrong with ``data``."""
        if not isinstance(data, dict):
            raise ValueError(f"a calibration map is a JSON object, found {type(data).__name__}")
        method = data.get("method")
        samples = data.get("samples", 0)
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 0:
            raise ValueError(f"'samples' must be a count, found {samples!r}")
        if method == "identity":
            return cls(samples=samples)
        if method == "temperature":
            t = data.get("temperature")
            if not isinstance(t, (int, float)) or isinstance(t, bool) or not (math.isfinite(t) and t > 0):
                raise ValueError(f"'temperature' must be a positive number, found {t!r}")
            return cls("temperature", temperature=float(t), samples=samples)
        if method == "isotonic":
            x, y = data.get("x"), data.get("y")
            if not (
                isinstance(x, list)
                and isinstance(y, list)
                and len(x) == len(y) >= 1
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x + y)
            ):
                raise ValueError("'x' and 'y' must be lists of numbers of the same, non-zero length")
            xa, ya = np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)
            if not (
                np.all(np.isfinite(xa))
                and np.all(np.diff(xa) >= 0)
                and np.all((ya >= 0) & (ya <= 1))
                and np.all(np.diff(ya) >= 0)
            ):
                raise ValueError("'x' must be finite and increasing, 'y' non-decreasing values in [0, 1]")
            return cls("isotonic", tuple(map(float, x)), tuple(map(float, y)), samples=samples)
        raise ValueError(f"unknown calibration method {method!r} (known: isotonic, temperature, identity)")


IDENTITY = CalibrationMap()


def fit_map(method: str, p: np.ndarray, y: np.ndarray) -> CalibrationMap:
    """Fit a :class:`CalibrationMap` of ``method`` ("isotonic", "temperature" or "none") to raw
    probabilities ``p`` (m,) and outcomes ``y`` (m,) in {0, 1}. With no pairs, or only one outcome, or
    ``"none"``, the map is the identity: there is nothing to learn from."""
    p = np.asarray(p, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if p.shape != y.shape:
        raise ValueError(f"{len(p)} probabilities but {len(y)} outcomes")
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose one of {', '.join(METHODS)}")
    if method == "none" or len(p) == 0 or y.min() == y.max():
        return CalibrationMap(samples=len(p))
    if method == "temperature":
        return CalibrationMap("temperature", temperature=fit_temperature(p, y), samples=len(p))
    from sklearn.isotonic import IsotonicRegression  # fitting only: tagging never imports scikit-learn

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    iso.fit(np.concatenate([[0.0], p, [1.0]]), np.concatenate([[1.0], y, [0.0]]))
    return CalibrationMap(
        "isotonic", tuple(iso.X_thresholds_.tolist()), tuple(iso.y_thresholds_.tolist()), samples=len(p)
    )


def fit_temperature(p: np.ndarray, y: np.ndarray, iterations: int = 100) -> float:
    """The T > 0 minimising the log-loss of ``sigmoid(logit(p) / T)`` against ``y``.

    With ``z = logit(p)`` and ``u = 1/T`` the loss ``Σ log(1 + e^{u z}) - y u z`` is convex in ``u``, with
    derivative ``Σ z (σ(u z) - y)``: bisection on its sign (after bracketing) finds the minimum.
    """
    z = _logit(np.asarray(p, dtype=np.float64))

    def slope(u: float) -> float:
        return float(np.sum(z * (1.0 / (1.0 + np.exp(-u * z)) - y)))

    lo, hi = 0.0, 1.0
    while slope(hi) < 0 and hi < 1e6:  # the minimum lies beyond hi
        lo, hi = hi, 2 * hi
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    u = 0.5 * (lo + hi)
    return 1.0 / max(u, 1e-6)


@dataclass(frozen=True)
class Calibration:
    """A model's two maps: ``entity`` for span probabilities, ``token`` for per-token tag probabilities;
    ``info``: how they were fitted (held-out sentences, method, ...), saved along."""

    entity: CalibrationMap = IDENTITY
    token: CalibrationMap = IDENTITY
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity.to_dict(), "token": self.token.to_dict(), "info": dict(self.info)}

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        for key in ("entity", "token"):
            if key not in data:
                raise ValueError(f"the {key!r} map is missing")
        info = data.get("info", {})
        if not isinstance(info, dict):
            raise ValueError(f"'info' must be a JSON object, found {type(info).__name__}")
        maps = {}
        for key in ("entity", "token"):
            try:
                maps[key] = CalibrationMap.from_dict(data[key])
            except ValueError as exc:
                raise ValueError(f"the {key!r} map: {exc}") from None
        return cls(maps["entity"], maps["token"], info)
