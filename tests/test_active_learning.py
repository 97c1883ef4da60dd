"""``benchmarks/active_learning.py``: the simulated annotator on a tiny generated corpus, two rounds through the
Annotator (the page's code path), the report built from its rows, and the skip without ../shared."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from conftest import make_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def al():
    """``benchmarks/active_learning.py`` as a module (it imports ``run`` from its own folder)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("active_learning", ROOT / "benchmarks" / "active_learning.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_oracle_spans_are_the_gold_entities(al):
    text, spans = al.oracle(
        ["Anna", "Chen", "visited", "New", "York", "."], ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"]
    )
    assert text == "Anna Chen visited New York ."
    assert [(text[s["start"] : s["end"]], s["label"]) for s in spans] == [("Anna Chen", "PER"), ("New York", "LOC")]


@pytest.mark.filterwarnings("ignore::windowner.errors.LabelWarning")  # the answers relabel LOC as GPE
@pytest.mark.parametrize("order", ["uncertain", "random"])
def test_two_rounds_through_the_annotator(al, tiny_tagger, tmp_path, order):
    pool = [(t, [g.replace("LOC", "GPE") for g in tags]) for t, tags in make_corpus(60, 11)]  # a new label too
    dev = make_corpus(30, 12)
    seen = []
    rows = al.simulate(
        tiny_tagger, pool, dev, tmp_path / "answers.jsonl", order, 0, rounds=2, round_size=10,
        add_labels=["GPE"], hyper={"epochs": 2}, on_round=seen.append,
    )  # fmt: skip
    assert rows == seen and [r["answered"] for r in rows] == [0, 10, 20]
    assert [r.get("version") for r in rows] == [None, 1, 2]
    assert rows[-1]["trained_on"] == 16 and rows[-1]["heldout"] == 4  # every 5th answer held out, as the page
    assert "GPE" in rows[-1]["labels"] and rows[-1]["dropped_spans"] == 0
    assert all(0 <= r["f1"] <= 1 for r in rows) and all(r["retrain_seconds"] > 0 for r in rows[1:])
    assert len((tmp_path / "answers.jsonl").read_text().splitlines()) == 20  # the answers file of the page


def test_report_from_rows(al, tmp_path):
    rows = []
    for order, gain in (("random", 0.0), ("uncertain", 0.1)):
        for seed in (0, 1):
            for k in range(3):
                f1 = min(1.0, 0.5 + 0.1 * k + gain * (k > 0) + 0.01 * seed)
                rows.append({"corpus": "gmb", "order": order, "seed": seed, "round_size": 50, "epochs": 15,
                             "round": k, "answered": 50 * k, "f1": f1, "retrain_seconds": 1.0,
                             "fit_seconds": 0.5, "trained_on": 40 * k})  # fmt: skip
    assert al.summary(rows) == [
        {
            "corpus": "gmb",
            "at": 100,
            "random_f1": pytest.approx(0.705),
            "start_f1": pytest.approx(0.505),
            "uncertain_needs": 50,
            "stays_from": 50,
        }
    ]
    # the starting model does not count as reaching a target: answers are what is measured
    flat = [dict(r, f1=0.9 if r["answered"] == 0 else r["f1"]) for r in rows]
    assert al.summary(flat)[0]["uncertain_needs"] == 50
    timing = [{"kind": "timing", "corpus": "gmb", "seed": 0, "answered": 1000, "trained_on": 800,
               "retrain_seconds": 9.0, "fit_seconds": 6.0, "loadavg": [1.0, 2.0]}]  # fmt: skip
    section = al.render(rows, al.command(rows), timing)
    assert section.startswith(al.BEGIN) and section.endswith(al.END)
    assert "a retrain round on 1000 gmb answers (800 trained on, the pool re-ranked) took 9.0 s" in section
    assert (
        "--corpora gmb --seeds 0 1 --rounds 2 --round-size 50" in section
        and "reaches it with **50** answers" in section
    )
    al.plot(rows, tmp_path / "al.png")
    assert (tmp_path / "al.png").stat().st_size > 1000


def test_skips_without_the_corpora(al, tmp_path, capsys):
    assert al.main(["--corpora-dir", str(tmp_path), "--raw", str(tmp_path / "raw.jsonl")]) == 0
    assert "skipped" in capsys.readouterr().out and not (tmp_path / "raw.jsonl").exists()
