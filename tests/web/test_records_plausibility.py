"""Records that can't be broken (issue 16, item 4): each broken-record sequence ends in a refused write
with a message naming the field, or in a record that every page still reads; edits and deletes are
kept in the audit trail; forms keep what was typed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from tests.web.conftest import add_patient

from osteotwin.records.limits import LIMITS, limits_markdown
from osteotwin.records.models import AuditEvent, DxaResult, Patient

TODAY = dt.date.today()


def api(client, clinician):  # noqa: ANN001, ANN201
    client.cookies.update(clinician.cookies())
    return {"X-CSRF-Token": clinician.csrf_token}


def readable(client, patient_id: int) -> None:
    """The overview, assessment, plan and FHIR export all answer 200."""
    for path in (f"/patients/{patient_id}", f"/api/v1/patients/{patient_id}/assessment",
                 f"/api/v1/patients/{patient_id}/plan", f"/api/v1/patients/{patient_id}/fhir"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])


def refused(response, field: str, *words: str) -> str:  # noqa: ANN001
    assert response.status_code == 422, response.text[:300]
    detail = response.json()["detail"]
    message = " ".join(str(item["msg"]) for item in detail)
    assert field in message or any(item["loc"][-1] == field for item in detail), detail
    for word in words:
        assert word in message, message
    return message


def dxa(date: str = "2025-09-02", site: str = "lumbar_spine", bmd: float = 0.919, t: float = -1.2, **extra):  # noqa: ANN003, ANN201
    return {"date": date, "site": site, "bmd_g_cm2": bmd, "t_score": t, **extra}


def test_a_duplicate_dxa_is_refused_naming_what_exists_and_the_record_stays_readable(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    first = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(), headers=headers)
    assert first.status_code == 201 and first.json()["warnings"] == []
    again = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(bmd=0.93, t=-1.1), headers=headers)
    refused(again, "date", "already stored", f"entry {first.json()['id']}", "BMD 0.919")
    readable(client, patient_id)


@pytest.mark.parametrize("bmd", [0.2, 2.5, 0.0, 9.19])
def test_impossible_bmd_is_refused(client, database, clinician, bmd):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    response = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(bmd=bmd), headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "bmd_g_cm2"
    readable(client, patient_id)


def test_rows_stored_before_the_checks_stay_readable(client, database, clinician):
    """BMD exactly 0.2 or 2.5 g/cm2 and a second scan of a site and date (what older versions stored)
    once made the overview, assessment, plan and export answer 422 forever."""
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    with database.transaction() as session:
        for bmd, t in ((0.2, -7.0), (2.5, 7.0)):
            session.add(DxaResult(patient_id=patient_id, date=dt.date(2025, 9, 1), site="femoral_neck",
                                  bmd_g_cm2=bmd, t_score=t))
        session.add(DxaResult(patient_id=patient_id, date=dt.date(2025, 9, 1), site="lumbar_spine",
                              bmd_g_cm2=0.827, t_score=-2.0))
    readable(client, patient_id)
    page = client.get(f"/patients/{patient_id}").text
    assert "Stored entries to review" in page and "two entries" in page and "left out" in page
    record = client.get(f"/api/v1/patients/{patient_id}").json()["record"]
    assert len([d for d in record["dxa"] if d["date"] == "2025-09-01" and d["site"] == "lumbar_spine"]) == 1
    del headers


def test_t_score_sign_flip_and_mismatch_with_bmd(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    # BMD 0.906 g/cm2 at the spine implies T about -1.3 on the Hologic scale; +1.3 is a sign flip.
    flip = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(bmd=0.906, t=1.3), headers=headers)
    refused(flip, "t_score", "did you mean -1.3?")
    off = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(bmd=0.906, t=-1.3 - 1.5), headers=headers)
    assert off.status_code == 201 and "differs by" in off.json()["warnings"][0]
    # The same BMD on a GE Lunar scanner implies a lower T-score (its g/cm2 run about 13% higher at the spine).
    lunar = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(date="2025-10-01", bmd=0.906, t=-2.4,
                                                                       device="ge_lunar"), headers=headers)
    assert lunar.status_code == 201 and lunar.json()["warnings"] == []
    readable(client, patient_id)


def test_scan_before_birth_or_in_the_future_is_refused(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)  # born 1960-02-01
    refused(client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(date="1950-06-01"), headers=headers),
            "date", "birth date (1960-02-01)")
    future = (TODAY + dt.timedelta(days=30)).isoformat()
    assert client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(date=future), headers=headers).status_code == 422


def test_vitamin_d_above_100_is_alerted_and_impossible_values_refused(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    high = client.post(f"/api/v1/patients/{patient_id}/labs", json={"date": "2025-10-01", "test": "vitamin_d_25_oh",
                                                                     "value": 240}, headers=headers)
    assert high.status_code == 201 and "above 100 ng/mL" in high.json()["warnings"][0]
    refused(client.post(f"/api/v1/patients/{patient_id}/labs", json={"date": "2025-11-01", "test": "vitamin_d_25_oh",
                                                                      "value": 2400}, headers=headers), "value")
    refused(client.post(f"/api/v1/patients/{patient_id}/labs", json={"date": "2025-10-01", "test": "vitamin_d_25_oh",
                                                                      "value": 30}, headers=headers),
            "date", "already stored", "240 ng/mL")
    page = client.get(f"/patients/{patient_id}").text
    assert "above 100 ng/mL" in page  # the warning stays visible next to the stored value
    readable(client, patient_id)


def test_doses_against_the_label_and_two_antiresorptives(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)  # on anastrozole since 2024-03-15
    url = f"/api/v1/patients/{patient_id}/medications"
    refused(client.post(url, json={"drug": "denosumab", "start_date": "2025-01-10", "dose_mg": 600, "every_months": 6},
                        headers=headers), "dose_mg", "60 mg")
    ok = client.post(url, json={"drug": "denosumab", "start_date": "2025-01-10", "dose_mg": 60, "every_months": 6},
                     headers=headers)
    assert ok.status_code == 201 and ok.json()["warnings"] == []
    refused(client.post(url, json={"drug": "zoledronic_acid", "start_date": "2025-06-01", "dose_mg": 4,
                                   "every_months": 6}, headers=headers), "drug", "one antiresorptive at a time",
            "denosumab from 2025-01-10")
    refused(client.post(url, json={"drug": "anastrozole", "start_date": "2025-01-01"}, headers=headers),
            "start_date", "anastrozole from 2024-03-15")
    odd = client.post(url, json={"drug": "letrozole", "start_date": "2020-01-01", "stop_date": "2021-01-01",
                                 "dose_mg": 5}, headers=headers)
    assert odd.status_code == 201 and "not a labelled dose" in odd.json()["warnings"][0]
    switch = client.post(url, json={"drug": "letrozole", "start_date": "2025-02-01", "dose_mg": 2.5}, headers=headers)
    assert switch.status_code == 201 and "two endocrine therapies at once" in switch.json()["warnings"][0]
    # The follow-on after stopping denosumab is accepted once the denosumab course has a stop date.
    edit = client.put(f"{url}/{ok.json()['id']}", json={"drug": "denosumab", "start_date": "2025-01-10",
                                                        "stop_date": "2025-07-10", "dose_mg": 60, "every_months": 6},
                      headers=headers)
    assert edit.status_code == 200
    follow_on = client.post(url, json={"drug": "zoledronic_acid", "start_date": "2025-08-01", "dose_mg": 5},
                            headers=headers)
    assert follow_on.status_code == 201, follow_on.text
    readable(client, patient_id)


def test_letrozole_shows_as_2_5_mg(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician, with_dxa=False)
    client.post(f"/api/v1/patients/{patient_id}/medications",
                json={"drug": "letrozole", "start_date": "2025-01-01", "dose_mg": 2.5}, headers=headers)
    page = client.get(f"/patients/{patient_id}").text
    assert "2.5 mg" in page and "2 mg" not in page.replace("2.5 mg", "")


def test_exercise_load_jumps_are_warned_and_impossible_loads_refused(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    url = f"/api/v1/patients/{patient_id}/exercise-log"
    base = {"exercise": "goblet_squat", "sets": 3, "reps": 10}
    first = client.post(url, json={**base, "date": "2025-10-01", "load_kg": 20}, headers=headers)
    assert first.status_code == 201 and first.json()["warnings"] == []
    jump = client.post(url, json={**base, "date": "2025-10-08", "load_kg": 30}, headers=headers)
    assert jump.status_code == 201 and "50% above the last logged 20 kg" in jump.json()["warnings"][0]
    refused(client.post(url, json={**base, "date": "2025-10-09", "load_kg": 275}, headers=headers), "load_kg")
    readable(client, patient_id)


def test_edit_and_delete_are_audited_with_field_names_only(client, database, clinician):
    headers = api(client, clinician)
    patient_id = add_patient(database, clinician)
    created = client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(), headers=headers).json()
    url = f"/api/v1/patients/{patient_id}/dxa/{created['id']}"
    edited = client.put(url, json=dxa(bmd=0.906, t=-1.3, z_score=0.1), headers=headers)
    assert edited.status_code == 200 and edited.json()["id"] == created["id"]
    record = client.get(f"/api/v1/patients/{patient_id}").json()["record"]
    assert {"date": "2025-09-02", "site": "lumbar_spine", "bmd_g_cm2": 0.906, "t_score": -1.3, "z_score": 0.1,
            "device": "hologic"} in record["dxa"]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.delete(url, headers=headers).status_code == 404
    with database.transaction() as session:
        trail = [(e.action, e.what) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.patient_id == patient_id).order_by(AuditEvent.id))]
    assert ("update", f"dxa {created['id']}: bmd_g_cm2, t_score, z_score") in trail
    assert ("delete", f"dxa {created['id']}") in trail
    assert not any("0.906" in what or "-1.3" in what for _, what in trail)
    readable(client, patient_id)


def test_another_patients_entry_cannot_be_edited_or_deleted(client, database, clinician):
    headers = api(client, clinician)
    mine = add_patient(database, clinician)
    other = add_patient(database, clinician, name="Other Example")
    created = client.post(f"/api/v1/patients/{other}/dxa", json=dxa(), headers=headers).json()
    assert client.put(f"/api/v1/patients/{mine}/dxa/{created['id']}", json=dxa(), headers=headers).status_code == 404
    assert client.delete(f"/api/v1/patients/{mine}/dxa/{created['id']}", headers=headers).status_code == 404
    assert client.post(f"/patients/{mine}/dxa/{created['id']}/delete",
                       data={"csrf_token": clinician.csrf_token}).status_code == 404


def test_a_refused_form_keeps_what_was_typed_and_shows_the_error_next_to_the_field(client, database, clinician):
    client.cookies.update(clinician.cookies())
    patient_id = add_patient(database, clinician)
    form = {"csrf_token": clinician.csrf_token, "date": "2025-10-01", "site": "total_hip", "bmd_g_cm2": "0.78",
            "t_score": "1.3", "z_score": "", "device": "hologic"}
    response = client.post(f"/patients/{patient_id}/dxa", data=form)
    assert response.status_code == 422
    page = response.text
    assert 'value="0.78"' in page and 'value="1.3"' in page and 'value="total_hip" selected' in page
    error = re.search(r'<span class="error field-error" id="entry-form-t_score-error" role="alert">([^<]+)</span>', page)
    assert error and "did you mean -1.3?" in error.group(1)
    assert 'aria-describedby="entry-form-t_score-error"' in page
    assert f'name="date" value="2025-10-01" max="{TODAY.isoformat()}"' in page
    with database.transaction() as session:
        assert session.scalar(select(DxaResult).where(DxaResult.patient_id == patient_id,
                                                      DxaResult.date == dt.date(2025, 10, 1))) is None
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "denied",
                                                       AuditEvent.what == "dxa: refused (t_score)")) is not None
    # The same form corrected: saved, and the overview confirms it.
    saved = client.post(f"/patients/{patient_id}/dxa", data={**form, "t_score": "-1.3"}, follow_redirects=False)
    assert saved.status_code == 303 and "?saved=dxa-" in saved.headers["location"]
    overview = client.get(saved.headers["location"]).text
    assert "DXA result saved (entry" in overview


def test_edit_form_shows_the_stored_values_and_delete_removes_the_entry(client, database, clinician):
    client.cookies.update(clinician.cookies())
    patient_id = add_patient(database, clinician)
    with database.transaction() as session:
        row = session.scalars(select(DxaResult).where(DxaResult.patient_id == patient_id)).first()
        row_id, t_score = row.id, row.t_score
    page = client.get(f"/patients/{patient_id}/dxa/{row_id}/edit")
    assert page.status_code == 200 and f'value="{t_score:g}"' in page.text
    response = client.post(f"/patients/{patient_id}/dxa/{row_id}/delete", data={"csrf_token": clinician.csrf_token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert "DXA result deleted" in client.get(response.headers["location"]).text
    with database.transaction() as session:
        assert session.get(DxaResult, row_id) is None


def test_a_new_patient_without_scans_has_no_empty_chart_and_no_next_dxa_in_0_months(client, database, clinician):
    client.cookies.update(clinician.cookies())
    patient_id = add_patient(database, clinician, with_dxa=False)
    page = client.get(f"/patients/{patient_id}").text
    assert 'id="dxa-chart"' not in page and "in 0 months" not in page
    assert "No DXA result yet" in page and "due now" in page


def test_age_is_completed_years_not_rounded_up(client, database, clinician):
    client.cookies.update(clinician.cookies())
    birth = TODAY.replace(year=TODAY.year - 64) + dt.timedelta(days=10)  # 63, ten days before her 64th birthday
    with database.transaction() as session:
        patient = Patient(clinician_id=clinician.user_id, name="Ten Days", birth_date=birth, weight_kg=60,
                          height_cm=160)
        session.add(patient)
        session.flush()
        patient_id = patient.id
    assert "63 years" in client.get(f"/patients/{patient_id}").text
    record = client.get(f"/api/v1/patients/{patient_id}").json()["record"]
    assert 63.9 <= record["patient"]["age_years"] < 64.0  # what the rules read: not rounded up to 64


def test_z_score_is_captured_or_derived_so_the_assessment_gets_the_bmd_term(client, database, clinician):
    headers = api(client, clinician)
    with database.transaction() as session:  # a premenopausal woman of 45: classified on the Z-score (ISCD)
        patient = Patient(clinician_id=clinician.user_id, name="Young Example", birth_date=TODAY.replace(year=TODAY.year - 45),
                          menopausal_status="premenopausal", weight_kg=60, height_cm=165)
        session.add(patient)
        session.flush()
        patient_id = patient.id
    client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(bmd=0.78, t=-2.3), headers=headers)
    derived = client.get(f"/api/v1/patients/{patient_id}/assessment").json()
    assert derived["classification"]["uses"] == "z_score"
    client.post(f"/api/v1/patients/{patient_id}/dxa", json=dxa(date="2025-10-01", site="total_hip", bmd=0.66, t=-2.3,
                                                               z_score=-2.1), headers=headers)
    measured = client.get(f"/api/v1/patients/{patient_id}/assessment").json()
    assert measured["classification"]["sites"]["total_hip"] == -2.1
    assert measured["classification"]["who_category"] == "below_expected_range_for_age"


def test_the_limits_table_is_in_the_docs_with_sources():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "records.md").read_text()
    assert limits_markdown() in text, "docs/records.md is out of date: paste osteotwin.records.limits.limits_markdown()"
    for limit in LIMITS.values():
        assert limit.source and limit.evidence in "VSRA"


def test_a_fhir_import_runs_the_same_checks_and_reports_what_it_skipped(client, database, clinician):
    from tests.web.test_fhir_import import ehr_bundle

    headers = api(client, clinician)
    bundle = ehr_bundle()  # born 1958-12-25; BMD 0.81 g/cm2 with T -2.4 on 2025-11-10
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and resource["code"]["coding"][0]["code"] in ("24966-4", "38267-1"):
            resource["effectiveDateTime"] = "1950-06-01"  # a scan before her birth
    response = client.post("/api/v1/fhir/import", headers=headers, json=bundle)
    assert response.status_code == 201, response.text
    skipped = response.json()["report"]["skipped"]
    assert any("not stored" in line and "birth date (1958-12-25)" in line for line in skipped), skipped
    readable(client, response.json()["id"])


def test_roles_a_patient_edits_her_own_logs_but_not_her_dxa(client, database, clinician):
    from tests.web.conftest import make_account

    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    headers = {"X-CSRF-Token": patient.csrf_token}
    base = f"/api/v1/patients/{patient.patient_id}"
    food = client.post(f"{base}/food-log", json={"date": TODAY.isoformat(), "food_id": "01117", "grams": 150},
                       headers=headers)
    assert food.status_code == 201
    edited = client.put(f"{base}/food-log/{food.json()['id']}", json={"date": TODAY.isoformat(), "food_id": "01117",
                                                                       "grams": 200}, headers=headers)
    assert edited.status_code == 200
    assert client.post(f"{base}/dxa", json=dxa(), headers=headers).status_code == 403
    # The clinician edits her exercise session on the pages; the overview lists it with an edit link.
    session_id = client.post(f"{base}/exercise-log", json={"date": TODAY.isoformat(), "exercise": "goblet_squat",
                                                           "sets": 3, "reps": 10, "load_kg": 8}, headers=headers).json()["id"]
    client.cookies.update(clinician.cookies())
    assert f"/patients/{patient.patient_id}/exercise-log/{session_id}/edit" in client.get(f"/patients/{patient.patient_id}").text
    response = client.post(f"/patients/{patient.patient_id}/exercise-log/{session_id}/edit", follow_redirects=False, data={
        "csrf_token": clinician.csrf_token, "date": TODAY.isoformat(), "exercise": "goblet_squat", "sets": "3",
        "reps": "8", "load_kg": "9"})
    assert response.status_code == 303
    assert "Exercise session saved" in client.get(response.headers["location"]).text
    deleted = client.post(f"/patients/{patient.patient_id}/food-log/{food.json()['id']}/delete",
                          data={"csrf_token": clinician.csrf_token}, follow_redirects=False)
    assert deleted.status_code == 303
    with database.transaction() as session:
        trail = [(e.action, e.what) for e in session.scalars(select(AuditEvent).where(
            AuditEvent.patient_id == patient.patient_id).order_by(AuditEvent.id))]
    assert ("update", f"exercise log {session_id}: reps, load_kg") in trail
    assert ("update", f"food log {food.json()['id']}: grams") in trail
    assert ("delete", f"food log {food.json()['id']}") in trail


def test_a_refused_new_patient_form_keeps_what_was_typed(client, database, clinician):
    client.cookies.update(clinician.cookies())
    form = {"csrf_token": clinician.csrf_token, "name": "Nora Typed", "birth_date": "1961-03-09",
            "menopausal_status": "postmenopausal", "menopause_year": "1950", "weight_kg": "59", "height_cm": "160",
            "current_smoker": "on", "diet_pattern": "vegan"}
    response = client.post("/patients/new", data=form)
    assert response.status_code == 422
    page = response.text
    assert 'value="Nora Typed"' in page and 'value="59"' in page and "<option selected>vegan</option>" in page
    assert 'name="current_smoker" checked' in page
    assert re.search(r'id="new-menopause_year-error" role="alert">menopause_year = 1950: must be at least 12 years', page)
    created = client.post("/patients/new", data={**form, "menopause_year": "2012"}, follow_redirects=False)
    assert created.status_code == 303
    assert "<h1>Nora Typed" in client.get(created.headers["location"]).text


def test_concurrent_identical_dxa_writes_store_one(live_server, database, clinician):
    """Ten clients post the same scan at once: one is stored, nine are refused as duplicates (the
    patient's row lock orders the checks on PostgreSQL; SQLite serialises writers)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from osteotwin.web.security import SESSION_COOKIE

    patient_id = add_patient(database, clinician)

    def post(_: int) -> int:
        with httpx.Client(cookies={SESSION_COOKIE: clinician.session_token}, timeout=60) as http:
            return http.post(f"{live_server.url}/api/v1/patients/{patient_id}/dxa", json=dxa(),
                             headers={"X-CSRF-Token": clinician.csrf_token}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = sorted(pool.map(post, range(10)))
    assert statuses == [201] + [422] * 9, statuses
    with database.transaction() as session:
        assert len(session.scalars(select(DxaResult).where(DxaResult.patient_id == patient_id,
                                                           DxaResult.date == dt.date(2025, 9, 2))).all()) == 1
