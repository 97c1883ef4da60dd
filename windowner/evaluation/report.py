"""Error analysis of predicted entities against gold ones, and ``windowner evaluate --html``'s report.

The pure functions work on the entity spans of one sentence, ``(label, start, end_exclusive)`` in
tokens, as :func:`windowner.text.conll.bio2_spans` returns them:

* :func:`classify_errors` pairs gold and predicted entities and names each outcome, the usual
  nervaluate / SemEval-2013 taxonomy: ``exact`` (same span, same type), ``wrong_type`` (same span, other
  type), ``wrong_boundary`` (overlapping span, same type), ``wrong_both`` (overlapping span, other
  type), ``missed`` (a gold entity no prediction overlaps) and ``spurious`` (a prediction that overlaps no
  gold entity). Every gold and every predicted entity is used exactly once (a second prediction overlapping
  an already paired gold entity is spurious), so per type the five gold-side outcomes add up to the gold
  count and ``exact`` is conlleval's correct count.
* :func:`taxonomy` and :func:`confusion` count outcomes; :meth:`ErrorAnalysis.curve` gives precision, recall
  and F1 when only predictions with a score of at least ``t`` are kept
  (:func:`windowner.evaluation.confidence.pr_curve`).

:class:`ErrorAnalysis` collects all of it sentence by sentence (bounded: it keeps at most
``max_sentences`` sentences with errors), and :func:`render_html` writes one self-contained HTML page:
inline CSS, JavaScript and SVG, every text escaped, nothing fetched. The page, its CSS and its script are the
template files ``templates/report.html``, ``report.css`` and ``report.js`` (see :mod:`windowner.evaluation.pages`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from ..text.tags import bio2_spans
from .confidence import CurvePoint, PRCurve, pr_curve
from .metrics import Report
from .pages import escape as _e
from .pages import fill, label_css, template

Span = tuple[str, int, int]

KINDS = ("exact", "wrong_type", "wrong_boundary", "wrong_both", "missed", "spurious")
ERROR_KINDS = KINDS[1:]
KIND_TITLES = {
    "exact": "exact match",
    "wrong_type": "right span, wrong type",
    "wrong_boundary": "right type, wrong boundary",
    "wrong_both": "wrong boundary and type",
    "missed": "missed",
    "spurious": "spurious",
}
NONE = "none"  # the confusion matrix's row / column for "no entity"
MAX_SENTENCES = 2000  # sentences with errors kept for the report; the rest are only counted
PAGE_SIZE = 25  # sentences shown per page of the report


class Match(NamedTuple):
    """One outcome: a gold entity, a predicted one, or a pair of them, and what kind of outcome it is."""

    kind: str
    gold: Span | None
    pred: Span | None

    @property
    def label(self) -> str:
        """The type the outcome is counted under: the gold entity's, or the prediction's for ``spurious``."""
        return self._span[0]

    @property
    def position(self) -> tuple[int, int]:
        return self._span[1], self._span[2]

    @property
    def _span(self) -> Span:
        """The gold entity, or the prediction for ``spurious`` (every outcome has one of them)."""
        span = self.gold or self.pred
        if span is None:
            raise ValueError("an outcome without a gold or a predicted entity")
        return span


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a[2], b[2]) - max(a[1], b[1]))


def classify_errors(gold_spans: Iterable[Span], pred_spans: Iterable[Span]) -> list[Match]:
    """Pair the gold and predicted entities of one sentence and classify each outcome (see the module doc).

    Pairs are chosen in order of preference: identical spans, then the same boundaries with another type,
    then overlapping spans (same type first, then the larger overlap, then the earlier position). Each
    entity is in exactly one :class:`Match`; the result is sorted by position.
    """
    gold, pred = list(dict.fromkeys(gold_spans)), list(dict.fromkeys(pred_spans))
    free_gold, free_pred = set(range(len(gold))), set(range(len(pred)))
    out: list[Match] = []

    def pair(kind: str, i: int, j: int) -> None:
        free_gold.discard(i)
        free_pred.discard(j)
        out.append(Match(kind, gold[i], pred[j]))

    where = {g: i for i, g in enumerate(gold)}
    for j, p in enumerate(pred):
        if p in where:
            pair("exact", where[p], j)
    bounds = {gold[i][1:]: i for i in sorted(free_gold)}
    for j in sorted(free_pred):
        i = bounds.pop(pred[j][1:], None)
        if i is not None:
            pair("wrong_type", i, j)
    candidates = sorted(
        (gold[i][0] != pred[j][0], -_overlap(gold[i], pred[j]), gold[i][1], pred[j][1], i, j)
        for i in free_gold
        for j in free_pred
        if _overlap(gold[i], pred[j]) > 0
    )
    for other_type, _, _, _, i, j in candidates:
        if i in free_gold and j in free_pred:
            pair("wrong_both" if other_type else "wrong_boundary", i, j)
    out += [Match("missed", gold[i], None) for i in free_gold]
    out += [Match("spurious", None, pred[j]) for j in free_pred]
    out.sort(key=lambda m: (m.position, m.pred is not None))
    return out


def taxonomy(matches: Iterable[Match]) -> dict[str, Counter]:
    """Per type (see :attr:`Match.label`), how many outcomes of each kind; types sorted by name."""
    counts: dict[str, Counter] = {}
    for m in matches:
        counts.setdefault(m.label, Counter())[m.kind] += 1
    return dict(sorted(counts.items()))


def confusion(matches: Iterable[Match]) -> Counter:
    """Counts of ``(gold type, predicted type)`` over all outcomes; :data:`NONE` stands for no entity."""
    return Counter((m.gold[0] if m.gold else NONE, m.pred[0] if m.pred else NONE) for m in matches)


class ErrorSentence(NamedTuple):
    """A sentence with at least one error: its number in the file (0-based), first line, tokens, outcomes,
    and the score of each predicted span."""

    index: int  # type: ignore[assignment]  # a public field name, shadowing tuple.index
    line: int | None
    tokens: list[str]
    matches: list[Match]
    scores: dict[Span, float]


class ErrorAnalysis:
    """Outcome counts, confusion, prediction scores and sentences with errors, collected sentence by sentence.

    Memory grows with the number of predicted entities (one score each) and at most ``max_sentences``
    sentences with errors, not with the length of the file.
    """

    def __init__(self, max_sentences: int = MAX_SENTENCES):
        self.max_sentences = max_sentences
        self.counts: dict[str, Counter] = {}
        self.confusion: Counter = Counter()
        self.scores: list[float] = []
        self.exact: list[bool] = []
        self.n_gold = 0
        self.sentences = 0
        self.error_sentences = 0
        self.kept: list[ErrorSentence] = []

    def add(
        self,
        tokens: Sequence[str],
        gold_tags: Sequence[str],
        pred_tags: Sequence[str],
        proba: Sequence[float] | np.ndarray | None = None,
        line: int | None = None,
        ent_scores: Sequence[tuple[str, int, int, float]] | None = None,
    ) -> list[Match]:
        """Add one sentence and return its outcomes. Tags are BIO2; an entity's score is its entry of
        ``ent_scores`` (label, start, end, score) if given, else the mean of ``proba`` (each predicted tag's
        probability) over its tokens, else 1."""
        if not len(tokens) == len(gold_tags) == len(pred_tags):
            raise ValueError(
                f"sentence {self.sentences}: {len(tokens)} tokens, {len(gold_tags)} gold tags, "
                f"{len(pred_tags)} predicted tags"
            )
        gold, pred = bio2_spans(gold_tags), bio2_spans(pred_tags)
        matches = classify_errors(gold, pred)
        for label, kinds in taxonomy(matches).items():
            self.counts.setdefault(label, Counter()).update(kinds)
        self.confusion.update(confusion(matches))
        p = None if proba is None else np.asarray(proba, dtype=np.float64)
        given = {} if ent_scores is None else {(lab, a, b): float(sc) for lab, a, b, sc in ent_scores}
        scores = {s: given[s] if s in given else float(p[s[1] : s[2]].mean()) if p is not None else 1.0 for s in pred}
        exact = {m.pred for m in matches if m.kind == "exact"}
        self.scores += scores.values()
        self.exact += (s in exact for s in scores)
        self.n_gold += len(gold)
        if any(m.kind != "exact" for m in matches):
            if len(self.kept) < self.max_sentences:
                self.kept.append(ErrorSentence(self.sentences, line, list(tokens), matches, scores))
            self.error_sentences += 1
        self.sentences += 1
        return matches

    @property
    def labels(self) -> list[str]:
        """Every type seen in gold or predictions, sorted."""
        return sorted({lab for pair in self.confusion for lab in pair} - {NONE})

    def curve(self, thresholds: Sequence[float] | None = None) -> PRCurve:
        """Precision, recall and F1 of the predictions added so far, against the score threshold."""
        return pr_curve(
            np.asarray(self.scores, dtype=np.float64),
            np.asarray(self.exact, dtype=bool),
            self.n_gold,
            None if thresholds is None else np.asarray(thresholds, dtype=np.float64),
        )


# ------------------------------------------------------------------------------------------- HTML


def _scores_table(report: Report) -> str:
    rows = [("overall", report.overall, "overall")] + [(name, s, name) for name, s in report.per_type.items()]
    body = []
    for name, s, key in rows:
        p, r, f = s.percentages()
        body.append(
            f'<tr data-type="{_e(key)}"><th>{_e(name)}</th><td class="p">{p:.2f}</td><td class="r">'
            f'{r:.2f}</td><td class="f">{f:.2f}</td><td>{s.support}</td><td>{s.predicted}</td>'
            f"<td>{s.correct}</td></tr>"
        )
    return (
        '<table id="scores"><thead><tr><th>type</th><th>precision %</th><th>recall %</th><th>F1</th>'
        "<th>gold</th><th>predicted</th><th>correct</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _taxonomy_table(a: ErrorAnalysis, colors: dict[str, int]) -> str:
    head = "".join(f'<th class="k-{k}">{_e(KIND_TITLES[k])}</th>' for k in KINDS)
    rows = []
    totals: Counter = Counter()
    for label in a.labels:
        c = a.counts.get(label, Counter())
        totals.update(c)
        cells = "".join(f'<td class="count" data-type="{_e(label)}" data-kind="{k}">{c[k]}</td>' for k in KINDS)
        rows.append(f'<tr><th><span class="tag c{colors[label]}">{_e(label)}</span></th>{cells}</tr>')
    total = "".join(f'<td class="count" data-type="" data-kind="{k}">{totals[k]}</td>' for k in KINDS)
    return (
        f'<table id="taxonomy"><thead><tr><th>type</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        f"<tfoot><tr><th>all</th>{total}</tr></tfoot></table>"
    )


def _confusion_table(a: ErrorAnalysis, colors: dict[str, int]) -> str:
    axis = a.labels + [NONE]
    diag_peak = max((n for (g, p), n in a.confusion.items() if g == p), default=1)
    off_peak = max((n for (g, p), n in a.confusion.items() if g != p), default=1)
    head = "".join(f"<th>{_e(p)}</th>" for p in axis)
    rows = []
    for g in axis:
        cells = []
        for p in axis:
            n = a.confusion.get((g, p), 0)
            if g == NONE and p == NONE:
                cells.append('<td class="na">–</td>')
                continue
            cls, peak = ("diag", diag_peak) if g == p else ("off", off_peak)
            cells.append(
                f'<td class="{cls}" data-gold="{_e(g)}" data-pred="{_e(p)}" style="--a:{0.7 * n / peak:.3f}">{n}</td>'
            )
        tag = f'<span class="tag c{colors[g]}">{_e(g)}</span>' if g != NONE else NONE
        rows.append(f"<tr><th>{tag}</th>{''.join(cells)}</tr>")
    return (
        f'<table id="confusion"><thead><tr><th>gold ↓ / predicted →</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _curve_svg(points: list[CurvePoint]) -> str:
    """The curve as inline SVG; drawn while at least one prediction is kept, the y axis zoomed to the data."""
    points = [pt for pt in points if pt.predicted] or points[:1]
    w, h, left, right, top, bottom = 600, 300, 48, 16, 14, 40
    pw, ph = w - left - right, h - top - bottom
    lo = min(0.9, np.floor(10 * min(min(pt[1:4]) for pt in points)) / 10)

    def y(v: float) -> float:
        return top + (1 - (v - lo) / (1 - lo)) * ph

    grid = []
    for i in range(11):
        t, v = i / 10, lo + i * (1 - lo) / 10
        x = left + t * pw
        grid.append(
            f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>'
            f'<text x="{x:.1f}" y="{top + ph + 16}" text-anchor="middle">{t:.1f}</text>'
        )
    lines = []
    for name, field in (("precision", 1), ("recall", 2), ("f1", 3)):
        pts = " ".join(f"{left + pt.threshold * pw:.1f},{y(pt[field]):.1f}" for pt in points)
        lines.append(f'<polyline class="curve {name}" points="{pts}"><title>{name}</title></polyline>')
    best = max(points, key=lambda pt: (pt.f1, -pt.threshold))
    bx = left + best.threshold * pw
    marker = (
        f'<line class="best" x1="{bx:.1f}" x2="{bx:.1f}" y1="{top}" y2="{top + ph}"/>'
        f'<circle class="dot" cx="{bx:.1f}" cy="{y(best.f1):.1f}" r="4"/>'
    )
    legend = "".join(
        f'<g transform="translate({left + 12 + 110 * i},{top + ph - 12})"><line class="curve {c}" '
        f'x1="0" x2="22" y1="0" y2="0"/><text x="28" y="4">{n}</text></g>'
        for i, (n, c) in enumerate((("precision", "precision"), ("recall", "recall"), ("F1", "f1")))
    )
    return (
        f'<svg id="curve" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        f'aria-label="precision, recall and F1 against the score threshold">{"".join(grid)}'
        f'<text x="{left + pw / 2}" y="{h - 4}" text-anchor="middle">keep entities with score ≥ t</text>'
        f"{''.join(lines)}{marker}{legend}</svg>"
    )


def _curve_section(curve: PRCurve, threshold: float) -> str:
    points = curve.points()
    if not points or not points[0].predicted:
        return "<p>No predicted entities: there is no curve to draw.</p>"
    best = max(points, key=lambda pt: (pt.f1, -pt.threshold))
    shown = [points[0]] + [pt for pt in points if round(pt.threshold, 2) in (0.5, 0.7, 0.8, 0.9, 0.95)]
    if best not in shown:
        shown.append(best)
    rows = "".join(
        f"<tr{' class=best' if pt is best else ''}><td>{pt.threshold:.2f}</td><td>{100 * pt.precision:.2f}"
        f"</td><td>{100 * pt.recall:.2f}</td><td>{100 * pt.f1:.2f}</td><td>{pt.predicted}</td>"
        f"<td>{pt.correct}</td></tr>"
        for pt in sorted(shown, key=lambda pt: pt.threshold)
    )
    scores_above = "(the scores above)" if threshold == 0 else f"(the scores above keep those at t = {threshold:g})"
    return (
        f"<p>Best F1 {100 * best.f1:.2f} at t = {best.threshold:.2f} (vertical line); t = 0 keeps every "
        f"prediction {scores_above}. An entity's score is the tagger's <code>ent.score</code>.</p>"
        f'<div class="curvebox">{_curve_svg(points)}<table id="thresholds"><thead><tr><th>t</th>'
        f"<th>P %</th><th>R %</th><th>F1</th><th>predicted</th><th>correct</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _marked(tokens: list[str], spans: list[tuple[Span, str, float | None]], colors: dict[str, int]) -> str:
    """Tokens as escaped text, with ``spans`` (span, outcome kind, score) as labelled marks."""
    out, i = [], 0
    for (label, a, b), kind, score in sorted(spans, key=lambda s: s[0][1]):
        if a < i:  # overlapping spans cannot be drawn in one line; never the case for BIO2 tags
            continue
        out.append(_e(" ".join(tokens[i:a])))
        badge = _e(label) + (f" {score:.2f}" if score is not None else "")
        title = _e(KIND_TITLES[kind]) + (f", score {score:.3f}" if score is not None else "")
        out.append(
            f' <mark class="ent c{colors.get(label, 0)} k-{kind}" title="{title}">{_e(" ".join(tokens[a:b]))}'
            f'<span class="lab">{badge}</span></mark> '
        )
        i = b
    out.append(_e(" ".join(tokens[i:])))
    return "".join(out)


def _sentence(s: ErrorSentence, colors: dict[str, int]) -> str:
    errors = [m for m in s.matches if m.kind != "exact"]
    keys = " ".join(sorted({f"{m.kind}:{m.label}" for m in errors}))
    chips = "".join(f'<span class="chip k-{m.kind}">{_e(KIND_TITLES[m.kind])} · {_e(m.label)}</span>' for m in errors)
    gold: list[tuple[Span, str, float | None]] = [(m.gold, m.kind, None) for m in s.matches if m.gold]
    pred: list[tuple[Span, str, float | None]] = [(m.pred, m.kind, s.scores.get(m.pred)) for m in s.matches if m.pred]
    where = f"sentence {s.index + 1}" + (f", line {s.line}" if s.line is not None else "")
    return (
        f'<div class="sent" data-errors="{_e(keys)}"><div class="where">{_e(where)} {chips}</div>'
        f'<div class="row"><span class="side">gold</span><span class="toks">{_marked(s.tokens, gold, colors)}'
        f'</span></div><div class="row"><span class="side">pred</span><span class="toks">'
        f"{_marked(s.tokens, pred, colors)}</span></div></div>"
    )


def render_html(
    analysis: ErrorAnalysis,
    report: Report,
    *,
    source: str | None = None,
    model: str | None = None,
    version: str | None = None,
    page_size: int = PAGE_SIZE,
    curve: PRCurve | None = None,
    threshold: float = 0.0,
    notes: Sequence[str] = (),
) -> str:
    """One self-contained HTML page: scores (``report``, a :class:`windowner.evaluation.metrics.Report` of the same
    data), error taxonomy, type confusion, the threshold curve and the sentences with errors.

    ``curve`` is the precision/recall/F1 curve to draw (default: :meth:`ErrorAnalysis.curve`); ``windowner
    evaluate`` passes the one it computed for all predicted entities, ``threshold`` the ``--threshold`` that the
    scores were computed at; ``notes`` are shown above the scores (what was scored, entity types the data and
    the model do not share)."""
    a = analysis
    colors = {label: i % 8 for i, label in enumerate(a.labels)}
    meta = " · ".join(
        _e(x)
        for x in (
            f"file {source}" if source else None,
            f"model {model}" if model else None,
            f"{report.tokens:,} tokens, {a.sentences:,} sentences",
            f"windowner {version}" if version else None,
        )
        if x
    )
    note = ""
    if a.error_sentences > len(a.kept):
        note = (
            f'<p class="note" id="cap-note">{a.error_sentences:,} sentences have errors; the first '
            f"{len(a.kept):,} are listed here (the counts above include them all).</p>"
        )
    package = __name__.rpartition(".")[0]
    return fill(
        template(package, "report.html"),
        title_source=(" – " + _e(source)) if source else "",
        css=label_css() + template(package, "report.css"),
        meta=meta,
        accuracy=f"{report.accuracy_percent():.2f}",
        scores=_scores_table(report),
        type_notes="".join(f'<p class="note type-note">{_e(n)}</p>' for n in notes),
        taxonomy=_taxonomy_table(a, colors),
        confusion=_confusion_table(a, colors),
        curve=_curve_section(a.curve() if curve is None else curve, threshold),
        note=note,
        kind_options="".join(f'<option value="{k}">{_e(KIND_TITLES[k])}</option>' for k in ERROR_KINDS),
        type_options="".join(f'<option value="{_e(t)}">{_e(t)}</option>' for t in a.labels),
        page_size=str(int(page_size)),
        sentences="".join(_sentence(s, colors) for s in a.kept),
        js=template(package, "report.js"),
    )
