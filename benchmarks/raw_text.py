#!/usr/bin/env python
"""Raw text against pre-tokenized input: how much entity F1 does tokenizing and sentence splitting cost?

    python benchmarks/raw_text.py                                  # trains default models, measures; RESULTS.md
    python benchmarks/raw_text.py --model-gmb M1 --model-conll03 M2 --no-write
    python benchmarks/raw_text.py --reuse                          # an earlier run's models (benchmarks/out/raw-text/)

For each dev set (``gmb.dev``, ``conll03.dev`` from ``../shared/corpora``), every sentence is tagged three
ways by the same model:

(a) **pre-tokenized**: the gold tokens, ``tagger.tag_tokens``;
(b) **raw, spaces**: the tokens joined by single spaces, ``tagger.pipe`` (so only the tokenizer's
    decisions not to split, and sentence splitting, can go wrong);
(c) **raw, natural**: the tokens detokenized the natural way — no space before ``, . ; : ! ? ) 's n't %``
    (nor before the other clitics ``'re 've 'll 'm 'd``), none after ``( $`` — then ``tagger.pipe``.

Each sentence is one text. Scoring is at character-offset level: a predicted entity counts only if its
start, end and label equal a gold entity's, the gold spans being those of the gold tokens in the text
(for (a), the predicted token spans mapped to the same offsets). Reported per corpus and input: entity
precision, recall and F1, per-type F1, the share of texts whose tokens equal the gold tokens, the number
of texts cut into more than one sentence, and raw-text speed (tokens/s of ``pipe`` in batches of 1000 on
the dev texts repeated to ``--min-tokens``; median of ``--repeats``).

Without ``--model-*``, default models are trained first with ``windowner train --train X.train.conll --dev
X.dev.conll`` (dev for early stopping) into ``benchmarks/out/raw-text/`` (git-ignored). A run on both
corpora writes its tables into ``benchmarks/RESULTS.md`` between ``<!-- raw-text -->`` and
``<!-- /raw-text -->`` (``--no-write``: print only; ``--json FILE``: also the raw numbers).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (benchmarks/run.py: the commit helper)

OUT = HERE / "out" / "raw-text"
CORPORA = ("gmb", "conll03")
NO_SPACE_BEFORE = frozenset(
    {",", ".", ";", ":", "!", "?", ")", "%", "'s", "'S", "n't", "N'T", "'re", "'ve", "'ll", "'m", "'d"}
)
NO_SPACE_AFTER = frozenset({"(", "$"})
INPUTS = {"pre": "(a) pre-tokenized", "spaces": "(b) raw, spaces", "natural": "(c) raw, natural"}
BEGIN, END = "<!-- raw-text -->", "<!-- /raw-text -->"


def say(msg: str) -> None:
    print(f"[raw_text] {msg}", file=sys.stderr, flush=True)


def join_spaces(tokens: Sequence[str]) -> tuple[str, list[int]]:
    """(b): the tokens joined by single spaces, and each token's start offset."""
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    return " ".join(tokens), starts


def detokenize(tokens: Sequence[str]) -> tuple[str, list[int]]:
    """(c): the tokens joined the natural way (see the module docstring), and each token's start offset."""
    parts: list[str] = []
    starts: list[int] = []
    pos = 0
    for i, t in enumerate(tokens):
        if i and t not in NO_SPACE_BEFORE and tokens[i - 1] not in NO_SPACE_AFTER:
            parts.append(" ")
            pos += 1
        starts.append(pos)
        parts.append(t)
        pos += len(t)
    return "".join(parts), starts


