#!/usr/bin/env python
"""Does the annotation loop pay? Simulated annotators on gmb and conll03, ``uncertain`` against ``random`` order
(issue #29, item 5).

    OPENBLAS_NUM_THREADS=1 python benchmarks/active_learning.py             # gmb and conll03, seeds 0 1 2, 20 rounds
    python benchmarks/active_learning.py --corpora gmb --seeds 0 --rounds 4  # a quick look
    python benchmarks/active_learning.py --table                             # section and plot from the raw file

The oracle is the gold standard, answering through the code path of ``windowner annotate``'s page: an
:class:`~windowner.integrations.annotator.Annotator` over the pool's texts (each sentence of
``../shared/corpora/<corpus>.train.conll`` as raw text, its gold tokens joined by single spaces; the model's
tokenizer cuts them as on the page), its :meth:`~Annotator.next_task` says which text comes next and
:meth:`~Annotator.answer` records the gold spans (character offsets) as an ``accept``, into an answers file as on
the page. Every ``--round-size`` answers (50) the annotator retrains in its background thread as the page does
(``retrain_every``: on the accepted answers but every 5th, held out for the page's F1, starting from its current
model with the model's hyper-parameters; ``uncertain`` re-ranks the texts left with the new model); the simulated
annotator waits for it (on the page one would go on with the old model meanwhile), then the model is scored on
the whole of ``../shared/corpora/<corpus>.dev.conll`` (the gold tokens, entity-level conlleval F1 by
:func:`windowner.evaluation.metrics.evaluate`).

The start is the default PER/LOC/DATE model (:func:`windowner.model.default.ensure_default_model`, trained on the
project's corpus only). gmb has the same three types. conll03 is annotated with its own PER, LOC, ORG, MISC
(``Annotator(add_labels=...)``: ORG and MISC are learnt at the first retrain; the model keeps DATE, which the
conll03 answers never mark, so it is taught as O). ``--seeds``: the seed of the training runs and of the
``random`` shuffle (``uncertain`` differs between seeds only by the training seed).

Each (corpus, order, seed) run is one process; ``--jobs 2`` (the default) runs two at a time, one core each
(``OPENBLAS_NUM_THREADS=1``). One JSON line per round goes to ``benchmarks/active_learning.jsonl`` as it comes;
runs complete there are not run again (``--fresh``: start over). Then the plot ``benchmarks/active_learning.png``
and the ``active-learning`` section of ``benchmarks/RESULTS.md`` (``run.replace_section``) are written from that
file. ``../shared/heldout`` is never read.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one core per run, --jobs runs side by side

import argparse
import datetime as _dt
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from run import ROOT, BenchError, exit_with, machine_info, replace_section, say

HERE = Path(__file__).resolve().parent
RAW = HERE / "active_learning.jsonl"
PLOT = HERE / "active_learning.png"
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- active-learning -->", "<!-- /active-learning -->"
DEFAULT_CORPORA_DIR = ROOT.parent / "shared" / "corpora"
ORDERS = ("uncertain", "random")
# the labels a corpus is annotated with beyond the default model's PER, LOC, DATE
ADD_LABELS = {"gmb": [], "conll03": ["ORG", "MISC"]}
TARGET_ANSWERS = 600  # issue #29's Done-when: uncertain reaches random@1000 with at most this many answers

Pairs = list[tuple[list[str], list[str]]]


def oracle(tokens: Sequence[str], tags: Sequence[str]) -> tuple[str, list[dict[str, Any]]]:
    """The raw text of a gold sentence (its tokens joined by single spaces) and its gold spans as the page sends
    them (``{"start", "end", "label"}``, character offsets)."""
    from windowner.text.tags import bio2_spans

    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    spans = [
        {"start": starts[a], "end": starts[b - 1] + len(tokens[b - 1]), "label": lab} for lab, a, b in bio2_spans(tags)
    ]
    return " ".join(tokens), spans


def dev_scores(tagger, dev: Pairs) -> dict[str, float]:
    """Entity-level P/R/F1 of ``tagger`` on the gold tokens of ``dev``."""
    from windowner.evaluation.metrics import evaluate

    overall = evaluate([g for _, g in dev], tagger.tag_tokens([t for t, _ in dev])).overall
    return {"p": overall.precision, "r": overall.recall, "f1": overall.f1}


def simulate(
    tagger,
    pool: Pairs,
    dev: Pairs,
    answers_file: Path,
    order: str,
    seed: int,
    rounds: int,
    round_size: int,
    add_labels: Sequence[str] = (),
    hyper: dict[str, Any] | None = None,
    on_round: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Annotate ``pool`` with gold answers through an :class:`Annotator` for ``rounds`` rounds of ``round_size``
    answers, retraining after each as the page does; one row per round (round 0: ``tagger`` before any answer)
    with the dev scores, the retrain's wall time and what it trained on. ``hyper`` overrides the retrain's
    optimisation settings (the seed is ``seed``)."""
    from windowner.integrations.annotator import Annotator, AnswerError
    from windowner.integrations.answers import AnswerLog

    texts, gold = zip(*(oracle(t, g) for t, g in pool)) if pool else ((), ())
    log = AnswerLog(answers_file)
    started = time.perf_counter()
    annotator = Annotator(
        tagger,
        texts,
        log,
        order=order,
        seed=seed,
        retrain_every=round_size,
        hyper={"seed": seed, **(hyper or {})},
        add_labels=add_labels,
    )
    rows = [{"round": 0, "answered": 0, **dev_scores(tagger, dev), "rank_seconds": time.perf_counter() - started}]
    if on_round:
        on_round(rows[0])
    dropped = 0
    try:
        for r in range(1, rounds + 1):
            t0 = time.perf_counter()
            for _ in range(round_size):
                task = annotator.next_task()
                if task["done"]:
                    break
                spans = gold[task["id"]]
                try:
                    annotator.answer(task["id"], "accept", spans)
                except AnswerError as exc:  # a gold span off the model's token boundaries: answer without it
                    if exc.status != 422:
                        raise
                    starts = {t["start"] for t in task["tokens"]}
                    ends = {t["end"] for t in task["tokens"]}
                    kept = [s for s in spans if s["start"] in starts and s["end"] in ends]
                    dropped += len(spans) - len(kept)
                    annotator.answer(task["id"], "accept", kept)
            answering = time.perf_counter() - t0
            annotator.wait_retrain()
            if annotator.retrain_state == "failed":
                raise RuntimeError(f"the retrain after round {r} failed: {annotator.retrain_error}")
            progress = annotator.progress()
            info = annotator.train_info
            row = {
                "round": r,
                "answered": progress["answered"],
                **dev_scores(annotator.tagger, dev),
                "heldout_f1": annotator.f1,
                "version": annotator.version,
                "trained_on": info.get("trained_on"),
                "heldout": info.get("heldout"),
                "retrain_seconds": info.get("seconds"),  # the page's whole background round: train, score, re-rank
                "fit_seconds": annotator.tagger.model.run.train_seconds,  # the training run alone
                "answer_seconds": answering,  # next_task + answer for the round's texts (tagging each one)
                "labels": annotator.labels,
                "dropped_spans": dropped,
            }
            rows.append(row)
            if on_round:
                on_round(row)
            if progress["remaining"] == 0:
                break
    finally:
        log.close()
    return rows


