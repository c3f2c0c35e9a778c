"""FHIR import that arrives whole: HL7's published examples, units, partial dates, comparators, panels,
MedicationRequest, identity (name, MRN, exact birth date) kept through export, and the import report."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from osteotwin.clinic import PatientRecord, assess
from osteotwin.clinic.fhir import import_bundle, record_to_bundle
from osteotwin.clinic.record import record_warnings
from osteotwin.errors import InputError

HL7 = Path(__file__).parent / "data" / "hl7"
TODAY = date(2026, 3, 1)
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"


def hl7(name: str) -> dict:
    return json.loads((HL7 / f"{name}.json").read_text(encoding="utf-8"))


def hl7_bundle(timestamp: str | None = "2026-02-20T10:00:00Z") -> dict:
    """HL7's own Patient, weight (lb), height (in) and BMD (no effective date) examples in one Bundle."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://example.org/fhir/Patient/pat4", "resource": hl7("patient-example-d")},
        {"resource": hl7("observation-example")},
        {"resource": hl7("observation-example-body-height")},
        {"resource": hl7("observation-example-bmd")},
    ]}
    if timestamp:
        bundle["timestamp"] = timestamp
    return bundle


def patient(**extra) -> dict:
    return {"resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1958-12-25",
                         "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                              "code": "MR"}]},
                                         "system": "urn:oid:1.2.3", "value": "MRN-77"}],
                         "name": [{"use": "official", "family": "Rossi", "given": ["Anna"]}], **extra}}


