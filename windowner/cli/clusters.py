"""``windowner clusters``: Brown clusters from raw unlabelled text."""

from __future__ import annotations

import time

from .options import positive_int


def add_parser(sub) -> None:
    p = sub.add_parser(
        "clusters",
        help="train Brown word clusters",
        description="Brown word clusters (Brown et al. 1992, Liang 2005) for the --clusters feature.",
    )
    csub = p.add_subparsers(dest="clusters_command", metavar="ACTION", required=True)
    t = csub.add_parser(
        "train",
        help="Brown-cluster the words of a raw text file",
        description="Brown-cluster the words of a UTF-8 text file (one document per line, tokenized as "
        "`windowner tag` tokenizes raw text) with Liang's windowed algorithm and write PATH<TAB>WORD<TAB>COUNT "
        "lines, PATH the bit string of the word's cluster in the merge tree.",
    )
    t.add_argument("--text", required=True, metavar="FILE", help="raw text, one document per line")
    t.add_argument("--out", required=True, metavar="FILE", help="output cluster file (PATH<TAB>WORD<TAB>COUNT)")
    t.add_argument("--k", type=positive_int, default=1000, help="number of clusters (default 1000)")
    t.add_argument(
        "--min-count", type=positive_int, default=1, metavar="N", help="leave out words rarer than N (default 1)"
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=run)


def run(args) -> int:
    from ..lexicon.brown import train_clusters

    t0 = time.perf_counter()
    words, tokens = train_clusters(args.text, args.out, k=args.k, min_count=args.min_count, progress=not args.quiet)
    print(
        f"wrote {words} words ({tokens} tokens) in {args.k} clusters to {args.out} ({time.perf_counter() - t0:.1f} s)"
    )
    return 0