def char_spans(tokens: Sequence[str], starts: Sequence[int], tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """The (start_char, end_char, label) of every BIO2 entity of ``tags``."""
    from windowner.text.tags import bio2_spans

    return {(starts[a], starts[b - 1] + len(tokens[b - 1]), label) for label, a, b in bio2_spans(list(tags))}


def prf(gold: list[set], pred: list[set], label: str | None = None) -> dict[str, float]:
    """Micro precision, recall and F1 of exact (start, end, label) matches (of one label, or all)."""
    keep = (lambda s: s) if label is None else (lambda s: {e for e in s if e[2] == label})
    tp = n_gold = n_pred = 0
    for g, p in zip(gold, pred):
        g, p = keep(g), keep(p)
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def measure(tagger, sentences: list[tuple[list[str], list[str]]], min_tokens: int, repeats: int) -> dict:
    """Scores (and raw-text speed) of the three inputs on ``sentences`` (gold tokens, BIO2 tags)."""
    labels = tagger.labels
    tokens = [t for t, _ in sentences]
    n_tokens = sum(map(len, tokens))
    out = {}
    pre_tags = tagger.tag_tokens(tokens)
    for key in INPUTS:
        if key == "pre":
            texts, starts = zip(*(detokenize(t) for t in tokens))
            pred = [char_spans(t, s, tags) for t, s, tags in zip(tokens, starts, pre_tags)]
            same, cut = len(tokens), 0
        else:
            texts, starts = zip(*((join_spaces if key == "spaces" else detokenize)(t) for t in tokens))
            docs = list(tagger.pipe(list(texts), batch_size=1000))
            pred = [{(e.start_char, e.end_char, e.label) for e in d.ents} for d in docs]
            same = sum([tok.text for tok in d.tokens] == t for d, t in zip(docs, tokens))
            cut = sum(len(tagger.segment(x).cuts) > 2 for x in texts)
        gold = [char_spans(t, s, tags) for t, s, (_, tags) in zip(tokens, starts, sentences)]
        row = {
            **prf(gold, pred),
            "per_type": {lab: prf(gold, pred, lab)["f1"] for lab in labels},
            "tokens_as_gold": same / len(tokens),
            "texts_cut": cut,
        }
        if key != "pre":
            big = list(texts) * max(1, -(-min_tokens // n_tokens))
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _doc in tagger.pipe(big, batch_size=1000):
                    pass
                times.append(time.perf_counter() - t0)
            row["tok_s"] = n_tokens * (len(big) // len(texts)) / statistics.median(times)
        out[key] = row
    return out


def train_default(corpus: str, corpora_dir: Path, out: Path) -> float:
    """``windowner train`` with the default recipe (dev for early stopping) into ``out``; seconds taken."""
    say(f"training a default model on {corpus}.train (dev for early stopping) into {out.relative_to(ROOT)}")
    t0 = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "windowner",
        "train",
        "--train",
        str(corpora_dir / f"{corpus}.train.conll"),
        "--dev",
        str(corpora_dir / f"{corpus}.dev.conll"),
        "--out",
        str(out),
        "--quiet",
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"raw_text.py: training on {corpus} failed:\n{proc.stderr.strip()[-2000:]}")
    return time.perf_counter() - t0


def table(corpus: str, labels: list[str], rows: dict) -> list[str]:
    """The markdown table of one corpus."""
    head = [
        "input",
        "P",
        "R",
        "F1",
        "Δ F1 (points)",
        *[f"{lab} F1" for lab in labels],
        "tokens as gold",
        "texts cut",
        "tok/s",
    ]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    base = rows["pre"]["f1"]
    for key, title in INPUTS.items():
        r = rows[key]
        cells = [
            title,
            f"{r['precision']:.4f}",
            f"{r['recall']:.4f}",
            f"{r['f1']:.4f}",
            "—" if key == "pre" else f"{100 * (r['f1'] - base):+.2f}",
            *[f"{r['per_type'][lab]:.4f}" for lab in labels],
            f"{100 * r['tokens_as_gold']:.1f} %",
            str(r["texts_cut"]),
            f"{r['tok_s']:,.0f}" if "tok_s" in r else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(results: dict, meta: dict) -> str:
    """The RESULTS.md section (between the markers)."""
    lines = [
        BEGIN,
        "## Raw text against pre-tokenized input",
        "",
        f"Generated by `{meta['command']}` (`make bench` runs it; how it measures: the docstring of "
        "`benchmarks/raw_text.py`); "
        f"{meta['date']}, commit {meta['commit']}, load average at start {meta['loadavg']}.",
        "",
        "Each dev sentence is one text: (a) the gold tokens, (b) the tokens joined by single spaces, (c) the "
        "tokens detokenized the natural way (no space before `, . ; : ! ? ) 's n't %`, none after `( $`). "
        "Entities are scored at character level (exact start, end and label). *tokens as gold*: texts whose "
        "tokens equal the gold tokens; *texts cut*: texts split into more than one sentence; tok/s: "
        f"raw-text tagging (`pipe`, dev texts repeated to {meta['min_tokens']:,} tokens, median of "
        f"{meta['repeats']}).",
        "",
    ]
    for corpus, r in results.items():
        lines += [f"### {corpus}.dev", "", f"Model: {r['model']}.", ""]
        lines += table(corpus, r["labels"], r["rows"]) + [""]
    lines.append(END)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--corpora-dir", type=Path, default=ROOT.parent / "shared" / "corpora")
    p.add_argument("--corpora", default=",".join(CORPORA), help="comma-separated, of gmb,conll03")
    for c in CORPORA:
        p.add_argument(f"--model-{c}", type=Path, default=None, help=f"a model directory for {c} (default: train one)")
    p.add_argument("--reuse", action="store_true", help="use the models of an earlier run in benchmarks/out/raw-text/")
    p.add_argument("--min-tokens", type=int, default=300_000, help="raw-text speed measured on this many tokens")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--results", type=Path, default=HERE / "RESULTS.md", help="the file that gets the tables")
    p.add_argument("--no-write", action="store_true", help="print the tables, write no file")
    p.add_argument("--json", type=Path, default=None, help="also write the raw numbers to this JSON file")
    args = p.parse_args(argv)
    corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    unknown = sorted(set(corpora) - set(CORPORA))
    if unknown:
        p.error(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(CORPORA)}")
    if not os.environ.get("PYTHONPATH"):  # run from a checkout even without the editable install
        sys.path.insert(0, str(ROOT))
    import windowner
    from windowner.text.conll import read_conll

    command = shlex.join(["python", "benchmarks/raw_text.py", *(sys.argv[1:] if argv is None else argv)])
    loadavg = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    results = {}
    for corpus in corpora:
        dev_path = args.corpora_dir / f"{corpus}.dev.conll"
        if not dev_path.exists():
            sys.exit(f"raw_text.py: {dev_path}: missing; pass --corpora-dir DIR (the shared corpora)")
        model = getattr(args, f"model_{corpus}")
        described = str(model)
        if model is None:
            model = OUT / corpus
            if not (args.reuse and (model / "config.json").exists()):
                seconds = train_default(corpus, args.corpora_dir, model)
                described = f"default recipe, trained in {seconds:.0f} s into `{model.relative_to(ROOT)}`"
            else:
                described = f"default recipe, reused from `{model.relative_to(ROOT)}`"
        tagger = windowner.load(model)
        sentences = [(s.tokens, s.tags) for s in read_conll(dev_path, warn=False)]
        say(f"{corpus}: {len(sentences)} dev sentences, model {model}")
        rows = measure(tagger, sentences, args.min_tokens, args.repeats)
        results[corpus] = {"model": described, "labels": tagger.labels, "rows": rows}
        for line in table(corpus, tagger.labels, rows):
            say(line)
    meta = {
        "command": command,
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "commit": bench.commit(),
        "loadavg": loadavg,
        "min_tokens": args.min_tokens,
        "repeats": args.repeats,
    }
    section = report(results, meta)
    print(section)
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    if not args.no_write and set(results) == set(CORPORA):
        bench.replace_section(args.results, section, BEGIN, END)
        say(f"wrote {os.path.relpath(args.results, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
