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

With ``--second net`` the second pass is instead the window network itself (:class:`windowner.nn.network.WindowNetwork`,
300 tanh units, sigmoid head, trained by ``windowner.nn.optim.fit_dense``): its input is, at each of the 2k+1 window
positions, the first-pass model's embeddings of the token (word, casing, suffix; frozen) followed by its log
first-pass probabilities and (with context) the context columns above, sentence edges zero-padded, so the context
of the neighbours counts too. Against the same network without the context columns, and against the first pass.

With ``--inputs`` the network instead takes, besides the frozen embeddings, non-local inputs that need no first
pass (and so no out-of-fold models): ``doccase``, per token, the shares of the other mentions of its lowercase form
within ±R sentences that are Title-case (not sentence-initial), UPPER and lower, and the log of their number;
``sentmean``, the mean word vector of its sentence. Against the same network with neither.

This is an estimate of headroom, not a built option: the stacked model would need the first pass, the context
and the second pass in the tagger. ``--set JSON`` gives the first-pass models TrainConfig settings (issue #27:
the Brown clusters and gazetteer lists). Usage::

    python benchmarks/doc_context.py --corpus conll03 --radius 10 25 [--second net] [--set '{"gazetteers": "..."}']
    python benchmarks/doc_context.py --corpus conll03 --radius 25 --inputs
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import windowner
from windowner.evaluation.metrics import evaluate
from windowner.nn.decode import viterbi_bio
from windowner.text.conll import read_conll

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


def windowed(model, sentences, dense: np.ndarray, batch: int = 8192) -> np.ndarray:
    """(n, m·d_total + m·c) second-pass inputs: each window position's first-pass embeddings, then each
    position's ``dense`` (n, c) row (zeros beyond the sentence edges)."""
    from windowner.features import pad_flat, window_indices

    lengths = [len(s) for s in sentences]
    k = model.window
    padded = pad_flat(dense.astype(np.float32), lengths, k, 0.0, 0.0)
    ctx = padded[window_indices(lengths, k)].reshape(len(dense), -1)  # (n, m·c)
    feats = model.window_features(sentences)
    emb = np.vstack([model.embeddings.forward(feats[a : a + batch]) for a in range(0, len(feats), batch)])
    return np.hstack([emb.astype(np.float32), ctx])


def net_second_pass(train_x, train_y, dev_x, dev_sents, tags, seed: int, epochs: int = 8) -> float:
    from windowner.nn.network import WindowNetwork
    from windowner.nn.optim import fit_dense

    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6  # one scale for every column
    net = WindowNetwork(train_x.shape[1], 300, len(tags), dropout=0.2, random_state=seed)
    fit_dense(
        net,
        (train_x - mean) / std,
        np.eye(len(tags), dtype=np.float32)[train_y],
        epochs=epochs,
        batch_size=256,
        lr=0.1,
        momentum=0.9,
        decay=0.05,
        random_state=seed,
    )
    logp = net.log_proba(((dev_x - mean) / std).astype(np.float32))
    lengths = [len(s) for s, _ in dev_sents]
    best = viterbi_bio(logp.astype(np.float64), lengths, tags)
    flat = np.asarray(tags, dtype=object)[best].tolist()
    bounds = np.cumsum([0] + lengths)
    return evaluate([g for _, g in dev_sents], [flat[a:b] for a, b in zip(bounds, bounds[1:])]).overall.f1


def doc_casing(sentences, radius: int) -> np.ndarray:
    """(n_tokens, 4): over the other mentions of the token's lowercase form within ±radius sentences, the shares that
    are Title-case not at a sentence start, UPPER and lower, then log(1 + their number)."""
    from windowner.features import LOWER, TITLE, UPPER, casing

    sent_of = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    start = np.concatenate([np.arange(len(s)) == 0 for s in sentences])
    words = [w for s in sentences for w in s]
    case = np.array([casing(w) for w in words])
    flags = np.stack([(case == TITLE) & ~start, case == UPPER, case == LOWER], axis=1).astype(np.float64)
    by_word: dict[str, list[int]] = {}
    for i, w in enumerate(words):
        by_word.setdefault(w.lower(), []).append(i)
    out = np.zeros((len(words), 4))
    for idx in by_word.values():
        idx = np.asarray(idx)
        s = sent_of[idx]
        csum = np.vstack([np.zeros(3), np.cumsum(flags[idx], axis=0)])
        lo = np.searchsorted(s, s - radius, side="left")
        hi = np.searchsorted(s, s + radius, side="right")
        n = hi - lo - 1
        has = n > 0
        out[idx[has], :3] = (csum[hi] - csum[lo] - flags[idx])[has] / n[has, None]
        out[idx, 3] = np.log1p(n)
    return out