def load_pairs(path: Path) -> Pairs:
    from windowner.text.conll import read_conll

    if not path.is_file():
        raise BenchError(f"{path}: not found")
    return [(s.tokens, s.tags) for s in read_conll(path, warn=False) if s.tokens]


# ------------------------------------------------------------------------------------------ runs


def run_key(row: dict) -> tuple[str, str, int]:
    return row["corpus"], row["order"], row["seed"]


def worker(args) -> int:
    """Run the ``--runs`` ``corpus:order:seed`` given, one JSON line per round on stdout."""
    import windowner
    from windowner.integrations.annotator import RETRAIN_EPOCHS
    from windowner.model.default import ensure_default_model

    model_dir = ensure_default_model()[0]
    tagger = windowner.load(model_dir)
    data: dict[str, tuple[Pairs, Pairs]] = {}
    hyper = {"epochs": args.epochs} if args.epochs else {}
    for spec in args.runs:
        corpus, order, seed = spec.split(":")
        if corpus not in data:
            data[corpus] = (
                load_pairs(args.corpora_dir / f"{corpus}.train.conll"),
                load_pairs(args.corpora_dir / f"{corpus}.dev.conll"),
            )
        pool, dev = data[corpus]
        meta = {"corpus": corpus, "order": order, "seed": int(seed), "round_size": args.round_size}
        meta |= {"pool": len(pool), "dev": len(dev), "epochs": args.epochs or RETRAIN_EPOCHS}
        meta["epochs_flag"] = args.epochs

        def emit(row: dict, meta: dict = meta) -> None:
            print(json.dumps({**meta, **row}), flush=True)
            say(f"{meta['corpus']} {meta['order']} seed {meta['seed']}: {row['answered']} answered, F1 {row['f1']:.4f}")

        with tempfile.TemporaryDirectory() as tmp:
            simulate(
                tagger, pool, dev, Path(tmp) / "answers.jsonl", order, int(seed), args.rounds, args.round_size,
                ADD_LABELS.get(corpus, []), hyper, emit,
            )  # fmt: skip
    return 0