def obs(code: str, when: str | None, value: float | None, unit: str, **extra) -> dict:
    resource = {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": LOINC, "code": code}]}}
    if when:
        resource["effectiveDateTime"] = when
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    resource.update(extra)
    return {"resource": resource}


def bundle(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [patient(), obs("29463-7", "2026-01-10", 60, "kg"), obs("8302-2", "2026-01-10", 160, "cm"),
                      *entries]}


def test_hl7_examples_import_with_units_converted_and_the_missing_date_taken_from_the_bundle() -> None:
    record, report = import_bundle(hl7_bundle(), today=TODAY)
    assert record.patient.weight_kg == pytest.approx(185 * 0.45359237, abs=0.01)  # 185 [lb_av]
    assert record.patient.height_cm == pytest.approx(66.9 * 2.54, abs=0.01)  # 66.9 [in_i]
    assert record.patient.name == "Sandy Notsowell"
    assert record.patient.identifier.value == "123458"
    assert record.patient.identifier.system == "urn:oid:0.1.2.3.4.5.6.7"
    assert record.patient.birth_date == "1982-08-02"
    assert record.patient.age_years == pytest.approx(43.6, abs=0.1)
    [bmd] = record.dxa
    assert (bmd.site, bmd.bmd_g_cm2, bmd.date) == ("femoral_neck", 0.887, date(2026, 2, 20))
    assert report.patient == "MRN 123458 (urn:oid:0.1.2.3.4.5.6.7)"
    text = report.text()
    assert "185 [lb_av] converted to 83.9146 kg" in text
    assert "66.9 [in_i] converted to 169.926 cm" in text
    assert "Bundle.entry[3].resource: no effective or issued date; the Bundle's timestamp 2026-02-20 is used" in text
    assert "LOINC 24701-5 (DXA Femur) read as the femoral neck" in text


def test_hl7_bmd_without_any_date_is_skipped_with_a_reason_not_the_whole_bundle() -> None:
    record, report = import_bundle(hl7_bundle(timestamp=None), today=TODAY)
    assert record.dxa == [] and record.patient.weight_kg > 80
    assert any(line.startswith("Bundle.entry[3].resource: no effective date") for line in report.skipped)


def test_hl7_searchset_bundle_is_refused_cleanly() -> None:
    example = hl7("bundle-example")
    Bundle.model_validate(example)
    with pytest.raises(InputError) as caught:
        import_bundle(example, today=TODAY)
    assert caught.value.field == "Bundle.entry" and "exactly one Patient" in str(caught.value)


def test_round_trip_of_hl7_examples_keeps_identity_birth_date_and_values() -> None:
    record, _ = import_bundle(hl7_bundle(), today=TODAY)
    exported = record_to_bundle(record, today=TODAY)
    Bundle.model_validate(exported)
    resource = exported["entry"][0]["resource"]
    assert resource["birthDate"] == "1982-08-02"
    assert resource["name"][0]["text"] == "Sandy Notsowell"
    assert resource["identifier"][0]["value"] == "123458"
    assert resource["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    again, _ = import_bundle(exported, today=TODAY)
    assert again.patient == record.patient
    assert again.dxa == record.dxa


def test_export_keeps_the_exact_birth_date_so_age_does_not_move() -> None:
    record, _ = import_bundle(bundle(), today=TODAY)
    assert record.patient.birth_date == "1958-12-25"
    exported = record_to_bundle(record, today=date(2030, 6, 1))
    assert exported["entry"][0]["resource"]["birthDate"] == "1958-12-25"
    back, _ = import_bundle(exported, today=TODAY)
    assert back.patient.age_years == record.patient.age_years == 67.2


def test_record_without_birth_date_exports_the_year_only() -> None:
    record = PatientRecord.model_validate({"patient": {"age_years": 60, "weight_kg": 60, "height_cm": 160}})
    exported = record_to_bundle(record, today=TODAY)
    assert exported["entry"][0]["resource"]["birthDate"] == "1966"
    back, report = import_bundle(exported, today=TODAY)
    assert abs(back.patient.age_years - 60) < 1
    assert any("year precision" in note for note in report.notes)


def test_partial_dates_are_accepted_at_their_precision() -> None:
    b = bundle(obs("38267-1", "2024-03", -2.1, "{T-score}"))
    b["entry"][0]["resource"]["birthDate"] = "1958-12"
    record, report = import_bundle(b, today=TODAY)
    assert record.dxa[0].date == date(2024, 3, 15)
    assert record.patient.birth_date == "1958-12"
    assert record.patient.age_years == pytest.approx(67.2, abs=0.1)
    assert any("'2024-03' (month precision)" in note for note in report.notes)


def test_weight_in_pounds_is_converted_and_an_unknown_unit_is_refused_by_name() -> None:
    b = bundle()
    b["entry"][1] = obs("29463-7", "2026-01-10", 142, "[lb_av]")
    record, _ = import_bundle(b, today=TODAY)
    assert record.patient.weight_kg == pytest.approx(64.41, abs=0.01)
    b["entry"][1] = obs("29463-7", "2026-01-10", 10, "[stone_av]")
    with pytest.raises(InputError) as caught:
        import_bundle(b, today=TODAY)
    assert caught.value.field == "Bundle.entry[1].resource.valueQuantity.code"
    assert caught.value.value == "[stone_av]" and "[lb_av]" in caught.value.allowed


def test_the_latest_weight_is_used_and_the_older_one_reported() -> None:
    record, report = import_bundle(bundle(obs("29463-7", "2025-01-10", 64, "kg")), today=TODAY)
    assert record.patient.weight_kg == 60
    assert any("older than the 2026-01-10 value used" in line for line in report.skipped)


def test_comparator_is_kept_as_a_flag_and_survives_export() -> None:
    vitamin_d = obs("1989-3", "2026-01-05", 20, "ng/mL")
    vitamin_d["resource"]["valueQuantity"]["comparator"] = "<"
    record, report = import_bundle(bundle(vitamin_d), today=TODAY)
    [lab] = record.labs
    assert (lab.value, lab.comparator) == (20, "<")
    assert any("a limit, not a measurement" in note for note in report.notes)
    assert any("'<20 ng/mL'" in w for w in record_warnings(record, TODAY))
    exported = record_to_bundle(record, today=TODAY)
    quantities = [e["resource"].get("valueQuantity") for e in exported["entry"]]
    assert {"value": 20, "comparator": "<", "unit": "ng/mL", "system": UCUM, "code": "ng/mL"} in quantities
    assert import_bundle(exported, today=TODAY)[0].labs == record.labs


def test_vitamin_d_in_nmol_per_litre_reads_as_ng_per_ml_by_2_496() -> None:
    record, _ = import_bundle(bundle(obs("1989-3", "2026-01-05", 49.92, "nmol/L")), today=TODAY)
    assert record.labs[0].value_in_standard_unit() == pytest.approx(20.0)


def test_dxa_panel_components_are_read() -> None:
    panel = {"resource": {
        "resourceType": "Observation", "status": "final", "effectiveDateTime": "2025-11-03",
        "code": {"coding": [{"system": LOINC, "code": "83311-1"}]}, "device": {"display": "GE Lunar iDXA"},
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": "24966-4"}]},
             "valueQuantity": {"value": 0.91, "unit": "g/cm2", "system": UCUM, "code": "g/cm2"}},
            {"code": {"coding": [{"system": LOINC, "code": "38267-1"}]},
             "valueQuantity": {"value": -2.3, "system": UCUM, "code": "{T-score}"}},
            {"code": {"coding": [{"system": LOINC, "code": "80946-7"}]},  # DXA Hip - left [T-score]
             "valueQuantity": {"value": -1.7, "system": UCUM, "code": "{T-score}"}},
            {"code": {"coding": [{"system": LOINC, "code": "80948-3"}]},  # DXA Femur - left [T-score]
             "valueQuantity": {"value": -1.9, "system": UCUM, "code": "{T-score}"}},
            {"code": {"coding": [{"system": LOINC, "code": "99999-9"}]}, "valueString": "comment"},
        ]}}
    record, report = import_bundle(bundle(panel), today=TODAY)
    by_site = {d.site: d for d in record.dxa}
    assert (by_site["lumbar_spine"].bmd_g_cm2, by_site["lumbar_spine"].t_score) == (0.91, -2.3)
    assert by_site["total_hip"].t_score == -1.7 and by_site["femoral_neck"].t_score == -1.9
    assert by_site["lumbar_spine"].device == "ge_lunar"
    assert any(line.startswith("Bundle.entry[3].resource.component[4]:") for line in report.skipped)
    a = assess(record, today=TODAY, project=False)
    assert (a.classification.lowest_score, a.classification.lowest_site) == (-2.3, "lumbar_spine")


