"""FHIR import into the records (API and page): MRN kept and used to update the same patient, units
converted before storing, limits not stored as values, the report shown, bad input refused with nothing
written; the export carries name, MRN and the exact birth date and validates as R4."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from osteotwin.records.models import LabResult, Patient

HL7 = Path(__file__).parent.parent / "clinic" / "data" / "hl7"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def hl7_bundle() -> dict:
    return {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-01-20T09:00:00Z", "entry": [
        {"resource": json.loads((HL7 / name).read_text(encoding="utf-8"))}
        for name in ("patient-example-d.json", "observation-example.json", "observation-example-body-height.json",
                     "observation-example-bmd.json")]}


def ehr_bundle() -> dict:
    def obs(code: str, value: float, unit: str, when: str = "2025-11-10", **quantity) -> dict:
        return {"resource": {"resourceType": "Observation", "status": "final", "effectiveDateTime": when,
                             "code": {"coding": [{"system": LOINC, "code": code}]},
                             "valueQuantity": {"value": value, "system": UCUM, "code": unit, **quantity}}}

    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1958-12-25",
                      "name": [{"family": "Moretti", "given": ["Giulia"]}],
                      "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                           "code": "MR"}]},
                                      "system": "urn:oid:2.16.840.1.113883.19.5", "value": "A-1001"}]}},
        obs("29463-7", 142, "[lb_av]"),
        obs("8302-2", 160, "cm"),
        obs("24966-4", 0.81, "g/cm2"), obs("38267-1", -2.4, "{T-score}"),
        obs("1989-3", 40, "nmol/L"),
        obs("1989-3", 20, "ng/mL", when="2025-06-01", comparator="<"),
        {"resource": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                      "subject": {"reference": "Patient/x"}, "authoredOn": "2025-01-15",
                      "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                                "code": "199224"}]}}},
    ]}


def patient_count(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(Patient))


def test_api_import_keeps_the_mrn_and_re_import_updates_the_same_patient(client, database, clinician):
    client.cookies.update(clinician.cookies())
    headers = {"X-CSRF-Token": clinician.csrf_token}
    before = patient_count(database)
    first = client.post("/api/v1/fhir/import", headers=headers, json=ehr_bundle())
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] is True and body["name"] == "Giulia Moretti" and body["birth_date"] == "1958-12-25"
    report = body["report"]
    assert report["patient"].startswith("MRN A-1001 (urn:oid:2.16.840.1.113883.19.5)")
    assert any("142 [lb_av] converted to 64.4101 kg" in note for note in report["notes"])
    assert any("40 nmol/L stored as 16.0256 ng/mL" in note for note in report["notes"])
    assert any("'<20 ng/mL', a limit" in line for line in report["skipped"])
    for _ in range(4):
        again = client.post("/api/v1/fhir/import", headers=headers, json=ehr_bundle())
        assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["created"] is False
    assert patient_count(database) == before + 1  # five imports of one MRN: one patient
    changed = ehr_bundle()
    changed["entry"][1]["resource"]["valueQuantity"]["value"] = 150
    update = client.post("/api/v1/fhir/import", headers=headers, json=changed).json()
    assert update["report"]["changed"] == ["patient.weight_kg: 64.41 -> 68.04"]
    assert any(line.endswith("already stored") for line in update["report"]["skipped"])
    with database.transaction() as session:
        stored = session.get(Patient, body["id"])
        assert (stored.identifier_system, stored.identifier_value) == ("urn:oid:2.16.840.1.113883.19.5", "A-1001")
        assert stored.weight_kg == 68.04
        labs = session.scalars(select(LabResult).where(LabResult.patient_id == stored.id)).all()
        assert [(lab.test, lab.unit, round(lab.value, 3)) for lab in labs] == [("vitamin_d_25_oh", "ng/mL", 16.026)]
        assert [(m.drug, m.start_date.isoformat()) for m in stored.medications] == [("anastrozole", "2025-01-15")]
        assert len(stored.dxa_results) == 1


def test_export_has_name_mrn_and_exact_birth_date_and_round_trips(client, database, clinician):
    client.cookies.update(clinician.cookies())
    headers = {"X-CSRF-Token": clinician.csrf_token}
    created = client.post("/api/v1/fhir/import", headers=headers, json=hl7_bundle())
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    exported = client.get(f"/api/v1/patients/{pid}/fhir").json()
    Bundle.model_validate(exported)
    resource = exported["entry"][0]["resource"]
    assert resource["birthDate"] == "1982-08-02"
    assert resource["name"][0]["text"] == "Sandy Notsowell"
    assert resource["identifier"][0] == {"use": "usual", "type": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}]},
        "value": "123458", "system": "urn:oid:0.1.2.3.4.5.6.7"}
    again = client.post("/api/v1/fhir/import", headers=headers, json=exported)
    assert again.status_code == 200 and again.json()["id"] == pid
    assert again.json()["report"]["changed"] == []


def test_page_import_shows_the_report(client, database, clinician):
    client.cookies.update(clinician.cookies())
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/patients").text).group(1)
    response = client.post("/patients/import-fhir", data={"csrf_token": token},
                           files={"file": ("hl7.json", json.dumps(hl7_bundle()).encode(), "application/fhir+json")})
    assert response.status_code == 200
    assert "New patient created." in response.text and "MRN 123458" in response.text
    assert "185 [lb_av] converted to 83.9146 kg" in response.text
    assert 'id="import-skipped"' in response.text
    assert "the records keep BMD and T-score together" in response.text  # HL7's BMD has no T-score


def test_bad_bundles_are_refused_with_the_field_and_nothing_is_written(client, database, clinician):
    client.cookies.update(clinician.cookies())
    headers = {"X-CSRF-Token": clinician.csrf_token}
    before = patient_count(database)
    not_json = copy.deepcopy(ehr_bundle())
    not_json["entry"].append({"resource": {"resourceType": "Observation", "status": "final",
                                           "code": {"text": "osteotwin-record-context"}, "valueString": "{oops"}})
    stone = copy.deepcopy(ehr_bundle())
    stone["entry"][1]["resource"]["valueQuantity"]["code"] = "[stone_av]"
    future = copy.deepcopy(ehr_bundle())
    future["entry"][3]["resource"]["effectiveDateTime"] = "2099-01-01"
    future["entry"][4]["resource"]["effectiveDateTime"] = "2099-01-01"
    for bundle, field in ((not_json, "Bundle.entry[8].resource.valueString"),
                          (stone, "Bundle.entry[1].resource.valueQuantity.code"),
                          (future, "dxa lumbar_spine 2099-01-01.date")):
        response = client.post("/api/v1/fhir/import", headers=headers, json=bundle)
        assert response.status_code == 422, response.text
        assert field in response.text
        assert "Traceback" not in response.text
    assert patient_count(database) == before
    partial = copy.deepcopy(ehr_bundle())
    partial["entry"][0]["resource"]["birthDate"] = "1958-12"
    partial["entry"][3]["resource"]["effectiveDateTime"] = "2024-03"
    partial["entry"][4]["resource"]["effectiveDateTime"] = "2024-03"
    response = client.post("/api/v1/fhir/import", headers=headers, json=partial)
    assert response.status_code == 201, response.text
    assert response.json()["birth_date"] == "1958-12-15"


def test_a_concurrent_import_of_the_same_mrn_is_refused_not_duplicated(database, clinician, monkeypatch):
    """Two imports that both looked up the MRN before either saved: the unique index refuses the second."""
    import pytest

    from osteotwin.errors import InputError
    from osteotwin.records import fhir_import
    from osteotwin.records.models import User

    monkeypatch.setattr(fhir_import, "find_by_identifier", lambda *args: None)
    before = patient_count(database)
    with database.transaction() as session:
        user = session.get(User, clinician.user_id)
        fhir_import.import_fhir_bundle(session, user, ehr_bundle())
    with pytest.raises(InputError) as caught, database.transaction() as session:
        fhir_import.import_fhir_bundle(session, session.get(User, clinician.user_id), ehr_bundle())
    assert caught.value.field == "Patient.identifier" and caught.value.value == "A-1001"
    assert patient_count(database) == before + 1
