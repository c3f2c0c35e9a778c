"""Pure ASGI middleware: request ids with an error boundary, and request body limits.

- :class:`ErrorBoundaryMiddleware` gives every request an id (``X-Request-Id`` on the response)
  and turns any exception that escaped the handlers into a 500 with ``Connection: close``. It
  logs one line: the exception type, the route template and the request id, never the exception's
  text or a traceback (both can hold personal data: SQL parameters, names, birth dates).
- :class:`BodyLimitMiddleware` reads at most ``limit`` bytes of a request body before any handler
  parses it; a larger body (by ``Content-Length`` or by counting a chunked body) is refused with
  413 naming the limit, and the connection is closed.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger("osteotwin.web")
REQUEST_ID_HEADER = "X-Request-Id"


def wants_json(path: str) -> bool:
    return path.startswith("/api/") or path == "/openapi.json"


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/patients/{patient_id}``), never the concrete path."""
    route = scope.get("route")
    return getattr(route, "path", "?")


async def send_plain_error(send: Send, scope: Scope, status: int, message: str,
                           extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A complete error response (JSON under /api, a minimal HTML page elsewhere) with Connection: close."""
    if wants_json(scope.get("path", "")):
        body = json.dumps({"detail": message}).encode()
        content_type = b"application/json"
    else:
        from html import escape

        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title></head>"
                f"<body><h1>{status}</h1><p>{escape(message)}</p></body></html>").encode()
        content_type = b"text/html; charset=utf-8"
    from osteotwin.web.security import SECURITY_HEADERS

    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), (b"cache-control", b"no-store"),
               *((name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()),
               *(extra_headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ErrorBoundaryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []),
                                      (REQUEST_ID_HEADER.lower().encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:  # noqa: BLE001 - the boundary: nothing escapes to the server's log
            logger.error("unhandled %s on %s %s (request %s)", type(error).__name__, scope.get("method"),
                         route_template(scope), request_id)
            if not started:
                await send_plain_error(send, scope, 500, f"Internal error; nothing was saved (request {request_id}).",
                                       [(REQUEST_ID_HEADER.lower().encode(), request_id.encode())])


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies above a limit before anything parses them.

    ``limits`` maps a path prefix to its limit in bytes (the longest matching prefix wins);
    other paths get ``default_limit_bytes``.
    """

    def __init__(self, app: ASGIApp, default_limit_bytes: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_limit_bytes = default_limit_bytes
        self.limits = dict(sorted((limits or {}).items(), key=lambda item: -len(item[0])))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits.items() if path.startswith(prefix)),
                    self.default_limit_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = next((value for name, value in scope.get("headers", []) if name == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await send_plain_error(send, scope, 400, "Content-Length must be a whole number of bytes.")
                return
            if int(declared) > limit:
                await self._too_large(send, scope, limit)
                return
        chunks: list[bytes] = []
        total = 0
        while True:  # read the whole (bounded) body first, then replay it to the app
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            total += len(body)
            if total > limit:
                await self._too_large(send, scope, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(send: Send, scope: Scope, limit: int) -> None:
        await send_plain_error(send, scope, 413, f"request body: at most {limit:,} bytes are accepted here")
