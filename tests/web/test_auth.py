"""Accounts: first clinician by one-time link, argon2, sign-in, rate limit, CSRF, headers, sessions."""

from __future__ import annotations

from sqlalchemy import func, select
from tests.web.conftest import PASSWORD, add_patient, form_token, make_account, user_by_email

from osteotwin.records.accounts import FREE_FAILURES_PER_ACCOUNT, issue_link
from osteotwin.records.models import DxaResult, FoodLogEntry, User, WebSession
from osteotwin.web.security import SESSION_COOKIE


def _login(client, email: str, password: str):
    token = form_token(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       follow_redirects=False)


def test_first_clinician_is_created_through_the_one_time_link_only(client, database):
    with database.transaction() as session:
        token = issue_link(session, "first_clinician")
    page = client.get(f"/setup/{token}")
    assert page.status_code == 200
    data = {"csrf_token": form_token(page.text), "display_name": "Dr First", "email": "first@example.invalid",
            "password": PASSWORD, "password_again": PASSWORD}
    response = client.post(f"/setup/{token}", data=data, follow_redirects=False)
    assert response.status_code == 303 and SESSION_COOKIE in response.cookies
    user = user_by_email(database, "first@example.invalid")
    assert user.role == "clinician" and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    client.cookies.clear()
    assert client.get(f"/setup/{token}").status_code == 404  # used
    again = client.post(f"/setup/{token}", data={**data, "email": "second@example.invalid",
                                                 "csrf_token": form_token(client.get("/login").text)})
    assert again.status_code == 404 and user_by_email(database, "second@example.invalid") is None


def test_short_passwords_are_refused(client, database):
    with database.transaction() as session:
        token = issue_link(session, "first_clinician")
    page = client.get(f"/setup/{token}")
    data = {"csrf_token": form_token(page.text), "display_name": "Dr", "email": "short@example.invalid",
            "password": "short", "password_again": "short"}
    assert client.post(f"/setup/{token}", data=data).status_code == 422
    assert user_by_email(database, "short@example.invalid") is None
    assert client.get(f"/setup/{token}").status_code == 200  # the refused attempt did not use the link


def test_sign_in_sign_out_and_session_is_server_side(client, database):
    account = make_account(database, "clinician")
    response = _login(client, account.email, PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/patients").status_code == 200
    page = client.get("/patients")
    client.post("/logout", data={"csrf_token": form_token(page.text)})
    with database.transaction() as session:
        assert session.scalar(select(func.count(WebSession.id)).where(WebSession.user_id == account.user_id)) == 1
    assert client.get("/patients", follow_redirects=False).status_code == 303


def test_wrong_password_and_rate_limit(client, database):
    account = make_account(database, "clinician")
    for _ in range(FREE_FAILURES_PER_ACCOUNT):
        assert _login(client, account.email, "wrong password here").status_code == 401
    # the next attempt must wait (a short backoff, not a lock: see test_accounts.py)
    limited = _login(client, account.email, PASSWORD)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert _login(client, "nobody@example.invalid", "whatever password").status_code == 401


def test_demo_style_account_without_password_cannot_sign_in_with_empty_password(client, database):
    with database.transaction() as session:
        session.add(User(email="nopass@example.invalid", display_name="x", role="clinician", password_hash=None))
    assert _login(client, "nopass@example.invalid", "").status_code == 401


def test_one_time_sign_in_link_works_once(client, database):
    account = make_account(database, "clinician")
    with database.transaction() as session:
        token = issue_link(session, "sign_in", account.user_id)
    assert client.get(f"/signin/{token}", follow_redirects=False).status_code == 303
    client.cookies.clear()
    assert client.get(f"/signin/{token}").status_code == 404


def test_forms_without_csrf_token_are_refused_and_write_nothing(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    dxa = {"date": "2026-01-05", "site": "total_hip", "bmd_g_cm2": "0.81", "t_score": "-1.1"}
    for token in (None, "", "forged-token", make_account(database, "clinician").csrf_token):
        data = dict(dxa) if token is None else {**dxa, "csrf_token": token}
        assert client.post(f"/patients/{patient_id}/dxa", data=data).status_code == 403
    new = {"name": "Nobody", "birth_date": "1960-01-01", "weight_kg": "60", "height_cm": "160"}
    assert client.post("/patients/new", data=new).status_code == 403
    with database.transaction() as session:
        assert session.scalar(select(func.count(DxaResult.id)).where(DxaResult.date.is_not(None),
                                                                       DxaResult.patient_id == patient_id)) == 4
    ok = client.post(f"/patients/{patient_id}/dxa", data={**dxa, "csrf_token": clinician.csrf_token})
    assert ok.status_code == 200  # followed the redirect to the overview
    with database.transaction() as session:
        assert session.scalar(select(func.count(DxaResult.id)).where(DxaResult.patient_id == patient_id)) == 5


def test_login_form_needs_its_pre_session_token(client, database):
    account = make_account(database, "clinician")
    client.get("/login")
    response = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert response.status_code == 403


def test_api_writes_need_the_csrf_header(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    body = {"date": "2026-01-05", "food_id": "01117", "grams": 150}
    url = f"/api/v1/patients/{patient.patient_id}/food-log"
    assert client.post(url, json=body).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": patient.csrf_token}).status_code == 201
    with database.transaction() as session:
        assert session.scalar(select(func.count(FoodLogEntry.id))) == 1


def test_security_headers_on_pages_and_api(client, database, clinician):
    client.cookies.update(clinician.cookies())
    for path in ("/login", "/patients", "/api/v1/me"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_templates_contain_no_inline_scripts_or_cdn():
    from pathlib import Path

    import osteotwin.web

    templates = Path(osteotwin.web.__file__).with_name("templates")
    for path in templates.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in text.split("<script")[1:]:
            assert 'src="/static' in tag.split(">")[0], f"inline script in {path.name}"
        assert "onclick=" not in text and "http://" not in text and "https://" not in text, path.name
