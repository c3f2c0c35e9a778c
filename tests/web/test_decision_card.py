"""The decision card at the top of the overview and the assessment (issue 16): a woman with a fragility
fracture already on denosumab is told to continue it, never to stop it without a follow-on, and is not
told to defer; her risk factors are on the overview in the usual notation."""

from __future__ import annotations

import datetime as dt
import html
import re

from tests.web.conftest import add_patient

from osteotwin.records.models import Medication, Patient


def test_fracture_on_denosumab_card_on_overview_and_assessment(client, database, clinician):
    patient_id = add_patient(database, clinician)
    with database.transaction() as session:
        session.get(Patient, patient_id).prior_fragility_fracture = True
        session.add(Medication(patient_id=patient_id, drug="denosumab", start_date=dt.date.today() - dt.timedelta(days=400),
                               dose_mg=60, every_months=6))
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/assessment").json()
    decision = data["decision"]
    assert decision["action"] in ("continue", "next_dose_due")
    assert "Never stop it without a follow-on bisphosphonate." in decision["text"]
    assert not data["deferred_by"]
    for url in (f"/patients/{patient_id}", f"/patients/{patient_id}/assessment"):
        page = html.unescape(client.get(url).text)
        first_card = page.index('<section class="card')
        assert page[first_card:].startswith('<section class="card decision" id="decision"'), "the card comes first"
        assert decision["text"] in page and "Why: the rules behind this" in page
        assert "T-score below -1.5" in page and "fragility fracture after age 50" in page
        assert "defer the bone-modifying agent" not in page.lower()
        assert "minus 1 5" not in page.lower()



def _vitamin_d(database, patient_id: int, day: dt.date, ng_ml: float) -> None:
    from osteotwin.records.models import LabResult

    with database.transaction() as session:
        session.add(LabResult(patient_id=patient_id, date=day, test="vitamin_d_25_oh", value=ng_ml, unit="ng/mL"))


def test_alert_acknowledged_audited_shown_last_and_again_when_it_changes(client, database, clinician):
    from sqlalchemy import select

    from osteotwin.records.models import AlertAcknowledgement, AuditEvent

    patient_id = add_patient(database, clinician)  # 66 years, spine T -2.0 on anastrozole: a bone agent is indicated
    _vitamin_d(database, patient_id, dt.date(2025, 10, 1), 15)
    client.cookies.update(clinician.cookies())
    alerts = client.get(f"/api/v1/patients/{patient_id}/assessment").json()["alerts"]
    assert [a["urgency"] for a in alerts] == sorted(a["urgency"] for a in alerts)
    vitamin_d = next(a for a in alerts if a["id"] == "correct_vitamin_d_before_antiresorptive")
    page = client.get(f"/patients/{patient_id}/assessment").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = client.post(f"/patients/{patient_id}/alerts/acknowledge",
                      data={"csrf_token": token, "alert_id": vitamin_d["id"], "fingerprint": "0" * 16})
    assert bad.status_code == 422 and "alert_id" in bad.text
    form = {"csrf_token": token, "alert_id": vitamin_d["id"], "fingerprint": vitamin_d["fingerprint"], "page": "assessment"}
    done = client.post(f"/patients/{patient_id}/alerts/acknowledge", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/patients/{patient_id}/assessment#decision"
    client.post(f"/patients/{patient_id}/alerts/acknowledge", data=form, follow_redirects=False)
    with database.transaction() as session:
        rows = session.scalars(select(AlertAcknowledgement).where(AlertAcknowledgement.patient_id == patient_id)).all()
        assert len(rows) == 1 and rows[0].acknowledged_by == clinician.user_id, "acknowledging twice stores one row"
        audited = session.scalars(select(AuditEvent.what).where(AuditEvent.patient_id == patient_id,
                                                                AuditEvent.action == "create")).all()
        assert audited.count("alert acknowledgement") == 2  # the refused request is rolled back with its row
    page = html.unescape(client.get(f"/patients/{patient_id}").text)
    items = re.findall(r'<li data-urgency="\d" data-alert="(\w+)"( class="acknowledged")?', page)
    assert items[-1] == ("correct_vitamin_d_before_antiresorptive", ' class="acknowledged"'), items
    assert all(not acknowledged for _, acknowledged in items[:-1])
    _vitamin_d(database, patient_id, dt.date(2025, 11, 1), 12)  # a new value: the alert reads differently
    page = html.unescape(client.get(f"/patients/{patient_id}").text)
    assert 'data-alert="correct_vitamin_d_before_antiresorptive" class="acknowledged"' not in page
    assert "25(OH)D 12 ng/mL" in page


def test_only_her_clinician_acknowledges_and_denials_are_audited(client, database, clinician):
    from sqlalchemy import select
    from tests.web.conftest import make_account

    from osteotwin.records.models import AlertAcknowledgement, AuditEvent

    patient_id = add_patient(database, clinician)
    _vitamin_d(database, patient_id, dt.date(2025, 10, 1), 15)
    client.cookies.update(clinician.cookies())
    alert = client.get(f"/api/v1/patients/{patient_id}/assessment").json()["alerts"][0]
    other = make_account(database, "clinician")
    her = make_account(database, "patient", patient_of=clinician)
    form = {"alert_id": alert["id"], "fingerprint": alert["fingerprint"]}
    for account, status in ((other, 404), (her, 403)):
        client.cookies.clear()
        client.cookies.update(account.cookies())
        response = client.post(f"/patients/{patient_id}/alerts/acknowledge",
                               data={**form, "csrf_token": account.csrf_token}, follow_redirects=False)
        assert response.status_code == status, account
    with database.transaction() as session:
        assert session.scalars(select(AlertAcknowledgement)).all() == []
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "denied",
                                                          AuditEvent.user_id.in_([other.user_id, her.user_id]))).all()
        assert len(denied) == 2
