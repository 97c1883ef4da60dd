"""Calibration benchmark: train the default models, then measure on dev how far their entity scores can be trusted.

    python benchmarks/calibration.py                 # train on ../shared/corpora, print the table
    python benchmarks/calibration.py --reuse --write # reuse trained models; update benchmarks/RESULTS.md and docs/

For gmb and conll03: ``windowner train --train X.train --dev X.dev`` with the default options (the last 10 % of
the training file is held out from SGD to fit the calibration maps; dev only picks the best epoch), then
``windowner evaluate MODEL X.dev --json``: entity P/R/F1 at the default threshold 0, the ECE of the entity
scores (10 equal-width bins over the predicted entities) and of the token probabilities, and the threshold
with the best dev F1. ``benchmarks/calibration_before.json`` holds the same figures measured before
calibration (entity score = mean probability of the chosen tags; models trained on the whole training file).
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
CORPORA = ("gmb", "conll03")


def windowner(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "windowner", *args], check=True, capture_output=True,
                          text=True, cwd=ROOT).stdout


def measure(corpus: str, corpora: Path, out: Path, reuse: bool, plots: Path | None) -> dict:
    model = out / corpus
    train, dev = corpora / f"{corpus}.train.conll", corpora / f"{corpus}.dev.conll"
    seconds = None
    if not (reuse and (model / "config.json").exists()):
        t0 = time.perf_counter()
        windowner("train", "--train", str(train), "--dev", str(dev), "--out", str(model), "--quiet")
        seconds = round(time.perf_counter() - t0, 1)
    extra = ["--pr-curve", str(plots / "pr_curve.png"), "--calibration", str(plots / "calibration.png")] if plots else []
    report = json.loads(windowner("evaluate", str(model), str(dev), "--json", *extra))
    conf = report["confidence"]
    info = json.loads((model / "calibration.json").read_text(encoding="utf-8"))["info"]
    return {"corpus": corpus, "f1": report["overall"]["f1"], "precision": report["overall"]["precision"],
            "recall": report["overall"]["recall"], "entity_ece": conf["entity"]["ece"],
            "token_ece": conf["token"]["ece"], "entities": sum(conf["entity"]["count"]),
            "best_threshold": conf["best_threshold"], "held_out_sentences": info["held_out_sentences"],
            "train_seconds": seconds}


def table(rows: list[dict], before: dict) -> str:
    lines = ["| corpus | dev F1 before → after (threshold 0) | entity ECE before → after | token ECE after | "
             "entities | best dev F1 (threshold) | held-out sentences |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        b = before.get(r["corpus"], {})
        bt = r["best_threshold"]
        lines.append(f"| {r['corpus']} | {b.get('f1', float('nan')):.4f} → {r['f1']:.4f} | "
                     f"{b.get('ece', float('nan')):.3f} → {r['entity_ece']:.3f} | {r['token_ece']:.3f} | "
                     f"{r['entities']:,} | {bt['f1']:.4f} ({bt['threshold']:g}) | {r['held_out_sentences']:,} |")
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
        block = (f"<!-- calibration -->\n## Calibration (issue #19)\n\n"
                 f"Command: `python benchmarks/calibration.py{' --reuse' if args.reuse else ''} --write` "
                 f"(commit {windowner_commit()}). {before['_note']}\n\n{text}\n\n{note}"
                 f"ECE: 10 equal-width score bins over the predicted entities, Σ n_b/N · |accuracy_b − mean score_b|; "
                 f"an entity is right when its label and both boundaries match. Plots for {CORPORA[0]} dev: "
                 f"[PR curve](../docs/pr_curve.png), [reliability diagram](../docs/calibration.png).\n"
                 f"<!-- /calibration -->")
        old = results.read_text(encoding="utf-8")
        new = re.sub(r"<!-- calibration -->.*?<!-- /calibration -->", lambda _: block, old, flags=re.S)
        results.write_text(new if new != old or block in old else old.rstrip("\n") + "\n\n" + block + "\n",
                           encoding="utf-8")
    return 0


def windowner_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
