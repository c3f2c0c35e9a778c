"""Issue 17 (accounts): invitations only for accounts never activated, password changes end every
other session, throttling that slows guessing without locking the owner out, HMAC-keyed failure
records, pre-session CSRF bound to a server-issued cookie, and the audit of sign-in, sign-out,
denials and /api/v1/me."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from sqlalchemy import select, update
from starlette.testclient import TestClient
from tests.web.conftest import PASSWORD, add_patient, form_token, make_account

from osteotwin.records.accounts import (
    BACKOFF_MAX_S,
    FREE_FAILURES_PER_ACCOUNT,
    FREE_FAILURES_PER_CLIENT,
    backoff_s,
    server_secret,
)
from osteotwin.records.models import AuditEvent, LoginFailure, WebSession
from osteotwin.web.security import DEVICE_COOKIE, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE

NEW_PASSWORD = "a different passphrase 42"


def _login(client: TestClient, email: str, password: str):
    token = form_token(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       follow_redirects=False)


def _age_failures(database, seconds: float) -> None:  # noqa: ANN001
    """Move every failure record ``seconds`` into the past (time passing, without sleeping)."""
    with database.transaction() as session:
        for row in session.scalars(select(LoginFailure)):
            row.at = (row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)) - dt.timedelta(seconds=seconds)


def _sessions_of(database, user_id: int) -> int:  # noqa: ANN001
    with database.transaction() as session:
        return len(session.scalars(select(WebSession).where(WebSession.user_id == user_id)).all())


def _invite(client: TestClient, patient_id: int, email: str):
    token = form_token(client.get(f"/patients/{patient_id}").text)
    return client.post(f"/patients/{patient_id}/invite", data={"csrf_token": token, "email": email})


def test_reinvite_only_while_the_account_was_never_activated(app, database, clinician):
    patient_id = add_patient(database, clinician)
    with TestClient(app, raise_server_exceptions=False) as doctor, \
            TestClient(app, raise_server_exceptions=False) as patient:
        doctor.cookies.update(clinician.cookies())
        first = re.search(r"/set-password/([\w\-]+)", _invite(doctor, patient_id, "p@example.invalid").text).group(1)
        second_page = _invite(doctor, patient_id, "p@example.invalid")
        second = re.search(r"/set-password/([\w\-]+)", second_page.text).group(1)
        assert patient.get(f"/set-password/{first}").status_code == 404  # superseded by the new invitation
        page = patient.get(f"/set-password/{second}")
        done = patient.post(f"/set-password/{second}", data={"csrf_token": form_token(page.text),
                                                             "password": PASSWORD, "password_again": PASSWORD})
        assert done.status_code == 200 and str(done.url).endswith("/me")
        refused = _invite(doctor, patient_id, "p@example.invalid")  # the account now works: no takeover link
        assert refused.status_code == 409 and "/set-password/" not in refused.text
    with database.transaction() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "denied",
                                                          AuditEvent.patient_id == patient_id)).all()
        invites = session.scalars(select(AuditEvent).where(AuditEvent.action == "invite")).all()
    assert any("activated" in e.what for e in denied) and len(invites) == 2


def test_password_change_and_reset_end_every_other_session(app, database, clinician):
    from osteotwin.records.accounts import issue_link

    account = make_account(database, "clinician")
    with TestClient(app, raise_server_exceptions=False) as browser:
        assert _login(browser, account.email, PASSWORD).status_code == 303
        assert _sessions_of(database, account.user_id) == 2  # the fixture's session and this one
        csrf = form_token(browser.get("/account/password").text)
        wrong = browser.post("/account/password", data={"csrf_token": csrf, "current_password": "not it at all",
                                                        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
        assert wrong.status_code == 403 and _sessions_of(database, account.user_id) == 2
        changed = browser.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD,
                                                          "password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                               follow_redirects=False)
        assert changed.status_code == 303
        assert _sessions_of(database, account.user_id) == 1  # only the new session of this browser
        assert browser.get("/patients").status_code == 200
    with TestClient(app, raise_server_exceptions=False) as old:
        old.cookies.update(account.cookies())  # the session from before the change
        assert old.get("/api/v1/me").status_code == 401
    # a reset link (set-password) also ends every session
    with TestClient(app, raise_server_exceptions=False) as other:
        assert _login(other, account.email, NEW_PASSWORD).status_code == 303
        with database.transaction() as session:
            token = issue_link(session, "set_password", account.user_id)
        with TestClient(app, raise_server_exceptions=False) as reset:
            page = reset.get(f"/set-password/{token}")
            reset.post(f"/set-password/{token}", data={"csrf_token": form_token(page.text), "password": PASSWORD,
                                                      "password_again": PASSWORD})
            assert reset.get("/api/v1/me").status_code == 200
        assert other.get("/api/v1/me").status_code == 401
    assert _sessions_of(database, account.user_id) == 1


def test_backoff_grows_and_is_capped():
    waits = [backoff_s(n, FREE_FAILURES_PER_ACCOUNT) for n in range(FREE_FAILURES_PER_ACCOUNT + 12)]
    assert waits[:FREE_FAILURES_PER_ACCOUNT] == [0.0] * FREE_FAILURES_PER_ACCOUNT
    assert waits[FREE_FAILURES_PER_ACCOUNT:FREE_FAILURES_PER_ACCOUNT + 3] == [1.0, 2.0, 4.0]
    assert max(waits) == BACKOFF_MAX_S


def test_guessing_is_slowed_but_the_owner_is_not_locked_out(app, database):
    owner = make_account(database, "clinician")
    with TestClient(app, raise_server_exceptions=False) as own_browser:
        assert _login(own_browser, owner.email, PASSWORD).status_code == 303  # her browser: device cookie
        assert own_browser.cookies.get(DEVICE_COOKIE)
        own_browser.post("/logout", data={"csrf_token": form_token(own_browser.get("/patients").text)})
        with TestClient(app, raise_server_exceptions=False) as attacker:
            for _ in range(FREE_FAILURES_PER_ACCOUNT):
                assert _login(attacker, owner.email, "guess guess guess").status_code == 401
            _age_failures(database, -10)  # as if the last failure were just now, however slow this machine
            limited = _login(attacker, owner.email, "guess guess guess")
            assert limited.status_code == 429  # the attacker must wait
            assert _login(attacker, owner.email, PASSWORD).status_code == 429  # not evaluated while waiting
            # her own browser is throttled on its own: the attacker's guesses do not lock her out
            assert _login(own_browser, owner.email, PASSWORD).status_code == 303
            own_browser.post("/logout", data={"csrf_token": form_token(own_browser.get("/patients").text)})
            # nobody waits long: after the backoff, the right password works from a new browser too
            for _ in range(3):
                _age_failures(database, BACKOFF_MAX_S + 10)
                assert _login(attacker, owner.email, "guess guess guess").status_code == 401
            _age_failures(database, BACKOFF_MAX_S + 10)
            assert _login(attacker, owner.email, PASSWORD).status_code == 303


def test_many_failures_from_one_address_do_not_lock_other_accounts(app, database):
    colleague = make_account(database, "clinician")
    newcomer = make_account(database, "clinician")
    with TestClient(app, raise_server_exceptions=False) as colleague_browser:
        assert _login(colleague_browser, colleague.email, PASSWORD).status_code == 303
        colleague_browser.post("/logout", data={"csrf_token": form_token(colleague_browser.get("/patients").text)})
        with TestClient(app, raise_server_exceptions=False) as stuffer:  # same address (testclient)
            for index in range(FREE_FAILURES_PER_CLIENT):
                assert _login(stuffer, f"victim{index}@example.invalid", "password123456").status_code == 401
            _age_failures(database, -10)  # as if the last failure were just now, however slow this machine
            assert _login(stuffer, "victim-next@example.invalid", "password123456").status_code == 429
            # a colleague behind the same address signs in from her browser at once
            assert _login(colleague_browser, colleague.email, PASSWORD).status_code == 303
            # someone new behind the address waits seconds, not 15 minutes
            waited = _login(stuffer, newcomer.email, PASSWORD)
            assert waited.status_code == 429 and int(waited.headers["retry-after"]) <= BACKOFF_MAX_S
            _age_failures(database, BACKOFF_MAX_S + 10)
            assert _login(stuffer, newcomer.email, PASSWORD).status_code == 303


def test_failure_records_are_keyed_with_the_server_secret(client, database):
    account = make_account(database, "clinician")
    assert _login(client, account.email, "wrong password here").status_code == 401
    with database.transaction() as session:
        keys = set(session.scalars(select(LoginFailure.key_hmac)))
        secret = server_secret(session)
    bare = {hashlib.sha256(f"account:{account.email}".encode()).hexdigest(),
            hashlib.sha256(b"client:testclient").hexdigest()}
    assert keys and not keys & bare  # the old unsalted digests: reversible by hashing candidates
    keyed = hmac.new(secret, f"account:{account.email}".encode(), hashlib.sha256).hexdigest()
    assert keyed in keys and len(secret) == 32


def test_a_planted_pre_session_cookie_is_refused(client, database):
    account = make_account(database, "clinician")
    data = {"email": account.email, "password": PASSWORD}
    # the attacker's own choice of cookie and token (the old double-submit accepted this)
    client.cookies.set(PRE_SESSION_CSRF_COOKIE, "planted-value")
    assert client.post("/login", data={**data, "csrf_token": "planted-value"}).status_code == 403
    # a well-formed but invented cookie, with a token made the way the old scheme made it
    invented = "A" * 43 + "." + str(int(dt.datetime.now(dt.UTC).timestamp()))
    client.cookies.set(PRE_SESSION_CSRF_COOKIE, invented)
    assert client.post("/login", data={**data, "csrf_token": invented}).status_code == 403
    client.cookies.clear()
    # the server-issued pre-session: its token works, and the cookie is not itself the token
    page = client.get("/login")
    token = form_token(page.text)
    assert client.cookies.get(PRE_SESSION_CSRF_COOKIE) != token
    response = client.post("/login", data={**data, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and SESSION_COOKIE in response.cookies
    with database.transaction() as session:
        csrf_denials = session.scalars(select(AuditEvent).where(AuditEvent.action == "denied",
                                                                AuditEvent.what.contains("csrf"))).all()
    assert len(csrf_denials) == 2


def test_sign_in_sign_out_denials_and_me_are_audited(app, client, database, clinician):
    other = make_account(database, "clinician")
    theirs = add_patient(database, other)
    patient = make_account(database, "patient", patient_of=clinician)
    with database.transaction() as session:
        session.execute(update(AuditEvent).values(what="(before)"))
    assert _login(client, clinician.email, "wrong password here").status_code == 401
    assert _login(client, "nobody@example.invalid", "wrong password here").status_code == 401
    assert _login(client, clinician.email, PASSWORD).status_code == 303
    assert client.get("/api/v1/me").status_code == 200
    assert client.get(f"/api/v1/patients/{theirs}").status_code == 404
    client.post("/logout", data={"csrf_token": form_token(client.get("/patients").text)})
    assert client.get("/api/v1/patients").status_code == 401
    assert client.get("/patients", follow_redirects=False).status_code == 303
    client.cookies.clear()
    client.cookies.update(patient.cookies())
    assert client.get("/patients").status_code == 403
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        assert anonymous.get("/signin/not-a-token").status_code == 404
    with database.transaction() as session:
        events = [(e.user_id, e.action, e.what) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
                  if e.what != "(before)"]
    actions = [(user, action) for user, action, _ in events]
    assert (clinician.user_id, "sign_in_failed") in actions and (None, "sign_in_failed") in actions
    assert (clinician.user_id, "sign_in") in actions and (clinician.user_id, "sign_out") in actions
    assert any(u == clinician.user_id and a == "read" and "me" in w for u, a, w in events)
    assert any(u == clinician.user_id and a == "denied" for u, a, _ in events)  # the 404
    assert sum(1 for u, a, w in events if u is None and a == "denied" and "not signed in" in w) == 2  # the 401s
    assert any(u == patient.user_id and a == "denied" and "role" in w for u, a, w in events)  # the 403
    assert any(a == "denied" and "link" in w for _, a, w in events)
    assert not any(clinician.email in w or "nobody@" in w for _, _, w in events)  # no addresses in the audit
