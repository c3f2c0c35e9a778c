"""Sign-in, sign-out, the first clinician's one-time set-up link, one-time sign-in links (demo)
and a patient's invitation link to set her password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.accounts import (
    RateLimited,
    authenticate,
    check_rate_limit,
    clinician_exists,
    create_user,
    end_session,
    hash_password,
    new_token,
    peek_link,
    record_failure,
    start_session,
    use_link,
)
from osteotwin.records.models import User
from osteotwin.web.deps import FormDep, Tx, ViewerDep, check_form_csrf, client_address
from osteotwin.web.rendering import render
from osteotwin.web.security import PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE, CsrfError, tokens_match

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    return request.app.state.public_url.startswith("https://")


def _pre_session_token(request: Request) -> str:
    return request.cookies.get(PRE_SESSION_CSRF_COOKIE) or new_token()


def _with_pre_session_cookie(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(PRE_SESSION_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
    return response


def _check_pre_session(request: Request, form: dict[str, str]) -> None:
    if not tokens_match(request.cookies.get(PRE_SESSION_CSRF_COOKIE), form.get("csrf_token")):
        raise CsrfError()


def _signed_in(request: Request, session: Session, user: User, to: str = "/") -> Response:
    token, _csrf = start_session(session, user)
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request),
                        max_age=12 * 3600)
    response.delete_cookie(PRE_SESSION_CSRF_COOKIE)
    return response


@router.get("/")
def home(viewer: ViewerDep) -> Response:
    return RedirectResponse("/patients" if viewer.is_clinician else "/me", status_code=303)


@router.get("/login")
def login_page(request: Request) -> Response:
    token = _pre_session_token(request)
    return _with_pre_session_cookie(request, render(request, "login.html", {"form_token": token}), token)


@router.post("/login")
def login(request: Request, session: Tx, form: FormDep) -> Response:
    _check_pre_session(request, form)
    email, password = form.get("email", ""), form.get("password", "")
    client = client_address(request)
    token = _pre_session_token(request)
    try:
        check_rate_limit(session, email, client)
    except RateLimited:
        page = render(request, "login.html", {"form_token": token, "error":
                      "Too many failed attempts. Wait 15 minutes and try again."}, status_code=429)
        return _with_pre_session_cookie(request, page, token)
    user = authenticate(session, email, password)
    if user is None:
        record_failure(session, email, client)
        page = render(request, "login.html", {"form_token": token, "error": "E-mail or password is wrong."},
                      status_code=401)
        return _with_pre_session_cookie(request, page, token)
    return _signed_in(request, session, user)


@router.post("/logout")
def logout(request: Request, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    end_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/setup/{token}")
def setup_page(request: Request, token: str, session: Tx) -> Response:
    if peek_link(session, token, "first_clinician") is None or clinician_exists(session):
        return render(request, "error.html", {"status": 404, "message": "This set-up link is used or expired."},
                      status_code=404)
    form_token = _pre_session_token(request)
    page = render(request, "setup.html", {"form_token": form_token, "token": token})
    return _with_pre_session_cookie(request, page, form_token)


@router.post("/setup/{token}")
def setup(request: Request, token: str, session: Tx, form: FormDep) -> Response:
    _check_pre_session(request, form)
    if clinician_exists(session) or use_link(session, token, "first_clinician") is None:
        return render(request, "error.html", {"status": 404, "message": "This set-up link is used or expired."},
                      status_code=404)
    if form.get("password", "") != form.get("password_again", ""):
        raise InputError("password_again", "(hidden)", "the same password twice")
    user = create_user(session, email=form.get("email", ""), display_name=form.get("display_name", ""),
                       role="clinician", password=form.get("password", ""))
    return _signed_in(request, session, user)


@router.get("/signin/{token}")
def one_time_sign_in(request: Request, token: str, session: Tx) -> Response:
    link = use_link(session, token, "sign_in")
    user = session.get(User, link.user_id) if link is not None and link.user_id else None
    if user is None:
        return render(request, "error.html", {"status": 404, "message": "This sign-in link is used or expired."},
                      status_code=404)
    return _signed_in(request, session, user)


@router.get("/set-password/{token}")
def set_password_page(request: Request, token: str, session: Tx) -> Response:
    if peek_link(session, token, "set_password") is None:
        return render(request, "error.html", {"status": 404, "message": "This link is used or expired."},
                      status_code=404)
    form_token = _pre_session_token(request)
    page = render(request, "set_password.html", {"form_token": form_token, "token": token})
    return _with_pre_session_cookie(request, page, form_token)


@router.post("/set-password/{token}")
def set_password(request: Request, token: str, session: Tx, form: FormDep) -> Response:
    _check_pre_session(request, form)
    link = use_link(session, token, "set_password")
    user = session.get(User, link.user_id) if link is not None and link.user_id else None
    if user is None:
        return render(request, "error.html", {"status": 404, "message": "This link is used or expired."},
                      status_code=404)
    if form.get("password", "") != form.get("password_again", ""):
        raise InputError("password_again", "(hidden)", "the same password twice")
    user.password_hash = hash_password(form.get("password", ""))
    return _signed_in(request, session, user)
