"""Fixtures of the web tests: every database test runs against SQLite and PostgreSQL.

PostgreSQL comes from ``OSTEOTWIN_TEST_POSTGRES_URL`` (``eval "$(scripts/test-postgres.sh start)"``);
each test gets its own schema, dropped afterwards. Without the URL the PostgreSQL cases skip
locally but FAIL in CI (``CI=true``): they must run there.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from osteotwin.records.accounts import create_user, issue_link, start_session
from osteotwin.records.database import Database
from osteotwin.records.models import User
from osteotwin.web.app import create_app
from osteotwin.web.security import SESSION_COOKIE

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL_ENV = "OSTEOTWIN_TEST_POSTGRES_URL"
PASSWORD = "correct horse battery staple"


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        message = f"{POSTGRES_URL_ENV} is not set (run: eval \"$(scripts/test-postgres.sh start)\")"
        if IN_CI:
            pytest.fail(message + "; PostgreSQL tests must run in CI")
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'osteotwin.sqlite3'}"
        return
    base = postgres_url_or_skip()
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL_ENV} is not reachable: {type(error).__name__}")
        pytest.skip(f"PostgreSQL not reachable: {type(error).__name__}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def database(database_url) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def app(database):
    return create_app(database, public_url="http://testserver")


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Account:
    user_id: int
    email: str
    session_token: str
    csrf_token: str
    patient_id: int | None = None

    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.session_token}


def make_account(database: Database, role: str, email: str | None = None, password: str | None = PASSWORD,
                 patient_of: Account | None = None, patient_name: str = "Test Patient") -> Account:
    """A user with a server-side session (and, for a patient, her record owned by ``patient_of``)."""
    from osteotwin.records.models import Patient

    email = email or f"{role}-{secrets.token_hex(4)}@example.invalid"
    with database.transaction() as session:
        user = create_user(session, email=email, display_name=f"{role} {email[:6]}", role=role, password=password)
        patient_id = None
        if role == "patient":
            assert patient_of is not None
            patient = Patient(clinician_id=patient_of.user_id, account_user_id=user.id, name=patient_name,
                              birth_date=dt.date(1961, 5, 1), menopause_year=2012, weight_kg=62, height_cm=160)
            session.add(patient)
            session.flush()
            patient_id = patient.id
        token, csrf = start_session(session, user)
        return Account(user.id, email, token, csrf, patient_id)


def add_patient(database: Database, clinician: Account, name: str = "Anna Example", with_dxa: bool = True) -> int:
    from osteotwin.records.models import DxaResult, LabResult, Medication, Patient

    with database.transaction() as session:
        patient = Patient(clinician_id=clinician.user_id, name=name, birth_date=dt.date(1960, 2, 1),
                          menopause_year=2011, weight_kg=64, height_cm=163)
        session.add(patient)
        session.flush()
        if with_dxa:
            for date, ls, th in [(dt.date(2024, 3, 1), -1.4, -1.0), (dt.date(2025, 9, 1), -2.0, -1.3)]:
                session.add(DxaResult(patient_id=patient.id, date=date, site="lumbar_spine",
                                      bmd_g_cm2=round(1.047 + 0.11 * ls, 3), t_score=ls, device="hologic"))
                session.add(DxaResult(patient_id=patient.id, date=date, site="total_hip",
                                      bmd_g_cm2=round(0.942 + 0.122 * th, 3), t_score=th, device="hologic"))
            session.add(LabResult(patient_id=patient.id, date=dt.date(2025, 9, 1), test="vitamin_d_25_oh",
                                  value=21, unit="ng/mL"))
            session.add(Medication(patient_id=patient.id, drug="anastrozole", start_date=dt.date(2024, 3, 15)))
        return patient.id


@pytest.fixture
def clinician(database) -> Account:
    return make_account(database, "clinician")


def sign_in_link(database: Database, user_id: int) -> str:
    with database.transaction() as session:
        return issue_link(session, "sign_in", user_id)


def user_by_email(database: Database, email: str) -> User | None:
    from sqlalchemy import select

    with database.transaction() as session:
        return session.scalar(select(User).where(User.email == email))


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


class LiveServer:
    """The app on a real loopback port (uvicorn in a thread), for the browser and concurrency tests."""

    def __init__(self, app) -> None:  # noqa: ANN001
        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app.state.public_url = self.url
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
