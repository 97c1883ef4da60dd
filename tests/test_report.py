"""windowner.evaluation.report: error taxonomy, confusion, threshold curve, and the self-contained HTML of
evaluate --html."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from windowner.evaluation.confidence import pr_curve
from windowner.evaluation.metrics import evaluate
from windowner.evaluation.report import (
    KINDS,
    MAX_SENTENCES,
    NONE,
    ErrorAnalysis,
    Match,
    classify_errors,
    confusion,
    render_html,
    taxonomy,
)
from windowner.text.conll import read_conll
from windowner.text.tags import bio2_spans

from conftest import make_corpus

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    # (gold, pred, expected matches)
    ([("PER", 0, 2)], [("PER", 0, 2)], [("exact", ("PER", 0, 2), ("PER", 0, 2))]),
    ([("PER", 0, 2)], [("LOC", 0, 2)], [("wrong_type", ("PER", 0, 2), ("LOC", 0, 2))]),
    ([("LOC", 3, 5)], [("LOC", 4, 5)], [("wrong_boundary", ("LOC", 3, 5), ("LOC", 4, 5))]),
    ([("LOC", 3, 5)], [("PER", 2, 4)], [("wrong_both", ("LOC", 3, 5), ("PER", 2, 4))]),
    ([("DATE", 6, 7)], [], [("missed", ("DATE", 6, 7), None)]),
    ([], [("PER", 8, 9)], [("spurious", None, ("PER", 8, 9))]),
    ([("LOC", 0, 1)], [("LOC", 1, 2)], [("missed", ("LOC", 0, 1), None), ("spurious", None, ("LOC", 1, 2))]),
    # the same type is preferred, then the larger overlap; each entity is used once
    (
        [("LOC", 0, 3)],
        [("PER", 0, 1), ("LOC", 2, 3)],
        [("spurious", None, ("PER", 0, 1)), ("wrong_boundary", ("LOC", 0, 3), ("LOC", 2, 3))],
    ),
    (
        [("PER", 0, 2), ("PER", 3, 6)],
        [("PER", 1, 5)],
        [("missed", ("PER", 0, 2), None), ("wrong_boundary", ("PER", 3, 6), ("PER", 1, 5))],
    ),
    # an exact pair is never broken up for an overlapping one
    (
        [("LOC", 0, 2), ("PER", 2, 4)],
        [("LOC", 0, 2), ("LOC", 1, 4)],
        [("exact", ("LOC", 0, 2), ("LOC", 0, 2)), ("wrong_both", ("PER", 2, 4), ("LOC", 1, 4))],
    ),
]


@pytest.mark.parametrize("gold,pred,want", CASES)
def test_classify_errors(gold, pred, want):
    assert classify_errors(gold, pred) == [Match(*m) for m in want]


def test_every_kind_is_covered_by_the_cases():
    assert {m[0] for _, _, want in CASES for m in want} == set(KINDS)


def test_taxonomy_and_confusion_counts():
    gold = [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 5, 7), ("DATE", 8, 9), ("PER", 10, 11)]
    pred = [("PER", 0, 2), ("PER", 3, 4), ("LOC", 5, 6), ("LOC", 12, 13), ("DATE", 10, 11)]
    matches = classify_errors(gold, pred)
    assert taxonomy(matches) == {
        "DATE": Counter(missed=1),
        "LOC": Counter(wrong_type=1, wrong_boundary=1, spurious=1),
        "PER": Counter(exact=1, wrong_type=1),
    }
    assert confusion(matches) == Counter(
        {
            ("PER", "PER"): 1,
            ("LOC", "PER"): 1,
            ("LOC", "LOC"): 1,
            ("DATE", NONE): 1,
            (NONE, "LOC"): 1,
            ("PER", "DATE"): 1,
        }
    )


TAGS = st.lists(st.sampled_from(["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-DATE"]), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TAGS, TAGS), min_size=1, max_size=6))
def test_counts_agree_with_conlleval(pairs):
    """Random BIO2 sentences: exact matches are conlleval's correct phrases, and each entity is counted once."""
    pairs = [(g[:n], p[:n]) for g, p in pairs for n in [min(len(g), len(p))]]
    a = ErrorAnalysis()
    for g, p in pairs:
        a.add(["w"] * len(g), g, p)
    report = evaluate([g for g, _ in pairs], [p for _, p in pairs])
    gold_side, pred_side = Counter(), Counter()
    for (g, p), n in a.confusion.items():
        gold_side[g] += n
        pred_side[p] += n
    for label, s in report.per_type.items():
        c = a.counts.get(label, Counter())
        assert c["exact"] == s.correct
        assert sum(c[k] for k in KINDS if k != "spurious") == s.support == gold_side[label]
        assert pred_side[label] == s.predicted
    assert sum(a.exact) == report.overall.correct and len(a.scores) == report.overall.predicted