def read_raw(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_timing(row: dict) -> bool:
    """A row of ``--time-retrain`` (not a round of a simulation run)."""
    return row.get("kind") == "timing"


def time_retrain(args) -> None:
    """One retrain round on ``--time-retrain`` answers per corpus and seed, one run at a time in this process: the
    worst case of the page (``uncertain``: the pool is re-ranked too), with the load average around it."""
    import windowner
    from windowner.model.default import ensure_default_model

    tagger = windowner.load(ensure_default_model()[0])
    hyper = {"epochs": args.epochs} if args.epochs else {}
    kept = [r for r in read_raw(args.raw) if not is_timing(r)]
    for corpus in args.corpora:
        pool = load_pairs(args.corpora_dir / f"{corpus}.train.conll")
        dev = load_pairs(args.corpora_dir / f"{corpus}.dev.conll")
        for seed in args.seeds:
            before = os.getloadavg()[0]
            with tempfile.TemporaryDirectory() as tmp:
                row = simulate(
                    tagger, pool, dev, Path(tmp) / "answers.jsonl", "uncertain", seed, 1, args.time_retrain,
                    ADD_LABELS.get(corpus, []), hyper,
                )[-1]  # fmt: skip
            row |= {"kind": "timing", "corpus": corpus, "seed": seed, "loadavg": [before, os.getloadavg()[0]]}
            say(f"{corpus} seed {seed}: a retrain round on {row['answered']} answers: {row['retrain_seconds']:.1f} s")
            kept.append(row)
    args.raw.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def complete_runs(rows: list[dict], rounds: int, round_size: int) -> set[tuple[str, str, int]]:
    """The runs of ``rows`` with every round 0..``rounds`` at ``round_size``."""
    seen: dict[tuple[str, str, int], set[int]] = {}
    for r in rows:
        if r.get("round_size") == round_size:
            seen.setdefault(run_key(r), set()).add(r["round"])
    return {k for k, v in seen.items() if set(range(rounds + 1)) <= v}


def measure(args) -> None:
    """Run the runs not complete in the raw file, ``--jobs`` processes at a time, appending rows as they come."""
    rows = [] if args.fresh else read_raw(args.raw)
    timing = [r for r in rows if is_timing(r)]
    rows = [r for r in rows if not is_timing(r)]
    done = complete_runs(rows, args.rounds, args.round_size)
    rows = timing + [r for r in rows if run_key(r) in done]  # rows of unfinished runs are dropped: they run again
    args.raw.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    todo = [
        f"{c}:{o}:{s}"
        for c in args.corpora
        for o in args.orders
        for s in args.seeds
        if (c, o, s) not in done
    ]  # fmt: skip
    say(f"{len(done)} runs complete in {args.raw}; {len(todo)} to run: {' '.join(todo) or 'none'}")
    lock = threading.Lock()

    def pump(proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with lock, args.raw.open("a", encoding="utf-8") as f:
                f.write(line)

    jobs = max(1, min(args.jobs, len(todo)))
    procs = []
    for k in range(jobs):
        mine = todo[k::jobs]
        cmd = [sys.executable, __file__, "--worker", "--runs", *mine, "--rounds", str(args.rounds)]
        cmd += ["--round-size", str(args.round_size), "--corpora-dir", str(args.corpora_dir)]
        if args.epochs:
            cmd += ["--epochs", str(args.epochs)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        thread = threading.Thread(target=pump, args=(proc,), daemon=True)
        thread.start()
        procs.append((proc, thread))
    failed = 0
    for proc, thread in procs:
        failed += proc.wait() != 0
        thread.join()
    if failed:
        raise BenchError(f"{failed} worker process(es) failed; the rows of the runs they finished are in {args.raw}")


# ----------------------------------------------------------------------------------------- report


def curves(rows: list[dict]) -> dict[tuple[str, str], dict[int, list[float]]]:
    """``{(corpus, order): {answered: [dev F1 of each seed]}}``."""
    out: dict[tuple[str, str], dict[int, list[float]]] = {}
    for r in sorted(rows, key=lambda r: (r["corpus"], r["order"], r["seed"], r["round"])):
        out.setdefault((r["corpus"], r["order"]), {}).setdefault(r["answered"], []).append(r["f1"])
    return out


def mean_sd(xs: Sequence[float]) -> tuple[float, float]:
    return statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0


def answers_to_reach(curve: dict[int, list[float]], target: float) -> int | None:
    """The fewest answered texts (one or more: the starting model does not count) at which the mean F1 over the
    seeds reaches ``target`` (None: never)."""
    return next((n for n in sorted(curve) if n > 0 and statistics.mean(curve[n]) >= target), None)


def corpus_order(names: set[str]) -> list[str]:
    """gmb first, then conll03, then any other (by name)."""
    return sorted(names, key=lambda c: (list(ADD_LABELS).index(c) if c in ADD_LABELS else len(ADD_LABELS), c))


def answers_to_stay(curve: dict[int, list[float]], target: float) -> int | None:
    """The fewest answered texts from which on the mean F1 over the seeds stays at ``target`` or above."""
    ns = sorted(curve)
    return next((n for k, n in enumerate(ns) if all(statistics.mean(curve[m]) >= target for m in ns[k:])), None)


def collapses(rows: list[dict], drop: float = 0.1) -> list[dict]:
    """The rounds whose dev F1 fell more than ``drop`` below the run's previous round."""
    out, prev = [], {}
    for r in sorted(rows, key=lambda r: (run_key(r), r["round"])):
        before = prev.get(run_key(r))
        if before is not None and r["f1"] < before - drop:
            out.append({**r, "f1_before": before})
        prev[run_key(r)] = r["f1"]
    return out


def summary(rows: list[dict]) -> list[dict[str, Any]]:
    """Per corpus: random's mean F1 at its last point, the answers uncertain needs to reach it (and to stay at or
    above it)."""
    cur = curves(rows)
    out = []
    for corpus in corpus_order({c for c, _ in cur}):
        rnd, unc = cur.get((corpus, "random")), cur.get((corpus, "uncertain"))
        if not rnd or not unc:
            continue
        last = max(rnd)
        target = statistics.mean(rnd[last])
        need = answers_to_reach(unc, target)
        stay = answers_to_stay(unc, target)
        start = statistics.mean(rnd[min(rnd)])
        out.append(
            {
                "corpus": corpus,
                "at": last,
                "random_f1": target,
                "start_f1": start,
                "uncertain_needs": need,
                "stays_from": stay,
            }
        )
    return out


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cur = curves(rows)
    corpora = corpus_order({c for c, _ in cur})
    fig, axes = plt.subplots(1, len(corpora), figsize=(6 * len(corpora), 4.2), squeeze=False)
    for ax, corpus in zip(axes[0], corpora):
        for order, colour in (("random", "tab:blue"), ("uncertain", "tab:orange")):
            curve = cur.get((corpus, order))
            if not curve:
                continue
            ns = sorted(curve)
            m = [statistics.mean(curve[n]) for n in ns]
            sd = [mean_sd(curve[n])[1] for n in ns]
            seeds = min(len(curve[n]) for n in ns)
            ax.plot(ns, m, marker=".", color=colour, label=f"{order} (mean of {seeds} seeds)")
            ax.fill_between(ns, [a - b for a, b in zip(m, sd)], [a + b for a, b in zip(m, sd)], color=colour, alpha=0.2)
        ax.set_title(f"{corpus}: dev entity F1, starting from the default model")
        ax.set_xlabel("answered texts")
        ax.set_ylabel("dev F1")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(rows: list[dict], command: str, timing: Sequence[dict] = ()) -> str:
    """The ``active-learning`` section of RESULTS.md (``timing``: the rows of ``--time-retrain``)."""
    m = machine_info()
    cur = curves(rows)
    corpora = corpus_order({c for c, _ in cur})
    cols = [(c, o) for c in corpora for o in ("random", "uncertain") if (c, o) in cur]
    seeds = {k: sorted({r["seed"] for r in rows if (r["corpus"], r["order"]) == k}) for k in cols}
    first = rows[0] if rows else {}
    lines = [
        BEGIN,
        "## Does the annotation loop pay? (issue #29, item 5)",
        "",
        f"Generated by `{command}` (`--table` rebuilds this section and the plot from the raw rows in "
        "`benchmarks/active_learning.jsonl`; how the simulation works: the script's docstring).",
        "",
        f"- Date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; commit {m['commit'] or 'unknown'}; "
        f"{m['cpu']}, {m['cores']} cores, two runs at a time with one BLAS thread each",
        "- A simulated annotator answers with the gold spans through `Annotator.next_task` / `Annotator.answer` "
        "(the page's code path, in process), starting from the default PER/LOC/DATE model; the annotator retrains "
        f"every {first.get('round_size', '?')} answers as the page does ({first.get('epochs', '?')} epochs, the "
        "model's settings; every 5th answer held out for the page's own F1), the simulation waits for it, then "
        "scores the model on the whole dev file (gold tokens, conlleval entity F1). The pool: every sentence of "
        "`<corpus>.train.conll` as raw text. conll03 is annotated with its own PER/LOC/ORG/MISC (ORG and MISC added "
        "at the first retrain via `Annotator(add_labels=...)`).",
        "- Seeds: " + "; ".join(f"{c} {o}: {', '.join(map(str, s))}" for (c, o), s in seeds.items()) + ".",
        "",
        "Dev F1, mean ± sd over the seeds:",
        "",
        "| answered texts | " + " | ".join(f"{c} {o}" for c, o in cols) + " |",
        "|---:|" + "---:|" * len(cols),
    ]
    ns = sorted({n for k in cols for n in cur[k]})
    for n in ns:
        cells = []
        for k in cols:
            xs = cur[k].get(n)
            cells.append(f"{mean_sd(xs)[0]:.4f} ± {mean_sd(xs)[1]:.4f}" if xs else "")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += ["", "![dev F1 against answered texts](active_learning.png)", ""]
    for s in summary(rows):
        need = s["uncertain_needs"]
        verdict = ""
        if s["corpus"] == "gmb" and s["at"] >= 1000:
            met = need is not None and need <= TARGET_ANSWERS
            verdict = f" Done-when (at most {TARGET_ANSWERS}): **{'met' if met else 'not met'}**."
        lines.append(
            f"- **{s['corpus']}**: `random` reaches mean F1 {s['random_f1']:.4f} at {s['at']} answered texts; "
            + (
                f"`uncertain` first reaches it with **{need}** answers."
                if need is not None
                else f"`uncertain` does not reach it within {max(cur[(s['corpus'], 'uncertain')])} answers."
            )
            + (f" Its mean stays at or above it from {s['stays_from']} answers on." if need is not None else "")
            + (
                f" (The starting model scores {s['start_f1']:.4f}: {s['at']} answers in random order bring it "
                f"{100 * (s['random_f1'] - s['start_f1']):+.2f} points, in uncertain order "
                f"{100 * (statistics.mean(cur[(s['corpus'], 'uncertain')][s['at']]) - s['start_f1']):+.2f}.)"
                if s["at"] in cur[(s["corpus"], "uncertain")]
                else ""
            )
            + verdict
        )
    falls = collapses(rows)
    if falls:
        lines += [
            "",
            f"Retrains that lost more than 0.1 dev F1 against the run's previous round ({len(falls)} of "
            f"{sum(1 for r in rows if r['round'] > 0)}; dev F1 before → after, and the page's held-out F1 of the "
            "retrained model): "
            + "; ".join(
                f"{r['corpus']} {r['order']} seed {r['seed']} at {r['answered']}: {r['f1_before']:.3f} → {r['f1']:.3f} "
                f"(held-out {_fmt(r.get('heldout_f1'))})"
                for r in falls
            )
            + ". The page's retrain has no dev set to choose an epoch with (it keeps the last), so a training run "
            "that goes wrong is swapped in as it is; its held-out F1 on the page shows it, and the next retrain "
            "starts from it. At 50 answers it trains on 40 texts only (conll03: with two new types).",
        ]
    lines += [
        "",
        "Wall time of a retrain round (the page's background retrain: training on from the current model, scoring the "
        "held-out answers and, for `uncertain`, re-ranking the texts left; in brackets the training run alone), "
        "mean over the seeds, seconds:",
        "",
        "| answered texts (trained on) | " + " | ".join(f"{c} {o}" for c, o in cols) + " |",
        "|---:|" + "---:|" * len(cols),
    ]
    timed = [r for r in rows if r["round"] > 0]
    for n in sorted({r["answered"] for r in timed}):
        trained = sorted({r["trained_on"] for r in timed if r["answered"] == n})
        cells = []
        for c, o in cols:
            sel = [r for r in timed if (r["corpus"], r["order"], r["answered"]) == (c, o, n)]
            if sel:
                retrain = statistics.mean(r["retrain_seconds"] for r in sel)
                fit = statistics.mean(r["fit_seconds"] for r in sel)
                cells.append(f"{retrain:.1f} ({fit:.1f})")
            else:
                cells.append("")
        lines.append(f"| {n} ({'/'.join(map(str, trained))}) | " + " | ".join(cells) + " |")
    worst = max((r["retrain_seconds"] for r in timed), default=None)
    if worst is not None:
        lines += [
            "",
            f"- The slowest retrain round of all runs: {worst:.1f} s (the Done-when asks under 15 s), two runs at a "
            "time on the 2 cores (and other jobs of the shared machine besides, if any).",
        ]
    for corpus in corpus_order({r["corpus"] for r in timing}):
        sel = [r for r in timing if r["corpus"] == corpus]
        loads = [x for r in sel for x in r["loadavg"]]
        lines.append(
            f"- Alone (`--time-retrain {sel[0]['answered']}`, one process, {len(sel)} repeats): a retrain round on "
            f"{sel[0]['answered']} {corpus} answers ({sel[0]['trained_on']} trained on, the pool re-ranked) took "
            f"{statistics.mean(r['retrain_seconds'] for r in sel):.1f} s (max "
            f"{max(r['retrain_seconds'] for r in sel):.1f}), the training run "
            f"{statistics.mean(r['fit_seconds'] for r in sel):.1f} s; 1-minute load average "
            f"{min(loads):.1f} to {max(loads):.1f} meanwhile (the machine is shared)."
        )
    if timing:
        alone = max(r["retrain_seconds"] for r in timing)
        n = max(r["answered"] for r in timing)
        at_n = [r["retrain_seconds"] for r in timed if r["answered"] == n]
        in_sim = (
            f"; in the simulation's rounds at {n} answers (two runs at a time): "
            f"**{'met' if max(at_n) < 15 else 'not met'}** (max {max(at_n):.1f} s)"
            if at_n
            else ""
        )
        lines.append(
            f"- Done-when (a retrain round on {n} texts under 15 s), alone: **{'met' if alone < 15 else 'not met'}** "
            f"(max {alone:.1f} s){in_sim}."
        )
    dropped = {k: max((r.get("dropped_spans", 0) for r in timed if (r["corpus"], r["order"]) == k), default=0)
               for k in cols}  # fmt: skip
    if any(dropped.values()):
        lines.append(
            "- Gold spans that did not fall on the model's token boundaries (answered without them): "
            + ", ".join(f"{c} {o} up to {d}" for (c, o), d in dropped.items())
            + "."
        )
    lines.append(END)
    return "\n".join(lines)


def command(rows: list[dict]) -> str:
    """The command that measures ``rows`` again."""
    runs = {run_key(r) for r in rows}
    flags = {
        "--corpora": sorted({c for c, _, _ in runs}, key=list(ADD_LABELS).index),
        "--seeds": sorted({s for _, _, s in runs}),
        "--rounds": [max(r["round"] for r in rows)],
        "--round-size": sorted({r["round_size"] for r in rows}),
    }
    if any(r.get("epochs_flag") for r in rows):
        flags["--epochs"] = sorted({r["epochs_flag"] for r in rows})
    return "OPENBLAS_NUM_THREADS=1 python benchmarks/active_learning.py " + " ".join(
        f"{k} {' '.join(shlex.quote(str(v)) for v in vs)}" for k, vs in flags.items()
    )


def report(args) -> None:
    everything = read_raw(args.raw)
    rows = [r for r in everything if not is_timing(r)]
    if not rows:
        raise BenchError(f"{args.raw}: no rows; run the simulation first")
    plot(rows, args.plot)
    section = render(rows, command(rows), [r for r in everything if is_timing(r)])
    print(section)
    if not args.no_write:
        replace_section(args.results, section, BEGIN, END)
        say(f"wrote {args.plot} and the {BEGIN} section of {args.results}")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--corpora", nargs="+", default=["gmb", "conll03"], choices=sorted(ADD_LABELS))
    p.add_argument("--orders", nargs="+", default=list(ORDERS), choices=ORDERS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--rounds", type=int, default=20, help="rounds of answers per run (default 20)")
    p.add_argument("--round-size", type=int, default=50, help="answers per round = retrain every (default 50)")
    p.add_argument("--epochs", type=int, default=0, help="retrain epochs (default 0: the page's, RETRAIN_EPOCHS)")
    p.add_argument(
        "--time-retrain",
        type=int,
        default=0,
        metavar="N",
        help="instead of the simulation, time one retrain round on N answers per corpus and seed, alone",
    )
    p.add_argument("--jobs", type=int, default=2, help="runs at a time, one process each (default 2)")
    p.add_argument("--corpora-dir", type=Path, default=DEFAULT_CORPORA_DIR, help="<corpus>.{train,dev}.conll")
    p.add_argument(
        "--raw", type=Path, default=RAW, help="the JSON-lines rows (default benchmarks/active_learning.jsonl)"
    )
    p.add_argument("--plot", type=Path, default=PLOT)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--fresh", action="store_true", help="drop the rows in --raw and run everything")
    p.add_argument("--table", action="store_true", help="only rebuild the plot and the section from --raw")
    p.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--runs", nargs="*", default=[], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    if not args.table:
        missing = [
            f
            for c in args.corpora
            for s in ("train", "dev")
            if not (f := args.corpora_dir / f"{c}.{s}.conll").is_file()
        ]
        if missing:
            print(f"active_learning.py: skipped: {', '.join(map(str, missing))} not found (needs ../shared/corpora)")
            return 0
        if args.time_retrain:
            time_retrain(args)
        else:
            measure(args)
    report(args)
    return 0


if __name__ == "__main__":
    exit_with(main, "active_learning.py")
