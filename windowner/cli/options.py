"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

from ..errors import WindownerError


def positive_int(text: str) -> int:
    """argparse type for sizes such as --batch-size (0 would silently process nothing)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def threshold(text: str) -> float:
    """argparse type for --threshold: a number from 0 to 1."""
    import argparse

    from ..evaluation.confidence import check_threshold

    try:
        return check_threshold(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None


def add_threshold_arg(p) -> None:
    p.add_argument(
        "--threshold",
        type=threshold,
        default=0.0,
        metavar="P",
        help="keep only entities whose score (the calibrated probability that the entity is exactly "
        "right) is at least P; the tokens of the others are tagged O (default 0: keep all)",
    )


def add_data_args(p, tags: bool = True) -> None:
    g = p.add_argument_group("CoNLL input")
    if tags:
        g.add_argument(
            "--tag-column",
            type=int,
            default=-1,
            metavar="N",
            help="column holding the NER tag (0-based; default -1, the last)",
        )
    from ..text.tags import SCHEMES

    g.add_argument(
        "--scheme", default="auto", choices=["auto", *SCHEMES], help="tag scheme of the input (default: detect)"
    )
    g.add_argument(
        "--map",
        dest="mapping",
        default=None,
        metavar="OLD=NEW,...",
        help="rename entity types, e.g. PERSON=PER,GPE=LOC",
    )


def data_kwargs(args, labels=None) -> dict:
    from ..text.tags import parse_labels, parse_mapping

    try:
        return {
            "tag_column": getattr(args, "tag_column", -1),
            "scheme": args.scheme,
            "mapping": parse_mapping(args.mapping) if args.mapping else None,
            "labels": parse_labels(labels) if isinstance(labels, str) else labels,
        }
    except ValueError as exc:
        raise WindownerError(str(exc)) from None


@contextmanager
def report_warnings():
    """Show warnings (repairs, labels) as they come, one plain ``warning:`` line each on stderr."""
    import sys

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def add_format_arg(p) -> None:
    """``--input-format`` of train and evaluate: conll, jsonl or spacy (default: by the file's extension)."""
    from ..text.formats import FORMATS

    p.add_argument(
        "--input-format",
        default=None,
        choices=FORMATS,
        help="format of the data files: conll, jsonl (JSON lines with character spans) or spacy (DocBin); "
        "default: by extension (.jsonl/.json, .spacy, else conll)",
    )


def read_pairs(path, fmt=None, **kwargs) -> list[tuple[list[str], list[str]]]:
    """(tokens, BIO2 tags) of every sentence of a data file in any format (see text/formats)."""
    from ..text.formats import read_sentences

    pairs = []
    for s in read_sentences(path, fmt, **kwargs):
        pairs.append((s.tokens, s.gold))  # read with a tag column (data_kwargs): every sentence has its tags
    return pairs
