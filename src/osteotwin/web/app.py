"""The FastAPI application: server-rendered pages for clinicians and patients and the JSON API.

``create_app(database)`` wires routes, templates, static files (Plotly's JavaScript served from the
installed ``plotly`` package, no CDN), security headers and error handling. Errors never echo
personal data into logs: the app logs only method, route template and status.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from osteotwin import __version__
from osteotwin.errors import InputError
from osteotwin.records.audit import audit
from osteotwin.records.database import Database
from osteotwin.records.patients import NotFound
from osteotwin.scenario import format_validation_error
from osteotwin.web.deps import Forbidden, NotSignedIn
from osteotwin.web.rendering import render
from osteotwin.web.security import CsrfError, SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).with_name("static")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
logger = logging.getLogger("osteotwin.web")
THREADPOOL_SIZE = 256


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


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
    app.add_middleware(SecurityHeadersMiddleware)
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
        if _wants_json(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(NotFound)
    def _not_found(request: Request, exc: NotFound) -> Response:
        user_id = getattr(request.state, "user_id", None)
        patient_id = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        with request.app.state.database.transaction() as session:  # the request's transaction was rolled back
            audit(session, user_id, "denied", patient_id, f"{request.method} {_route(request)}")
        return _error(request, 404, "No such patient record for this account.")

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return _error(request, 403, "This account's role may not do that.")

    @app.exception_handler(CsrfError)
    def _csrf(request: Request, _exc: CsrfError) -> Response:
        return _error(request, 403, "The form or request was missing its CSRF token; reload the page and retry.")

    @app.exception_handler(InputError)
    def _input_error(request: Request, exc: InputError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(ValidationError)
    def _validation_error(request: Request, exc: ValidationError) -> Response:
        return _error(request, 422, format_validation_error(exc))

    @app.exception_handler(RequestValidationError)
    def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if _wants_json(request):
            return JSONResponse({"detail": [
                {k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]}, status_code=422)
        first = errors[0] if errors else {"loc": ("input",), "msg": "invalid"}
        return _error(request, 422, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> Response:
        # Log the route template and error type only: values may contain personal data.
        logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, _route(request))
        return _error(request, 500, "Internal error; nothing was saved.")

    return app


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "?")
