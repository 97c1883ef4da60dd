"""``windowner serve [MODEL]``: tag text over HTTP (``POST /tag``) and in a page at ``/``.

See :mod:`windowner.integrations.serve`."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    from .options import positive_int

    p = sub.add_parser(
        "serve",
        help="serve a model over HTTP, with a page to try it",
        description="Serve MODEL (default: the default PER/LOC/DATE model, trained on first use) on http://HOST:PORT/: "
        'a page at /, GET /health and POST /tag with {"text": ...} or '
        '{"texts": [...]}, answering what `windowner tag --format json` writes. '
        "Needs pip install 'windowner[serve]'.",
    )
    p.add_argument("model", nargs="?", default=None, metavar="MODEL", help="model directory")
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
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import WindownerError
    from ..integrations.serve import create_app, require_serve
    from ..tagger import load

    require_serve()  # before loading the model: say what to install at once
    if not 0 <= args.port <= 65535:
        raise WindownerError(f"--port must be 0..65535, got {args.port}")
    import uvicorn

    tagger = load(args.model)
    tagger("Warm up: Anna Chen visited Paris on Monday.")  # the first call builds caches; keep it off the first request
    app = create_app(tagger, max_body=args.max_body)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"windowner serve: warning: listening on {args.host}, reachable from other machines; "
            "the API has no authentication",
            file=sys.stderr,
        )
    print(f"windowner serve: model {tagger.path}, labels {', '.join(tagger.labels)}; Ctrl-C stops", file=sys.stderr)
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
    return 0
