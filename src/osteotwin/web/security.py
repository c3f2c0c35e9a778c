"""HTTP security: response headers (CSP without inline scripts, frame-ancestors none, nosniff) and CSRF.

CSRF: every form carries the session's CSRF token (``csrf_token`` field) and every JSON write carries
it in the ``X-CSRF-Token`` header; before sign-in, forms carry an HMAC of a server-issued pre-session
cookie (``records.accounts.pre_session_form_token``), so a planted cookie is useless. Comparison is
constant-time.
"""

from __future__ import annotations

import secrets

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

# Plotly.js injects <style> elements at run time, so styles allow 'unsafe-inline'; scripts never do.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
PRE_SESSION_CSRF_COOKIE = "osteotwin_presession_csrf"
SESSION_COOKIE = "osteotwin_session"
DEVICE_COOKIE = "osteotwin_device"  # marks a browser the account signed in from (sign-in throttling)
CSRF_HEADER = "X-CSRF-Token"


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next) -> Response:  # noqa: ANN001
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


class CsrfError(Exception):
    """A write without the right CSRF token."""


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return secrets.compare_digest(expected.encode(), given.encode())
