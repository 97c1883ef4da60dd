"""``windowner annotate``: a page to correct a model's entities one text at a time, answers appended durably.

Routes: ``GET /`` (the page), ``GET /next`` (the next unanswered text with the current model's tokens and
entities), ``POST /answer`` with ``{"id": int, "action": "accept" | "skip", "spans": [{"start", "end", "label"}]}``
and ``GET /status`` (progress, the model's held-out F1, the retrain state). The state is an
:class:`~windowner.integrations.annotator.Annotator`; an answer is acknowledged (200) only once it is fsynced to
the output file. Errors are JSON ``{"error": message}``: 400 body not JSON, 413 body too large, 422 wrong fields,
spans off token boundaries, overlapping or with a label the model does not know, 404 unknown text id or route,
409 a text answered already, 405 wrong method; a refused answer writes nothing. The page is
``templates/annotate.html`` with ``annotate.css`` and ``annotate.js``, under the same CSP as ``serve``'s.
"""

from __future__ import annotations

import json
from typing import Any

from ..evaluation.pages import fill, label_css, template
from .annotator import Annotator, AnswerError
from .serve import (
    MAX_BODY,
    PAGE_HEADERS,
    RequestError,
    error_response,
    json_app,
    json_bytes,
    read_body,
    require_serve,
)

__all__ = ["create_app", "page_html", "parse_answer"]

_FIELDS = {"id", "action", "spans"}


def parse_answer(body: bytes) -> tuple[Any, Any, Any]:
    """``(id, action, spans)`` of a ``/answer`` body; RequestError for a body that is not a JSON object of them."""
    usage = 'send {"id": 3, "action": "accept", "spans": [{"start": 0, "end": 5, "label": "PER"}]}'
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestError(400, f"the request body is not valid JSON; {usage}") from None
    if not isinstance(data, dict):
        raise RequestError(422, f"the JSON body must be an object; {usage}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise RequestError(422, f"unknown field {unknown[0]!r}; {usage}")
    if "id" not in data or "action" not in data:
        raise RequestError(422, f'"id" and "action" are required; {usage}')
    if data["action"] == "accept" and "spans" not in data:
        raise RequestError(422, f'"spans" is required to accept (an empty list: no entities); {usage}')
    return data["id"], data["action"], data.get("spans", [])


def create_app(annotator: Annotator, max_body: int = MAX_BODY):
    """The ASGI app of ``annotator`` (model calls and file writes run in the thread pool)."""
    require_serve("windowner annotate")
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    html = page_html()

    def ok(obj: Any) -> Response:
        return Response(json_bytes(obj), media_type="application/json", headers={"Cache-Control": "no-store"})

    async def page(request) -> HTMLResponse:
        return HTMLResponse(html, headers=PAGE_HEADERS)

    async def next_text(request) -> Response:
        return ok(await run_in_threadpool(annotator.next_task))

    async def answer(request) -> Response:
        try:
            i, action, spans = parse_answer(await read_body(request, max_body))
            return ok(await run_in_threadpool(annotator.answer, i, action, spans))
        except (RequestError, AnswerError) as exc:
            return error_response(exc.status, str(exc))

    async def status(request) -> Response:
        return ok(annotator.status())

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/next", next_text, methods=["GET"]),
        Route("/answer", answer, methods=["POST"]),
        Route("/status", status, methods=["GET"]),
    ]
    return json_app(routes, "GET /, GET /next, POST /answer or GET /status")


def page_html() -> str:
    """The page at ``/``: ``templates/annotate.html`` with its CSS and script and the shared label colours."""
    package = __name__.rpartition(".")[0]
    return fill(
        template(package, "annotate.html"),
        css=template(package, "annotate.css"),
        label_css=label_css(),
        js=template(package, "annotate.js"),
    )
