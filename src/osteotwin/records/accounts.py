"""Accounts, passwords, server-side sessions, one-time links and sign-in rate limiting.

- Passwords: argon2id (argon2-cffi defaults: RFC 9106 low-memory profile). No default password exists
  anywhere; accounts get a password through a one-time link.
- Session cookies and one-time link tokens are 256-bit random values; only their SHA-256 is stored.
  Setting or changing a password ends every session of the account (:func:`set_password`).
- Throttling, not locking (ours, after the OWASP Authentication Cheat Sheet, "Account lockout", and
  OWASP's "Slow Down Online Guessing Attacks with Device Cookies"): after
  ``FREE_FAILURES_PER_ACCOUNT`` failures within ``FAILURE_WINDOW`` an account's next attempt must
  wait ``BACKOFF_BASE_S * 2**(n - free)`` seconds after the last failure, at most
  ``BACKOFF_MAX_S``; a client address gets the same backoff after ``FREE_FAILURES_PER_CLIENT``
  failures. A browser that signed in to the account before holds a device cookie: its attempts are
  throttled per device only, so an attacker elsewhere (or behind the same address) slows nobody's
  own browser down, and the owner is never locked out by someone else's guesses.
- Failure records are keyed with HMAC-SHA256 under a per-installation secret (``server_secrets``),
  not bare digests, so addresses and e-mails cannot be recovered by hashing candidates.
- Pre-session CSRF tokens (sign-in and set-password forms) are an HMAC of a server-issued
  pre-session cookie, so a cookie planted by someone else is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.models import LoginFailure, OneTimeLink, ServerSecret, User, WebSession, utcnow

SESSION_LIFETIME = dt.timedelta(hours=12)  # ours: one clinic day
ONE_TIME_LINK_LIFETIME = dt.timedelta(hours=24)  # ours
FAILURE_WINDOW = dt.timedelta(minutes=15)  # ours
FREE_FAILURES_PER_ACCOUNT = 3  # ours: failures before the backoff starts (per account or device)
FREE_FAILURES_PER_CLIENT = 20  # ours: per client address
BACKOFF_BASE_S = 1.0  # ours
BACKOFF_MAX_S = 60.0  # ours: the longest anyone waits between two attempts
PRE_SESSION_LIFETIME = dt.timedelta(hours=2)  # ours
DEVICE_COOKIE_LIFETIME = dt.timedelta(days=365)  # ours
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
                password_hash=hash_password(password) if password else None, is_demo=is_demo,
                activated_at=utcnow() if password else None)
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


def end_all_sessions(session: Session, user_id: int) -> int:
    """End every session of an account; returns how many were ended."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(result.rowcount or 0)


def set_password(session: Session, user: User, password: str) -> None:
    """Set (or change, or reset) the password: every existing session of the account ends, and
    unused set-password links of the account are spent. The caller starts the one new session."""
    user.password_hash = hash_password(password)
    user.activated_at = user.activated_at or utcnow()
    end_all_sessions(session, user.id)
    for link in session.scalars(select(OneTimeLink).where(OneTimeLink.user_id == user.id,
                                                          OneTimeLink.purpose == "set_password",
                                                          OneTimeLink.used_at.is_(None))):
        link.used_at = utcnow()


def may_invite(user: User) -> bool:
    """An invitation (a set-password link) may be issued only for an account never activated:
    otherwise the link would let its holder take over a working account."""
    return user.activated_at is None and user.password_hash is None


# --- server secret and keyed digests ------------------------------------------------------------

_SECRET_CACHE: dict[tuple[str, str], bytes] = {}
_SECRET_LOCK = threading.Lock()


def server_secret(session: Session, name: str = "auth") -> bytes:
    """The installation's random secret ``name`` (32 bytes), created on first use."""
    bind = session.get_bind()
    cache_key = (bind.url.render_as_string(hide_password=True), name)
    with _SECRET_LOCK:
        if cache_key in _SECRET_CACHE:
            return _SECRET_CACHE[cache_key]
    row = session.get(ServerSecret, name)
    if row is None:
        try:
            with session.begin_nested():
                row = ServerSecret(name=name, value_hex=secrets.token_hex(32))
                session.add(row)
        except IntegrityError:  # another process created it first
            row = session.get(ServerSecret, name, populate_existing=True)
    value = bytes.fromhex(row.value_hex)
    with _SECRET_LOCK:
        _SECRET_CACHE[cache_key] = value
    return value


def keyed_digest(session: Session, text: str) -> str:
    """HMAC-SHA256 (hex) of ``text`` under the server secret."""
    return hmac.new(server_secret(session), text.encode(), hashlib.sha256).hexdigest()


