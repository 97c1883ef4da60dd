"""Calibration benchmark: train the default models, then measure on dev how far their entity scores can be trusted.

    python benchmarks/calibration.py                 # train on ../shared/corpora, print the table
    python benchmarks/calibration.py --reuse --write # reuse trained models; update benchmarks/RESULTS.md and docs/

For gmb and conll03: ``windowner train --train X.train --dev X.dev`` with the default options (the model
trains once on the whole training file; dev picks the best epoch and the calibration maps are fitted on
dev), then ``windowner evaluate MODEL X.dev --json``: entity P/R/F1 at the default threshold 0, the ECE of
the entity scores (10 equal-width bins over the predicted entities) and of the token probabilities, and the
threshold with the best dev F1. Dev is then the data the maps were fitted on, so the ECE that counts is the
*cross-fitted* one: the maps refitted on one half of dev (contiguous), the ECE measured on the other half,
and the other way round; the table gives the entity-weighted mean of the two.
``benchmarks/calibration_before.json`` holds the same figures measured before calibration (entity score =
mean probability of the chosen tags; models trained on the whole training file).
With ``--write`` the table goes into RESULTS.md between ``<!-- calibration -->`` markers, and the PR curve and
reliability diagram of the first corpus into ``docs/pr_curve.png`` and ``docs/calibration.png``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import run as bench  # noqa: E402  (benchmarks/run.py: the commit helper)

CORPORA = ("gmb", "conll03")


def windowner(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "windowner", *args], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout


def cross_fitted_ece(model_dir: Path, dev_path: Path) -> float:
    """Entity ECE on each half of dev of the calibration refitted on the other half (the model's own method),
    weighted by the halves' numbers of predicted entities."""
    sys.path.insert(0, str(ROOT))
    import windowner
    from windowner.evaluation.confidence import Outcomes, expected_calibration_error
    from windowner.model.training import calibrate
    from windowner.text.conll import read_conll

    model = windowner.load(model_dir).model
    method = model.calibration.info["method"]
    dev = [(s.tokens, s.tags) for s in read_conll(dev_path)]
    half = len(dev) // 2
    total, weight = 0.0, 0
    for fit_on, measure_on in ((dev[:half], dev[half:]), (dev[half:], dev[:half])):
        calibrate(model, fit_on, method)
        seen = Outcomes()
        seen.add([g for _, g in measure_on], model.predict_scored([t for t, _ in measure_on]))
        total += expected_calibration_error(seen.entity_scores, seen.entity_correct) * len(seen.entity_scores)
        weight += len(seen.entity_scores)
    return total / weight


def measure(corpus: str, corpora: Path, out: Path, reuse: bool, plots: Path | None) -> dict:
    model = out / corpus
    train, dev = corpora / f"{corpus}.train.conll", corpora / f"{corpus}.dev.conll"
    seconds = None
    if not (reuse and (model / "config.json").exists()):
        t0 = time.perf_counter()
        windowner("train", "--train", str(train), "--dev", str(dev), "--out", str(model), "--quiet")
        seconds = round(time.perf_counter() - t0, 1)
    extra = (
        ["--pr-curve", str(plots / "pr_curve.png"), "--calibration", str(plots / "calibration.png")] if plots else []
    )
    report = json.loads(windowner("evaluate", str(model), str(dev), "--json", *extra))
    conf = report["confidence"]
    info = json.loads((model / "calibration.json").read_text(encoding="utf-8"))["info"]
    return {
        "corpus": corpus,
        "f1": report["overall"]["f1"],
        "precision": report["overall"]["precision"],
        "recall": report["overall"]["recall"],
        "entity_ece": conf["entity"]["ece"],
        "token_ece": conf["token"]["ece"],
        "entities": sum(conf["entity"]["count"]),
        "best_threshold": conf["best_threshold"],
        "held_out_sentences": info["held_out_sentences"],
        "fitted_on": info.get("fitted_on", "held-out"),
        "entity_ece_cross_fitted": cross_fitted_ece(model, dev),
        "train_seconds": seconds,
    }


def table(rows: list[dict], before: dict) -> str:
    lines = [
        "| corpus | dev F1 before → after (threshold 0) | entity ECE before → after (cross-fitted on dev halves) | "
        "entity ECE on the data fitted on | token ECE | entities | best dev F1 (threshold) | maps fitted on |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        b = before.get(r["corpus"], {})
        bt = r["best_threshold"]
        lines.append(
            f"| {r['corpus']} | {b.get('f1', float('nan')):.4f} → {r['f1']:.4f} | "
            f"{b.get('ece', float('nan')):.3f} → {r['entity_ece_cross_fitted']:.3f} | {r['entity_ece']:.3f} | "
            f"{r['token_ece']:.3f} | {r['entities']:,} | {bt['f1']:.4f} ({bt['threshold']:g}) | "
            f"{r['fitted_on']} ({r['held_out_sentences']:,} sentences) |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "calibration", help="model directories")
    p.add_argument("--reuse", action="store_true", help="evaluate models already in --out instead of training")
    p.add_argument("--write", action="store_true", help="update RESULTS.md and docs/*.png")
    p.add_argument("--note", default="", help="a paragraph to add under the table (how the models were made, ...)")
    args = p.parse_args()
    before = json.loads((ROOT / "benchmarks" / "calibration_before.json").read_text(encoding="utf-8"))
    plots = ROOT / "docs" if args.write else None
    rows = [measure(c, args.corpora, args.out, args.reuse, plots if i == 0 else None) for i, c in enumerate(CORPORA)]
    text = table(rows, before)
    print(text)
    print(json.dumps(rows, indent=1), file=sys.stderr)
    if args.write:
        results = ROOT / "benchmarks" / "RESULTS.md"
        note = f"{args.note}\n\n" if args.note else ""
        block = (
            f"<!-- calibration -->\n## Calibration (issue #19)\n\n"
            f"Command: `python benchmarks/calibration.py{' --reuse' if args.reuse else ''} --write` "
            f"(commit {bench.commit()}). {before['_note']}\n\n{text}\n\n{note}"
            f"ECE: 10 equal-width score bins over the predicted entities, Σ n_b/N · |accuracy_b − mean score_b|; "
            f"an entity is right when its label and both boundaries match. Plots for {CORPORA[0]} dev: "
            f"[PR curve](../docs/pr_curve.png), [reliability diagram](../docs/calibration.png).\n"
            f"<!-- /calibration -->"
        )
        old = results.read_text(encoding="utf-8")
        new = re.sub(r"<!-- calibration -->.*?<!-- /calibration -->", lambda _: block, old, flags=re.S)
        results.write_text(
            new if new != old or block in old else old.rstrip("\n") + "\n\n" + block + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
