"""Property-based API tests: schemathesis generates requests for every operation of the OpenAPI
spec, signed in as a clinician with the CSRF header (so writes reach the handlers), on SQLite and
PostgreSQL. No request may produce a 5xx, and every response must match the documented schema
(status code, content type, body), 422 bodies included. The logs of the whole run (every logger,
INFO and up: SQLAlchemy's statement log too) must not contain the names or birth dates used.

Bounded for CI: ``MAX_EXAMPLES`` per operation and database, scenarios cut to 2 years.
"""

from __future__ import annotations

import logging

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.web.conftest import add_patient, make_account

from osteotwin.web.app import create_app
from osteotwin.web.compute import ComputeLimiter

APP = create_app(None, public_url="http://testserver")
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
MAX_EXAMPLES = 6  # per operation and database: bounded so the suite stays well under a minute per database
MAX_SIMULATED_MONTHS = 24  # generated scenarios are cut to 2 years so engine time stays bounded
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
KNOWN_NAME, KNOWN_BIRTH_DATE = "Ottilie Fuzzington", "1958-11-23"
USED_PERSONAL_DATA: set[str] = {KNOWN_NAME, KNOWN_BIRTH_DATE}


def _prepare(database) -> tuple:  # noqa: ANN001
    """A clinician with one patient; her assessment computed once (cached)."""
    import datetime as dt

    from osteotwin.records.models import Patient
    from osteotwin.web import services
    from osteotwin.web.deps import load_record

    if not hasattr(database, "_fuzz_account"):
        clinician = make_account(database, "clinician")
        patient_id = add_patient(database, clinician, name=KNOWN_NAME)
        with database.transaction() as session:
            patient = session.get(Patient, patient_id)
            patient.birth_date = dt.date.fromisoformat(KNOWN_BIRTH_DATE)
            load_record(patient)
        services.assessment(patient)
        database._fuzz_account = (clinician, patient_id)
    return database._fuzz_account


def _remember_personal_data(body: object) -> None:
    if isinstance(body, dict):
        for key in ("name", "birth_date"):
            value = body.get(key)
            if isinstance(value, str) and len(value.strip()) >= 8:
                USED_PERSONAL_DATA.add(value.strip())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx_and_matches_its_schema(case, database, caplog):
    caplog.set_level(logging.INFO)
    APP.state.database = database
    APP.state.compute_limiter = ComputeLimiter(burst=100_000)  # fuzzing is not throttled (tested elsewhere)
    clinician, patient_id = _prepare(database)
    if case.path == "/api/v1/simulate" and isinstance(case.body, dict):
        months = case.body.get("months")
        if isinstance(months, int | float) and not isinstance(months, bool) and months > MAX_SIMULATED_MONTHS:
            case.body["months"] = MAX_SIMULATED_MONTHS
    if case.path_parameters and "patient_id" in case.path_parameters:
        value = case.path_parameters["patient_id"]
        if isinstance(value, int) and value % 2 == 0:
            case.path_parameters["patient_id"] = patient_id  # half the cases reach a real record
    _remember_personal_data(case.body)
    response = case.call(cookies=clinician.cookies(), headers={"X-CSRF-Token": clinician.csrf_token}, timeout=120)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    case.validate_response(response, checks=CHECKS)
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    leaked = sorted(value for value in USED_PERSONAL_DATA if value in logged)
    assert not leaked, f"personal data in the logs: {leaked}"
