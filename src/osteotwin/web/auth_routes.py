"""Sign-in, sign-out, password change, the first clinician's one-time set-up link, one-time sign-in
links (demo) and a patient's invitation link to set her password.

Every sign-in, failed sign-in, throttled attempt, sign-out, password change and refused link is
written to the audit log (never the e-mail address or the password). Forms before sign-in carry a
CSRF token bound to a server-issued pre-session cookie (``records.accounts.pre_session_form_token``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.accounts import (
    DEVICE_COOKIE_LIFETIME,
    SESSION_LIFETIME,
    RateLimited,
    authenticate,
    check_rate_limit,
    clear_failures,
    clinician_exists,
    create_user,
    device_id_for,
    end_session,
    find_user,
    new_device_cookie,
    new_pre_session,
    peek_link,
    pre_session_form_token,
    record_failure,
    set_password,
    start_session,
    use_link,
    utcnow,
    verify_password,
)
from osteotwin.records.audit import audit
from osteotwin.records.models import User
from osteotwin.web.deps import FormDep, Tx, ViewerDep, check_form_csrf, client_address
from osteotwin.web.rendering import render
from osteotwin.web.security import (
    DEVICE_COOKIE,
    PRE_SESSION_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfError,
    tokens_match,
)

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    return request.app.state.public_url.startswith("https://")


def _pre_session(request: Request, session: Session) -> tuple[str, str]:
    """(cookie, form token): the browser's pre-session if it is one we issued and still valid,
    else a new one."""
    cookie = request.cookies.get(PRE_SESSION_CSRF_COOKIE)
    token = pre_session_form_token(session, cookie)
    if cookie is None or token is None:
        cookie = new_pre_session()
        token = pre_session_form_token(session, cookie)
    assert token is not None
    return cookie, token


def _pre_session_page(request: Request, session: Session, template: str, context: dict,
                      status_code: int = 200) -> Response:
    cookie, token = _pre_session(request, session)
    response = render(request, template, {**context, "form_token": token}, status_code=status_code)
    response.set_cookie(PRE_SESSION_CSRF_COOKIE, cookie, httponly=True, samesite="strict", secure=_secure(request),
                        max_age=int(2 * 3600))
    return response


def _check_pre_session(request: Request, session: Session, form: dict[str, str]) -> None:
    expected = pre_session_form_token(session, request.cookies.get(PRE_SESSION_CSRF_COOKIE))
    if not tokens_match(expected, form.get("csrf_token")):
        raise CsrfError()


def _signed_in(request: Request, session: Session, user: User, how: str, to: str = "/") -> Response:
    """Start a new session (a fresh cookie: never the one sent before sign-in), audit it, and give
    the browser a device cookie for this account."""
    token, _csrf = start_session(session, user)
    user.activated_at = user.activated_at or utcnow()
    audit(session, user.id, "sign_in", None, how)
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                        max_age=int(SESSION_LIFETIME.total_seconds()))
    response.set_cookie(DEVICE_COOKIE, new_device_cookie(session, user), httponly=True, samesite="strict",
                        secure=_secure(request), max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()))
    response.delete_cookie(PRE_SESSION_CSRF_COOKIE)
    return response


def _link_refused(request: Request, session: Session, what: str) -> Response:
    audit(session, None, "denied", None, f"one-time link used or expired: {what}")
    return render(request, "error.html", {"status": 404, "message": "This link is used or expired."},
                  status_code=404)


@router.get("/")
def home(viewer: ViewerDep) -> Response:
    return RedirectResponse("/patients" if viewer.is_clinician else "/me", status_code=303)


@router.get("/login")
def login_page(request: Request, session: Tx) -> Response:
    return _pre_session_page(request, session, "login.html", {})


@router.post("/login")
def login(request: Request, session: Tx, form: FormDep) -> Response:
    _check_pre_session(request, session, form)
    email, password = form.get("email", "")[:254], form.get("password", "")[:1024]
    client = client_address(request)
    account = find_user(session, email)
    device_id = device_id_for(session, request.cookies.get(DEVICE_COOKIE), account)
    try:
        check_rate_limit(session, email, client, device_id)
    except RateLimited as limited:
        audit(session, account.id if account else None, "denied", None, "sign-in throttled")
        page = _pre_session_page(request, session, "login.html", {"error": (
            f"Too many failed attempts. Wait {limited.retry_after_s} seconds and try again.")}, status_code=429)
        page.headers["Retry-After"] = str(limited.retry_after_s)
        return page
    user = authenticate(session, email, password)
    if user is None:
        record_failure(session, email, client, device_id)
        audit(session, account.id if account else None, "sign_in_failed", None,
              "wrong password" if account else "no such account")
        return _pre_session_page(request, session, "login.html", {"error": "E-mail or password is wrong."},
                                 status_code=401)
    clear_failures(session, email, device_id)
    return _signed_in(request, session, user, "password")


@router.post("/logout")
def logout(request: Request, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    end_session(session, request.cookies.get(SESSION_COOKIE))
    audit(session, viewer.user_id, "sign_out", None, "signed out")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account/password")
def password_page(request: Request, viewer: ViewerDep) -> Response:
    return render(request, "account_password.html", {})


@router.post("/account/password")
def change_password(request: Request, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    """Change the password (the current one is needed); every session of the account ends, and this
    browser gets a new one."""
    check_form_csrf(viewer, form)
    user = session.get(User, viewer.user_id)
    if user is None or not verify_password(user.password_hash, form.get("current_password", "")[:1024]):
        audit(session, viewer.user_id, "denied", None, "password change: current password wrong")
        return render(request, "account_password.html", {"error": "The current password is wrong."},
                      status_code=403)
    if form.get("password", "") != form.get("password_again", ""):
        raise InputError("password_again", "(hidden)", "the same password twice")
    set_password(session, user, form.get("password", ""))
    audit(session, user.id, "password_set", None, "password changed; all sessions ended")
    return _signed_in(request, session, user, "after password change")


@router.get("/setup/{token}")
def setup_page(request: Request, token: str, session: Tx) -> Response:
    if peek_link(session, token, "first_clinician") is None or clinician_exists(session):
        return _link_refused(request, session, "first clinician")
    return _pre_session_page(request, session, "setup.html", {"token": token})


@router.post("/setup/{token}")
def setup(request: Request, token: str, session: Tx, form: FormDep) -> Response:
    _check_pre_session(request, session, form)
    if clinician_exists(session) or use_link(session, token, "first_clinician") is None:
        return _link_refused(request, session, "first clinician")
    if form.get("password", "") != form.get("password_again", ""):
        raise InputError("password_again", "(hidden)", "the same password twice")
    user = create_user(session, email=form.get("email", ""), display_name=form.get("display_name", ""),
                       role="clinician", password=form.get("password", ""))
    return _signed_in(request, session, user, "first clinician created")


@router.get("/signin/{token}")
def one_time_sign_in(request: Request, token: str, session: Tx) -> Response:
    link = use_link(session, token, "sign_in")
    user = session.get(User, link.user_id) if link is not None and link.user_id else None
    if user is None:
        return _link_refused(request, session, "sign-in")
    return _signed_in(request, session, user, "one-time link")


@router.get("/set-password/{token}")
def set_password_page(request: Request, token: str, session: Tx) -> Response:
    if peek_link(session, token, "set_password") is None:
        return _link_refused(request, session, "set password")
    return _pre_session_page(request, session, "set_password.html", {"token": token})


@router.post("/set-password/{token}")
def set_password_by_link(request: Request, token: str, session: Tx, form: FormDep) -> Response:
    """Set the password through an invitation or reset link: every other session of the account ends."""
    _check_pre_session(request, session, form)
    link = use_link(session, token, "set_password")
    user = session.get(User, link.user_id) if link is not None and link.user_id else None
    if user is None:
        return _link_refused(request, session, "set password")
    if form.get("password", "") != form.get("password_again", ""):
        raise InputError("password_again", "(hidden)", "the same password twice")
    set_password(session, user, form.get("password", ""))
    audit(session, user.id, "password_set", None, "password set by link; all sessions ended")
    return _signed_in(request, session, user, "after setting the password")
