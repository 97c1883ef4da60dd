"""Scaling of ``windowner tag --workers N``: tokens/s with 1 and 2 Dask workers, and per-worker overhead.

    python benchmarks/dask_scaling.py [--model DIR] [--conll FILE] [--workers 1 2] [--repeats 3] [--json OUT]

Text: the tokens of a CoNLL file joined into one document per sentence line (default
../shared/corpora/gmb.train.conll if present, else corpora/wn-pld.train.conll, else a generated corpus).
Model: ``--model``, else ``models/default``, else a model trained here for one epoch (speed does not
depend on accuracy, only on the architecture: the default one, hidden 300, window 2).

Measured, each the best of ``--repeats`` on a warm cluster:
- single process: ``Tagger.pipe`` plus JSON formatting in this process (what ``windowner tag`` does);
- N workers: the same batches as Dask tasks through the CLI's ordered streaming (``map_ordered``),
  formatted output shipped back to this process and written to /dev/null;
- overhead: starting the LocalCluster, each worker's first model load (spaCy import included), and CPU
  time: tokens per CPU-second of all processes (workers + this one, which also runs the scheduler), a
  measure of Dask's per-task cost that stays meaningful when other jobs compete for the cores.
The machine may be shared: wall-clock figures are noisy; the best of the repeats is the least disturbed run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora"


def corpus(path: str | None, max_sentences: int) -> tuple[str, list[list[str]]]:
    from windowner.text.conll import read_conll

    candidates = [Path(path)] if path else [SHARED / "gmb.train.conll", ROOT / "corpora" / "wn-pld.train.conll"]
    for p in candidates:
        if p.exists():
            sents = [s.tokens for s in read_conll(p, tag_column=None)][:max_sentences]
            return str(p), sents
    if path:
        sys.exit(f"{path}: no such file")
    return "generated", generated(max_sentences)


def generated(n: int, seed: int = 0) -> list[list[str]]:
    rng = random.Random(seed)
    names = ["Anna Kowalski", "Kofi Mensah", "Mei Chen", "Ivan Petrov", "Omar Haddad", "Priya Sharma"]
    places = ["Paris", "Lagos", "New York", "Cairo", "Buenos Aires", "Sri Lanka"]
    dates = ["Monday", "5 May 2009", "last Tuesday", "the 1990s", "next year"]
    frames = [
        "{P} visited {L} on {D} .",
        "Officials in {L} met {P} {D} to discuss trade and prices .",
        "{P} said the talks in {L} would resume {D} , after weeks of delays .",
    ]
    return [
        rng.choice(frames).format(P=rng.choice(names), L=rng.choice(places), D=rng.choice(dates)).split()
        for _ in range(n)
    ]


def model_dir(path: str | None, sents: list[list[str]], tmp: Path) -> Path:
    if path:
        return Path(path)
    if (ROOT / "models" / "default" / "config.json").exists():
        return ROOT / "models" / "default"
    from windowner.model.config import TrainConfig
    from windowner.model.files import save_model
    from windowner.model.training import fit
    from windowner.text.conll import read_conll

    print("training a throw-away model (1 epoch, default architecture) ...", file=sys.stderr)
    for src in (SHARED / "gmb.train.conll", ROOT / "corpora" / "wn-pld.train.conll"):
        if src.exists():
            pairs = [(s.tokens, s.tags) for s in read_conll(src)][:2000]
            break
    else:  # tags do not matter for speed; every label just has to occur
        pairs = [(s, [f"B-{('PER', 'LOC', 'DATE')[i % 3]}"] + ["O"] * (len(s) - 1)) for i, s in enumerate(sents[:2000])]
    model = fit(pairs, None, TrainConfig(epochs=1, seed=0), progress=False, log=None)
    return save_model(model, tmp / "model")


def batches(lines: list[str], batch_size: int):
    for first in range(0, len(lines), batch_size):
        yield "text", lines[first : first + batch_size], first


def single_process(model: Path, lines: list[str], batch_size: int) -> float:
    from windowner.cli.tag import _format_batch
    from windowner.tagger import load

    tagger = load(model)
    list(tagger.pipe(lines[:100]))  # spaCy tokenizer and vectors warm
    t, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w") as out:
        for kind, items, first in batches(lines, batch_size):
            out.write(_format_batch(tagger, kind, items, first, "json"))
    return time.perf_counter() - t, time.process_time() - cpu


def _first_load(model_dir: str) -> float:
    """On a worker: seconds to load the model and tag one text (spaCy import included)."""
    from windowner.integrations.dask import worker_tagger

    t = time.perf_counter()
    with worker_tagger(model_dir) as tagger:
        tagger("Warm up in Paris.")
    return time.perf_counter() - t


def on_dask(model: Path, lines: list[str], batch_size: int, workers: int, repeats: int) -> dict:
    from windowner.cli.tag import _format_batch_on_worker
    from windowner.integrations.dask import connect, map_ordered

    t = time.perf_counter()
    with connect(workers=workers) as client:
        client.wait_for_workers(workers, timeout=120)
        startup = time.perf_counter() - t
        loads = client.run(_first_load, str(model.resolve()))
        times, cpus = [], []
        for _ in range(repeats):
            cpu0, driver0 = client.run(time.process_time), time.process_time()
            t = time.perf_counter()
            with open(os.devnull, "w") as out:
                tasks = (
                    (str(model.resolve()), kind, items, first, "json")
                    for kind, items, first in batches(lines, batch_size)
                )
                for text in map_ordered(client, _format_batch_on_worker, tasks):
                    out.write(text)
            times.append(time.perf_counter() - t)
            cpu1 = client.run(time.process_time)
            cpus.append(time.process_time() - driver0 + sum(cpu1[w] - cpu0[w] for w in cpu0))
    # the scheduler runs in this process (LocalCluster): its CPU time is part of the driver's
    return {
        "startup_s": startup,
        "first_load_s": sorted(loads.values()),
        "seconds": min(times),
        "all_seconds": times,
        "cpu_seconds": min(cpus),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--conll", default=None, help="CoNLL file whose sentences become the text lines")
    ap.add_argument("--sentences", type=int, default=6640, help="at most this many sentences (default 6640)")
    ap.add_argument("--copies", type=int, default=3, help="repeat the corpus this many times (more work per run)")
    ap.add_argument("--batch-size", type=int, default=500, help="lines per Dask task (and per model call)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="also write the results as JSON to this file")
    args = ap.parse_args()

    source, sents = corpus(args.conll, args.sentences)
    sents = sents * args.copies
    lines = [" ".join(s) for s in sents]
    n_tokens = sum(len(s) for s in sents)
    with tempfile.TemporaryDirectory() as tmp:
        model = model_dir(args.model, sents, Path(tmp))
        results = {
            "source": source,
            "documents": len(lines),
            "tokens": n_tokens,
            "batch_size": args.batch_size,
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
            "runs": [],
        }
        runs = [single_process(model, lines, args.batch_size) for _ in range(args.repeats)]
        single = min(t for t, _ in runs)
        results["runs"].append(
            {
                "setting": "single process",
                "seconds": single,
                "all_seconds": [t for t, _ in runs],
                "cpu_seconds": min(c for _, c in runs),
                "tokens_per_s": n_tokens / single,
            }
        )
        for n in args.workers:
            r = on_dask(model, lines, args.batch_size, n, args.repeats)
            results["runs"].append(
                {
                    "setting": f"dask, {n} worker{'s' * (n > 1)}",
                    **r,
                    "tokens_per_s": n_tokens / r["seconds"],
                    "speedup": single / r["seconds"],
                }
            )
        for r in results["runs"]:
            r["tokens_per_cpu_s"] = n_tokens / r["cpu_seconds"]
    results["load_average_after"] = os.getloadavg()[0]

    print(
        f"corpus: {source}, {len(lines):,} documents, {n_tokens:,} tokens; batch {args.batch_size}; "
        f"{os.cpu_count()} CPUs, load average {results['load_average']:.1f} -> {results['load_average_after']:.1f}\n"
    )
    print(
        f"| setting | wall s (best of {args.repeats}) | tokens/s | vs single | tokens per CPU-s | cluster start s "
        "| model load per worker s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results["runs"]:
        extra = (
            f"{r['startup_s']:.1f} | " + ", ".join(f"{x:.1f}" for x in r["first_load_s"])
            if "startup_s" in r
            else "– | –"
        )
        print(
            f"| {r['setting']} | {r['seconds']:.2f} | {r['tokens_per_s']:,.0f} | {r.get('speedup', 1.0):.2f} "
            f"| {r['tokens_per_cpu_s']:,.0f} | {extra} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