def test_medication_request_by_rxnorm_by_reference_and_by_brand_name() -> None:
    anastrozole = {"resource": {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "x"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "199224"}]}, "authoredOn": "2025-02-01"}}
    prolia = {"resource": {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "x"},
        "medicationCodeableConcept": {"text": "Prolia 60 mg/mL prefilled syringe"}, "authoredOn": "2025-08-01",
        "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 60, "unit": "mg"}}]}]}}
    by_reference = {"resource": {
        "resourceType": "MedicationRequest", "status": "completed", "intent": "order", "subject": {"reference": "x"},
        "medicationReference": {"reference": "Medication/tam"},
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2020-01-01", "end": "2022-06-30"}}}}]}}
    medication = {"fullUrl": "http://example.org/Medication/tam", "resource": {
        "resourceType": "Medication", "id": "tam", "code": {"coding": [{"system": RXNORM, "code": "10324"}]}}}
    other = {"resource": {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "x"},
        "medicationCodeableConcept": {"text": "metformin 500 mg"}, "authoredOn": "2025-01-01"}}
    record, report = import_bundle(bundle(anastrozole, prolia, by_reference, medication, other), today=TODAY)
    drugs = {m.drug: m for m in record.medications}
    assert drugs["anastrozole"].start_date == date(2025, 2, 1)
    assert drugs["denosumab"].start_date == date(2025, 8, 1) and drugs["denosumab"].dose_mg == 60
    assert (drugs["tamoxifen"].start_date, drugs["tamoxifen"].stop_date) == (date(2020, 1, 1), date(2022, 6, 30))
    assert any("metformin" in line and "not a drug osteotwin uses" in line for line in report.skipped)
    assert any("an order, not an administration" in note for note in report.notes)
    assessment = assess(record, today=TODAY, project=False)
    assert "hadji2025_assess_fracture_risk" in {r.id for r in assessment.recommendations}  # on an AI


@pytest.mark.parametrize(("value_string", "shown"), [("not json {", "not json {"), ('["a list"]', '["a list"]'),
                                                     ('{"surprise": 1}', "surprise")])
def test_context_observation_that_is_not_our_json_is_refused_by_field(value_string, shown) -> None:
    context = {"resource": {"resourceType": "Observation", "status": "final",
                            "code": {"text": "osteotwin-record-context"}, "valueString": value_string}}
    with pytest.raises(InputError) as caught:
        import_bundle(bundle(context), today=TODAY)
    assert caught.value.field == "Bundle.entry[3].resource.valueString"
    assert caught.value.value == shown


def test_context_with_a_bad_value_is_refused_with_the_record_field() -> None:
    context = {"resource": {"resourceType": "Observation", "status": "final",
                            "code": {"text": "osteotwin-record-context"},
                            "valueString": json.dumps({"risk_factors": {"falls_last_12_months": -3}})}}
    with pytest.raises(InputError) as caught:
        import_bundle(bundle(context), today=TODAY)
    assert caught.value.field == "record.risk_factors.falls_last_12_months"


def test_every_resource_is_accounted_for_in_the_report() -> None:
    b = bundle(obs("1989-3", "2026-01-05", None, "ng/mL", dataAbsentReason={"text": "hemolysed"}),
               obs("2345-7", "2026-01-05", 5.1, "mmol/L"),
               {"resource": {"resourceType": "Condition", "subject": {"reference": "x"}}},
               obs("38267-1", "2026-01-10", -1.0, "{T-score}", status="entered-in-error"))
    record, report = import_bundle(copy.deepcopy(b), today=TODAY)
    assert record.labs == [] and record.dxa == []
    skipped = "\n".join(report.skipped)
    for index in (3, 4, 5, 6):
        assert f"Bundle.entry[{index}].resource" in skipped
    assert "hemolysed" in skipped and "entered-in-error" in skipped


def _paths(obj, path=()):
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield (*path, index)
            yield from _paths(value, (*path, index))


def test_no_mangled_bundle_produces_anything_but_an_input_error() -> None:
    """Every element of two Bundles (HL7's examples; an EHR-like one with a panel, a lab limit and an order)
    replaced by odd values or removed: the import either succeeds or raises InputError, never a traceback."""
    vitamin_d = obs("1989-3", "2026-01-05", 20, "ng/mL")
    vitamin_d["resource"]["valueQuantity"]["comparator"] = "<"
    order = {"resource": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                          "subject": {"reference": "x"}, "authoredOn": "2025-02-01",
                          "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "199224"}]}}}
    failures = []
    for base in (hl7_bundle(), bundle(vitamin_d, order, obs("38267-1", "2024-03", -2.1, "{T-score}"))):
        for path in list(_paths(base)):
            for odd in (None, "", "x", -1, 1e308, [], {}, "2024-13", "DELETE"):
                mangled = copy.deepcopy(base)
                parent = mangled
                for key in path[:-1]:
                    parent = parent[key]
                if odd == "DELETE":
                    parent.pop(path[-1])
                else:
                    parent[path[-1]] = odd
                try:
                    record, _ = import_bundle(mangled, today=TODAY)
                    record_to_bundle(record, today=TODAY)
                except InputError:
                    pass
                except Exception as error:  # noqa: BLE001 - the point of the test
                    failures.append((path, odd, type(error).__name__))
    assert failures == []


def test_assess_on_a_bundle_dict_carries_the_import_report_in_its_warnings() -> None:
    a = assess(hl7_bundle(timestamp=None), today=TODAY, project=False)
    assert any(w.startswith("FHIR import: Bundle.entry[1].resource: body weight: 185 [lb_av] converted") for w in a.warnings)
    assert any(w.startswith("FHIR import: skipped Bundle.entry[3].resource: no effective date") for w in a.warnings)


def test_hl7_bundle_example_entries_inside_a_patient_bundle_are_reported_and_the_round_trip_holds() -> None:
    """HL7's searchset Bundle (a MedicationRequest whose Medication has no code) merged into the HL7 patient
    Bundle: the request is skipped with its reason, and export -> import gives the same record."""
    merged = hl7_bundle()
    merged["entry"] += hl7("bundle-example")["entry"]
    record, report = import_bundle(merged, today=TODAY)
    assert any(line.startswith("Bundle.entry[4].resource: MedicationRequest for 'no medication code'")
               for line in report.skipped)
    assert record.medications == []
    exported = record_to_bundle(record, today=TODAY)
    Bundle.model_validate(exported)
    assert import_bundle(exported, today=TODAY)[0] == record
