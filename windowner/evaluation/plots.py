"""Pictures of confidence: precision/recall/F1 against the threshold, and the reliability diagram.

matplotlib is imported only when a plot is drawn (it is not a dependency of tagging) and draws off-screen
(the Agg canvas, no pyplot state, no display needed). Inputs come from :mod:`windowner.evaluation.confidence`.
"""

from __future__ import annotations

import os

from ..errors import WindownerError
from .confidence import PRCurve, Reliability


def _figure(width: float = 5.6, height: float = 4.0):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise WindownerError(
            "plots need matplotlib, which is not installed; install it with `pip install matplotlib`"
        ) from None
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike) -> None:
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise WindownerError(f"{path}: cannot write the plot ({exc.strerror or exc})") from None


def plot_pr_curve(curve: PRCurve, path: str | os.PathLike, title: str = "", marked: float | None = None) -> None:
    """Precision, recall and F1 against the threshold; the best-F1 threshold (and ``marked``) as lines."""
    fig = _figure()
    ax = fig.add_subplot()
    kept = curve.predicted > 0  # where nothing is kept precision is undefined: leave it out
    ax.plot(curve.threshold[kept], curve.precision[kept], label="precision", color="tab:blue")
    ax.plot(curve.threshold, curve.recall, label="recall", color="tab:orange")
    ax.plot(curve.threshold, curve.f1, label="F1", color="tab:green", linewidth=2)
    best = curve.best()
    ax.axvline(curve.threshold[best], color="tab:green", linestyle=":", linewidth=1)
    ax.annotate(
        f"best F1 {curve.f1[best]:.3f}\nat {curve.threshold[best]:.2f}",
        (curve.threshold[best], curve.f1[best]),
        xytext=(8, -30),
        textcoords="offset points",
        fontsize=8,
    )
    if marked is not None and marked > 0:
        ax.axvline(marked, color="grey", linestyle="--", linewidth=1, label=f"--threshold {marked:g}")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="threshold (keep entities scoring at least this)",
        ylabel="entity precision, recall, F1 (conlleval)",
        title=title or "Precision, recall and F1 against the threshold",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def plot_reliability(rel: Reliability, path: str | os.PathLike, title: str = "") -> None:
    """Reliability diagram: fraction of entities exactly right against their mean score, per score bin, with
    the diagonal of perfect calibration, the ECE, and the number of entities per bin below."""
    fig = _figure(5.0, 5.2)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = rel.edges[1] - rel.edges[0]
    centres = rel.edges[:-1] + width / 2
    filled = rel.count > 0
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    top.bar(
        centres[filled],
        rel.accuracy[filled],
        width=width * 0.9,
        color="tab:blue",
        alpha=0.75,
        label="fraction exactly right",
    )
    top.plot(
        rel.confidence[filled],
        rel.accuracy[filled],
        "o",
        color="tab:red",
        markersize=4,
        label="bin: (mean score, fraction right)",
    )
    top.set(
        xlim=(0, 1),
        ylim=(0, 1),
        ylabel="fraction exactly right",
        title=title or f"Entity scores: ECE {rel.ece:.3f} over {int(rel.count.sum()):,} entities",
    )
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.bar(centres, rel.count, width=width * 0.9, color="tab:grey")
    bottom.set(xlabel="entity score", ylabel="entities")
    bottom.set_yscale("symlog")
    fig.tight_layout()
    _save(fig, path)