def sentence_mean(model, sentences) -> np.ndarray:
    """(n_tokens, d_w): each token's row is the mean word vector of its sentence (the model's word table)."""
    rows = []
    for s in sentences:
        vec = model.embeddings.word_vectors(model.lexicon.features(s)[:, 0]).mean(axis=0)
        rows.append(np.repeat(vec[None], len(s), axis=0))
    return np.vstack(rows)


def inputs_probe(full, train, dev, radius: int, seed: int) -> dict:
    """Dev F1 of the network on frozen embeddings alone, + doccase, + sentmean (see the module docstring)."""
    tags = full.tags
    index = {t: i for i, t in enumerate(tags)}
    train_sents, dev_sents = [t for t, _ in train], [t for t, _ in dev]
    train_y = np.array([index[g] for _, gs in train for g in gs])
    variants = {
        "none": (np.zeros((len(train_y), 1)), np.zeros((sum(map(len, dev_sents)), 1))),
        "doccase": (doc_casing(train_sents, radius), doc_casing(dev_sents, radius)),
        "sentmean": (sentence_mean(full, train_sents), sentence_mean(full, dev_sents)),
    }
    out = {}
    for name, (a, b) in variants.items():
        out[f"inputs_{name}_r{radius}"] = net_second_pass(
            windowed(full, train_sents, a), train_y, windowed(full, dev_sents, b), dev, tags, seed
        )
        print(name, round(out[f"inputs_{name}_r{radius}"], 4), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="conll03", choices=["conll03", "gmb"])
    ap.add_argument("--radius", type=int, nargs="+", default=[10, 25])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--second", choices=["logreg", "net"], default="logreg", help="the second-pass model")
    ap.add_argument("--inputs", action="store_true", help="probe non-local inputs that need no first pass instead")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "doc_context.json"))
    ap.add_argument(
        "--set",
        type=json.loads,
        default={},
        metavar="JSON",
        help='TrainConfig settings of every first-pass model, e.g. \'{"clusters": "...", "gazetteers": "..."}\'',
    )
    args = ap.parse_args()
    settings = dict(args.set)
    t0 = time.perf_counter()
    train, dev = pairs(f"{args.corpus}.train.conll"), pairs(f"{args.corpus}.dev.conll")
    if args.inputs:
        full = windowner.train(train, dev=dev, seed=args.seed, **settings).model
        result = {
            "corpus": args.corpus,
            "seed": args.seed,
            "first_pass_dev_f1": evaluate([g for _, g in dev], full.predict([t for t, _ in dev])).overall.f1,
        }
        for r in args.radius:
            result.update(inputs_probe(full, train, dev, r, args.seed))
        return record(result, t0, args.out)
    half = len(train) // 2
    folds = [(train[:half], train[half:]), (train[half:], train[:half])]
    full = windowner.train(train, dev=dev, seed=args.seed, **settings).model
    tags = full.tags
    index = {t: i for i, t in enumerate(tags)}
    oof = []
    for fit_on, apply_to in folds:
        m = windowner.train(fit_on, dev=dev, seed=args.seed, **settings).model
        assert m.tags == tags
        oof.append(first_pass(m, [t for t, _ in apply_to]))
    train_sents = [t for t, _ in folds[1][0]] + [t for t, _ in folds[0][0]]  # the order of oof: 2nd half, 1st
    train_proba = np.vstack(oof)
    train_y = np.array([index[g] for _, gs in folds[1][0] + folds[0][0] for g in gs])
    dev_proba = first_pass(full, [t for t, _ in dev])
    model_f1 = evaluate([g for _, g in dev], full.predict([t for t, _ in dev])).overall.f1
    result = {
        "corpus": args.corpus,
        "seed": args.seed,
        "second": args.second,
        "settings": settings,
        "first_pass_dev_f1": model_f1,
    }
    dev_tokens = [t for t, _ in dev]
    for r in [None] + args.radius:
        # the halves are contiguous, so the ±r neighbourhoods stay within the text each was predicted on
        ctx_train = None if r is None else context(train_sents, train_proba, r)
        ctx_dev = None if r is None else context(dev_tokens, dev_proba, r)
        key = "second_pass_without_context" if r is None else f"second_pass_with_context_r{r}"
        if args.second == "logreg":
            result[key] = second_pass(
                columns(train_proba, ctx_train), train_y, columns(dev_proba, ctx_dev), dev, tags, args.seed
            )
        else:
            result[key] = net_second_pass(
                windowed(full, train_sents, columns(train_proba, ctx_train)),
                train_y,
                windowed(full, dev_tokens, columns(dev_proba, ctx_dev)),
                dev,
                tags,
                args.seed,
            )
        print(key, round(result[key], 4), flush=True)
    record(result, t0, args.out)


def record(result: dict, t0: float, path: str) -> None:
    """Print ``result`` (with the seconds since ``t0``) and append it to the JSON list at ``path``."""
    result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result, indent=1))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(rows + [result], indent=1) + "\n")


if __name__ == "__main__":
    main()
