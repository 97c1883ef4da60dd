"""``windowner serve``: a loaded tagger behind a small HTTP API and a page to try it (Starlette, run by uvicorn).

Routes: ``GET /`` (the page), ``GET /health`` and ``POST /tag`` with ``{"text": str}`` or ``{"texts": [str, ...]}``.
``/tag`` answers exactly what ``windowner tag --format json`` writes for the same text(s) (see
:mod:`windowner.text.output`). Every error is JSON ``{"error": message}``: 400 for a body that is not JSON, 413 for
one over ``max_body`` bytes, 422 for JSON of the wrong shape, 404 and 405 for unknown routes and methods.
No request can name a file or a model: the tagger is chosen when the app is made. The page is the template
``templates/serve.html`` (with ``serve.css`` and ``serve.js``), see :func:`page_html`.

Starlette and uvicorn are an optional extra (``pip install 'windowner[serve]'``) and are imported only here,
inside functions, so ``import windowner`` never needs them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import WindownerError
from ..evaluation.pages import fill, label_css, template
from ..text.output import doc_record, dumps

MAX_BODY = 1_000_000  # bytes of a request body, by default
INSTALL_HINT = "pip install 'windowner[serve]'"
_JSON_TYPES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class RequestError(Exception):
    """A request the API refuses: ``status`` is the HTTP status, the message goes into ``{"error": ...}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def require_serve(what: str = "windowner serve") -> None:
    """Raise WindownerError with the install command when Starlette or uvicorn is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise WindownerError(
            f"{what} needs Starlette and uvicorn ({exc.name} is not installed): {INSTALL_HINT}"
        ) from None


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def parse_request(body: bytes) -> tuple[list[str], bool]:
    """The texts of a ``/tag`` body and whether it was a batch (``"texts"``); RequestError if it is not valid."""
    usage = 'send {"text": "..."} or {"texts": ["...", ...]}'
    if not body.strip():
        raise RequestError(400, f"the request body is empty; {usage}")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError too
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise RequestError(400, f"the request body is not valid JSON ({reason}); {usage}") from None
    if not isinstance(data, dict):
        raise RequestError(422, f"the JSON body must be an object, got {_json_type(data)}; {usage}")
    unknown = sorted(set(data) - {"text", "texts"})
    if unknown:
        raise RequestError(422, f"unknown field {unknown[0]!r}; {usage}")
    if "text" in data and "texts" in data:
        raise RequestError(422, f'give "text" or "texts", not both; {usage}')
    if "text" in data:
        if not isinstance(data["text"], str):
            raise RequestError(422, f'"text" must be a string, got {_json_type(data["text"])}')
        return [data["text"]], False
    if "texts" in data:
        texts = data["texts"]
        if not isinstance(texts, list):
            raise RequestError(422, f'"texts" must be an array of strings, got {_json_type(texts)}')
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise RequestError(422, f'"texts" must be an array of strings, but item {i} is {_json_type(t)}')
        return texts, True
    raise RequestError(422, f'missing field "text" or "texts"; {usage}')


def tag_json(tagger, texts: list[str], batch: bool) -> bytes:
    """The response body of ``/tag``: one document object, or ``{"docs": [...]}`` with ids 0..n-1."""
    if not texts:
        return b'{"docs": []}'
    docs = list(tagger.pipe(texts, batch_size=len(texts)))  # the tagger is thread-safe: no lock
    records = [doc_record(doc, i) for i, doc in enumerate(docs)]
    return json_bytes({"docs": records} if batch else records[0])


def json_bytes(obj: Any) -> bytes:
    """``obj`` as the CLI writes it, UTF-8 encoded; lone surrogates (not UTF-8) fall back to \\u escapes."""
    try:
        return dumps(obj).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj).encode("ascii")


async def read_body(request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as Content-Length or the bytes received pass ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, f"bad Content-Length header {declared!r}")
        if int(declared) > limit:
            raise RequestError(413, f"the request body has {int(declared):,} bytes; the limit is {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the request body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None):
    """A JSON ``{"error": message}`` response; a 413 also closes the connection (the rest of the body was not
    read, so the connection cannot carry another request)."""
    from starlette.responses import JSONResponse

    if status == 413:
        headers = {**(headers or {}), "Connection": "close"}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def json_app(routes: list, hint: str):
    """A Starlette app of ``routes`` whose unknown routes, wrong methods and unexpected errors are JSON errors
    too; ``hint`` names the routes for a 404 ("try GET /, ...")."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException

    async def http_error(request, exc: HTTPException):
        allowed = (exc.headers or {}).get("Allow", "")
        messages = {
            404: f"no such route: {request.url.path}; try {hint}",
            405: f"{request.method} is not allowed on {request.url.path}; use {allowed}",
        }
        return error_response(exc.status_code, messages.get(exc.status_code, str(exc.detail)), exc.headers)

    async def server_error(request, exc: Exception):
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log")

    # Starlette types a handler as taking any Exception; these take the exceptions they are registered for
    handlers: dict[Any, Any] = {HTTPException: http_error, Exception: server_error}
    return Starlette(routes=routes, exception_handlers=handlers)


def create_app(tagger, max_body: int = MAX_BODY):
    """The ASGI app serving ``tagger`` (loaded once, shared by all requests; tagging runs in a thread pool)."""
    require_serve()
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from ..version import __version__

    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
        raise ValueError(f"max_body must be a positive number of bytes, got {max_body!r}")
    health = {
        "model": tagger.path.name if tagger.path is not None else None,
        "labels": list(tagger.labels),
        "version": __version__,
    }

    html = page_html()

    async def page(request) -> HTMLResponse:
        return HTMLResponse(html, headers=PAGE_HEADERS)

    async def get_health(request) -> JSONResponse:
        return JSONResponse(health)

    async def tag(request) -> Response:
        try:
            texts, batch = parse_request(await read_body(request, max_body))
        except RequestError as exc:
            return error_response(exc.status, str(exc))
        body = await run_in_threadpool(tag_json, tagger, texts, batch)
        return Response(body, media_type="application/json")

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/health", get_health, methods=["GET"]),
        Route("/tag", tag, methods=["POST"]),
    ]
    return json_app(routes, "GET /, GET /health or POST /tag")


PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_html() -> str:
    """The page at ``/``: ``templates/serve.html`` with its CSS and script, and the label colours the
    ``evaluate --html`` report uses (:func:`windowner.evaluation.pages.label_css`)."""
    package = __name__.rpartition(".")[0]
    return fill(
        template(package, "serve.html"),
        css=template(package, "serve.css"),
        label_css=label_css(),
        js=template(package, "serve.js"),
    )
