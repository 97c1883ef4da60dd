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
    p.add_argument("--html", default=None, metavar="PATH",
                   help="also write a self-contained HTML error report (taxonomy, confusion, threshold curve, "
                        "sentences with errors) to PATH")
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
    analysis = None
    if args.html is not None:
        from pathlib import Path

        from ..errors import WindownerError
        from ..report import ErrorAnalysis

        if not Path(args.html).resolve().parent.is_dir():  # fail before tagging, not after
            raise WindownerError(f"{args.html}: its directory does not exist")
        analysis = ErrorAnalysis()
    with report_warnings():
        sentences = read_conll(args.file, **kw)
        while True:
            batch = list(islice(sentences, args.batch_size))
            if not batch:
                break
            tokens = [s.tokens for s in batch]
            if analysis is None:
                preds, probas = model.predict(tokens), [None] * len(batch)
            else:  # the same pass gives the report its scores
                preds, probas = model.predict(tokens, with_proba=True)
            for s, pred, proba in zip(batch, preds, probas):
                acc.add(s.tags, pred)
                if analysis is not None:
                    analysis.add(s.tokens, s.tags, pred, proba, line=s.line)
    report = acc.report()
    seconds = time.perf_counter() - t0
    if analysis is not None:
        _write_html(args, analysis, report)
    if args.json:
        out = report.to_dict()
        out["seconds"] = round(seconds, 4)
        print(json.dumps(out, indent=2))
    else:
        print(report.format())
        print(f"({report.tokens / max(seconds, 1e-9):,.0f} tokens/s)")
    return 0


def _write_html(args, analysis, report) -> None:
    """Write the HTML report of ``windowner evaluate --html`` (a note goes to stderr, stdout is unchanged)."""
    import sys
    from pathlib import Path

    from ..version import __version__
    from ..errors import WindownerError
    from ..report import render_html

    page = render_html(analysis, report, source=Path(args.file).name if args.file != "-" else "stdin",
                       model=Path(args.model).name, version=__version__)
    try:
        Path(args.html).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise WindownerError(f"{args.html}: cannot write the HTML report ({exc.strerror or exc})") from None
    print(f"wrote {args.html}", file=sys.stderr)
