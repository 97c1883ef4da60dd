"""Ablation of the accuracy levers (issue #18): dev F1 per lever, mean ± std over seeds, per type, training time.

Each run trains ``windowner.train(<corpus>.train.conll, dev=<corpus>.dev.conll, seed=s, **lever)`` in a fresh
process (one BLAS thread; ``--jobs`` runs go side by side) and records the dev scores of the kept model and the
wall-clock training time. Results are appended to a JSON-lines file, so an interrupted ablation resumes where
it stopped; ``--table`` prints the markdown table of ``benchmarks/RESULTS.md`` from that file.

    python benchmarks/ablation.py --corpora gmb,conll03 --levers baseline,prefix,shape --seeds 0,1,2
    python benchmarks/ablation.py --table

Needs ``../shared/corpora`` (the dev splits only; never the sealed test splits).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
RESULTS = ROOT / "benchmarks" / "ablation.jsonl"
RESOURCES = ROOT.parent / "shared" / "resources"  # issue #27's levers read these (never copied into the repo)
RCV1_CLUSTERS = str(RESOURCES / "brown" / "rcv1-c1000.txt")
GAZETTEERS = str(RESOURCES / "gazetteers")
# Brown clusters of the Reuters-21578 text (1987; no CoNLL-03 or GMB document), made by
# `windowner clusters train --text ../shared/resources/unlabelled/reuters21578.txt --out ../reuters-c1000.txt`
REUTERS_CLUSTERS = str(ROOT.parent / "reuters-c1000.txt")

# Each lever: TrainConfig fields changed from the defaults of the code being measured (the "base" row).
LEVERS: dict[str, dict] = {
    "base": {},
    "prefix": {"prefix_len": 3},
    "shape": {"shape_dim": 8},
    "gazetteer": {"gazetteer_dim": 8},
    "chars": {"prefix_len": 3, "shape_dim": 8},
    "all": {"prefix_len": 3, "shape_dim": 8, "gazetteer_dim": 8},
    "cluster": {"cluster_dim": 16},
    "window3": {"window": 3},
    "softmax": {"head": "softmax"},
    "learned": {"transitions": "learned"},
    "dropout4": {"dropout": 0.4},
    "hidden500": {"hidden": 500},
    "norefit": {"calibration": "temperature", "calibration_refit": False},
    "e8": {"epochs": 8},
    "e8d3": {"epochs": 8, "decay": 0.3},
    "e6d5": {"epochs": 6, "decay": 0.5},
    "hidden200": {"hidden": 200},
    "defaults": {},
    "avg4": {"average_from": 4},
    "avg5": {"average_from": 5},
    "defaults2": {},
    "h300e8": {"hidden": 300},
    "h200e10": {"epochs": 10},
    "h300e12": {"hidden": 300, "epochs": 12},
    "h300e15": {"hidden": 300, "epochs": 15},
    "h200e8lr2": {"hidden": 200, "epochs": 8, "lr": 0.2},
    "h300e8lr2": {"hidden": 300, "epochs": 8, "lr": 0.2},
    "okeep50": {"o_window_keep": 0.5},
    "okeep30": {"o_window_keep": 0.3},
    "okeep40": {"o_window_keep": 0.4},
    "okeep20": {"o_window_keep": 0.2},
    "okeep10": {"o_window_keep": 0.1},
    "ngram16": {"ngram_dim": 16},
    "ngram32": {"ngram_dim": 32},
    "brown": {"clusters": RCV1_CLUSTERS},
    "lists": {"gazetteers": GAZETTEERS},
    "both": {"clusters": RCV1_CLUSTERS, "gazetteers": GAZETTEERS},
    "both_bylist": {"clusters": RCV1_CLUSTERS, "gazetteers": GAZETTEERS, "lists_by": "list"},
    "both_wide": {"clusters": RCV1_CLUSTERS, "gazetteers": GAZETTEERS, "brown_dim": 64, "lists_dim": 32},
    "bylist_wide": {
        "clusters": RCV1_CLUSTERS,
        "gazetteers": GAZETTEERS,
        "lists_by": "list",
        "brown_dim": 64,
        "lists_dim": 32,
    },
    "bylist_wider": {
        "clusters": RCV1_CLUSTERS,
        "gazetteers": GAZETTEERS,
        "lists_by": "list",
        "brown_dim": 64,
        "lists_dim": 64,
    },
    "reuters": {"clusters": REUTERS_CLUSTERS},
    "reuters_lists": {"clusters": REUTERS_CLUSTERS, "gazetteers": GAZETTEERS},
    "both_h500": {"clusters": RCV1_CLUSTERS, "gazetteers": GAZETTEERS, "hidden": 500, "epochs": 15},
}


def run_one(corpus: str, lever: str, seed: int, extra: dict, save: Path | None = None) -> dict:
    """Train one model in this process; its dev scores (overall and per type) and training time (the model is
    written to ``save``/<corpus>-<lever>-<seed> when ``save`` is given)."""
    import windowner
    from windowner.evaluation.metrics import evaluate
    from windowner.text.conll import read_conll

    params = {**extra, **LEVERS[lever]}  # the lever wins over --set
    dev_path = CORPORA / f"{corpus}.dev.conll"
    t0 = time.perf_counter()
    tagger = windowner.train(CORPORA / f"{corpus}.train.conll", dev=dev_path, seed=seed, **params)
    seconds = time.perf_counter() - t0
    if save is not None:
        tagger.to_disk(save / f"{corpus}-{lever}-{seed}")
    dev = list(read_conll(dev_path))
    report = evaluate([s.tags for s in dev], tagger.model.predict([s.tokens for s in dev]))
    return {
        "corpus": corpus,
        "lever": lever,
        "seed": seed,
        "params": params,
        "train_s": round(seconds, 1),
        "epochs": len(tagger.model.history),
        "best_epoch": tagger.model.run.best_epoch,
        "f1": report.overall.f1,
        "per_type": {t: s.f1 for t, s in report.per_type.items()},
        "curve": [[h.get("dev_f1"), h.get("dev_f1_average")] for h in tagger.model.history],
    }


def ensemble(corpus: str, lever: str, seeds: list[int], save: Path) -> dict:
    """Dev scores of the seed ensemble of saved models: the mean of their tag probabilities, decoded under the
    BIO constraints (what averaging the members' predictions would give; measured, not a windowner option)."""
    import numpy as np

    import windowner
    from windowner.evaluation.metrics import evaluate
    from windowner.nn.decode import viterbi_bio
    from windowner.text.conll import read_conll

    dev = list(read_conll(CORPORA / f"{corpus}.dev.conll"))
    sents = [s.tokens for s in dev]
    models = [windowner.load(save / f"{corpus}-{lever}-{seed}").model for seed in seeds]
    logp = np.log(np.mean([np.exp(m.log_proba(sents)) for m in models], axis=0))
    lengths = [len(s) for s in sents]
    tags = np.asarray(models[0].tags, dtype=object)[viterbi_bio(logp, lengths, models[0].tags)].tolist()
    bounds = np.cumsum([0] + lengths).tolist()
    report = evaluate([s.tags for s in dev], [tags[a:b] for a, b in zip(bounds, bounds[1:])])
    return {
        "corpus": corpus,
        "lever": f"ensemble({lever}×{len(seeds)})",
        "seed": -1,
        "params": {"seeds": seeds},
        "train_s": None,
        "f1": report.overall.f1,
        "per_type": {t: s.f1 for t, s in report.per_type.items()},
    }


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(rows: list[dict], reference: str | None = None) -> str:
    """Markdown: one row per corpus × lever, F1 mean ± std over seeds (and its difference from the ``reference``
    lever, in points), per-type means, mean training time."""
    out = []
    for corpus in sorted({r["corpus"] for r in rows}, key=lambda c: (c != "gmb", c)):
        mine = [r for r in rows if r["corpus"] == corpus]
        types = sorted({t for r in mine for t in r["per_type"]})
        out += [
            f"### {corpus}.dev",
            "",
            "| lever | TrainConfig | seeds | dev F1 mean ± std | Δ points | " + " | ".join(types) + " | train s |",
            "| --- | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in types) + " | ---: |",
        ]
        levers = list(dict.fromkeys(r["lever"] for r in mine))
        ref = [r["f1"] for r in mine if r["lever"] == reference]
        for lever in levers:
            rs = [r for r in mine if r["lever"] == lever]
            f1 = [r["f1"] for r in rs]
            std = statistics.stdev(f1) if len(f1) > 1 else 0.0
            delta = f"{100 * (statistics.mean(f1) - statistics.mean(ref)):+.2f}" if ref else ""
            per = [statistics.mean(r["per_type"][t] for r in rs) for t in types]
            secs = [r["train_s"] for r in rs if r["train_s"] is not None]
            out.append(
                f"| {lever} | `{json.dumps(rs[0]['params'])}` | {len(rs)} | {statistics.mean(f1):.4f} ± {std:.4f} | "
                f"{delta} | "
                + " | ".join(f"{p:.4f}" for p in per)
                + f" | {statistics.mean(secs) if secs else float('nan'):.1f} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpora", default="gmb,conll03")
    p.add_argument("--levers", default=",".join(LEVERS), help=f"comma-separated, from {', '.join(LEVERS)}")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument(
        "--set",
        default="{}",
        help="JSON of TrainConfig fields applied to every run (e.g. a new default); a lever's own fields win",
    )
    p.add_argument("--tag", default="", help="suffix of the lever names in the results (e.g. the commit)")
    p.add_argument("--jobs", type=int, default=2, help="runs side by side, one BLAS thread each")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--table", action="store_true", help="print the markdown table of --out and stop")
    p.add_argument("--reference", help="the lever the table's Δ column is measured from")
    p.add_argument("--exclude", default="", help="comma-separated levers left out of the table")
    p.add_argument("--only", default="", help="comma-separated levers: the table holds these alone")
    p.add_argument("--save", type=Path, help="keep each trained model in this directory")
    p.add_argument(
        "--ensemble", action="store_true", help="after training, score the seed ensemble of each lever (needs --save)"
    )
    p.add_argument("--one", nargs=3, metavar=("CORPUS", "LEVER", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.table:
        skip, only = set(args.exclude.split(",")), set(filter(None, args.only.split(",")))
        rows = [r for r in load(args.out) if r["lever"] not in skip and (not only or r["lever"] in only)]
        print(table(rows, args.reference))
        return 0
    extra = json.loads(args.set)
    if args.ensemble and not args.save:
        p.error("--ensemble needs --save DIR (the members are loaded from there)")
    if args.one:
        corpus, lever, seed = args.one
        print(json.dumps(run_one(corpus, lever, int(seed), extra, args.save)))
        return 0
    if not CORPORA.is_dir():
        p.error(f"{CORPORA} not found: the ablation needs the shared corpora beside the checkout")
    levers = args.levers.split(",")
    for lever in levers:
        if lever not in LEVERS:
            p.error(f"unknown lever {lever!r}; choose from {', '.join(LEVERS)}")
    done = {(r["corpus"], r["lever"], r["seed"]) for r in load(args.out)}
    todo = [
        (c, lv, int(s))
        for c in args.corpora.split(",")
        for lv in levers
        for s in args.seeds.split(",")
        if (c, lv + args.tag, int(s)) not in done
    ]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))

    def work(job):
        corpus, lever, seed = job
        cmd = [sys.executable, __file__, "--one", corpus, lever, str(seed), "--set", args.set]
        proc = subprocess.run(
            cmd + (["--save", str(args.save)] if args.save else []), env=env, capture_output=True, text=True
        )
        if proc.returncode:
            print(f"{corpus} {lever} seed {seed} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
            return
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["lever"] += args.tag
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"{corpus:8} {row['lever']:16} seed {seed}  F1 {row['f1']:.4f}  {row['train_s']:6.1f}s  "
            f"{json.dumps({t: round(v, 4) for t, v in row['per_type'].items()})}",
            flush=True,
        )

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(work, todo))
    if args.ensemble:
        seeds = [int(s) for s in args.seeds.split(",")]
        for corpus in args.corpora.split(","):
            for lever in levers:
                row = ensemble(corpus, lever, seeds, args.save)
                row["lever"] += args.tag
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{corpus:8} {row['lever']:16} F1 {row['f1']:.4f}", flush=True)
    print(table(load(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