# --- pre-session CSRF (forms before sign-in) ----------------------------------------------------

def new_pre_session() -> str:
    """A pre-session cookie value: a random id and its issue time (seconds)."""
    return f"{new_token()}.{int(time.time())}"


def pre_session_form_token(session: Session, cookie: str | None) -> str | None:
    """The CSRF token that belongs to a pre-session cookie, or None if the cookie is malformed or
    expired. Only the server can compute it, so a planted cookie has no valid token."""
    if not cookie or len(cookie) > 100 or cookie.count(".") != 1:
        return None
    nonce, issued = cookie.split(".")
    if not issued.isdigit() or len(nonce) < 32:
        return None
    age_s = time.time() - int(issued)
    if not 0 <= age_s <= PRE_SESSION_LIFETIME.total_seconds():
        return None
    return keyed_digest(session, "pre-session|" + cookie)


# --- device cookies -----------------------------------------------------------------------------

def new_device_cookie(session: Session, user: User) -> str:
    """A cookie that marks this browser as one the account signed in from: ``user_id.nonce.mac``."""
    nonce = new_token()
    return f"{user.id}.{nonce}.{keyed_digest(session, f'device|{user.id}|{nonce}')[:32]}"


def device_id_for(session: Session, cookie: str | None, user: User | None) -> str | None:
    """The device id (its nonce) if ``cookie`` is a valid device cookie of ``user``, else None."""
    if not cookie or user is None or len(cookie) > 200 or cookie.count(".") != 2:
        return None
    user_id, nonce, mac = cookie.split(".")
    if user_id != str(user.id):
        return None
    expected = keyed_digest(session, f"device|{user.id}|{nonce}")[:32]
    return nonce if hmac.compare_digest(expected.encode(), mac.encode()) else None


# --- sign-in throttling -------------------------------------------------------------------------

class RateLimited(Exception):
    """Too many recent failed sign-ins for this account, device or client; retry after ``retry_after_s``."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


def backoff_s(failures: int, free: int) -> float:
    """Seconds to wait after the last failure: none for the first ``free`` failures, then doubling
    from ``BACKOFF_BASE_S`` up to ``BACKOFF_MAX_S``."""
    if failures < free:
        return 0.0
    return min(BACKOFF_BASE_S * 2 ** min(failures - free, 32), BACKOFF_MAX_S)


def _failure_keys(session: Session, email: str, client: str, device_id: str | None) -> list[tuple[str, int]]:
    """(keyed digest, free failures) of what one attempt is throttled by."""
    if device_id is not None:  # a browser the account signed in from: throttled on its own
        return [(keyed_digest(session, "device:" + device_id), FREE_FAILURES_PER_ACCOUNT)]
    return [(keyed_digest(session, "account:" + email.strip().lower()), FREE_FAILURES_PER_ACCOUNT),
            (keyed_digest(session, "client:" + client), FREE_FAILURES_PER_CLIENT)]


def check_rate_limit(session: Session, email: str, client: str, device_id: str | None = None) -> None:
    """Raise :class:`RateLimited` if this attempt must wait (the attempt is then not evaluated)."""
    now = utcnow()
    since = now - FAILURE_WINDOW
    wait_s = 0.0
    for key, free in _failure_keys(session, email, client, device_id):
        count, last = session.execute(select(func.count(LoginFailure.id), func.max(LoginFailure.at)).where(
            LoginFailure.key_hmac == key, LoginFailure.at >= since)).one()
        if count and last is not None:
            remaining = (_aware(last) + dt.timedelta(seconds=backoff_s(int(count), free)) - now).total_seconds()
            wait_s = max(wait_s, remaining)
    if wait_s > 0:
        raise RateLimited(max(1, int(wait_s + 0.999)))


def record_failure(session: Session, email: str, client: str, device_id: str | None = None) -> None:
    for key, _free in _failure_keys(session, email, client, device_id):
        session.add(LoginFailure(key_hmac=key))
    session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - 2 * FAILURE_WINDOW))


def clear_failures(session: Session, email: str, device_id: str | None = None) -> None:
    """After a successful sign-in: forget the account's (and this device's) failures."""
    keys = [keyed_digest(session, "account:" + email.strip().lower())]
    if device_id is not None:
        keys.append(keyed_digest(session, "device:" + device_id))
    session.execute(delete(LoginFailure).where(LoginFailure.key_hmac.in_(keys)))


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this e-mail and password, or None (constant work either way)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same cost whether or not the account exists
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
