#!/usr/bin/env python
"""The user's path: windowner against spaCy en_core_web_sm and a CRF, each in fresh processes, end to end.

    python benchmarks/user_path.py              # everything (what `make bench` runs after run.py)
    python benchmarks/user_path.py --quick      # smoke run on a sample, a minute or two
    python benchmarks/user_path.py --corpora conll03 --model conll03=models/conll03

For each corpus (gmb, conll03), in one run on this machine:

1. pre-tokenized tagging of the dev sentences (read once, never repeated) by a model loaded in a fresh
   process: the first pass ("cold") and a second pass in the same process ("warm"); windowner
   (``windowner.load`` + ``Tagger.tag_tokens``) against spaCy's NER on ``Doc(nlp.vocab, words=...)``;
2. ``windowner tag MODEL dev.txt`` as a command, on the dev sentences detokenized into raw text (one
   document per line), wall time and peak RSS, against a small spaCy script doing the same job;
3. ``windowner evaluate MODEL dev.conll`` as a command, wall time and peak RSS;
4. ``windowner train`` with the default settings against a CRF (benchmarks/run.py's features and
   parameters), each a command, wall time and peak RSS.

Only public windowner APIs and the ``windowner`` command are used. A full run writes its table into the
``<!-- user-path -->`` section of benchmarks/RESULTS.md (a --quick or partial run: benchmarks/out/
RESULTS.quick.md) and the raw numbers into benchmarks/out/user_path[.quick].json. See benchmarks/README.md.
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
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))  # run from a checkout even without the editable install

import run as bench  # noqa: E402  (benchmarks/run.py: corpora, CRF features and parameters, machine info)

CORPUS_NAMES = bench.CORPUS_NAMES
BEGIN, END = "<!-- user-path -->", "<!-- /user-path -->"
QUICK = {
    "train": bench.QUICK["train"],
    "dev": bench.QUICK["dev"],
    "epochs": bench.QUICK["epochs"],
    "crf_iterations": bench.QUICK["crf_iterations"],
}

# The targets.
PRE_COLD_RATIO, TAG_RATIO, TAG_RSS_MB = 100.0, 25.0, 250.0
TARGET_CORPUS = "conll03"  # the ~50k-token dev file the end-to-end and training targets are set on

# Raw text from corpus tokens: no space before these, none after those (one document per line).
NO_SPACE_BEFORE = frozenset({",", ".", ";", ":", "!", "?", ")", "%", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m"})
NO_SPACE_AFTER = frozenset({"(", "$"})

say = bench.say
BenchError = bench.BenchError

# -------------------------------------------------------------------------------- child programs
# Each runs in a fresh interpreter, reads its input before the clock starts and prints one JSON object.

_WINDOWNER_PRE = """\
import json, sys, time
sents = json.load(open(sys.argv[2], encoding="utf-8"))
t0 = time.perf_counter()
import windowner
tagger = windowner.load(sys.argv[1])
t1 = time.perf_counter()
cold = tagger.tag_tokens(sents)
t2 = time.perf_counter()
warm = tagger.tag_tokens(sents)
t3 = time.perf_counter()
assert cold == warm and sum(map(len, cold)) == sum(map(len, sents))
print(json.dumps({"load": t1 - t0, "cold": t2 - t1, "warm": t3 - t2,
                  "entities": sum(t.startswith("B-") for s in cold for t in s)}))
"""

_SPACY_PRE = """\
import json, sys, time
sents = json.load(open(sys.argv[2], encoding="utf-8"))
t0 = time.perf_counter()
import spacy
from spacy.tokens import Doc
nlp = spacy.load(sys.argv[1], exclude=json.loads(sys.argv[3]))
t1 = time.perf_counter()
cold = [len(d.ents) for d in nlp.pipe((Doc(nlp.vocab, words=s) for s in sents), batch_size=int(sys.argv[4]))]
t2 = time.perf_counter()
warm = [len(d.ents) for d in nlp.pipe((Doc(nlp.vocab, words=s) for s in sents), batch_size=int(sys.argv[4]))]
t3 = time.perf_counter()
assert cold == warm
print(json.dumps({"load": t1 - t0, "cold": t2 - t1, "warm": t3 - t2, "entities": sum(cold)}))
"""

# The spaCy end-to-end script: what a user of spaCy would run for `windowner tag` (written to a file).
_SPACY_TAG = """\
\"\"\"Tag raw text, one document per line, with spaCy; print each document's entities as a JSON line.\"\"\"
import json
import sys

import spacy

