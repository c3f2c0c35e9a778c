"""Serum CTX and P1NP as stored lab tests: refused when impossible, warned when unusual (records/limits.py),
listed on her overview, exported to FHIR with their LOINC codes, and read by the assessment record."""

from __future__ import annotations

from tests.web.conftest import add_patient
from tests.web.test_records_plausibility import api, readable, refused


def test_ctx_and_p1np_are_stored_checked_listed_and_exported(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    url = f"/api/v1/patients/{patient_id}/labs"
    ok = client.post(url, json={"date": "2025-10-01", "test": "ctx", "value": 420}, headers=headers)
    assert ok.status_code == 201 and ok.json()["warnings"] == []
    high = client.post(url, json={"date": "2025-11-01", "test": "ctx", "value": 1800}, headers=headers)
    assert high.status_code == 201 and "above 1500 ng/L" in high.json()["warnings"][0]
    refused(client.post(url, json={"date": "2025-12-01", "test": "ctx", "value": 0.42}, headers=headers), "value")
    refused(client.post(url, json={"date": "2025-12-01", "test": "ctx", "value": 420, "unit": "ng/mL"},
                        headers=headers), "unit", "ng/L")
    assert client.post(url, json={"date": "2025-10-01", "test": "p1np", "value": 61, "unit": "ug/L"},
                       headers=headers).status_code == 201
    low = client.post(url, json={"date": "2025-11-01", "test": "p1np", "value": 3}, headers=headers)
    assert low.status_code == 201 and "below 5 ug/L" in low.json()["warnings"][0]
    page = client.get(f"/patients/{patient_id}").text
    assert "CTX (serum beta-CrossLaps)" in page and "P1NP (serum)" in page and "above 1500 ng/L" in page
    readable(client, patient_id)
    bundle = client.get(f"/api/v1/patients/{patient_id}/fhir").text
    assert '"41171-0"' in bundle and '"77370-5"' in bundle


def test_the_fit_runs_on_every_demo_patient_within_the_web_budget(tmp_path):
    """The web path's fit (services._twin_json -> fit_record) on the demo clinic's patients: fitted, at most 2 s each
    (best of two: the machine is shared), and the demo patient with CTX and P1NP has them fitted."""
    import time

    from sqlalchemy import select

    from osteotwin.records.database import Database
    from osteotwin.records.demo import ensure_demo_clinic
    from osteotwin.records.models import Patient
    from osteotwin.records.patients import record_dict
    from osteotwin.twin.personal import fit_record

    database = Database(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    with database.transaction() as session:
        ensure_demo_clinic(session)
        records = [record_dict(patient) for patient in session.scalars(select(Patient))]
    database.dispose()
    with_markers = 0
    for record in records:
        fit_record(record, months=60)  # compiled and cached
        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            twin = fit_record(record, months=60)
            seconds.append(time.perf_counter() - started)
        assert min(seconds) < 2.0, seconds
        assert not twin.posterior.fell_back_to_prior and twin.scan_checks
        if twin.marker_checks:
            with_markers += 1
            assert {c.test for c in twin.marker_checks} == {"ctx", "p1np"}
    assert with_markers == 1


def test_her_bone_page_says_what_her_markers_did_and_what_the_model_expected(client, database, clinician):
    import datetime as dt

    from tests.web.conftest import make_account
    from tests.web.test_patient_logging import _scans

    from osteotwin.records.models import LabResult, Patient
    from osteotwin.web import services
    from osteotwin.web.compute import BACKGROUND

    patient = make_account(database, "patient", patient_of=clinician)
    _scans(database, patient.patient_id, [("anastrozole", dt.date(2024, 3, 15))])
    with database.transaction() as session:
        for day, ctx, p1np in ((dt.date(2024, 3, 1), 350.0, 45.0), (dt.date(2024, 9, 2), 470.0, 55.0)):
            session.add(LabResult(patient_id=patient.patient_id, date=day, test="ctx", value=ctx, unit="ng/L"))
            session.add(LabResult(patient_id=patient.patient_id, date=day, test="p1np", value=p1np, unit="ug/L"))
    client.cookies.update(patient.cookies())
    client.get("/me/bone")  # starts her fit in the background
    BACKGROUND.wait()
    with database.transaction() as session:
        twin = services.personal_twin(session.get(Patient, patient.patient_id), wait=True)
    page = client.get("/me/bone").text
    ctx = next(c for c in twin["marker_checks"] if c["test"] == "ctx")
    assert ctx["observed_pct_change_from_first"] == 34.3  # 350 -> 470 ng/L
    assert (f"CTX, the blood test of bone breakdown, changed by +34% from your first test to 2024-09-02; the model "
            f"fitted to you expected {ctx['expected_p50']:+.0f}%") in page
    assert "P1NP, the blood test of bone building, changed by +22%" in page
    assert "fitted to your own scans and bone turnover blood tests" in page
