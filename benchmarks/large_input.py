#!/usr/bin/env python
"""Memory of `windowner tag` on large inputs: peak RSS must not grow with the size of the input.

    python benchmarks/large_input.py                       # 500k and 5M tokens, text and CoNLL input
    python benchmarks/large_input.py --sizes 100000,1000000 --model models/default

Writes synthetic text (one document per line) and CoNLL (one token per line) files of each size into a
temporary directory, runs ``windowner tag`` on each in a fresh process (output to a file) and prints its
peak resident set size (from ``/usr/bin/time -v`` when present, else ``getrusage(RUSAGE_CHILDREN)``) and
its speed. The words follow a Zipf law over a large synthetic vocabulary, with fresh numbers and names
throughout, so the number of distinct tokens keeps growing with the input as it does in real text;
``--closed-vocab`` draws from 5 000 words only, which separates growth with the input from growth with
the vocabulary (caches of token types: windowner's is capped at 2 million types, spaCy's tokenizer's is
not). Without ``--model`` a small model is trained on generated sentences first (a few seconds).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Anna", "Kofi", "Mei", "Ivan", "Lucia", "Omar", "Priya", "Jonas", "Amara", "Diego", "Yuki", "Fatima"]
LAST = ["Kowalski", "Mensah", "Chen", "Petrov", "Rossi", "Haddad", "Sharma", "Berg", "Osei", "Alvarez"]
PLACES = ["Paris", "Lagos", "New York", "Cairo", "Lima", "Oslo", "Hanoi", "Buenos Aires", "Kenya", "Peru"]
DATES = ["Monday", "5 May 2009", "last Tuesday", "March 3rd", "2014", "the 1990s", "yesterday", "June"]
FRAMES = [
    "{P} visited {L} on {D} .",
    "On {D} , {P} arrived in {L} with {W} .",
    "{W} {W} in {L} , said {P} .",
    "The {W} of {L} rose {N} percent {D} .",
    "{P} met {W} {W} officials about {W} .",
    "{W} {W} {W} {W} .",
]
OPEN_VOCAB, CLOSED_VOCAB = 200_000, 5_000


def _words(rng: random.Random, vocab: int):
    """Zipf-distributed synthetic words (about 1/rank), from a vocabulary of ``vocab`` words."""
    ranks = [int(vocab ** rng.random()) for _ in range(100_000)]  # log-uniform rank ~ Zipf(1)
    i = 0
    while True:
        i = (i + 1) % len(ranks)
        yield f"w{ranks[i]:x}"


def sentences(n_tokens: int, seed: int = 0, closed: bool = False):
    """Yield (tokens, tags) sentences until about n_tokens tokens; unless ``closed``, fresh numbers and
    surnames keep appearing."""
    rng = random.Random(seed)
    words = _words(rng, CLOSED_VOCAB if closed else OPEN_VOCAB)
    fresh = 100 if closed else 10**6
    total = 0
    while total < n_tokens:
        toks, tags = [], []
        for part in rng.choice(FRAMES).split():
            if part == "{P}":
                ws, label = (
                    [rng.choice(FIRST), rng.choice(LAST) if rng.random() < 0.8 else f"Mc{rng.randrange(fresh)}"],
                    "PER",
                )
            elif part in ("{L}", "{D}"):
                ws, label = rng.choice(PLACES if part == "{L}" else DATES).split(), "LOC" if part == "{L}" else "DATE"
            elif part == "{W}":
                ws, label = [next(words)], None
            elif part == "{N}":
                ws, label = [str(rng.randrange(fresh))], None
            else:
                ws, label = [part], None
            toks += ws
            tags += ["O"] * len(ws) if label is None else [f"B-{label}"] + [f"I-{label}"] * (len(ws) - 1)
        total += len(toks)
        yield toks, tags


def write_inputs(d: Path, n_tokens: int, closed: bool) -> tuple[Path, Path, int, int]:
    """A text file (5 sentences per line) and a CoNLL file with the same tokens; returns both, the number
    of tokens and the number of distinct tokens."""
    text, conll = d / f"in-{n_tokens}.txt", d / f"in-{n_tokens}.conll"
    count, distinct = 0, set()
    with open(text, "w", encoding="utf-8") as ft, open(conll, "w", encoding="utf-8") as fc:
        line = []
        for toks, _ in sentences(n_tokens, seed=n_tokens, closed=closed):
            count += len(toks)
            distinct.update(toks)
            line.append(" ".join(toks))
            fc.write("".join(f"{t} O\n" for t in toks) + "\n")
            if len(line) == 5:
                ft.write(" ".join(line) + "\n")
                line = []
        if line:
            ft.write(" ".join(line) + "\n")
    return text, conll, count, len(distinct)


def train_model(d: Path) -> Path:
    from windowner.model.config import TrainConfig
    from windowner.model.files import save_model
    from windowner.model.training import fit

    data = list(sentences(60_000, seed=1))
    model = fit(data[:-300], data[-300:], TrainConfig(hidden=100, epochs=3), progress=False, log=None)
    return save_model(model, d / "model")


def peak_rss(cmd: list[str], stdout) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one command run in a fresh process."""
    t0 = time.perf_counter()
    if Path("/usr/bin/time").exists():
        r = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
        kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
        return seconds, kib / 1024
    # getrusage(RUSAGE_CHILDREN) is the maximum over all children so far: measure from a fresh helper process
    helper = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)"
    )
    r = subprocess.run([sys.executable, "-c", helper, *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    maxrss = int(r.stderr.strip().splitlines()[-1])
    return seconds, maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="500000,5000000", help="token counts, comma-separated (default 500k and 5M)")
    ap.add_argument("--model", default=None, help="model directory (default: train a small one)")
    ap.add_argument("--inputs", default="text,conll", help="input formats to run (default text,conll)")
    ap.add_argument("--closed-vocab", action="store_true", help="draw words from 5 000 only, no fresh numbers/names")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    d = Path(tempfile.mkdtemp(prefix="windowner-large-"))
    try:
        t0 = time.perf_counter()
        model = Path(args.model) if args.model else train_model(d)
        print(f"model: {model}" + ("" if args.model else f" (trained in {time.perf_counter() - t0:.0f}s)"))
        kinds = args.inputs.split(",")
        print(
            f"{'input':<7} {'tokens':>10} {'distinct':>9} {'docs/sents':>10} {'seconds':>8} {'tokens/s':>10} "
            f"{'peak RSS':>10}"
        )
        results = {}
        for n in sizes:
            text, conll, count, distinct = write_inputs(d, n, args.closed_vocab)
            for kind, path, extra in (("text", text, []), ("conll", conll, ["--input-format", "conll"])):
                if kind not in kinds:
                    continue
                out = d / f"out-{n}-{kind}"
                cmd = [sys.executable, "-m", "windowner", "tag", str(model), str(path), *extra]
                with open(out, "w", encoding="utf-8") as f:
                    seconds, rss = peak_rss(cmd, f)
                with open(out, encoding="utf-8") as f:
                    units = sum(1 for line in f if line.strip() == "") if kind == "conll" else sum(1 for _ in f)
                results[kind, n] = rss
                print(
                    f"{kind:<7} {count:>10,} {distinct:>9,} {units:>10,} {seconds:>8.1f} {count / seconds:>10,.0f} "
                    f"{rss:>7.0f} MiB",
                    flush=True,
                )
                out.unlink()
            text.unlink()
            conll.unlink()
        if len(sizes) > 1:
            lo, hi = min(sizes), max(sizes)
            for kind in kinds:
                print(f"{kind}: {hi / lo:.0f}x the input, {results[kind, hi] / results[kind, lo]:.2f}x the peak RSS")
    finally:
        if args.keep:
            print(f"kept {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