nlp = spacy.load(sys.argv[1], exclude=json.loads(sys.argv[3]))
with open(sys.argv[2], encoding="utf-8") as f:
    lines = [line.rstrip("\\n") for line in f]
out = sys.stdout
for i, doc in enumerate(nlp.pipe(lines, batch_size=int(sys.argv[4]))):
    ents = [{"text": e.text, "label": e.label_, "start_char": e.start_char, "end_char": e.end_char} for e in doc.ents]
    out.write(json.dumps({"id": i, "text": doc.text, "ents": ents}, ensure_ascii=False) + "\\n")
"""

# The CRF trainer: benchmarks/run.py's features and parameters, imported from it.
_CRF_TRAIN = """\
import sys
sys.path.insert(0, sys.argv[4])
import sklearn_crfsuite
from run import CRF_PARAMS, crf_features
from windowner.text.conll import read_conll
sents = [(s.tokens, s.tags) for s in read_conll(sys.argv[1], warn=False) if s.tokens]
X = [crf_features(t) for t, _ in sents]
y = [list(g) for _, g in sents]
sklearn_crfsuite.CRF(**dict(CRF_PARAMS, max_iterations=int(sys.argv[3])), model_filename=sys.argv[2]).fit(X, y)
"""


# ------------------------------------------------------------------------------------- processes


@dataclass
class Run:
    """One finished child process: wall-clock seconds (start to exit), peak RSS in MB (10⁶ bytes), stdout."""

    wall_s: float
    rss_mb: float
    stdout: str


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child: this checkout first on the import path."""
    env = dict(os.environ, **(extra or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


TIME_V = Path("/usr/bin/time")  # GNU time: the peak RSS of exactly the command it runs


def run_measured(cmd: Sequence[str], work: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion, stdout to a file; wall-clock from start to exit and the command's peak RSS.

    The RSS comes from ``/usr/bin/time -v`` where present: Linux keeps a process's peak RSS across
    ``exec``, so a child forked straight from this (large) interpreter would report at least this
    interpreter's RSS, but one forked by the small ``time`` process reports its own. Without it,
    ``wait4``'s rusage of the child is used (an upper bound, for that reason).
    """
    stem = work / f"run-{os.getpid()}-{time.monotonic_ns()}"
    out_path, err_path, stats_path = (stem.with_suffix(s) for s in (".out", ".err", ".time"))
    full = [str(TIME_V), "-v", "-o", str(stats_path), *cmd] if TIME_V.is_file() else list(cmd)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            full, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT, env=env or child_env()
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    stats = stats_path.read_text(encoding="utf-8", errors="replace") if stats_path.exists() else ""
    for f in (out_path, err_path, stats_path):
        f.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise BenchError(
            f"{shlex.join(map(str, cmd))[:300]} failed (exit {proc.returncode}):\n{stderr.strip()[-2000:]}"
        )
    kib = next(
        (
            int(line.rsplit(":", 1)[1])
            for line in stats.splitlines()
            if line.strip().startswith("Maximum resident set size")
        ),
        None,
    )
    if kib is None:
        kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024
    return Run(wall, kib * 1024 / 1e6, stdout)


def repeated(cmd: Sequence[str], work: Path, repeats: int, env: dict[str, str] | None = None) -> dict:
    """Median wall and peak RSS of ``repeats`` runs; the last run's stdout."""
    runs = [run_measured(cmd, work, env) for _ in range(repeats)]
    return {
        "wall_s": statistics.median(r.wall_s for r in runs),
        "rss_mb": statistics.median(r.rss_mb for r in runs),
        "stdout": runs[-1].stdout,
    }


def timed_child(code: str, args: Sequence[str], work: Path, repeats: int, env: dict[str, str] | None = None) -> dict:
    """Median of each timing a fresh interpreter running ``code`` prints (JSON), plus its peak RSS."""
    runs = [run_measured([sys.executable, "-c", code, *args], work, env) for _ in range(repeats)]
    printed = [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs]
    out = {k: statistics.median(p[k] for p in printed) for k in printed[0]}
    out["rss_mb"] = statistics.median(r.rss_mb for r in runs)
    return out


def windowner_command() -> list[str]:
    """The installed ``windowner`` script next to this interpreter, else ``python -m windowner``."""
    script = Path(sys.executable).with_name("windowner")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "windowner"]


# ------------------------------------------------------------------------------------------ data


def detokenize(tokens: Sequence[str]) -> str:
    """Corpus tokens -> natural text: no space before ``, . ; : ! ? ) % 's n't``…, none after ``( $``."""
    parts: list[str] = []
    for i, tok in enumerate(tokens):
        if i and tok.lower() not in NO_SPACE_BEFORE and tokens[i - 1] not in NO_SPACE_AFTER:
            parts.append(" ")
        parts.append(tok)
    return "".join(parts)


def write_conll(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], path: Path) -> Path:
    """(tokens, tags) sentences -> a CoNLL file (for --quick's samples; the full run uses the corpus files)."""
    with open(path, "w", encoding="utf-8") as f:
        for tokens, tags in pairs:
            f.write("".join(f"{w} {t}\n" for w, t in zip(tokens, tags)) + "\n")
    return path


@dataclass
class Inputs:
    """One corpus' files for the children: train/dev CoNLL, dev tokens as JSON, dev raw text."""

    name: str
    train: Path
    dev: Path
    tokens_json: Path
    text: Path
    n_train_sentences: int
    n_dev_sentences: int
    n_dev_tokens: int


def prepare(name: str, args, work: Path) -> Inputs:
    corpus = bench.load_corpus(name, args.corpora_dir, args.quick)  # read once with windowner.text.conll.read_conll
    train, dev = args.corpora_dir / f"{name}.train.conll", corpus.dev_path
    if args.quick:  # the sample, as files for the commands
        train = write_conll(corpus.train, work / f"{name}.train.conll")
        dev = write_conll(corpus.dev, work / f"{name}.dev.conll")
    tokens_json = work / f"{name}.dev.tokens.json"
    tokens_json.write_text(json.dumps(corpus.dev_tokens, ensure_ascii=False), encoding="utf-8")
    text = work / f"{name}.dev.txt"
    text.write_text("".join(detokenize(t) + "\n" for t in corpus.dev_tokens), encoding="utf-8")
    return Inputs(name, train, dev, tokens_json, text, len(corpus.train), len(corpus.dev), corpus.n_dev_tokens)


# ------------------------------------------------------------------------------------- measuring


def measure(inp: Inputs, args, work: Path) -> dict:
    """Every measurement of one corpus (see the module docstring); seconds, MB, tokens/s."""
    wn = windowner_command()
    res: dict = {
        "corpus": inp.name,
        "dev_sentences": inp.n_dev_sentences,
        "dev_tokens": inp.n_dev_tokens,
        "train_sentences": inp.n_train_sentences,
    }
    model = args.models.get(inp.name)
    if model is None:
        model = work / f"model-{inp.name}"
        cmd = [*wn, "train", "--train", str(inp.train), "--dev", str(inp.dev), "--out", str(model), "--quiet"]
        if args.quick:
            cmd += ["--epochs", str(QUICK["epochs"])]
        say(f"{inp.name}: windowner train ({inp.n_train_sentences} sentences)")
        r = run_measured(cmd, work)
        res["train"] = {"wall_s": r.wall_s, "rss_mb": r.rss_mb}
        crf_iter = QUICK["crf_iterations"] if args.quick else bench.CRF_PARAMS["max_iterations"]
        say(f"{inp.name}: CRF training ({crf_iter} iterations)")
        r = run_measured(
            [
                sys.executable,
                "-c",
                _CRF_TRAIN,
                str(inp.train),
                str(work / f"crf-{inp.name}.crfsuite"),
                str(crf_iter),
                str(HERE),
            ],
            work,
        )
        res["crf_train"] = {"wall_s": r.wall_s, "rss_mb": r.rss_mb, "iterations": crf_iter}
    res["model"] = str(model)

    exclude, batch = json.dumps(bench.SPACY_EXCLUDE), str(bench.SPACY_BATCH)
    say(f"{inp.name}: pre-tokenized tagging in fresh processes ({inp.n_dev_tokens:,} tokens)")
    res["pre_windowner"] = timed_child(_WINDOWNER_PRE, [str(model), str(inp.tokens_json)], work, args.repeats)
    empty_cache = child_env({"WINDOWNER_CACHE": tempfile.mkdtemp(prefix="empty-cache-", dir=work)})
    res["pre_windowner_empty_cache"] = timed_child(
        _WINDOWNER_PRE, [str(model), str(inp.tokens_json)], work, 1, empty_cache
    )
    res["pre_spacy"] = timed_child(
        _SPACY_PRE, [bench.SPACY_MODEL, str(inp.tokens_json), exclude, batch], work, args.repeats
    )

    say(f"{inp.name}: raw text end to end ({inp.text.stat().st_size:,} bytes, {inp.n_dev_sentences} lines)")
    tag = repeated([*wn, "tag", str(model), str(inp.text)], work, args.repeats)
    spacy_script = work / "spacy_tag.py"
    spacy_script.write_text(_SPACY_TAG, encoding="utf-8")
    sp = repeated(
        [sys.executable, str(spacy_script), bench.SPACY_MODEL, str(inp.text), exclude, batch], work, args.repeats
    )
    for out in (tag, sp):
        docs = out.pop("stdout").splitlines()
        if len(docs) != inp.n_dev_sentences:
            raise BenchError(f"{inp.name}: expected {inp.n_dev_sentences} JSON lines, got {len(docs)}")
        out["entities"] = sum(len(json.loads(d)["ents"]) for d in docs)  # same JSON-lines shape for both
    res["tag"], res["tag_spacy"] = tag, sp

    say(f"{inp.name}: windowner evaluate")
    ev = repeated([*wn, "evaluate", str(model), str(inp.dev), "--json"], work, args.repeats)
    scores = json.loads(ev.pop("stdout"))
    res["evaluate"] = dict(ev, f1=scores["overall"]["f1"], tokens=scores["tokens"])
    return res


# ------------------------------------------------------------------------------------- reporting


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def rows(results: dict) -> list[list[str]]:
    """The report table: corpus, measurement, windowner, peer, peer figure, ratio (> 1 favours windowner)."""
    out = []
    for name, r in results.items():
        n = r["dev_tokens"]
        pw, ps, pe = r["pre_windowner"], r["pre_spacy"], r["pre_windowner_empty_cache"]
        spacy = "spaCy sm"
        out += [
            [
                name,
                "pre-tokenized, fresh process, **cold** (first pass), tok/s",
                f"{n / pw['cold']:,.0f}",
                spacy,
                f"{n / ps['cold']:,.0f}",
                _x(_ratio(ps["cold"], pw["cold"])),
            ],
            [
                name,
                "pre-tokenized, same process, warm (second pass), tok/s",
                f"{n / pw['warm']:,.0f}",
                spacy,
                f"{n / ps['warm']:,.0f}",
                _x(_ratio(ps["warm"], pw["warm"])),
            ],
            [
                name,
                "pre-tokenized cold with an empty vector-index cache, tok/s",
                f"{n / pe['cold']:,.0f}",
                spacy,
                f"{n / ps['cold']:,.0f}",
                _x(_ratio(ps["cold"], pe["cold"])),
            ],
            [
                name,
                "load in the fresh process (import + model), s",
                f"{pw['load']:.3f}",
                spacy,
                f"{ps['load']:.3f}",
                _x(_ratio(ps["load"], pw["load"])),
            ],
            [
                name,
                f"`windowner tag` raw text end to end ({n:,} tokens), wall s",
                f"{r['tag']['wall_s']:.2f}",
                "spaCy sm script",
                f"{r['tag_spacy']['wall_s']:.2f}",
                _x(_ratio(r["tag_spacy"]["wall_s"], r["tag"]["wall_s"])),
            ],
            [
                name,
                "`windowner tag` raw text end to end, peak RSS MB",
                f"{r['tag']['rss_mb']:.0f}",
                "spaCy sm script",
                f"{r['tag_spacy']['rss_mb']:.0f}",
                _x(_ratio(r["tag_spacy"]["rss_mb"], r["tag"]["rss_mb"])),
            ],
            [
                name,
                f"`windowner evaluate` end to end, wall s / peak RSS MB (F1 {r['evaluate']['f1']:.4f})",
                f"{r['evaluate']['wall_s']:.2f} / {r['evaluate']['rss_mb']:.0f}",
                "—",
                "—",
                "—",
            ],
        ]
        if "train" in r:
            t, c = r["train"], r["crf_train"]
            out += [
                [
                    name,
                    "`windowner train` (defaults, with --dev), wall s / peak RSS MB",
                    f"{t['wall_s']:.1f} / {t['rss_mb']:.0f}",
                    "CRF",
                    f"{c['wall_s']:.1f} / {c['rss_mb']:.0f}",
                    _x(_ratio(c["wall_s"], t["wall_s"])),
                ]
            ]
    return out


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:,.2f}×" if v < 10 else f"{v:,.0f}×"


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the issue's targets: ✓ met, ✗ not met, None not measured."""
    out: list[tuple[str, str, bool | None]] = []
    for name, r in results.items():
        ratio = r["pre_spacy"]["cold"] / r["pre_windowner"]["cold"]
        out.append(
            (f"{name}: pre-tokenized cold ≥ {PRE_COLD_RATIO:.0f}× spaCy sm", f"{ratio:,.1f}×", ratio >= PRE_COLD_RATIO)
        )
    r = results.get(TARGET_CORPUS)
    if r is not None:
        ratio = r["tag_spacy"]["wall_s"] / r["tag"]["wall_s"]
        out.append(
            (
                f"{TARGET_CORPUS}: `windowner tag` raw ~50k tokens end to end ≥ {TAG_RATIO:.0f}× spaCy sm's script",
                f"{ratio:,.1f}× ({r['tag']['wall_s']:.2f} s vs {r['tag_spacy']['wall_s']:.2f} s, "
                f"{r['dev_tokens']:,} tokens)",
                ratio >= TAG_RATIO,
            )
        )
        rss = r["tag"]["rss_mb"]
        out.append(
            (f"{TARGET_CORPUS}: `windowner tag` peak RSS ≤ {TAG_RSS_MB:.0f} MB", f"{rss:.0f} MB", rss <= TAG_RSS_MB)
        )
        if "train" in r:
            ratio = r["crf_train"]["wall_s"] / r["train"]["wall_s"]
            out.append(
                (
                    f"{TARGET_CORPUS}: default training not slower than the CRF",
                    f"{ratio:.2f}× ({r['train']['wall_s']:.1f} s vs CRF {r['crf_train']['wall_s']:.1f} s)",
                    ratio >= 1.0,
                )
            )
        else:
            out.append((f"{TARGET_CORPUS}: default training not slower than the CRF", "not run (--model given)", None))
    return out


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else "✓" if ok else "✗"


