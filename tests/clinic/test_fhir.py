"""FHIR R4: import of a realistic Bundle, round trip record -> Bundle -> record, assessment export, refusals."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from fhir.resources.R4B.bundle import Bundle

from osteotwin.clinic import PatientRecord, assess
from osteotwin.clinic.fhir import assessment_to_bundle, bundle_to_record, record_to_bundle
from osteotwin.errors import InputError

TODAY = date(2026, 3, 1)
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def obs(code: str, when: str, value: float, unit: str, **extra) -> dict:
    return {"resource": {"resourceType": "Observation", "status": "final",
                         "code": {"coding": [{"system": LOINC, "code": code}]}, "subject": {"reference": "Patient/p1"},
                         "effectiveDateTime": when,
                         "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
                         **extra}}


def ehr_bundle() -> dict:
    """A Bundle as an EHR might send it: DXA with device, left-femur code, labs in SI/US units, RxNorm meds."""
    hologic = {"device": {"display": "Hologic Horizon A"}}
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "Patient/p1", "resource": {"resourceType": "Patient", "id": "p1", "gender": "female",
                                               "birthDate": "1958-05-20"}},
        obs("29463-7", "2026-01-10", 58.0, "kg"),
        obs("8302-2", "2026-01-10", 158.0, "cm"),
        obs("24966-4", "2026-01-10", 0.842, "g/cm2", **hologic),
        obs("38267-1", "2026-01-10", -2.1, "{T-score}", **hologic),
        obs("38261-4", "2026-01-10", 0.801, "g/cm2", **hologic),
        obs("38264-8", "2026-01-10", -1.2, "{T-score}", **hologic),
        obs("80954-1", "2026-01-10", 0.690, "g/cm2", **hologic),  # DXA Femur - left
        obs("80948-3", "2026-01-10", -1.4, "{T-score}", **hologic),
        obs("24966-4", "2024-12-15", 0.905, "g/cm2", **hologic),
        obs("1989-3", "2026-01-05", 40, "nmol/L"),
        obs("17861-6", "2026-01-05", 9.4, "mg/dL", referenceRange=[{"low": {"value": 8.6, "unit": "mg/dL"}}]),
        obs("35591-7", "2026-01-05", 72, "mL/min"),
        {"resource": {"resourceType": "MedicationStatement", "status": "active",
                      "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "199224",
                                                                "display": "anastrozole 1 MG Oral Tablet"}]},
                      "subject": {"reference": "Patient/p1"}, "effectivePeriod": {"start": "2025-02-01"}}},
        {"resource": {"resourceType": "MedicationStatement", "status": "completed",
                      "medicationCodeableConcept": {"text": "Prolia (denosumab) 60 mg/mL"},
                      "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2025-08-01",
                      "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 60, "unit": "mg"}}]}]}},
        {"resource": {"resourceType": "MedicationStatement", "status": "entered-in-error",
                      "medicationCodeableConcept": {"text": "letrozole"}, "subject": {"reference": "Patient/p1"},
                      "effectivePeriod": {"start": "2025-01-01"}}},
    ]}


def test_import_realistic_bundle() -> None:
    record = bundle_to_record(ehr_bundle(), today=TODAY)
    assert record.patient.age_years == pytest.approx(67.8, abs=0.1)
    assert (record.patient.weight_kg, record.patient.height_cm) == (58.0, 158.0)
    by_key = {(d.date.isoformat(), d.site): d for d in record.dxa}
    spine = by_key[("2026-01-10", "lumbar_spine")]
    assert (spine.bmd_g_cm2, spine.t_score, spine.device) == (0.842, -2.1, "hologic")
    assert by_key[("2026-01-10", "femoral_neck")].t_score == -1.4
    assert by_key[("2024-12-15", "lumbar_spine")].bmd_g_cm2 == 0.905
    labs = {lab.test: lab for lab in record.labs}
    assert labs["vitamin_d_25_oh"].value_in_standard_unit() == pytest.approx(40 / 2.496)
    assert labs["calcium"].value_in_standard_unit() == pytest.approx(9.4 / 4.008)
    assert labs["calcium"].reference_low == 8.6
    assert labs["creatinine_clearance"].value == 72
    drugs = {m.drug: m for m in record.medications}
    assert set(drugs) == {"anastrozole", "denosumab"}  # entered-in-error letrozole ignored
    assert drugs["denosumab"].dates == [date(2025, 8, 1)] and drugs["denosumab"].dose_mg == 60
    # The imported record drives the rules: T -2.1 on an AI, 25(OH)D 16 ng/mL, denosumab overdue.
    a = assess(record, today=TODAY, project=False)
    assert a.bone_agent_indicated and "hadji2017_t_below_minus_2" in a.because
    ids = {x.id for x in a.alerts}
    assert {"correct_vitamin_d_before_antiresorptive", "denosumab_discontinuation_rebound", "significant_bmd_loss"} <= ids


def test_round_trip_record_bundle_record() -> None:
    original = PatientRecord.model_validate({
        "patient": {"age_years": 45, "menopausal_status": "premenopausal", "weight_kg": 70, "height_cm": 170},
        "risk_factors": {"former_smoker": True, "falls_last_12_months": 1},
        "cancer": {"adjuvant_systemic_therapy_candidate": True, "recurrence_risk": "high"},
        "dxa": [{"date": "2025-01-10", "site": "femoral_neck", "bmd_g_cm2": 0.75, "t_score": -0.9, "z_score": -0.6,
                 "device": "ge_lunar"},
                {"date": "2026-01-10", "site": "lumbar_spine", "bmd_g_cm2": 1.1, "t_score": -0.8, "device": "ge_lunar"}],
        "facility_precision": {"lumbar_spine": {"rms_sd_g_cm2": 0.01}},
        "labs": [{"date": "2026-01-05", "test": "calcium", "value": 2.4, "unit": "mmol/L", "reference_low": 2.15},
                 {"date": "2026-01-05", "test": "vitamin_d_25_oh", "value": 28, "unit": "ng/mL"}],
        "medications": [{"drug": "letrozole", "start_date": "2025-06-01"},
                        {"drug": "goserelin", "start_date": "2025-05-01"},
                        {"drug": "zoledronic_acid", "dose_mg": 4, "dates": ["2025-06-15", "2025-12-15"]},
                        {"drug": "denosumab", "dose_mg": 60, "dates": ["2024-01-01"], "planned_stop_date": "2024-07-01"}],
        "frax": {"major_osteoporotic_10y_pct": 8, "hip_10y_pct": 0.9, "with_bmd": False},
    })
    bundle = record_to_bundle(original, today=TODAY)
    Bundle.model_validate(bundle)
    back = bundle_to_record(bundle, today=TODAY)
    assert back.patient.age_years == pytest.approx(original.patient.age_years, abs=1.0)
    assert back.model_dump(exclude={"patient"}) == original.model_dump(exclude={"patient"})
    assert back.patient.menopausal_status == "premenopausal"


def test_assessment_bundle_has_careplan_and_loinc_observations() -> None:
    record = bundle_to_record(ehr_bundle(), today=TODAY)
    a = assess(record, today=TODAY, project=False)
    bundle = assessment_to_bundle(record, a)
    parsed = Bundle.model_validate(bundle)
    kinds = [e.resource.__class__.__name__ for e in parsed.entry]
    assert kinds.count("CarePlan") == 1
    plan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert plan["intent"] == "proposal" and plan["subject"]["reference"] == bundle["entry"][0]["fullUrl"]
    codes = [a_["detail"]["code"]["text"] for a_ in plan["activity"]]
    assert codes[: len(a.recommendations)] == [r.id for r in a.recommendations]
    assert "next_dxa" in codes
    assert all("[" in a_["detail"]["description"] for a_ in plan["activity"][:-1])  # each carries its source
    assert any("denosumab_discontinuation_rebound" in n["text"] for n in plan["note"])
    loinc = {c["code"] for e in bundle["entry"] for c in (e["resource"].get("code") or {}).get("coding", [])
             if c.get("system") == LOINC}
    assert {"24966-4", "38267-1", "38261-4", "38264-8", "24701-5", "38263-0", "1989-3", "17861-6", "35591-7"} <= loinc
    neck = [e["resource"] for e in bundle["entry"]
            if any(c.get("code") == "24701-5" for c in (e["resource"].get("code") or {}).get("coding", []))]
    assert neck[0]["bodySite"]["coding"][0]["code"] == "29627003"
    rx = {c["code"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationStatement"
          for c in e["resource"]["medicationCodeableConcept"].get("coding", [])}
    assert rx == {"199224"}  # denosumab: text only (its RxNorm code is not verified)
    # The exported bundle imports back to the same DXA series and medications.
    again = bundle_to_record(bundle, today=TODAY)
    assert again.dxa == record.dxa and again.medications == record.medications


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda b: b["entry"][3]["resource"]["valueQuantity"].update(value="abc"),
         "Bundle.entry[3].resource.valueQuantity.value", "Decimal"),
        (lambda b: b["entry"][1]["resource"].pop("status"), "Bundle.entry[1].resource.status", "required"),
        (lambda b: b["entry"][0]["resource"].update(birthDate="1958-13-40"), "Bundle.entry[0].resource.birthDate", ""),
        (lambda b: b.pop("type"), "Bundle.type", "required"),
        (lambda b: b["entry"][0]["resource"].update(gender="male"), "Bundle.entry[0].resource.gender", "female"),
        (lambda b: b["entry"][0]["resource"].pop("birthDate"), "Bundle.entry[0].resource.birthDate", "birth date"),
        (lambda b: b["entry"].pop(1), "Bundle.entry", "weight"),
        (lambda b: b["entry"].pop(0), "Bundle.entry", "exactly one Patient"),
        (lambda b: b.update(resourceType="Patient"), "resourceType", "Bundle"),
        (lambda b: b["entry"][10]["resource"]["valueQuantity"].update(unit="IU", code="IU"),
         "Bundle.entry[10].resource.valueQuantity.code", "ng/mL"),
    ],
)
def test_invalid_bundles_are_refused_with_a_path(mutate, field, message) -> None:
    bundle = copy.deepcopy(ehr_bundle())
    mutate(bundle)
    with pytest.raises(InputError) as caught:
        bundle_to_record(bundle, today=TODAY)
    assert caught.value.field == field
    assert message in str(caught.value)
