"""Accounts, passwords, server-side sessions, one-time links and sign-in rate limiting.

- Passwords: argon2id (argon2-cffi defaults: RFC 9106 low-memory profile). No default password exists
  anywhere; accounts get a password through a one-time link.
- Session cookies and one-time link tokens are 256-bit random values; only their SHA-256 is stored.
- Rate limit (ours, after OWASP Authentication Cheat Sheet advice to throttle): at most
  ``MAX_FAILURES_PER_ACCOUNT`` failed sign-ins per account and ``MAX_FAILURES_PER_CLIENT`` per client
  address within ``FAILURE_WINDOW``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.models import LoginFailure, OneTimeLink, User, WebSession, utcnow

SESSION_LIFETIME = dt.timedelta(hours=12)  # ours: one clinic day
ONE_TIME_LINK_LIFETIME = dt.timedelta(hours=24)  # ours
FAILURE_WINDOW = dt.timedelta(minutes=15)  # ours
MAX_FAILURES_PER_ACCOUNT = 5  # ours
MAX_FAILURES_PER_CLIENT = 20  # ours
MIN_PASSWORD_LENGTH = 12  # NIST SP 800-63B allows 8; ours is stricter for health data

_hasher = PasswordHasher()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", "(hidden)", f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 256:
        raise InputError("password", "(hidden)", "at most 256 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or len(email) < 3:
        raise InputError("email", "(hidden)", "an e-mail address")
    return email


def create_user(session: Session, *, email: str, display_name: str, role: str,
                password: str | None = None, is_demo: bool = False) -> User:
    if role not in ("clinician", "patient"):
        raise InputError("role", role, "clinician or patient")
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InputError("email", "(hidden)", "an address not already registered")
    user = User(email=email, display_name=display_name.strip()[:200] or email, role=role,
                password_hash=hash_password(password) if password else None, is_demo=is_demo)
    session.add(user)
    session.flush()
    return user


# --- one-time links -----------------------------------------------------------------------------

def issue_link(session: Session, purpose: str, user_id: int | None = None,
               lifetime: dt.timedelta = ONE_TIME_LINK_LIFETIME) -> str:
    """Create a one-time link token (returned once; only its hash is stored)."""
    token = new_token()
    session.add(OneTimeLink(token_sha256=sha256(token), purpose=purpose, user_id=user_id,
                            expires_at=utcnow() + lifetime))
    return token


def peek_link(session: Session, token: str, purpose: str) -> OneTimeLink | None:
    """The unused, unexpired link for this token and purpose, or None."""
    link = session.scalar(select(OneTimeLink).where(OneTimeLink.token_sha256 == sha256(token)))
    if link is None or link.purpose != purpose or link.used_at is not None:
        return None
    if _aware(link.expires_at) < utcnow():
        return None
    return link


def use_link(session: Session, token: str, purpose: str) -> OneTimeLink | None:
    link = peek_link(session, token, purpose)
    if link is not None:
        link.used_at = utcnow()
    return link


def clinician_exists(session: Session, include_demo: bool = False) -> bool:
    statement = select(func.count(User.id)).where(User.role == "clinician")
    if not include_demo:
        statement = statement.where(User.is_demo.is_(False))
    return bool(session.scalar(statement))


# --- sessions -----------------------------------------------------------------------------------

def start_session(session: Session, user: User) -> tuple[str, str]:
    """Create a server-side session; returns (cookie token, CSRF token)."""
    token, csrf = new_token(), new_token()
    session.add(WebSession(token_sha256=sha256(token), user_id=user.id, csrf_token=csrf,
                           expires_at=utcnow() + SESSION_LIFETIME))
    return token, csrf


def load_session(session: Session, token: str | None) -> tuple[WebSession, User] | None:
    if not token or len(token) > 100:
        return None
    web_session = session.scalar(select(WebSession).where(WebSession.token_sha256 == sha256(token)))
    if web_session is None or _aware(web_session.expires_at) < utcnow():
        return None
    user = session.get(User, web_session.user_id)
    if user is None:
        return None
    return web_session, user


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_sha256 == sha256(token)))


# --- sign-in with rate limiting -----------------------------------------------------------------

class RateLimited(Exception):
    """Too many failed sign-ins for this account or client."""


def _recent_failures(session: Session, key: str) -> int:
    since = utcnow() - FAILURE_WINDOW
    return int(session.scalar(select(func.count(LoginFailure.id)).where(
        LoginFailure.key_sha256 == sha256(key), LoginFailure.at >= since)) or 0)


def check_rate_limit(session: Session, email: str, client: str) -> None:
    if (_recent_failures(session, "account:" + email.strip().lower()) >= MAX_FAILURES_PER_ACCOUNT
            or _recent_failures(session, "client:" + client) >= MAX_FAILURES_PER_CLIENT):
        raise RateLimited()


def record_failure(session: Session, email: str, client: str) -> None:
    session.add(LoginFailure(key_sha256=sha256("account:" + email.strip().lower())))
    session.add(LoginFailure(key_sha256=sha256("client:" + client)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this e-mail and password, or None (constant work either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same cost whether or not the account exists
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
