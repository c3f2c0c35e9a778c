"""The plan she takes home: two A4 pages as PDF, in words and units, agreeing with the assessment and the
exercise safety rules, for the demo patients and for a woman with every precaution at once."""

from __future__ import annotations

import datetime as dt
import io
import re

import pypdf
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from tests.web.conftest import form_token

from osteotwin.lifestyle.exercise import LIBRARY, ScreeningInput, exercise_limits
from osteotwin.records.database import Database
from osteotwin.records.demo import ensure_demo_clinic
from osteotwin.records.models import DxaResult, LabResult, Medication, Patient, User
from osteotwin.web.app import create_app
from osteotwin.web.take_home import add_months, in_words

INTERNAL_CODES = re.compile(r"\bX\d+b?\b|\[(?:V|S|R)\b|guidelines 6\.1|_mg\b|_iu\b|_ug\b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo clinic on SQLite (the PDF does not depend on the database engine), signed in as its clinician."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('plan') / 'plan.sqlite3'}")
    with database.transaction() as session:
        links = ensure_demo_clinic(session)
        clinician = session.scalar(select(User).where(User.role == "clinician"))
        ids = {p.name: p.id for p in session.scalars(select(Patient))}
        _add_precautions_patient(session, clinician.id, ids)
    client = TestClient(create_app(database, public_url="http://testserver"))
    assert client.get(f"/signin/{links['clinician']}").status_code in (200, 303)
    yield client, ids, clinician.display_name
    client.close()
    database.dispose()


def _add_precautions_patient(session, clinician_id: int, ids: dict[str, int]) -> None:
    """Spine T -2.6, a vertebral fracture, lymphoedema, a fall, warfarin, 25(OH)D 18 ng/mL and a deadlift logged."""
    from osteotwin.records.models import ExerciseLogEntry

    today = dt.date.today()
    patient = Patient(clinician_id=clinician_id, name="Vera Precaution", birth_date=dt.date(today.year - 66, 5, 1),
                      menopause_year=today.year - 15, weight_kg=59, height_cm=158, falls_last_12_months=1,
                      vertebral_fracture=True, lymphedema=True, diet_pattern="vegan", dislikes=["tofu"])
    session.add(patient)
    session.flush()
    scan = today - dt.timedelta(days=40)
    session.add(DxaResult(patient_id=patient.id, date=scan, site="lumbar_spine", bmd_g_cm2=0.761, t_score=-2.6,
                          device="hologic"))
    session.add(DxaResult(patient_id=patient.id, date=scan, site="total_hip", bmd_g_cm2=0.771, t_score=-1.4,
                          device="hologic"))
    session.add(LabResult(patient_id=patient.id, date=scan, test="vitamin_d_25_oh", value=18, unit="ng/mL"))
    session.add(Medication(patient_id=patient.id, drug="anastrozole", start_date=today - dt.timedelta(days=400)))
    session.add(Medication(patient_id=patient.id, drug="warfarin", start_date=today - dt.timedelta(days=900)))
    session.add(ExerciseLogEntry(patient_id=patient.id, date=today - dt.timedelta(days=2), exercise="deadlift", kind="resistance",
                                 sets=5, reps=5, load_kg=40.0))
    ids[patient.name] = patient.id


