#!/usr/bin/env python
"""What a model's resources cost where users are (issue #27): model size, load time and tagging speed.

For each model directory, in fresh processes (the child program of benchmarks/user_path.py: import windowner,
load the model, tag the dev sentences pre-tokenized twice), the median over ``--repeats`` runs of the load time
(import + ``windowner.load``), the cold pass (the first, with every type new) and the warm pass, and the size of
the directory on disk. Models are those ``benchmarks/ablation.py --save DIR`` kept (``<corpus>-<lever>-<seed>``).

    python benchmarks/ablation.py --corpora conll03,gmb --levers base,both --seeds 0 --save /tmp/models
    python benchmarks/resource_costs.py /tmp/models/conll03-base-0 /tmp/models/conll03-both-0 --repeats 3

Prints a markdown table (the "cost" columns of the resource ablation in benchmarks/RESULTS.md) and, with
``--json FILE``, writes the raw numbers. Needs ``../shared/corpora`` (the dev splits only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from user_path import _WINDOWNER_PRE  # noqa: E402  (the fresh-process tagging program)

CORPORA = HERE.parent.parent / "shared" / "corpora"


def dev_sentences(corpus: str) -> list[list[str]]:
    from windowner.text.conll import read_conll

    return [s.tokens for s in read_conll(CORPORA / f"{corpus}.dev.conll")]


def measure(model: Path, sents_file: Path, repeats: int) -> dict:
    """Median load / cold / warm seconds over ``repeats`` fresh processes, and the directory's size in bytes."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", _WINDOWNER_PRE, str(model), str(sents_file)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    size = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    return {key: statistics.median(r[key] for r in runs) for key in ("load", "cold", "warm")} | {"bytes": size}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+", type=Path, help="model directories named <corpus>-<lever>-<seed>")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, help="write the raw numbers here")
    args = p.parse_args(argv)
    if not CORPORA.is_dir():
        print(f"{CORPORA} not found: this benchmark needs the shared corpora beside the checkout", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sents_files: dict[str, Path] = {}
        for model in args.models:
            corpus = model.name.split("-", 1)[0]
            if corpus not in sents_files:
                sents_files[corpus] = Path(tmp) / f"{corpus}.json"
                sents_files[corpus].write_text(json.dumps(dev_sentences(corpus)), encoding="utf-8")
            n_tokens = sum(map(len, json.loads(sents_files[corpus].read_text(encoding="utf-8"))))
            m = measure(model, sents_files[corpus], args.repeats)
            rows.append({"model": model.name, "corpus": corpus, "tokens": n_tokens, **m})
            print(f"{model.name}: {m}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print("| model | size MB | load s | cold tok/s | warm tok/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['model']} | {r['bytes'] / 1e6:.1f} | {r['load']:.2f} | {r['tokens'] / r['cold']:,.0f} "
            f"| {r['tokens'] / r['warm']:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