def test_threshold_curve_by_hand():
    points = pr_curve(
        np.array([0.9, 0.5, 0.2]), np.array([True, False, True]), n_gold=4, thresholds=np.array([0, 0.5, 0.95])
    ).points()
    assert [(p.predicted, p.correct) for p in points] == [(3, 2), (2, 1), (0, 0)]
    assert points[1].precision == 0.5 and points[1].recall == 0.25 and points[1].f1 == pytest.approx(1 / 3)
    assert points[2].precision == points[2].recall == points[2].f1 == 0.0
    with pytest.raises(ValueError):
        pr_curve(np.array([0.5]), np.array([True, False]), 1)


@pytest.fixture(scope="module")
def dev_analysis(tiny_model_dir, tiny_files):
    """The tiny model on the dev file: (analysis, conlleval report), as evaluate --html computes them."""
    from windowner.model.files import load_model

    model = load_model(tiny_model_dir)
    sents = list(read_conll(tiny_files["dev"]))
    tags, proba = model.predict([s.tokens for s in sents], with_proba=True)
    a = ErrorAnalysis()
    for s, t, p in zip(sents, tags, proba):
        a.add(s.tokens, s.tags, t, p, line=s.line)
    return a, evaluate([s.tags for s in sents], tags)


def test_curve_on_model_predictions(dev_analysis):
    a, report = dev_analysis
    points = a.curve().points()
    assert len(points) == 101 and points[0].threshold == 0 and points[-1].threshold == 1
    recall = [p.recall for p in points]
    predicted = [p.predicted for p in points]
    assert all(x >= y for x, y in zip(recall, recall[1:]))
    assert all(x >= y for x, y in zip(predicted, predicted[1:]))
    assert points[0].precision == report.overall.precision and points[0].recall == report.overall.recall
    assert points[0].predicted == report.overall.predicted and points[0].correct == report.overall.correct
    assert all(0 < s <= 1 for s in a.scores)


def scores_in_html(page: str) -> dict[str, tuple[str, str, str]]:
    rows = re.findall(
        r'<tr data-type="([^"]+)"><th>[^<]*</th><td class="p">([\d.]+)</td><td class="r">([\d.]+)</td>'
        r'<td class="f">([\d.]+)</td>',
        page,
    )
    return {t: (p, r, f) for t, p, r, f in rows}


def scores_printed(text: str) -> dict[str, tuple[str, str, str]]:
    out = {}
    m = re.search(r"precision:\s+([\d.]+)%; recall:\s+([\d.]+)%; FB1:\s+([\d.]+)", text.splitlines()[1])
    out["overall"] = m.groups()
    for t, p, r, f in re.findall(
        r"^\s+(\S+): precision:\s+([\d.]+)%; recall:\s+([\d.]+)%; FB1:\s+([\d.]+)", text, re.M
    ):
        out[t] = (p, r, f)
    return out


def test_report_numbers_equal_metrics(dev_analysis):
    a, report = dev_analysis
    page = render_html(a, report)
    assert scores_in_html(page) == scores_printed(report.format())
    for label, s in report.per_type.items():
        assert a.counts[label]["exact"] == s.correct
        assert f'<td class="count" data-type="{label}" data-kind="exact">{s.correct}</td>' in page