def section(results: dict, meta: dict) -> str:
    """The markdown between the user-path markers."""
    m = meta["machine"]
    load = bench._loadavg
    facts = {
        "Command": f"`{meta['command']}` (`make bench` runs it after `benchmarks/run.py`)",
        "Date": f"{meta['date']}, {meta['wall_s'] / 60:.1f} min wall-clock; commit {m['commit'] or 'unknown'}",
        "Machine": f"{m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gb']} GB RAM"
        + (f"; BLAS {', '.join(m['blas'])}" if m.get("blas") else "")
        + f"; load average at start {load(m['loadavg_start'])}, at end {load(meta['loadavg_end'])} "
        "(a shared machine: timings are noisy; the ratios come from the same run)",
        "Each figure": f"median of {meta['repeats']} fresh process(es); tokens/s counts the corpus tokens of the dev "
        "file, read once; MB = 10⁶ bytes; ratio = peer time / windowner time (> 1 favours windowner)",
    }
    quick = (
        f"**Quick smoke run** (`--quick`): train/dev sampled to {QUICK['train']}/{QUICK['dev']} sentences, "
        f"windowner {QUICK['epochs']} epochs, CRF {QUICK['crf_iterations']} iterations: the numbers say nothing "
        "about the targets."
    )
    lines = [
        BEGIN,
        "## The user's path: fresh processes, end to end",
        "",
        'Generated by `benchmarks/user_path.py` (how it measures: `benchmarks/README.md`, "The user\'s path").',
        "",
        *([quick, ""] if meta["quick"] else []),
        *(f"- {k}: {v}" for k, v in facts.items()),
        "",
        "| corpus | measurement | windowner | peer | peer figure | ratio |",
        "| --- | --- | ---: | --- | ---: | ---: |",
    ]
    lines += [bench._row(r) for r in rows(results)]
    lines += ["", "| target | measured |  |", "| --- | ---: | :---: |"]
    lines += [bench._row([t, v, _mark(ok)]) for t, v, ok in targets(results)]
    # what follows the section in RESULTS.md is run.py's report, whose own header has no heading
    lines += ["", "## In-process figures (`benchmarks/run.py`)", END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace the marked section of ``path``, or insert it after the title paragraph (creating the file)."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if BEGIN in old and END in old:
        a, b = old.index(BEGIN), old.index(END) + len(END)
        new = old[:a] + text.rstrip("\n") + old[b:]
    else:
        title_end = old.find("\n\n", old.find("Generated by") if "Generated by" in old else 0)
        cut = len(old) if title_end < 0 else title_end + 2
        new = old[:cut] + text + "\n" + old[cut:]
    path.write_text(new, encoding="utf-8")


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="The user's path, end to end in fresh processes: windowner against "
        "spaCy en_core_web_sm and a CRF (see benchmarks/README.md)."
    )
    p.add_argument("--corpora", default=",".join(CORPUS_NAMES), help="comma-separated corpora (default: gmb,conll03)")
    p.add_argument("--quick", action="store_true", help="smoke run on a sample (minutes; numbers not meaningful)")
    p.add_argument("--corpora-dir", type=Path, default=bench.DEFAULT_CORPORA_DIR, help="default: ../shared/corpora")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="CORPUS=DIR",
        help="use this trained model for CORPUS instead of training one (training is then not timed)",
    )
    p.add_argument(
        "--repeats", type=int, default=1, help="fresh processes per measurement, median reported (default 1)"
    )
    p.add_argument(
        "--from-json",
        type=Path,
        default=None,
        metavar="USER_PATH_JSON",
        help="measure nothing: rewrite the report section from the user_path.json of an earlier run",
    )
    p.add_argument(
        "--report",
        type=Path,
        default=None,
        help="markdown file whose user-path section is written (default: benchmarks/RESULTS.md for a full "
        "run, benchmarks/out/RESULTS.quick.md otherwise)",
    )
    args = p.parse_args(argv)
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    for c in args.corpora:
        if c not in CORPUS_NAMES:
            p.error(f"unknown corpus {c!r}; choose from {', '.join(CORPUS_NAMES)}")
    args.models = {}
    for spec in args.model:
        name, sep, path = spec.partition("=")
        if not sep or name not in CORPUS_NAMES or not (Path(path) / "config.json").is_file():
            p.error(
                f"--model {spec!r}: expected CORPUS=DIR with CORPUS one of {', '.join(CORPUS_NAMES)} and DIR a "
                "model directory"
            )
        args.models[name] = Path(path).resolve()
    if args.repeats < 1:
        p.error("--repeats must be positive")
    args.saved = None
    if args.from_json is not None:
        try:
            args.saved = json.loads(args.from_json.read_text(encoding="utf-8"))
            args.quick, args.corpora, args.models = args.saved["quick"], list(args.saved["results"]), {}
        except (OSError, ValueError, KeyError) as exc:
            p.error(f"{args.from_json}: not a user_path.json written by this script ({exc})")
    full = not args.quick and args.corpora == list(CORPUS_NAMES) and not args.models
    if args.report is None:
        args.report = HERE / "RESULTS.md" if full else bench.OUT_DIR / "RESULTS.quick.md"
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.saved is not None:
        return report(args, args.saved["results"], args.saved, write_json=False)
    command = shlex.join(["python", "benchmarks/user_path.py", *(sys.argv[1:] if argv is None else argv)])
    try:
        import sklearn_crfsuite  # noqa: F401  (fail early, before minutes of training)
        import spacy

        if not spacy.util.is_package(bench.SPACY_MODEL):
            raise ImportError(bench.SPACY_MODEL)
    except ImportError as exc:
        print(
            f"benchmarks/user_path.py: {exc.name or exc} is not installed; run `make bench` or "
            ".venv/bin/pip install -e '.[bench]'",
            file=sys.stderr,
        )
        return 2
    machine = bench.machine_info()
    results: dict[str, dict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="windowner-user-path-") as tmp:
            for name in args.corpora:
                work = Path(tmp) / name
                work.mkdir()
                results[name] = measure(prepare(name, args, work), args, work)
    except BenchError as exc:
        print(f"benchmarks/user_path.py: {exc}", file=sys.stderr)
        return 2
    meta = {
        "command": command,
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "wall_s": time.perf_counter() - bench._T0,
        "machine": machine,
        "quick": args.quick,
        "repeats": args.repeats,
        "results": results,
        "loadavg_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    return report(args, results, meta, write_json=True)


def report(args, results: dict, meta: dict, write_json: bool) -> int:
    """Write the section into ``args.report`` (and the raw numbers into benchmarks/out/), print the targets."""
    text = section(results, meta)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    write_section(args.report, text)
    written = [args.report]
    if write_json:
        bench.OUT_DIR.mkdir(parents=True, exist_ok=True)
        json_path = bench.OUT_DIR / ("user_path.quick.json" if args.quick else "user_path.json")
        json_path.write_text(
            json.dumps(
                {**meta, "targets": [{"target": t, "measured": v, "met": ok} for t, v, ok in targets(results)]},
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        written.append(json_path)
    say("wrote " + ", ".join(os.path.relpath(f, ROOT) for f in written))
    print(text)
    for t, v, ok in targets(results):
        print(f"{_mark(ok)} {t}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
