"""``windowner evaluate MODEL FILE``: conlleval-style entity precision / recall / F1."""

from __future__ import annotations

import json
import sys
import time


def add_parser(sub) -> None:
    from ..evaluation.coverage import TYPES
    from .options import add_data_args, add_format_arg, add_threshold_arg, positive_int

    p = sub.add_parser(
        "evaluate",
        help="entity-level P/R/F1 on a CoNLL file",
        description="Tag FILE with MODEL and score entities exactly as conlleval does.",
    )
    p.add_argument("model", metavar="MODEL", help="model directory")
    p.add_argument("file", metavar="FILE", help="gold data: CoNLL ('-' for stdin), JSON lines or .spacy")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument(
        "--html",
        default=None,
        metavar="PATH",
        help="also write a self-contained HTML error report (taxonomy, confusion, threshold curve, "
        "sentences with errors) to PATH",
    )
    p.add_argument("--batch-size", type=positive_int, default=5000, help="sentences per model call")
    p.add_argument(
        "--types",
        choices=TYPES,
        default="all",
        help="all (default): score every gold entity, as conlleval does (a type the model does not predict counts "
        "as missed); model: score only the model's types, leaving the file's other entities out",
    )
    add_threshold_arg(p)
    g = p.add_argument_group("confidence (how far the entity scores can be trusted)")
    g.add_argument("--pr-curve", metavar="PNG", help="plot precision, recall and F1 against the threshold")
    g.add_argument("--calibration", metavar="PNG", help="plot the reliability diagram of the entity scores, with ECE")
    add_format_arg(p)
    add_data_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from itertools import islice

    from ..evaluation.confidence import Outcomes
    from ..evaluation.coverage import TypeCoverage
    from ..evaluation.metrics import Accumulator
    from ..model.files import load_model
    from ..tagger import Tagger
    from ..text.formats import read_sentences
    from ..text.tags import relabel
    from .options import data_kwargs, report_warnings

    model = load_model(args.model)
    kw = data_kwargs(args)  # every gold type is read and counted; --types model restricts the scores below
    coverage = TypeCoverage(tuple(model.labels), args.types)
    keep = frozenset(model.labels) if args.types == "model" else None
    t0 = time.perf_counter()
    acc = Accumulator()
    kept, every = Outcomes(), Outcomes()  # entities at or above --threshold; all of them, for the curve
    analysis = None
    if args.html is not None:
        from pathlib import Path

        from ..errors import WindownerError
        from ..evaluation.report import ErrorAnalysis

        if not Path(args.html).resolve().parent.is_dir():  # fail before tagging, not after
            raise WindownerError(f"{args.html}: its directory does not exist")
        analysis = ErrorAnalysis()
    with report_warnings():
        tagger = Tagger(model)  # JSON lines without tokens are tokenized as the model tokenizes raw text
        sentences = read_sentences(args.file, args.input_format, segment=tagger.segment, **kw)
        while True:
            batch = list(islice(sentences, args.batch_size))
            if not batch:
                break
            tokens, file_gold = [s.tokens for s in batch], [s.gold for s in batch]
            gold = file_gold if keep is None else [relabel(g, {}, keep) for g in file_gold]
            scored = model.predict_scored(tokens, args.threshold)
            coverage.add(file_gold, scored.tags)
            for g, pred in zip(gold, scored.tags):
                acc.add(g, pred)
            kept.add(gold, scored)
            every.add(gold, scored if args.threshold == 0 else model.predict_scored(tokens), tokens=False)
            if analysis is not None:  # the same pass gives the report its entities and scores
                for s, g, pred, proba, ents in zip(batch, gold, *scored):
                    analysis.add(s.tokens, g, pred, proba, line=s.line, ent_scores=ents)
    report = acc.report()
    seconds = time.perf_counter() - t0
    curve = every.pr_curve()  # computed once: the JSON, the plot and the HTML report show this curve
    confidence = _confidence(model, args, kept, curve)
    notes = _type_notes(coverage)
    for line in coverage.messages():  # once, whatever the output format
        print(f"warning: {line}", file=sys.stderr)
    if analysis is not None:
        _write_html(args, analysis, report, curve, notes)
    if args.json:
        out = report.to_dict()
        out["types"] = coverage.to_dict()
        out["seconds"] = round(seconds, 4)
        out["confidence"] = confidence
        print(json.dumps(out, indent=2))
    else:
        if args.types == "model":
            print(notes[0])
        print(report.format())
        print(f"({report.tokens / max(seconds, 1e-9):,.0f} tokens/s)")
        ent, best = confidence["entity"], confidence["best_threshold"]
        print(
            f"entity scores{'' if confidence['calibrated'] else ' (uncalibrated model)'}: ECE {ent['ece']:.4f} over "
            f"{sum(ent['count']):,} entities; token ECE {confidence['token']['ece']:.4f}; best F1 "
            f"{best['f1']:.4f} at --threshold {best['threshold']:g}"
        )
    return 0


def _type_notes(coverage) -> list[str]:
    """What was scored (with --types model) and the type mismatches, one sentence each."""
    head = []
    if coverage.scored == "model":
        types = ", ".join(sorted(coverage.model_types))
        head.append(f"scored on the model's types only (--types model): {types}")
    return head + coverage.messages()


def _write_html(args, analysis, report, curve, notes: list[str]) -> None:
    """Write the HTML report of ``windowner evaluate --html`` (a note goes to stderr, stdout is unchanged)."""
    from pathlib import Path

    from ..errors import WindownerError
    from ..evaluation.report import render_html
    from ..version import __version__

    page = render_html(
        analysis,
        report,
        source=Path(args.file).name if args.file != "-" else "stdin",
        model=Path(args.model).name,
        version=__version__,
        curve=curve,
        threshold=args.threshold,
        notes=notes,
    )
    try:
        Path(args.html).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise WindownerError(f"{args.html}: cannot write the HTML report ({exc.strerror or exc})") from None
    print(f"wrote {args.html}", file=sys.stderr)


def _confidence(model, args, kept, curve) -> dict:
    """ECE and reliability bins of the entities kept at --threshold (and of the token probabilities), and
    ``curve``, the PR-against-threshold curve of all entities; plots when asked."""
    rel = kept.entity_reliability()
    if args.pr_curve:
        from ..evaluation.plots import plot_pr_curve

        plot_pr_curve(curve, args.pr_curve, marked=args.threshold)
    if args.calibration:
        from ..evaluation.plots import plot_reliability

        plot_reliability(rel, args.calibration)
    best = curve.best()
    return {
        "threshold": args.threshold,
        "calibrated": model.calibration is not None,
        "entity": rel.to_dict(),
        "token": kept.token_reliability().to_dict(),
        "pr_curve": curve.to_dict(),
        "best_threshold": {
            "threshold": float(curve.threshold[best]),
            "precision": float(curve.precision[best]),
            "recall": float(curve.recall[best]),
            "f1": float(curve.f1[best]),
        },
    }
