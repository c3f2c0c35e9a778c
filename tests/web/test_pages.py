"""Clinician and patient pages with real records, assessments, projections and plans."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select
from tests.web.conftest import PASSWORD, add_patient, form_token, make_account

from osteotwin.records.accounts import issue_link
from osteotwin.records.models import DxaResult, FoodLogEntry, Patient, User


def _number_after(label: str, html: str) -> float:
    match = re.search(re.escape(label) + r"</td><td>([\d,.]+)</td>", html)
    assert match, label
    return float(match.group(1).replace(",", ""))


def test_patient_list_search_and_new_patient_with_dxa(client, database, clinician):
    add_patient(database, clinician, name="Anna Example")
    add_patient(database, clinician, name="Berta Sample")
    client.cookies.update(clinician.cookies())
    page = client.get("/patients?q=berta")
    assert "Berta Sample" in page.text and "Anna Example" not in page.text
    token = form_token(page.text)
    created = client.post("/patients/new", data={
        "csrf_token": token, "name": "Carla New", "birth_date": "1959-04-02", "menopausal_status": "postmenopausal",
        "menopause_year": "2010", "weight_kg": "58", "height_cm": "161", "prior_fragility_fracture": "on",
        "diet_pattern": "vegan", "dislikes": "tofu, kale"}, follow_redirects=False)
    assert created.status_code == 303
    patient_url = created.headers["location"]
    patient_id = int(patient_url.rsplit("/", 1)[1])
    response = client.post(f"{patient_url}/dxa", data={"csrf_token": token, "date": "2026-01-10",
                                                      "site": "lumbar_spine", "bmd_g_cm2": "0.760", "t_score": "-2.7"})
    assert response.status_code == 200 and "0.760" in response.text and "-2.7" in response.text
    with database.transaction() as session:
        patient = session.get(Patient, patient_id)
        assert patient.prior_fragility_fracture and patient.dislikes == ["tofu", "kale"]
        assert len(patient.dxa_results) == 1
    bad = client.post(f"{patient_url}/dxa", data={"csrf_token": token, "date": "2026-01-10", "site": "total_hip",
                                                 "bmd_g_cm2": "0.8", "t_score": "-20"})
    assert bad.status_code == 422 and "t_score" in bad.text


def test_overview_assessment_and_sources(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    overview = client.get(f"/patients/{patient_id}")
    assert overview.status_code == 200
    assert "LSC band" in overview.text and 'data-figure="' in overview.text
    assert "Anastrozole" in overview.text  # current medication
    assert 'id="dxa-changes"' in overview.text  # change since first scan with LSC from the clinic
    page = client.get(f"/patients/{patient_id}/assessment")
    assert page.status_code == 200
    data = client.get(f"/api/v1/patients/{patient_id}/assessment").json()
    assert data["recommendations"], "the assessment has recommendations"
    for rec in data["recommendations"]:
        assert rec["source"] and rec["source"] in page.text.replace("&amp;", "&").replace("&#39;", "'")
    assert page.text.count("Source:") == len(data["recommendations"])


def test_projection_page_overlays_the_comparison_regimens_from_one_batch(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()  # waits for the plan and the fit
    regimens = data["regimens"]
    # on anastrozole, no bone agent: "continue" is the AI alone and the reference of the differences
    assert list(regimens) == ["continue", "lifestyle_plan", "denosumab", "zoledronic_acid", "denosumab_2y_then_stop"]
    assert data["reference"] == "continue"
    page = client.get(f"/patients/{patient_id}/projection")
    assert page.status_code == 200
    assert page.text.count('class="regimen-toggle"') == 5
    end = {name: r["trajectory"]["lumbar_spine_t_score"][-1] for name, r in regimens.items()}
    assert end["denosumab"] > end["continue"], end  # denosumab protects against AI bone loss
    assert regimens["continue"]["trajectory"]["months"][-1] == 60
    assert regimens["continue"]["scenario"]["patient"]["lumbar_spine_t_score"] == -2.0
    assert regimens["continue"]["scenario"]["endocrine_therapy"][0]["drug"] == "anastrozole"
    assert "major_osteoporotic_fracture_10y_pct" in regimens["continue"]["trajectory"]
    assert 'id="chart-fracture_risk"' in page.text and 'id="projection-table"' in page.text
    notes = page.text[page.text.index('id="model-limits"'):]
    assert "not a promise" in notes and "osteomorph" not in notes.split('id="technical-notes"')[0]  # plain words first
    assert "animal evidence" in notes.split('id="technical-notes"')[1]  # the technical note behind it
    only = client.get(f"/api/v1/patients/{patient_id}/projection?regimens=continue").json()
    assert list(only["regimens"]) == ["continue"]
    assert client.get(f"/api/v1/patients/{patient_id}/projection?regimens=bogus").status_code == 422


def test_printable_plan(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    page = client.get(f"/patients/{patient_id}/plan")
    assert page.status_code == 200
    assert 'media="print"' in page.text and 'id="print-button"' in page.text
    plan = client.get(f"/api/v1/patients/{patient_id}/plan").json()
    for target in plan["targets"]:
        assert target["source"].split(" ")[0] in page.text
    assert "Weekly exercise" in page.text and "Next bone density scan (DXA)" in page.text
    assert f'href="/patients/{patient_id}/plan.pdf"' in page.text  # the PDF: tests/web/test_plan_pdf.py


def test_fhir_export_then_import_round_trip(client, database, clinician):
    patient_id = add_patient(database, clinician, name="Fiona Roundtrip")
    client.cookies.update(clinician.cookies())
    exported = client.get(f"/patients/{patient_id}/fhir")
    assert exported.status_code == 200 and exported.json()["resourceType"] == "Bundle"
    token = form_token(client.get("/patients").text)
    response = client.post("/patients/import-fhir", data={"csrf_token": token, "name": "Fiona Imported"},
                           files={"file": ("bundle.json", exported.content, "application/fhir+json")},
                           follow_redirects=False)
    assert response.status_code == 200, response.text[:500]  # the import report page
    new_id = int(re.search(r'href="/patients/(\d+)" id="imported-patient"', response.text).group(1))
    original = client.get(f"/api/v1/patients/{patient_id}").json()["record"]
    imported = client.get(f"/api/v1/patients/{new_id}").json()["record"]
    assert imported["dxa"] == original["dxa"]
    assert [m["drug"] for m in imported["medications"]] == [m["drug"] for m in original["medications"]]
    assert abs(imported["patient"]["age_years"] - original["patient"]["age_years"]) < 1.01
    bad = client.post("/patients/import-fhir", data={"csrf_token": token},
                      files={"file": ("x.json", b"not json", "application/json")})
    assert bad.status_code == 422


def test_invited_patient_sets_password_and_sees_only_her_pages(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    token = form_token(client.get(f"/patients/{patient_id}").text)
    response = client.post(f"/patients/{patient_id}/invite", data={"csrf_token": token,
                                                                   "email": "pat@example.invalid"})
    link = re.search(r"/set-password/([A-Za-z0-9_\-]+)", response.text).group(1)
    client.cookies.clear()
    page = client.get(f"/set-password/{link}")
    done = client.post(f"/set-password/{link}", data={"csrf_token": form_token(page.text), "password": PASSWORD,
                                                      "password_again": PASSWORD})
    assert done.status_code == 200 and str(done.url).endswith("/me")
    assert client.get("/api/v1/me").json()["patient_id"] == patient_id


def test_patient_logs_a_meal_and_totals_rise(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    page = client.get("/me?q=yogurt plain")
    assert page.status_code == 200 and 'id="food-results"' in page.text
    before = client.get(f"/api/v1/patients/{patient.patient_id}/nutrients").json()
    food_id = "01117"
    response = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": food_id, "grams": "200"})
    assert response.status_code == 200
    after = client.get(f"/api/v1/patients/{patient.patient_id}/nutrients").json()
    gained = after["totals"]["calcium_mg"] - before["totals"].get("calcium_mg", 0)
    assert abs(gained - 2 * 183) < 0.5  # USDA 01117: 183 mg calcium per 100 g
    assert "Yogurt" in response.text
    with database.transaction() as session:
        assert session.scalar(select(func.count(FoodLogEntry.id))) == 1
    bad = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": "99999", "grams": "100"})
    assert bad.status_code == 422


def test_patient_exercise_week_next_loads_and_bone_words(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    with database.transaction() as session:
        session.add(DxaResult(patient_id=patient.patient_id, date=__import__("datetime").date(2025, 6, 1),
                              site="total_hip", bmd_g_cm2=0.78, t_score=-1.3))
        session.add(DxaResult(patient_id=patient.patient_id, date=__import__("datetime").date(2025, 6, 1),
                              site="lumbar_spine", bmd_g_cm2=0.93, t_score=-1.1))  # the projection needs both sites
    client.cookies.update(patient.cookies())
    response = client.post("/me/exercise", data={"csrf_token": patient.csrf_token, "exercise": "goblet_squat",
                                                 "sets": "3", "reps": "10", "load_kg": "8", "minutes": "20"})
    assert response.status_code == 200
    assert "Goblet squat" in response.text and "next <strong>" in response.text
    assert _number_after("Resistance", response.text.replace(" sessions", "")) == 1
    walk = client.post("/me/exercise", data={"csrf_token": patient.csrf_token, "exercise": "brisk_walking",
                                             "minutes": "45"})
    assert "45 min" in walk.text
    bone = client.get("/me/bone")
    assert bone.status_code == 200 and "T-score −1.3".replace("−", "-") in bone.text.replace("−", "-")
    assert "low bone mass" in bone.text and "next 5 years" in bone.text
    assert client.post("/me/exercise", data={"csrf_token": patient.csrf_token, "exercise": "bogus"}).status_code == 422


def test_api_contracts(client, database, clinician):
    from osteotwin import simulate
    from osteotwin.clinic import PatientRecord

    client.cookies.update(clinician.cookies())
    headers = {"X-CSRF-Token": clinician.csrf_token}
    me = client.get("/api/v1/me").json()
    assert me["role"] == "clinician" and me["csrf_token"] == clinician.csrf_token
    created = client.post("/api/v1/patients", headers=headers, json={
        "name": "Dora Api", "birth_date": "1958-07-01", "weight_kg": 70, "height_cm": 165, "menopause_year": 2008})
    assert created.status_code == 201
    pid = created.json()["id"]
    for path, body in [("dxa", {"date": "2025-02-01", "site": "total_hip", "bmd_g_cm2": 0.70, "t_score": -1.9}),
                       ("dxa", {"date": "2025-02-01", "site": "lumbar_spine", "bmd_g_cm2": 0.80, "t_score": -2.6}),
                       ("labs", {"date": "2025-02-01", "test": "vitamin_d_25_oh", "value": 14}),
                       ("medications", {"drug": "letrozole", "start_date": "2025-03-01"})]:
        response = client.post(f"/api/v1/patients/{pid}/{path}", headers=headers, json=body)
        assert response.status_code == 201, response.text
    bad = client.post(f"/api/v1/patients/{pid}/dxa", headers=headers,
                      json={"date": "2025-02-01", "site": "total_hip", "bmd_g_cm2": 0.7, "t_score": -20})
    assert bad.status_code == 422 and "t_score" in json.dumps(bad.json())
    record = client.get(f"/api/v1/patients/{pid}").json()["record"]
    PatientRecord.model_validate(record)
    assessment = client.get(f"/api/v1/patients/{pid}/assessment").json()
    assert assessment["who_category"] == "osteoporosis" and assessment["bone_agent_indicated"] is True
    scenario = {"patient": {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162},
                "months": 24, "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0, "stop_month": 24}]}
    api_result = client.post("/api/v1/simulate", json=scenario).json()
    assert api_result["lumbar_spine_bmd_pct_change"] == simulate(scenario).lumbar_spine_bmd_pct_change
    assert client.post("/api/v1/simulate", json={**scenario, "months": -1}).status_code == 422
    assert client.post("/api/v1/simulate", json={**scenario, "months": 600}).status_code == 422  # bounded work
    many = {**scenario, "bone_agents": [{"drug": "alendronate", "dose_mg": 70, "every_days": 0.01}]}
    assert client.post("/api/v1/simulate", json=many).status_code == 422
    foods = client.get("/api/v1/foods/search?q=almonds").json()
    assert any(f["food_id"] == "12061" for f in foods)
    with database.transaction() as session:
        assert session.scalar(select(User.role).where(User.id == clinician.user_id)) == "clinician"


def test_patient_cannot_use_clinician_api_writes(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    headers = {"X-CSRF-Token": patient.csrf_token}
    body = {"date": "2025-02-01", "site": "total_hip", "bmd_g_cm2": 0.9, "t_score": 0.5}
    assert client.post(f"/api/v1/patients/{patient.patient_id}/dxa", headers=headers, json=body).status_code == 403
    assert client.post("/api/v1/patients", headers=headers, json={"name": "x", "birth_date": "1960-01-01",
                                                                  "weight_kg": 60, "height_cm": 160}).status_code == 403
    with database.transaction() as session:
        assert issue_link(session, "sign_in", patient.user_id)


def test_overview_flags_a_real_loss_between_intermediate_scans(client, database, clinician):
    """A loss then a recovery: the net change since the first scan is within the LSC, but the first
    interval is a real loss (ISCD: compare each pair of scans against the LSC) and must show."""
    import datetime as dt

    patient_id = add_patient(database, clinician, with_dxa=False)
    with database.transaction() as session:
        for date, bmd in [(dt.date(2023, 9, 1), 0.900), (dt.date(2024, 9, 1), 0.830), (dt.date(2025, 9, 1), 0.895)]:
            session.add(DxaResult(patient_id=patient_id, date=date, site="lumbar_spine", bmd_g_cm2=bmd,
                                  t_score=round((bmd - 1.047) / 0.11, 1), device="hologic"))
    client.cookies.update(clinician.cookies())
    html = client.get(f"/patients/{patient_id}").text
    table = html[html.index('id="dxa-changes"'):html.index("</table>", html.index('id="dxa-changes"'))]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    assert len(rows) == 3  # two intervals and the change since the first scan
    assert "2023-09-01 → 2024-09-01" in rows[0] and "-7.8%" in rows[0] and 'class="bad">yes' in rows[0]
    assert "since first scan" in rows[2] and ">no" in rows[2]
