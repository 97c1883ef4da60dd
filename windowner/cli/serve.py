"""``windowner serve [MODEL]``: tag text over HTTP (``POST /tag``) and in a page at ``/``.

See :mod:`windowner.integrations.serve`."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    from .options import add_server_args

    p = sub.add_parser(
        "serve",
        help="serve a model over HTTP, with a page to try it",
        description="Serve MODEL (default: the default PER/LOC/DATE model, trained on first use) on http://HOST:PORT/: "
        'a page at /, GET /health and POST /tag with {"text": ...} or '
        '{"texts": [...]}, answering what `windowner tag --format json` writes. '
        "Needs pip install 'windowner[serve]'.",
    )
    p.add_argument("model", nargs="?", default=None, metavar="MODEL", help="model directory")
    add_server_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..integrations.serve import create_app, require_serve
    from ..tagger import load
    from .options import check_port, run_server

    require_serve()  # before loading the model: say what to install at once
    check_port(args.port)
    tagger = load(args.model)
    tagger("Warm up: Anna Chen visited Paris on Monday.")  # the first call builds caches; keep it off the first request
    app = create_app(tagger, max_body=args.max_body)
    print(f"windowner serve: model {tagger.path}, labels {', '.join(tagger.labels)}; Ctrl-C stops", file=sys.stderr)
    run_server(app, args, "serve")
    return 0
