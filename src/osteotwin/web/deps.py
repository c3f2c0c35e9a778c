"""Request dependencies: short transactions, the signed-in user, CSRF checks, bounded ids.

Light handlers take :data:`Tx`, one transaction that commits before the response is sent or rolls
back when the handler raises, so a failed request leaves nothing half-written. The signed-in user
is loaded in a read transaction of its own (:func:`current_viewer`). Handlers that run the engine,
the planner or the clinic rules never hold a transaction while they compute: they read the record
with :func:`read_patient` (a short transaction that also writes the audit row), then compute
(``osteotwin.web.compute``), then write, if at all, in a new short transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from osteotwin.records.accounts import load_session
from osteotwin.records.models import Patient, User
from osteotwin.records.patients import patient_for
from osteotwin.web.security import CSRF_HEADER, SESSION_COOKIE, CsrfError, tokens_match


class NotSignedIn(Exception):
    """No valid session: HTML pages redirect to the sign-in page, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role may not do this."""


def transaction(request: Request) -> Iterator[Session]:
    database = request.app.state.database
    with database.sessions() as session, session.begin():
        yield session


# scope="function": commit (or roll back) before the response is sent, so a 201 means the row is stored.
Tx = Annotated[Session, Depends(transaction, scope="function")]


@dataclass
class Viewer:
    """The signed-in user (ORM row, for this request's transaction) and plain copies of what
    pages need after the transaction ended (error pages render after a rollback)."""

    user: User
    user_id: int
    role: str
    display_name: str
    csrf_token: str

    @property
    def is_clinician(self) -> bool:
        return self.role == "clinician"


def current_viewer(request: Request) -> Viewer:
    """The signed-in user, read in a read-only transaction of its own (the ORM row is returned
    detached: handlers use its id and role)."""
    with request.app.state.database.read() as session:
        loaded = load_session(session, request.cookies.get(SESSION_COOKIE))
    if loaded is None:
        raise NotSignedIn()
    web_session, user = loaded
    request.state.user_id = user.id
    viewer = Viewer(user=user, user_id=user.id, role=user.role, display_name=user.display_name,
                    csrf_token=web_session.csrf_token)
    request.state.viewer = viewer
    return viewer


ViewerDep = Annotated[Viewer, Depends(current_viewer)]

# Row ids are 32-bit on PostgreSQL (INTEGER); larger ids cannot exist, so they are refused as input.
MAX_ROW_ID = 2_147_483_647
PatientId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a patient record number (1 to 2^31-1)")]
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row number (1 to 2^31-1)")]


def read_patient(request: Request, viewer: Viewer, patient_id: int, what: str, action: str = "read") -> Patient:
    """The patient record with everything the pages and the engine need, read (and audited) in one
    short transaction; returned detached, so computing on it holds no transaction or lock.
    Raises ``NotFound`` when the record is missing or not the viewer's."""
    with request.app.state.database.transaction() as session:
        patient = patient_for(session, viewer.user, patient_id, what, action=action)
        load_record(patient)
    return patient


def load_record(patient: Patient) -> Patient:
    """Load every collection of the record so it can be read after its session closed."""
    for rows in (patient.dxa_results, patient.labs, patient.medications, patient.food_log, patient.exercise_log,
                 patient.alert_acknowledgements):
        len(rows)
    return patient


def clinician(viewer: ViewerDep) -> Viewer:
    if not viewer.is_clinician:
        raise Forbidden()
    return viewer


ClinicianDep = Annotated[Viewer, Depends(clinician)]


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form as a dict of strings (multi-valued fields keep the last value)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_data)]


def check_form_csrf(viewer: Viewer, form: dict[str, str]) -> None:
    if not tokens_match(viewer.csrf_token, form.get("csrf_token")):
        raise CsrfError()


def api_write(request: Request, viewer: ViewerDep) -> Viewer:
    """A signed-in viewer whose JSON write carries the session's CSRF token in X-CSRF-Token."""
    if not tokens_match(viewer.csrf_token, request.headers.get(CSRF_HEADER)):
        raise CsrfError()
    return viewer


ApiWriterDep = Annotated[Viewer, Depends(api_write)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
