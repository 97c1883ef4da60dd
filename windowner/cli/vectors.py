"""``windowner vectors``: train word2vec vectors on raw text, or describe a vectors spec."""

from __future__ import annotations

import time

EXAMPLES = ["the", "Paris", "EU", "1987", "12,000", "4,567", "don't", "qwzxv"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "vectors",
        help="train or inspect word vectors",
        description="Train skip-gram word2vec vectors on raw text, or describe a vectors spec "
        "(glove-6b-50d, or [glove:|word2vec:|word2vec-bin:|kv:]PATH).",
    )
    vsub = p.add_subparsers(dest="vectors_command", metavar="ACTION", required=True)

    t = vsub.add_parser(
        "train",
        help="train word2vec (skip-gram) on a text file",
        description="Train skip-gram word2vec on a UTF-8 text file (one sentence or paragraph "
        "per line, streamed) and write the vectors in word2vec binary format.",
    )
    t.add_argument("--text", required=True, metavar="FILE", help="raw text, one sentence or paragraph per line")
    t.add_argument("--out", required=True, metavar="FILE", help="output file (word2vec binary format)")
    t.add_argument("--dim", type=int, default=100, help="vector size (default 100)")
    t.add_argument("--window", type=int, default=5, help="context window (default 5)")
    t.add_argument("--min-count", type=int, default=2, help="ignore words rarer than this (default 2)")
    t.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    t.add_argument("--workers", type=int, default=2, help="worker threads; 1 makes training deterministic")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=run)

    i = vsub.add_parser(
        "info",
        help="describe word vectors and show example lookups",
        description="Load a vectors spec and print its size, dimension and example lookups.",
    )
    i.add_argument("spec", nargs="?", default=None, help="vectors spec (default glove-6b-50d)")
    i.add_argument("--lookup", nargs="+", metavar="TOKEN", help="tokens to look up (default: a few examples)")
    i.set_defaults(func=run)


def run(args) -> int:
    from ..lexicon.vectors import DEFAULT_VECTORS, load_vectors
    from ..lexicon.word2vec import train_word2vec

    if args.vectors_command == "train":
        t0 = time.perf_counter()
        wv = train_word2vec(
            args.text,
            args.out,
            dim=args.dim,
            window=args.window,
            min_count=args.min_count,
            epochs=args.epochs,
            workers=args.workers,
            seed=args.seed,
            progress=not args.quiet,
        )
        print(f"wrote {len(wv)} vectors of dim {wv.dim} to {args.out} ({time.perf_counter() - t0:.1f} s)")
        print(f"use them with: {wv.spec}")
        return 0

    t0 = time.perf_counter()
    wv = load_vectors(args.spec or DEFAULT_VECTORS)
    t1 = time.perf_counter()
    tokens = args.lookup or EXAMPLES
    rows = wv.find_many(tokens)  # builds the word index
    t2 = time.perf_counter()
    print(f"spec:       {wv.spec}")
    print(f"vocabulary: {len(wv)}")
    print(f"dim:        {wv.dim}")
    print(f"lowercase:  {'yes' if wv.lowercase else 'no'}")
    print(f"load:       {1000 * (t1 - t0):.0f} ms (+{1000 * (t2 - t1):.0f} ms building the word index)")
    print("lookups:")
    width = max(len(t) for t in tokens)
    for tok, row in zip(tokens, rows):
        shown = f"{wv.key_for(tok)!r} (row {row})" if row >= 0 else "not found"
        print(f"  {tok:<{width}} -> {shown}")
    return 0
