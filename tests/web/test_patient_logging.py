"""The patient's logging pages forgive: food by USDA household measure with a typo in the search,
any past day, entries and sessions she can change or remove (each audited), refused forms shown
again with what she typed and the error at the field, and nobody else's entries reachable."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from tests.web.conftest import make_account

from osteotwin.lifestyle import get_food
from osteotwin.records.models import AuditEvent, ExerciseLogEntry, FoodLogEntry
from osteotwin.records.patients import NotFound, delete_food_entry, update_exercise_session
from osteotwin.records.schemas import ExerciseLogIn
from osteotwin.web.compute import BACKGROUND
from osteotwin.web.patient_pages import amount_in_measure, amount_words, grams_of

BROCCOLI = "11090"  # USDA SR28 "Broccoli, raw"; measure 0 is "cup chopped", 91 g
YOGURT = "01117"  # "Yogurt, plain, low fat": measure 3 is "cup (8 fl oz)", 245 g


def _count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count(model.id)))


def _audit(database, action: str) -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent.what).where(AuditEvent.action == action)))


def test_amounts_convert_by_usda_measure_and_read_back_in_it():
    broccoli = get_food(BROCCOLI)  # measures: 1 cup chopped 91 g, ..., 0.5 "cup, chopped or diced" 44 g
    assert broccoli.portions[0].measure == "cup chopped" and broccoli.portions[0].grams == 91
    assert grams_of(broccoli, "0", 2) == 182 and grams_of(broccoli, "g", 150) == 150
    half_cup = next(i for i, p in enumerate(broccoli.portions) if p.amount == 0.5)
    assert grams_of(broccoli, str(half_cup), 1) == 88  # 0.5 cup = 44 g, so one cup = 88 g
    assert amount_in_measure(broccoli, 182) == ("0", 2.0) and amount_words(broccoli, 182) == "2 cup chopped (182 g)"
    assert amount_in_measure(broccoli, 150) == ("g", 150)  # typed in grams: not shown as "0.25 bunch"
    assert amount_words(broccoli, 45.5) == "0.5 cup chopped (45.5 g)"


def test_food_by_measure_with_a_typo_on_another_day_then_changed_and_removed(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    yesterday = dt.date.today() - dt.timedelta(days=1)
    page = client.get("/me", params={"q": "brocoli", "day": yesterday.isoformat()})
    assert page.status_code == 200
    assert "showing foods for “broccoli”" in page.text and f'value="{BROCCOLI}"' in page.text
    assert re.search(r'<option value="0" selected>cup chopped \(91 g\)</option>', page.text)
    assert '<option value="g">grams</option>' in page.text

    saved = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": BROCCOLI,
                                          "date": yesterday.isoformat(), "quantity": "2", "portion": "0"})
    assert saved.status_code == 200 and str(saved.url).endswith(f"/me?day={yesterday}&saved=added")
    assert "Saved: added to your log." in saved.text and "2 cup chopped (182 g)" in saved.text
    nutrients = client.get(f"/api/v1/patients/{patient.patient_id}/nutrients", params={"date": str(yesterday)}).json()
    calcium_per_100g = get_food(BROCCOLI).per_100g["calcium_mg"]
    assert abs(nutrients["totals"]["calcium_mg"] - 1.82 * calcium_per_100g) < 0.05
    assert client.get("/me").text.count("cup chopped (182 g)") == 0  # today is another day

    with database.transaction() as session:
        entry_id = session.scalar(select(FoodLogEntry.id))
    edit = client.get("/me", params={"day": str(yesterday), "edit": entry_id})
    assert f'action="/me/food/{entry_id}"' in edit.text and 'name="quantity" value="2.0"' in edit.text
    changed = client.post(f"/me/food/{entry_id}", data={"csrf_token": patient.csrf_token, "food_id": BROCCOLI,
                                                       "date": str(yesterday), "quantity": "150", "portion": "g"})
    assert "Saved: your changes are in the log." in changed.text and "150 g" in changed.text
    with database.transaction() as session:
        assert session.get(FoodLogEntry, entry_id).grams == 150
    assert f"food log {entry_id}: grams" in _audit(database, "update")  # the changed field, never its value

    removed = client.post(f"/me/food/{entry_id}/delete", data={"csrf_token": patient.csrf_token})
    assert str(removed.url).endswith(f"/me?day={yesterday}&saved=removed") and "Removed from your log." in removed.text
    assert _count(database, FoodLogEntry) == 0
    assert f"food log {entry_id}" in _audit(database, "delete")


def test_a_refused_food_form_keeps_what_she_typed_and_writes_nothing(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    too_much = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": YOGURT, "q": "yogurt",
                                             "date": str(dt.date.today()), "quantity": "20", "portion": "3"})
    assert too_much.status_code == 422
    assert "Not saved: quantity = &#39;20 x 3 = 4900 g&#39;: at most 3000 g of one food per entry" in too_much.text
    # the search is shown again with her amount and measure, and the error is tied to the field
    assert f'id="add-{YOGURT}-quantity" name="quantity" value="20"' in too_much.text
    assert re.search(r'<option value="3" selected>cup \(8 fl oz\) \(245 g\)</option>', too_much.text)
    assert f'aria-describedby="add-{YOGURT}-error"' in too_much.text
    no_measure = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": YOGURT,
                                               "quantity": "1", "portion": "42"})
    assert no_measure.status_code == 422 and "portion = &#39;42&#39;: &#39;g&#39; or a measure of 01117" in no_measure.text
    future = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": YOGURT, "quantity": "1",
                                           "portion": "g", "date": str(dt.date.today() + dt.timedelta(days=5))})
    assert future.status_code == 422 and "must not be in the future" in future.text
    assert _count(database, FoodLogEntry) == 0
    assert client.get("/me", params={"day": str(dt.date.today() + dt.timedelta(days=2))}).status_code == 422
    # unusual but possible: 6 cups of yogurt (1,470 g) is accepted and marked for checking
    large = client.post("/me/food", data={"csrf_token": patient.csrf_token, "food_id": YOGURT, "quantity": "6",
                                          "portion": "3"})
    assert large.status_code == 200 and "Unusually large (1,470 g, more than 1,000 g): check the amount." in large.text
    assert _count(database, FoodLogEntry) == 1
    assert client.get("/me", params={"day": "yesterday"}).status_code == 422


def test_exercise_session_on_another_week_changed_refused_and_removed(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    ten_days_ago = dt.date.today() - dt.timedelta(days=10)
    saved = client.post("/me/exercise", data={"csrf_token": patient.csrf_token, "date": str(ten_days_ago),
                                              "exercise": "goblet_squat", "minutes": "20", "sets": "3", "reps": "10",
                                              "load_kg": "8"})
    assert saved.status_code == 200 and str(saved.url).endswith(f"?day={ten_days_ago}&saved=added")
    assert f"{ten_days_ago} · Goblet squat · 20 min · 3×10 @ 8.0 kg" in saved.text
    assert "Nothing logged in these 7 days." in client.get("/me/exercise").text
    with database.transaction() as session:
        session_id = session.scalar(select(ExerciseLogEntry.id))

    edit = client.get("/me/exercise", params={"day": str(ten_days_ago), "edit": session_id})
    assert f'action="/me/exercise/{session_id}"' in edit.text and 'name="load_kg" min="0" max="400" step="0.5" value="8.0"' in edit.text
    refused = client.post(f"/me/exercise/{session_id}", data={
        "csrf_token": patient.csrf_token, "date": str(ten_days_ago), "exercise": "goblet_squat", "minutes": "20",
        "sets": "50", "reps": "10", "load_kg": "9"})
    assert refused.status_code == 422
    assert f'id="edit-{session_id}-sets" name="sets" min="1" max="20" step="1" value="50" aria-invalid="true"' in refused.text
    assert "sets = &#39;50&#39;: Input should be less than or equal to 20" in refused.text
    with database.transaction() as session:
        assert session.get(ExerciseLogEntry, session_id).sets == 3
    changed = client.post(f"/me/exercise/{session_id}", data={
        "csrf_token": patient.csrf_token, "date": str(ten_days_ago), "exercise": "goblet_squat", "minutes": "25",
        "sets": "3", "reps": "10", "load_kg": "9"})
    assert "3×10 @ 9.0 kg" in changed.text and "Saved: your changes are in the log." in changed.text
    assert "Unusually long" not in changed.text
    long_walk = client.post("/me/exercise", data={"csrf_token": patient.csrf_token, "exercise": "brisk_walking",
                                                  "minutes": "240"})
    assert "Unusually long (more than 180 minutes): check the minutes." in long_walk.text
    with database.transaction() as session:
        session.delete(session.scalar(select(ExerciseLogEntry).where(ExerciseLogEntry.minutes == 240)))
    assert any(e.startswith(f"exercise log {session_id}: ") for e in _audit(database, "update"))
    removed = client.post(f"/me/exercise/{session_id}/delete", data={"csrf_token": patient.csrf_token})
    assert removed.status_code == 200 and _count(database, ExerciseLogEntry) == 0
    assert f"exercise log {session_id}" in _audit(database, "delete")


def test_nobody_else_can_change_or_remove_her_entries(client, database, clinician):
    her = make_account(database, "patient", patient_of=clinician)
    other = make_account(database, "patient", patient_of=clinician, patient_name="Other Patient")
    client.cookies.update(her.cookies())
    client.post("/me/food", data={"csrf_token": her.csrf_token, "food_id": YOGURT, "quantity": "100", "portion": "g"})
    client.post("/me/exercise", data={"csrf_token": her.csrf_token, "exercise": "brisk_walking", "minutes": "30"})
    with database.transaction() as session:
        food_id = session.scalar(select(FoodLogEntry.id))
        session_id = session.scalar(select(ExerciseLogEntry.id))
    client.cookies.clear()
    client.cookies.update(other.cookies())
    assert client.post(f"/me/food/{food_id}/delete", data={"csrf_token": other.csrf_token}).status_code == 404
    assert client.post(f"/me/food/{food_id}", data={"csrf_token": other.csrf_token, "food_id": YOGURT,
                                                    "quantity": "1", "portion": "g"}).status_code == 404
    assert client.post(f"/me/exercise/{session_id}/delete", data={"csrf_token": other.csrf_token}).status_code == 404
    assert client.post(f"/me/exercise/{session_id}", data={"csrf_token": other.csrf_token,
                                                           "exercise": "brisk_walking", "minutes": "1"}).status_code == 404
    assert _count(database, FoodLogEntry) == 1 and _count(database, ExerciseLogEntry) == 1
    with database.transaction() as session:
        assert session.get(FoodLogEntry, food_id).grams == 100 and session.get(ExerciseLogEntry, session_id).minutes == 30
    assert len(_audit(database, "denied")) == 4
    # the records functions refuse a user who is neither her clinician nor herself
    stranger = make_account(database, "clinician")
    with database.transaction() as session:
        from osteotwin.records.models import Patient, User

        patient = session.get(Patient, her.patient_id)
        session_in = ExerciseLogIn(date=dt.date.today(), exercise="brisk_walking")
        for user_id in (stranger.user_id, other.user_id):
            user = session.get(User, user_id)
            with pytest.raises(NotFound):
                delete_food_entry(session, user, patient, food_id)
            with pytest.raises(NotFound):
                update_exercise_session(session, user, patient, session_id, session_in, "aerobic")


def _scans(database, patient_id: int, medications: list[tuple[str, dt.date]], scans: bool = True) -> None:
    from osteotwin.records.models import DxaResult, Medication

    with database.transaction() as session:
        for date, ls, th in [(dt.date(2024, 3, 1), -1.6, -1.1), (dt.date(2025, 9, 1), -2.1, -1.4)] if scans else []:
            session.add(DxaResult(patient_id=patient_id, date=date, site="lumbar_spine",
                                  bmd_g_cm2=round(1.047 + 0.11 * ls, 3), t_score=ls, device="hologic"))
            session.add(DxaResult(patient_id=patient_id, date=date, site="total_hip",
                                  bmd_g_cm2=round(0.942 + 0.122 * th, 3), t_score=th, device="hologic"))
        for drug, start in medications:
            extra = {"dose_mg": 60, "every_months": 6} if drug == "denosumab" else {}
            session.add(Medication(patient_id=patient_id, drug=drug, start_date=start, **extra))


def test_bone_page_gives_ranges_medicine_options_and_the_scans_as_text(client, database, clinician):
    from osteotwin.records.models import Patient
    from osteotwin.web import services

    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    empty = client.get("/me/bone")
    assert empty.status_code == 200 and "No scans yet." in empty.text and 'id="ranges"' not in empty.text
    assert "Denosumab: an injection under the skin, 60 mg every 6 months." in empty.text
    _scans(database, patient.patient_id, [("anastrozole", dt.date(2024, 3, 15))])
    assert client.get("/me/bone").status_code == 200  # starts her fit in the background (web/compute.py)
    BACKGROUND.wait()
    page = client.get("/me/bone")
    assert page.status_code == 200
    with database.transaction() as session:
        twin = services.personal_twin(session.get(Patient, patient.patient_id), wait=True)
    spine = twin["projections"]["continue"]["lumbar_spine_bmd_pct_change"]
    assert (f"If you carry on as now: over the next 5 years your spine (lower back) density would change by about "
            f"{spine['p50'][-1]:+.1f}% (most likely between {spine['p10'][-1]:+.1f}% and {spine['p90'][-1]:+.1f}%)"
            ) in page.text
    assert spine["p10"][-1] < spine["p50"][-1] < spine["p90"][-1]
    assert "anastrozole) ends in March 2029" in page.text
    assert "below −2.0, or who has two or more risk factors" in page.text and "decided by your doctor" in page.text
    assert "Hadji 2017 (AIBL joint position statement), Table 3 [V]" in page.text
    assert page.text.count("With denosumab: over the next 5 years") == 1 and "must not be stopped" not in page.text
    # the chart's text alternative: every scan in a table
    assert page.text.count("<tr><td>2024-03-01</td>") == 2 and "-2.1 (in the low bone mass (osteopenia) range)" in page.text

    _scans(database, patient.patient_id, [("denosumab", dt.date(2025, 9, 15))], scans=False)
    client.get("/me/bone")  # a new record version: fitted again in the background
    BACKGROUND.wait()
    response = client.get("/me/bone")
    on_denosumab = response.text
    assert response.status_code == 200, on_denosumab[-3000:]
    assert "Denosumab must not be stopped or delayed without a follow-on medicine" in on_denosumab
    assert "If denosumab were stopped without a follow-on medicine: over the next 5 years" in on_denosumab
    assert "60 mg every 6 months. <strong>(you take this now)</strong>" in on_denosumab
