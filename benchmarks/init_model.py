#!/usr/bin/env python
"""Adapting a trained model to a new domain with a few hundred sentences (``windowner train --init-model``),
against training from scratch on the same sentences (issue #29, item 2).

    python benchmarks/init_model.py                       # 100, 300 and 1000 sentences, seeds 0 1 2
    python benchmarks/init_model.py --sizes 300 --seeds 0

1. a base model on the project's own PER/LOC/DATE corpus: ``windowner train --train
   corpora/wn-pld.train.conll --dev corpora/wn-pld.dev.conll --out BASE`` (seed 0);
2. the first N sentences of ``../shared/corpora/gmb.train.conll`` (PER/LOC/DATE too) written to a file;
3. for each seed, (a) ``windowner train --train gmbN --out M --calibration none --seed S`` from scratch and
   (b) the same with ``--init-model BASE``: no --dev (a user with a few hundred sentences has no dev set to
   spare; gmb.dev is the test here, so it must not pick the epoch), all N sentences in SGD, the 12 epochs of
   the default;
4. ``windowner evaluate M ../shared/corpora/gmb.dev.conll --json``: entity F1 (conlleval).

Every command is printed as it runs. The table goes to stdout (Markdown), the raw numbers to
benchmarks/out/init_model.json.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "corpora"


def run(args: list[str]) -> str:
    """Run ``windowner ARGS`` in a fresh process; its stdout."""
    print("$ windowner " + " ".join(shlex.quote(a) for a in args), file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "windowner", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        sys.exit(f"windowner {args[0]} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def first_sentences(src: Path, n: int, dst: Path) -> Path:
    """The first ``n`` blank-line separated sentences of a CoNLL file (comment lines kept) into ``dst``."""
    out, count = [], 0
    with src.open(encoding="utf-8") as f:
        for line in f:
            out.append(line)
            if not line.strip():
                count += 1
                if count == n:
                    break
    dst.write_text("".join(out), encoding="utf-8")
    return dst


def f1(model: Path, test: Path) -> float:
    return float(json.loads(run(["evaluate", str(model), str(test), "--json"]))["overall"]["f1"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--work", type=Path, help="directory for the models (default: a temporary one)")
    ap.add_argument("--from-json", type=Path, metavar="FILE", help="print the tables of a saved run, measure nothing")
    args = ap.parse_args()
    if args.from_json:
        report(json.loads(args.from_json.read_text(encoding="utf-8")))
        return
    train, test = SHARED / "gmb.train.conll", SHARED / "gmb.dev.conll"
    if not (train.exists() and test.exists()):
        sys.exit(f"needs {train} and {test}")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        base = work / "base"
        run(["train", "--train", "corpora/wn-pld.train.conll", "--dev", "corpora/wn-pld.dev.conll"]
            + ["--out", str(base), "--quiet"])  # fmt: skip
        results: dict = {"base_only": f1(base, test), "runs": []}
        for n in args.sizes:
            data = first_sentences(train, n, work / f"gmb{n}.conll")
            for seed in args.seeds:
                row = {"sentences": n, "seed": seed}
                for arm, extra in (("scratch", []), ("init_model", ["--init-model", str(base)])):
                    out = work / f"{arm}-{n}-{seed}"
                    common = ["--calibration", "none", "--seed", str(seed), "--quiet"]
                    run(["train", "--train", str(data), "--out", str(out), *common, *extra])
                    row[arm] = f1(out, test)
                results["runs"].append(row)
                print(row, file=sys.stderr, flush=True)
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "init_model.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    report(results)


def report(results: dict) -> None:
    """The Markdown tables of a run: means over the seeds, then every run."""
    sizes = sorted({r["sentences"] for r in results["runs"]})
    print(f"base model (wn-pld), no gmb sentences: F1 {results['base_only']:.4f}\n")
    print("| gmb.train sentences | from scratch | --init-model base | gain |")
    print("|---:|---:|---:|---:|")
    for n in sizes:
        rows = [r for r in results["runs"] if r["sentences"] == n]
        a, b = (statistics.mean(r[k] for r in rows) for k in ("scratch", "init_model"))
        spread = (
            ""
            if len(rows) < 2
            else f" ± {statistics.stdev(r['init_model'] - r['scratch'] for r in rows):.4f}"  # sd of the gain
        )
        print(f"| {n} | {a:.4f} | {b:.4f} | {b - a:+.4f}{spread} |")
    print("\n| gmb.train sentences | seed | from scratch | --init-model base |")
    print("|---:|---:|---:|---:|")
    for r in results["runs"]:
        print(f"| {r['sentences']} | {r['seed']} | {r['scratch']:.4f} | {r['init_model']:.4f} |")


if __name__ == "__main__":
    main()
