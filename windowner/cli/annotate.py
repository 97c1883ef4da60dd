"""``windowner annotate MODEL TEXTS --out FILE``: correct a model's entities in a local page, one text at a time.

See :mod:`windowner.integrations.annotate` (the HTTP API) and :mod:`windowner.integrations.annotator` (the state)."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    from ..integrations.annotator import ORDERS
    from .options import add_server_args, non_negative_int

    p = sub.add_parser(
        "annotate",
        help="correct a model's entities in a local page; answers go to a JSON-lines file",
        description="Serve a page on http://HOST:PORT/ that shows the texts of TEXTS one at a time with MODEL's "
        "entities pre-marked, to accept, skip or correct; every answer is appended to --out (fsynced) at once, "
        "and a restart resumes after the last one. Needs pip install 'windowner[serve]'.",
    )
    p.add_argument("model", metavar="MODEL", help="model directory")
    p.add_argument("texts", metavar="TEXTS", help='one text per line (UTF-8), or .jsonl/.json records with "text"')
    p.add_argument("--out", required=True, metavar="FILE", help="answers, appended as JSON lines (read by train)")
    p.add_argument(
        "--order",
        choices=ORDERS,
        default="uncertain",
        help="uncertain (default): texts whose least sure token the model is least sure of first; "
        "sequential: as in TEXTS; random: shuffled by --seed",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --order random (default 0)")
    p.add_argument(
        "--retrain-every",
        type=non_negative_int,
        default=50,
        metavar="N",
        help="train a new model in the background every N answers (default 50; 0: never)",
    )
    p.add_argument(
        "--heldout-every",
        type=non_negative_int,
        default=5,
        metavar="K",
        help="hold out every K-th accepted answer from retraining to score the model (default 5; 0: none)",
    )
    p.add_argument("--train", metavar="FILE", help="labelled data added to the answers when retraining")
    p.add_argument(
        "--labels",
        type=_labels,
        default=[],
        metavar="A,B,...",
        help="entity types to annotate besides the model's (e.g. ORG,MISC); retraining learns them",
    )
    add_server_args(p)
    p.set_defaults(func=run)


def _labels(text: str) -> list[str]:
    import argparse

    from ..text.tags import parse_labels

    try:
        return parse_labels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args) -> int:
    from ..errors import WindownerError
    from ..integrations.annotate import create_app
    from ..integrations.annotator import Annotator
    from ..integrations.answers import AnswerLog, read_texts
    from ..integrations.serve import require_serve
    from ..tagger import load
    from .options import check_port, read_pairs, report_warnings, run_server

    require_serve("windowner annotate")
    check_port(args.port)

    with report_warnings():
        tagger = load(args.model)
        texts = read_texts(args.texts)
        extra = read_pairs(args.train) if args.train else []
        log = AnswerLog(args.out)  # locks the file: a second server on it stops here
    try:
        annotator = Annotator(
            tagger,
            texts,
            log,
            order=args.order,
            seed=args.seed,
            retrain_every=args.retrain_every,
            heldout_every=args.heldout_every,
            extra=extra,
            add_labels=[label for label in args.labels if label not in tagger.labels],
        )
    except ValueError as exc:
        log.close()
        raise WindownerError(str(exc)) from None
    p = annotator.progress()
    print(
        f"windowner annotate: {p['total']} texts, {p['answered']} answered already, answers go to {args.out}; "
        "Ctrl-C stops",
        file=sys.stderr,
    )
    try:
        run_server(create_app(annotator, max_body=args.max_body), args, "annotate")
    finally:
        log.close()
    return 0
