"""How much document context could add (issue #18, lever 1), measured before building it into the model.

The shared corpora have no ``-DOCSTART-`` lines, but their sentences are in the order of the original
articles (conll03.train opens with "EU rejects German call to boycott British lamb ."), so the ±R sentences
around a sentence stand in for its document. For each token:

1. first pass: the default window model's tag probabilities (on train out-of-fold: two models, each trained
   on one half and applied to the other; on dev: a model trained on all of train);
2. context: the same probabilities averaged over the other mentions of the same word within ±R sentences,
   and the log of their number;
3. second pass: a multinomial logistic regression (scikit-learn) from [log first-pass probabilities, context
   probabilities, log count] to the tag, trained on train, decoded with the BIO-constrained Viterbi of the
   model; against the same regression without the context columns, so that the difference is the context's.

This is an estimate of headroom, not the stacked window model the issue describes (which would take the
context as an input table with hand-derived gradients). Usage::

    python benchmarks/doc_context.py --corpus conll03 --radius 10 25
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import windowner
from windowner.conll import read_conll
from windowner.decode import viterbi_bio
from windowner.metrics import evaluate

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def pairs(name: str) -> list[tuple[list[str], list[str]]]:
    return [(s.tokens, s.tags) for s in read_conll(SHARED / name)]


def first_pass(model, sentences) -> np.ndarray:
    """(n_tokens, K) tag probabilities, rows summing to 1."""
    p = np.exp(model.log_proba(sentences).astype(np.float64))
    return p / p.sum(axis=1, keepdims=True)


def context(sentences, proba: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Per token: mean ``proba`` over the other mentions of its word within ±radius sentences (zeros without
    any), and how many there are."""
    sent_of = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    words = [w for s in sentences for w in s]
    by_word: dict[str, list[int]] = {}
    for i, w in enumerate(words):
        by_word.setdefault(w, []).append(i)
    mean = np.zeros_like(proba)
    count = np.zeros(len(words))
    for idx in by_word.values():
        if len(idx) < 2:
            continue
        idx = np.asarray(idx)  # in sentence order
        s = sent_of[idx]
        csum = np.vstack([np.zeros(proba.shape[1]), np.cumsum(proba[idx], axis=0)])
        lo = np.searchsorted(s, s - radius, side="left")
        hi = np.searchsorted(s, s + radius, side="right")
        n = hi - lo - 1
        total = csum[hi] - csum[lo] - proba[idx]
        has = n > 0
        mean[idx[has]] = total[has] / n[has, None]
        count[idx] = n
    return mean, count


def columns(proba: np.ndarray, ctx: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    cols = [np.log(np.clip(proba, 1e-9, 1))]
    if ctx is not None:
        cols += [ctx[0], np.log1p(ctx[1])[:, None]]
    return np.hstack(cols)


def second_pass(train_x, train_y, dev_x, dev_sents, tags, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed).fit(train_x, train_y)
    logp = np.full((len(dev_x), len(tags)), -1e9)
    logp[:, clf.classes_] = clf.predict_log_proba(dev_x)
    lengths = [len(s) for s, _ in dev_sents]
    best = viterbi_bio(logp, lengths, tags)
    flat = np.asarray(tags, dtype=object)[best].tolist()
    bounds = np.cumsum([0] + lengths)
    pred = [flat[a:b] for a, b in zip(bounds, bounds[1:])]
    return evaluate([g for _, g in dev_sents], pred).overall.f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="conll03", choices=["conll03", "gmb"])
    ap.add_argument("--radius", type=int, nargs="+", default=[10, 25])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "doc_context.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    train, dev = pairs(f"{args.corpus}.train.conll"), pairs(f"{args.corpus}.dev.conll")
    half = len(train) // 2
    folds = [(train[:half], train[half:]), (train[half:], train[:half])]
    full = windowner.train(train, dev=dev, seed=args.seed).model
    tags = full.tags
    index = {t: i for i, t in enumerate(tags)}
    oof = []
    for fit_on, apply_to in folds:
        m = windowner.train(fit_on, dev=dev, seed=args.seed).model
        assert m.tags == tags
        oof.append(first_pass(m, [t for t, _ in apply_to]))
    train_sents = [t for t, _ in folds[1][0]] + [t for t, _ in folds[0][0]]  # the order of oof: 2nd half, 1st
    train_proba = np.vstack(oof)
    train_y = np.array([index[g] for _, gs in folds[1][0] + folds[0][0] for g in gs])
    dev_proba = first_pass(full, [t for t, _ in dev])
    model_f1 = evaluate([g for _, g in dev], full.predict([t for t, _ in dev])).overall.f1
    result = {"corpus": args.corpus, "seed": args.seed, "first_pass_dev_f1": model_f1,
              "second_pass_without_context": second_pass(columns(train_proba, None), train_y,
                                                         columns(dev_proba, None), dev, tags, args.seed)}
    for r in args.radius:
        # the halves are contiguous, so the ±r neighbourhoods stay within the text each was predicted on
        ctx_train = context(train_sents, train_proba, r)
        ctx_dev = context([t for t, _ in dev], dev_proba, r)
        result[f"second_pass_with_context_r{r}"] = second_pass(columns(train_proba, ctx_train), train_y,
                                                               columns(dev_proba, ctx_dev), dev, tags, args.seed)
    result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(rows + [result], indent=1) + "\n")


if __name__ == "__main__":
    main()
