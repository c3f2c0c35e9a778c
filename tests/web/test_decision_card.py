"""The decision card at the top of the overview and the assessment (issue 16): a woman with a fragility
fracture already on denosumab is told to continue it, never to stop it without a follow-on, and is not
told to defer; her risk factors are on the overview in the usual notation."""

from __future__ import annotations

import datetime as dt
import html

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
