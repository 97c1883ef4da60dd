"""``windowner evaluate MODEL FILE``: conlleval-style entity precision / recall / F1."""

from __future__ import annotations

import json
import time


def add_parser(sub) -> None:
    from .options import add_data_args, positive_int

    p = sub.add_parser("evaluate", help="entity-level P/R/F1 on a CoNLL file",
                       description="Tag FILE with MODEL and score entities exactly as conlleval does.")
    p.add_argument("model", metavar="MODEL", help="model directory")
    p.add_argument("file", metavar="FILE", help="gold CoNLL file ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--batch-size", type=positive_int, default=5000, help="sentences per model call")
    add_data_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from itertools import islice

    from ..conll import read_conll
    from ..metrics import Accumulator
    from ..model_files import load_model
    from .options import data_kwargs, report_warnings

    model = load_model(args.model)
    kw = data_kwargs(args, model.labels)
    t0 = time.perf_counter()
    acc = Accumulator()
    with report_warnings():
        sentences = read_conll(args.file, **kw)
        while True:
            batch = list(islice(sentences, args.batch_size))
            if not batch:
                break
            for s, pred in zip(batch, model.predict([s.tokens for s in batch])):
                acc.add(s.tags, pred)
    report = acc.report()
    seconds = time.perf_counter() - t0
    if args.json:
        out = report.to_dict()
        out["seconds"] = round(seconds, 4)
        print(json.dumps(out, indent=2))
    else:
        print(report.format())
        print(f"({report.tokens / max(seconds, 1e-9):,.0f} tokens/s)")
    return 0