def test_html_is_self_contained(dev_analysis):
    page = render_html(*dev_analysis, source="dev.conll", model="tiny")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<script[^>]*\ssrc=|<link\b|<img\b|<iframe\b|@import|url\(", page, re.I)
    assert "default-src 'none'" in page  # the page cannot fetch anything, even if it tried
    assert "<svg" in page and "<polyline" in page


def test_html_escapes_text():
    a = ErrorAnalysis()
    a.add(
        ["<script>alert(1)</script>", "met", "O'Hara", "&", "Bob"],
        ["B-PER", "O", "B-PER", "O", "B-PER"],
        ["B-LOC", "O", "O", "O", "B-PER"],
        np.ones(5),
    )
    page = render_html(
        a,
        evaluate([["B-PER", "O", "B-PER", "O", "B-PER"]], [["B-LOC", "O", "O", "O", "B-PER"]]),
        source='<img src=x onerror="alert(2)">.conll',
    )
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    assert "O&#x27;Hara" in page and " &amp; " in page
    assert page.count("<script>") == 1  # only the page's own script


def noisy(pairs, rate: float, seed: int):
    """Predicted tags: the gold ones with some entities relabelled, dropped or shortened, and some spurious."""
    rng = random.Random(seed)
    out = []
    for _, tags in pairs:
        pred = list(tags)
        for label, a, b in bio2_spans(tags):
            r = rng.random()
            if r < rate / 3:
                pred[a:b] = ["O"] * (b - a)
            elif r < 2 * rate / 3:
                other = "PER" if label == "LOC" else "LOC"
                pred[a:b] = [f"B-{other}"] + [f"I-{other}"] * (b - a - 1)
            elif r < rate and b - a > 1:
                pred[b - 1] = "O"
        if rng.random() < rate / 2 and pred[-1] == "O":
            pred[-1] = "B-DATE"
        out.append(pred)
    return out


def test_50k_token_file_renders_a_bounded_page():
    pairs = make_corpus(6000, 7)
    assert sum(len(t) for t, _ in pairs) > 50_000
    preds = noisy(pairs, 0.5, 1)
    a = ErrorAnalysis()
    for (tokens, gold), pred in zip(pairs, preds):
        a.add(tokens, gold, pred, np.linspace(0.5, 1.0, len(tokens)))
    page = render_html(a, evaluate([g for _, g in pairs], preds))
    assert a.error_sentences > MAX_SENTENCES and len(a.kept) == MAX_SENTENCES
    assert f"{a.error_sentences:,} sentences have errors; the first {MAX_SENTENCES:,} are listed" in page
    assert page.count('<div class="sent"') == MAX_SENTENCES
    assert len(page.encode()) < 6_000_000, len(page.encode())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "windowner", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_cli_html_writes_the_report_and_keeps_the_table(tiny_model_dir, tiny_files, tmp_path):
    out = tmp_path / "report.html"
    with_html = run_cli("evaluate", str(tiny_model_dir), str(tiny_files["dev"]), "--html", str(out))
    plain = run_cli("evaluate", str(tiny_model_dir), str(tiny_files["dev"]))
    assert with_html.returncode == 0 and plain.returncode == 0, with_html.stderr

    def table(out: str) -> list[str]:
        return [line for line in out.splitlines() if "tokens/s" not in line]

    assert table(with_html.stdout) == table(plain.stdout)
    assert f"wrote {out}" in with_html.stderr
    page = out.read_text(encoding="utf-8")
    assert scores_in_html(page) == scores_printed(plain.stdout)
    assert "dev.conll" in page and tiny_model_dir.name in page


def test_cli_html_into_a_missing_directory_fails_before_tagging(tiny_model_dir, tiny_files, tmp_path):
    r = run_cli("evaluate", str(tiny_model_dir), str(tiny_files["dev"]), "--html", str(tmp_path / "no" / "r.html"))
    assert r.returncode == 2 and "its directory does not exist" in r.stderr and "Traceback" not in r.stderr


def test_fill_takes_every_mark_once_and_nothing_else():
    from windowner.evaluation.pages import fill

    assert fill("<p>{{a}} {{b}}</p>", a="{{b}}", b="&lt;x&gt;") == "<p>{{b}} &lt;x&gt;</p>"  # values are not rescanned
    with pytest.raises(ValueError):
        fill("<p>{{a}} {{b}}</p>", a="1")
    with pytest.raises(ValueError):
        fill("<p></p>", a="1")


def test_report_and_serve_page_share_one_label_css():
    from windowner.evaluation.pages import label_css
    from windowner.integrations.serve import page_html

    a = ErrorAnalysis()
    a.add(["Bob"], ["B-PER"], ["B-LOC"])
    page = render_html(a, evaluate([["B-PER"]], [["B-LOC"]]))
    assert ".c0{" in label_css() and label_css() in page and label_css() in page_html()
    assert "{{" not in page and "{{" not in page_html()


def test_cli_html_draws_the_curve_of_every_entity_once(tiny_model_dir, tiny_files, tmp_path):
    """With --threshold the report's curve is the one of --json (all entities), not of the entities kept."""
    import json

    out = tmp_path / "report.html"
    r = run_cli(
        "evaluate", str(tiny_model_dir), str(tiny_files["dev"]), "--html", str(out), "--json", "--threshold", "0.9"
    )
    assert r.returncode == 0, r.stderr
    curve = json.loads(r.stdout)["confidence"]["pr_curve"]
    page = out.read_text(encoding="utf-8")
    rows = re.findall(
        r"<tr(?: class=best)?><td>([\d.]+)</td><td>[\d.]+</td><td>[\d.]+</td><td>[\d.]+</td>"
        r"<td>(\d+)</td><td>(\d+)</td></tr>",
        page,
    )
    assert rows and rows[0][0] == "0.00"
    assert (int(rows[0][1]), int(rows[0][2])) == (curve["predicted"][0], curve["correct"][0])
    assert "the scores above keep those at t = 0.9" in page
