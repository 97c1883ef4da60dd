"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

from ..errors import WindownerError


def _int_at_least(text: str, low: int, kind: str, bound: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type for sizes such as --batch-size (0 would silently process nothing)."""
    return _int_at_least(text, 1, "a positive integer", "at least 1")


def non_negative_int(text: str) -> int:
    """argparse type for counts where 0 means off."""
    return _int_at_least(text, 0, "a whole number", "0 or more")


def add_server_args(p) -> None:
    """--host, --port, --max-body and --access-log of the commands that serve a page (serve, annotate)."""
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; there is no authentication)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument(
        "--max-body",
        type=positive_int,
        default=1_000_000,
        metavar="BYTES",
        help="largest request body accepted, in bytes (default 1000000); larger ones get 413",
    )
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")


def check_port(port: int) -> None:
    """A port uvicorn can take, before anything slow (loading the model) happens."""
    if not 0 <= port <= 65535:
        raise WindownerError(f"--port must be 0..65535, got {port}")


def run_server(app, args, command: str) -> None:
    """Serve ``app`` with uvicorn on ``args.host``/``args.port`` until Ctrl-C; a port that cannot be bound is a
    WindownerError (uvicorn has logged why)."""
    import sys

    import uvicorn

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"windowner {command}: warning: listening on {args.host}, reachable from other machines; "
            "there is no authentication",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, access_log=args.access_log, log_level="info", server_header=False
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind (port taken, bad address); it has logged why
        if server.started:
            raise
        raise WindownerError(f"cannot listen on {args.host}:{args.port} (see the message above)") from None


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
