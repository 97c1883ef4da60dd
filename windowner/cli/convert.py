"""``windowner convert IN OUT``: labelled data between CoNLL, JSON lines and spaCy's ``.spacy``."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    from ..text.formats import FORMATS
    from .options import add_data_args

    p = sub.add_parser(
        "convert",
        help="convert labelled data between CoNLL, JSON lines and .spacy",
        description="Convert labelled data between CoNLL (BIO2 out), JSON lines with character spans (tokens kept) "
        "and spaCy DocBin (.spacy) files. Formats come from the extensions (.jsonl/.json, .spacy, else conll) "
        "unless given.",
    )
    p.add_argument("input", metavar="IN", help="input file ('-' for stdin, CoNLL or JSON lines)")
    p.add_argument("output", metavar="OUT", help="output file ('-' for stdout, CoNLL or JSON lines)")
    p.add_argument("--from", dest="from_format", default=None, choices=FORMATS, help="format of IN")
    p.add_argument("--to", dest="to_format", default=None, choices=FORMATS, help="format of OUT")
    add_data_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import WindownerError
    from ..text.formats import format_of, read_sentences, write_sentences
    from .options import data_kwargs, report_warnings

    src, dst = format_of(args.input, args.from_format), format_of(args.output, args.to_format)
    for path, fmt in ((args.input, src), (args.output, dst)):
        if path == "-" and fmt == "spacy":
            raise WindownerError("a .spacy file cannot be read from stdin or written to stdout: give a path")
    with report_warnings():
        sentences = read_sentences(args.input, src, **data_kwargs(args))
        try:
            n = write_sentences(sentences, args.output, dst)
        except ValueError as exc:  # DataError (a ValueError) passes on as it is; write_conll's ValueErrors too
            if isinstance(exc, WindownerError):
                raise
            raise WindownerError(f"{args.output}: {exc}") from None
        except OSError as exc:
            raise WindownerError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    if args.output != "-":
        print(f"wrote {n} sentences to {args.output} ({dst})", file=sys.stderr)
    return 0
