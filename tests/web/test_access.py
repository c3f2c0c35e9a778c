"""Access control: nothing works without a session; a patient sees only her record, a clinician
only her/his patients, whatever id is put in the URL; refused attempts are audited."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from tests.web.conftest import add_patient, make_account

from osteotwin.records.models import AuditEvent

PUBLIC = {"/login", "/setup/{token}", "/signin/{token}", "/set-password/{token}", "/healthz", "/openapi.json",
          "/static", "/static-vendor/plotly.min.js", "/favicon.ico"}


def _concrete(path: str, patient_id: int) -> str:
    return re.sub(r"\{[a-z_]+\}", str(patient_id), path)


def _routes(app):
    from osteotwin.web import api, auth_routes, clinician_pages, patient_pages

    routes = [r for module in (auth_routes, clinician_pages, patient_pages, api) for r in module.router.routes]
    for route in routes:
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        if path in PUBLIC or not methods:
            continue
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            yield method, path


def test_no_page_or_api_call_works_without_a_session(app, client, database, clinician):
    patient_id = add_patient(database, clinician)
    checked = 0
    for method, path in _routes(app):
        response = client.request(method, _concrete(path, patient_id), follow_redirects=False,
                                  data={"csrf_token": "x"} if method == "POST" and not path.startswith("/api") else None)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            assert response.status_code in (303, 401), (method, path, response.status_code)
            if response.status_code == 303:
                assert response.headers["location"] == "/login", (method, path)
        checked += 1
    assert checked >= 35  # every page and API route was tried


def test_patient_cannot_read_another_patients_record_by_changing_the_id(client, database, clinician):
    alice = make_account(database, "patient", patient_of=clinician, patient_name="Alice")
    bob = make_account(database, "patient", patient_of=clinician, patient_name="Beatrice")
    client.cookies.update(alice.cookies())
    assert client.get(f"/api/v1/patients/{alice.patient_id}").status_code == 200
    other = bob.patient_id
    for path in [f"/api/v1/patients/{other}", f"/api/v1/patients/{other}/assessment", f"/api/v1/patients/{other}/plan",
                 f"/api/v1/patients/{other}/nutrients", f"/api/v1/patients/{other}/fhir",
                 f"/api/v1/patients/{other}/projection", f"/patients/{other}/plan", f"/patients/{other}/fhir"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Beatrice" not in response.text
    response = client.post(f"/api/v1/patients/{other}/food-log", headers={"X-CSRF-Token": alice.csrf_token},
                           json={"date": "2026-01-01", "food_id": "01117", "grams": 100})
    assert response.status_code == 404
    # clinician pages are not for patients at all
    assert client.get(f"/patients/{alice.patient_id}").status_code == 403
    assert client.get("/patients").status_code == 403
    listed = client.get("/api/v1/patients").json()
    assert [p["id"] for p in listed] == [alice.patient_id]
    with database.transaction() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).all()
        assert any(e.user_id == alice.user_id and e.patient_id == other for e in denied)


def test_clinician_sees_only_her_patients(client, database, clinician):
    other_clinician = make_account(database, "clinician")
    mine = add_patient(database, clinician, name="Mine Example")
    theirs = add_patient(database, other_clinician, name="Theirs Example")
    client.cookies.update(clinician.cookies())
    page = client.get("/patients")
    assert "Mine Example" in page.text and "Theirs Example" not in page.text
    assert client.get(f"/patients/{mine}").status_code == 200
    for path in [f"/patients/{theirs}", f"/patients/{theirs}/assessment", f"/patients/{theirs}/audit",
                 f"/api/v1/patients/{theirs}", f"/api/v1/patients/{theirs}/audit"]:
        assert client.get(path).status_code == 404, path
    response = client.post(f"/patients/{theirs}/dxa", data={"csrf_token": clinician.csrf_token, "date": "2026-01-01",
                                                           "site": "total_hip", "bmd_g_cm2": "0.8", "t_score": "-1.2"})
    assert response.status_code == 404
    assert [p["name"] for p in client.get("/api/v1/patients").json()] == ["Mine Example"]
    assert client.get("/api/v1/patients?q=Theirs").json() == []


@pytest.mark.parametrize("bad_id", ["0", "-1", "999999", "abc", "1.5"])
def test_odd_ids_do_not_leak_or_crash(client, database, clinician, bad_id):
    client.cookies.update(clinician.cookies())
    response = client.get(f"/api/v1/patients/{bad_id}")
    assert response.status_code in (404, 422)


def test_every_read_of_a_record_is_audited(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    for path in [f"/patients/{patient_id}", f"/api/v1/patients/{patient_id}", f"/patients/{patient_id}/assessment"]:
        assert client.get(path).status_code == 200, path
    with database.transaction() as session:
        reads = session.scalars(select(AuditEvent).where(AuditEvent.patient_id == patient_id,
                                                         AuditEvent.action == "read")).all()
    assert len(reads) >= 3
    assert all(e.user_id == clinician.user_id and e.at is not None for e in reads)
