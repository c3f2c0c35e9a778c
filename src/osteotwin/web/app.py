"""The FastAPI application: server-rendered pages for clinicians and patients and the JSON API.

``create_app(database)`` wires routes, templates, static files (Plotly's JavaScript served from the
installed ``plotly`` package, no CDN), security headers, request body limits and error handling.
Errors never echo personal data into logs: an unexpected error logs its exception type, the route
template and the request id only (``osteotwin.web.middleware``). Every refusal (401, 403, 404) is
written to the audit log. Error bodies quote at most a short excerpt of the input, and 422 bodies
have the documented shape ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from osteotwin import __version__
from osteotwin.errors import InputError
from osteotwin.records.audit import audit
from osteotwin.records.database import Database
from osteotwin.records.patients import NotFound
from osteotwin.scenario import format_validation_error
from osteotwin.web.compute import ComputeLimiter, TooManyComputations
from osteotwin.web.deps import Forbidden, NotSignedIn
from osteotwin.web.middleware import (
    BodyLimitMiddleware,
    ErrorBoundaryMiddleware,
    route_template,
    wants_json,
)
from osteotwin.web.rendering import render
from osteotwin.web.security import CsrfError, SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).with_name("static")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
logger = logging.getLogger("osteotwin.web")
THREADPOOL_SIZE = 256


# Request body limits (ours): FHIR Bundles up to MAX_FHIR_UPLOAD_BYTES plus multipart overhead; every
# other body (JSON, forms) far above any valid input (a scenario with the most agents and doses the
# API accepts is about 60 KB).
DEFAULT_BODY_LIMIT_BYTES = 256 * 1024
FHIR_BODY_LIMIT_BYTES = 6 * 1024 * 1024
FHIR_PATHS = ("/api/v1/fhir/import", "/patients/import-fhir")
MAX_ERROR_MESSAGE_CHARS = 300  # error bodies quote at most this much (an excerpt of the input)


def _wants_json(request: Request) -> bool:
    return wants_json(request.url.path)


def excerpt(text: str, limit: int = MAX_ERROR_MESSAGE_CHARS) -> str:
    """``text`` cut to ``limit`` characters (error messages quote input; never all of it)."""
    return text if len(text) <= limit else text[:limit] + "... (cut)"


def _error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    message = excerpt(message)
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status,
                  headers=headers)


def _invalid(request: Request, errors: list[dict[str, Any]]) -> Response:
    """422 in the documented shape (``{"detail": [{"loc", "msg", "type"}]}``) for the API, or an
    error page naming the first problem."""
    errors = [{"loc": [p if isinstance(p, int) else excerpt(str(p), 60) for p in e.get("loc", ())],
               "msg": excerpt(str(e.get("msg", "invalid"))), "type": str(e.get("type", "value_error"))}
              for e in errors] or [{"loc": ["body"], "msg": "invalid input", "type": "value_error"}]
    if _wants_json(request):
        return JSONResponse({"detail": errors}, status_code=422)
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
    message = first["msg"] if not where or first["msg"].startswith(where) else f"{where}: {first['msg']}"
    return render(request, "error.html", {"status": 422, "message": message}, status_code=422)


def _deny(request: Request, user_id: int | None, what: str, patient_id: int | None = None) -> None:
    """Audit a refused request in its own transaction (the request's own was rolled back)."""
    database = request.app.state.database
    if database is None:
        return
    with database.transaction() as session:
        audit(session, user_id, "denied", patient_id, what)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Sync handlers and dependencies run in anyio's thread pool (40 threads by default). On SQLite
    # each request holds the write lock from its first statement to its commit, so threads queue
    # on the lock; with more concurrent requests than threads, the lock holder could wait for a
    # thread forever. 256 threads (ours) keep a free thread well beyond 100 concurrent users.
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADPOOL_SIZE
    yield


def create_app(database: Database | None, *, public_url: str = "http://127.0.0.1:8000") -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="osteotwin",
        version=__version__,
        description="Clinic and patient app of osteotwin: records, assessments, projections and plans. "
                    "The JSON API under /api/v1 uses the same session and authorisation as the pages; "
                    "writes need the session's CSRF token in the X-CSRF-Token header.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.database = database  # may be set later (tests build the app before the database)

    app.state.public_url = public_url.rstrip("/")
    app.state.compute_limiter = ComputeLimiter()
    # The last added is the outermost: error boundary, then body limits, then security headers.
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, default_limit_bytes=DEFAULT_BODY_LIMIT_BYTES,
                       limits=dict.fromkeys(FHIR_PATHS, FHIR_BODY_LIMIT_BYTES))
    app.add_middleware(ErrorBoundaryMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """Plotly's JavaScript from the installed Python package (never a CDN)."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from osteotwin.web import api, auth_routes, clinician_pages, patient_pages

    app.include_router(auth_routes.router)
    app.include_router(clinician_pages.router)
    app.include_router(patient_pages.router)
    app.include_router(api.router)

    @app.exception_handler(NotSignedIn)
    def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        _deny(request, None, f"not signed in: {request.method} {_route(request)}")
        if _wants_json(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> Response:
        user_id = getattr(request.state, "user_id", None)
        patient_id = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        _deny(request, user_id, f"{request.method} {_route(request)}", patient_id)
        return _error(request, 404, "No such patient record for this account.")

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, _exc: Forbidden) -> Response:
        _deny(request, getattr(request.state, "user_id", None), f"role may not: {request.method} {_route(request)}")
        return _error(request, 403, "This account's role may not do that.")

    @app.exception_handler(CsrfError)
    def _csrf(request: Request, _exc: CsrfError) -> Response:
        _deny(request, getattr(request.state, "user_id", None), f"csrf token wrong: {request.method} {_route(request)}")
        return _error(request, 403, "The form or request was missing its CSRF token; reload the page and retry.")

    @app.exception_handler(TooManyComputations)
    def _too_many(request: Request, exc: TooManyComputations) -> Response:
        return _error(request, 429, f"Too many computations: {exc.reason}; retry in {exc.retry_after_s} s.",
                      headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(InputError)
    def _input_error(request: Request, exc: InputError) -> Response:
        loc = [part for part in exc.field.split(".") if part]
        return _invalid(request, [{"loc": loc or ["input"], "msg": str(exc), "type": "value_error"}])

    @app.exception_handler(ValidationError)
    def _validation_error(request: Request, exc: ValidationError) -> Response:
        first_message = format_validation_error(exc)
        errors = [{"loc": ["body", *e["loc"]], "msg": first_message if i == 0 else e["msg"], "type": e["type"]}
                  for i, e in enumerate(exc.errors(include_input=False, include_url=False))]
        return _invalid(request, errors)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI could not read the body (e.g. bytes that are not UTF-8 JSON)
            return _invalid(request, [{"loc": ["body"], "msg": "the body is not readable JSON (UTF-8 text)",
                                       "type": "json_invalid"}])
        return _error(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        return _invalid(request, list(exc.errors()))

    return app


def _route(request: Request) -> str:
    return route_template(request.scope)