def _pdf_text(client: TestClient, patient_id: int) -> tuple[int, str]:
    response = client.get(f"/patients/{patient_id}/plan.pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert reader.pages[0].mediabox.width == pytest.approx(595.3, abs=1)  # A4: 210 mm = 595 pt
    return len(reader.pages), re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_every_demo_plan_prints_on_two_a4_pages_with_decision_dated_dxa_units_and_clinician(demo):
    client, ids, clinician_name = demo
    for name, patient_id in ids.items():
        pages, text = _pdf_text(client, patient_id)
        assert pages <= 2, (name, pages)
        assessment = client.get(f"/api/v1/patients/{patient_id}/assessment").json()
        plan = client.get(f"/api/v1/patients/{patient_id}/plan").json()
        assert name in text and clinician_name in text
        assert "Bone-protecting medicine" in text
        months = assessment["next_dxa_months"]
        due = add_months(dt.date.fromisoformat(assessment["assessed_on"]), months)
        assert f"{due.day} {due:%B %Y} (in {months} months)" in text, name
        assert re.search(r"adds [\d,.]+ mg calcium", text), name
        assert "Brisk walking" in text and "Too Fit To Fracture 2014" in text
        assert not INTERNAL_CODES.search(text), (name, INTERNAL_CODES.search(text).group(0))
        for item in plan["supplements"]:
            assert f"{item['amount_per_day']:,.0f} {item['unit']}" in text


def test_plan_and_prescription_follow_the_assessment_and_the_safety_rules(demo):
    """For every demo patient and the precautions patient: vitamin D as the assessment says, and nothing
    prescribed that the one set of exercise safety rules excludes."""
    client, ids, _ = demo
    for name, patient_id in ids.items():
        record = client.get(f"/api/v1/patients/{patient_id}").json()["record"]
        plan = client.get(f"/api/v1/patients/{patient_id}/plan").json()
        assessment = client.get(f"/api/v1/patients/{patient_id}/assessment").json()
        fired = set(assessment["fired_rules"])
        vitamin_d_rules = {"bhof2022_vitamin_d_target_30", "correct_vitamin_d_before_antiresorptive"}
        supplement_d = next((s for s in plan["supplements"] if s["nutrient"] == "vitamin_d_iu"), None)
        if fired & vitamin_d_rules:
            assert supplement_d is not None and supplement_d["amount_per_day"] >= 800, name
        t_scores = [d["t_score"] for d in record["dxa"]]
        latest = {}
        for scan in sorted(record["dxa"], key=lambda d: d["date"]):
            latest[scan["site"]] = scan["t_score"]
        limits = exercise_limits(ScreeningInput(
            min_t_score=min(latest.values()) if t_scores else None,
            vertebral_fracture=name == "Vera Precaution", lymphedema=name == "Vera Precaution",
            falls_last_12_months=1 if name in ("Vera Precaution", "Helen Demo") else 0))
        prescribed = {e["exercise_id"] for s in plan["exercise"]["sessions"] for e in s["exercises"]}
        assert all(limits.allows(i)[0] for i in prescribed), name
        assert plan["exercise"]["limits"]["impact"] == limits.impact, name
        if limits.osteoporosis or limits.vertebral_fracture:
            assert plan["regimen"]["exercise"]["impact_sessions_per_week"] == 0
            assert plan["regimen"]["exercise"]["resistance_intensity"] == "moderate"
            assert plan["exercise"]["option"] is None
        for load in (plan.get("exercise_progression") or {}).get("loads", []):
            if not limits.allows(load["exercise"], supervised_option=True)[0]:
                assert load["next_load_kg"] is None and load["rule"].startswith("stop:")


def test_the_precautions_patient_gets_no_deadlift_no_jumps_and_vitamin_d_on_two_pages(demo):
    client, ids, _ = demo
    patient_id = ids["Vera Precaution"]
    pages, text = _pdf_text(client, patient_id)
    assert pages <= 2
    for banned in ("Deadlift 5 × 5", "Jumps (about 50", "drop landing 5 × 5", "Back squat"):
        assert banned not in text
    assert "stop: spine sparing" in text and "Hip hinge with dumbbells" in text
    assert "warfarin: keep dietary vitamin K steady" in text
    assert "vitamin D3 (cholecalciferol): 800 IU/day" in text and "18 ng/mL" in text
    assert LIBRARY["deadlift"].lifts_from_floor


def test_plan_page_links_the_pdf_and_the_download_is_audited(demo):
    from osteotwin.records.audit import audit_trail

    client, ids, _ = demo
    patient_id = ids["Margaret Demo"]
    page = client.get(f"/patients/{patient_id}/plan")
    assert page.status_code == 200 and f'href="/patients/{patient_id}/plan.pdf"' in page.text
    assert 'id="bone-drug"' in page.text and 'id="next-dxa"' in page.text
    assert client.get(f"/patients/{patient_id}/plan.pdf").status_code == 200
    with client.app.state.database.transaction() as session:
        newest = audit_trail(session, patient_id, limit=1)[0]
        assert (newest.action, newest.what) == ("export", "plan pdf")
    assert client.get("/patients/999999/plan.pdf").status_code == 404


def test_medication_and_dislike_typos_are_refused_in_the_web_forms_and_the_api(demo):
    client, ids, _ = demo
    patient_id = ids["Ruth Demo"]
    token = form_token(client.get(f"/patients/{patient_id}").text)
    response = client.post(f"/patients/{patient_id}/medications",
                           data={"csrf_token": token, "drug": "warfarine", "start_date": "2025-01-01"})
    assert response.status_code == 422 and "did you mean warfarin?" in response.text
    response = client.post("/patients/new", data={
        "csrf_token": token, "name": "Typo Test", "birth_date": "1960-04-02", "weight_kg": "60", "height_cm": "160",
        "dislikes": "tofu, brocoli"})
    assert response.status_code == 422 and "did you mean &#39;broccoli&#39;?" in response.text
    api = client.post(f"/api/v1/patients/{patient_id}/medications", json={"drug": "warfarine", "start_date": "2025-01-01"},
                      headers={"X-CSRF-Token": token})
    assert api.status_code == 422 and "did you mean warfarin?" in api.text


def test_evidence_tags_are_written_out():
    assert in_words("ESSA 2017 [R dose]") == "ESSA 2017 (dose recalled, not verified)"
    assert in_words("IOM [S] IOM; [V] BHOF") == "IOM (IOM: from secondary sources only); (BHOF: checked against the source)"
    assert in_words("LIFTMOR [V abstract]") == "LIFTMOR (checked against the abstract)"


def test_bone_drug_decision_reads_the_decision_card_and_the_next_dxa_is_dated():
    from osteotwin.web.take_home import bone_drug_decision, next_dxa

    card = {"action": "continue", "text": "Continue denosumab; next dose due 2027-01-10.", "reason": "On treatment.",
            "guideline": "AIBL 2025", "rules": []}
    assert bone_drug_decision({"decision": card, "recommendations": []}) == {
        "text": card["text"], "reason": "On treatment.", "guideline": "AIBL 2025"}
    assessment = {"assessed_on": "2026-01-31", "next_dxa_months": 13}
    assert next_dxa(assessment, has_scans=True) == {"date": dt.date(2027, 2, 28), "text": "28 February 2027 (in 13 months)"}
    assert next_dxa(assessment, has_scans=False)["text"].startswith("now")


def test_a_record_stored_before_the_name_checks_still_has_a_readable_plan(demo):
    client, ids, _ = demo
    patient_id = ids["Helen Demo"]
    with client.app.state.database.transaction() as session:
        session.get(Patient, patient_id).dislikes = ["liver", "brocoli"]  # written before dislikes were checked
    with client.app.state.database.transaction() as session:
        assert session.get(Patient, patient_id).dislikes == ["liver", "brocoli"]
    plan = client.get(f"/api/v1/patients/{patient_id}/plan")
    assert plan.status_code == 200
    assert client.get(f"/patients/{patient_id}/plan").status_code == 200
