"""FHIR R4 import and export for the clinic: Bundle <-> PatientRecord, Assessment -> CarePlan + Observations.

Validation uses the ``fhir.resources`` library (8.x). It ships FHIR R4B (4.3) models, which are
structurally identical to R4 (4.0.1) for the resources used here (Bundle, Patient, Observation,
MedicationStatement, CarePlan); invalid bundles are refused with the path of the first error.

Codes and their evidence (research/guidelines.md section 2.6):
- DXA LOINC codes (BMD, T-score, Z-score per site) [V, OHDSI/OMOP list]. No femoral-neck LOINC code
  exists: the Femur codes are used with SNOMED bodySite 29627003 "Structure of neck of femur" [S, public
  FSH/code files], as in the HL7 example observation-example-bmd.
- Lab LOINC: 25(OH)D 1989-3; calcium 17861-6 (mass) and 2000-8 (moles); creatinine clearance 2164-2,
  35591-7 (Cockcroft-Gault), 33558-8; weight 29463-7; height 8302-2 [S, public code files].
- RxNorm: anastrozole 1 mg tablet 199224, letrozole 2.5 mg tablet 200064, exemestane 25 mg tablet 310261
  (SCD) and zoledronic acid 77655 (ingredient) [V]. Ingredient codes for the other drugs are recalled,
  not verified, so those drugs are exported by text only and imported by name.
- SNOMED 64859006 Osteoporosis (disorder) [V].

Fields of the record with no standard code (risk factors, conditions, cancer context, FRAX,
facility precision, menopausal status, planned AI years) travel in one Observation coded by text,
``osteotwin-record-context``, whose valueString is their JSON.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from osteotwin.clinic.assessment import Assessment
from osteotwin.clinic.record import BONE_AGENTS, DxaMeasurement, LabResult, Medication, PatientRecord
from osteotwin.errors import InputError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CONTEXT_CODE_TEXT = "osteotwin-record-context"

#: (site, measure) -> LOINC code used on export [V].
DXA_EXPORT: dict[tuple[str, str], tuple[str, str]] = {
    ("lumbar_spine", "bmd"): ("24966-4", "DXA Lumbar spine [Mass/Area] Bone density"),
    ("lumbar_spine", "t"): ("38267-1", "DXA Lumbar spine [T-score] Bone density"),
    ("lumbar_spine", "z"): ("85394-5", "DXA Lumbar spine [Z-score] Bone density"),
    ("total_hip", "bmd"): ("38261-4", "DXA Hip [Mass/Area] Bone density"),
    ("total_hip", "t"): ("38264-8", "DXA Hip [T-score] Bone density"),
    ("total_hip", "z"): ("80933-5", "DXA Hip [Z-score] Bone density"),
    ("femoral_neck", "bmd"): ("24701-5", "DXA Femur [Mass/Area] Bone density"),
    ("femoral_neck", "t"): ("38263-0", "DXA Femur [T-score] Bone density"),
    ("femoral_neck", "z"): ("80934-3", "DXA Femur [Z-score] Bone density"),
}
#: LOINC code -> (site, measure) on import, including the left/right hip and femur codes [V].
DXA_IMPORT: dict[str, tuple[str, str]] = {code: key for key, (code, _) in DXA_EXPORT.items()} | {
    "46278-8": ("total_hip", "bmd"), "46279-6": ("total_hip", "bmd"),
    "80946-7": ("total_hip", "t"), "80945-9": ("total_hip", "t"),
    "80938-4": ("total_hip", "z"), "80937-6": ("total_hip", "z"),
    "80954-1": ("femoral_neck", "bmd"), "80953-3": ("femoral_neck", "bmd"),
    "80948-3": ("femoral_neck", "t"), "80947-5": ("femoral_neck", "t"),
    "80940-0": ("femoral_neck", "z"), "80939-2": ("femoral_neck", "z"),
}
NECK_OF_FEMUR_SNOMED = ("29627003", "Structure of neck of femur")
LAB_IMPORT: dict[str, str] = {
    "1989-3": "vitamin_d_25_oh", "17861-6": "calcium", "2000-8": "calcium",
    "2164-2": "creatinine_clearance", "35591-7": "creatinine_clearance", "33558-8": "creatinine_clearance",
}
LAB_EXPORT: dict[str, tuple[str, str]] = {
    "vitamin_d_25_oh": ("1989-3", "25-hydroxyvitamin D3+25-hydroxyvitamin D2 [Mass/volume] in Serum or Plasma"),
    "calcium_mg/dL": ("17861-6", "Calcium [Mass/volume] in Serum or Plasma"),
    "calcium_mmol/L": ("2000-8", "Calcium [Moles/volume] in Serum or Plasma"),
    "creatinine_clearance": ("35591-7", "Creatinine renal clearance predicted by Cockcroft-Gault formula"),
}
WEIGHT_LOINC, HEIGHT_LOINC = "29463-7", "8302-2"
RXNORM_VERIFIED: dict[str, tuple[str, str]] = {
    "anastrozole": ("199224", "anastrozole 1 MG Oral Tablet"),
    "letrozole": ("200064", "letrozole 2.5 MG Oral Tablet"),
    "exemestane": ("310261", "exemestane 25 MG Oral Tablet"),
    "zoledronic_acid": ("77655", "zoledronic acid"),
}
RXNORM_TO_DRUG = {code: drug for drug, (code, _) in RXNORM_VERIFIED.items()} | {"151124": "anastrozole"}
DRUG_WORDS = {
    "anastrozole": "anastrozole", "arimidex": "anastrozole", "letrozole": "letrozole", "femara": "letrozole",
    "exemestane": "exemestane", "aromasin": "exemestane", "tamoxifen": "tamoxifen", "goserelin": "goserelin",
    "leuprorelin": "leuprorelin", "leuprolide": "leuprorelin", "triptorelin": "triptorelin",
    "denosumab": "denosumab", "prolia": "denosumab", "zoledronic": "zoledronic_acid", "zoledronate": "zoledronic_acid",
    "alendronate": "alendronate", "alendronic": "alendronate", "risedronate": "risedronate",
    "ibandronate": "ibandronate", "ibandronic": "ibandronate", "clodronate": "clodronate",
}
DEVICE_WORDS = {"hologic": "hologic", "lunar": "ge_lunar", "ge ": "ge_lunar", "norland": "norland"}
IGNORED_STATUS = {"entered-in-error", "cancelled"}


# ------------------------------------------------------------------ validation
def _path(loc: tuple[Any, ...]) -> str:
    text = "Bundle"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validate_bundle(bundle: Any) -> Bundle:
    """Validate a FHIR R4 Bundle; refuse it with the path of the first error."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise InputError("resourceType", kind, "a FHIR R4 Bundle (resourceType 'Bundle')")
    try:
        return Bundle.model_validate(bundle)
    except ValidationError as error:
        first = error.errors()[0]
        value = first.get("input")
        value = "(object)" if isinstance(value, dict) else "(list)" if isinstance(value, list) else value
        raise InputError(_path(first["loc"]), value, first["msg"].removeprefix("Value error, ")) from None


# ------------------------------------------------------------------ import
def _codes(concept: dict | None) -> list[tuple[str, str]]:
    if not concept:
        return []
    return [(c.get("system", ""), c.get("code", "")) for c in concept.get("coding", [])]


def _concept_words(concept: dict | None) -> str:
    if not concept:
        return ""
    parts = [concept.get("text", "")] + [c.get("display", "") for c in concept.get("coding", [])]
    return " ".join(p for p in parts if p).lower()


def _obs_date(obs: dict, where: str) -> date:
    raw = obs.get("effectiveDateTime") or (obs.get("effectivePeriod") or {}).get("start") or obs.get("issued")
    if not raw:
        raise InputError(f"{where}.effectiveDateTime", None, "a date for each Observation")
    return date.fromisoformat(str(raw)[:10])


def _quantity(obs: dict, where: str) -> tuple[float, str]:
    quantity = obs.get("valueQuantity")
    if not quantity or quantity.get("value") is None:
        raise InputError(f"{where}.valueQuantity", None, "a numeric valueQuantity")
    return float(quantity["value"]), quantity.get("code") or quantity.get("unit") or ""


def _age_on(birth: date, today: date) -> float:
    return round((today - birth).days / 365.25, 1)


def bundle_to_record(bundle: dict, *, today: date | None = None) -> PatientRecord:
    """A PatientRecord from a FHIR R4 Bundle of Patient, Observation and MedicationStatement."""
    validate_bundle(bundle)
    visit = today or date.today()
    entries = [(i, e.get("resource") or {}) for i, e in enumerate(bundle.get("entry") or [])]
    patients = [(i, r) for i, r in entries if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise InputError("Bundle.entry", f"{len(patients)} Patient resources", "exactly one Patient")
    p_index, patient = patients[0]
    if patient.get("gender") not in (None, "female"):
        raise InputError(f"Bundle.entry[{p_index}].resource.gender", patient.get("gender"),
                         "female (the encoded AIBL rules are for women)")
    if not patient.get("birthDate"):
        raise InputError(f"Bundle.entry[{p_index}].resource.birthDate", None, "a birth date (needed for age)")
    birth = date.fromisoformat(str(patient["birthDate"])[:10] if len(str(patient["birthDate"])) >= 10
                               else f"{patient['birthDate']}-07-01"[:10])
    context: dict[str, Any] = {}
    weight = height = None
    dxa: dict[tuple[date, str], dict[str, Any]] = defaultdict(dict)
    labs: list[LabResult] = []
    doses: dict[str, list[date]] = defaultdict(list)
    courses: list[Medication] = []
    dose_mg: dict[str, float] = {}
    planned_stop: dict[str, date] = {}
    for index, resource in entries:
        where = f"Bundle.entry[{index}].resource"
        kind = resource.get("resourceType")
        if kind == "Observation" and resource.get("status") not in IGNORED_STATUS:
            codes = [code for system, code in _codes(resource.get("code")) if system == LOINC]
            if (resource.get("code") or {}).get("text") == CONTEXT_CODE_TEXT:
                context = json.loads(resource.get("valueString") or "{}")
                continue
            if WEIGHT_LOINC in codes:
                weight = _quantity(resource, where)[0]
            elif HEIGHT_LOINC in codes:
                height = _quantity(resource, where)[0]
            elif dxa_codes := [c for c in codes if c in DXA_IMPORT]:
                site, measure = DXA_IMPORT[dxa_codes[0]]
                value, _unit = _quantity(resource, where)
                slot = dxa[(_obs_date(resource, where), site)]
                slot[{"bmd": "bmd_g_cm2", "t": "t_score", "z": "z_score"}[measure]] = value
                device = ((resource.get("device") or {}).get("display") or "").lower() + " "
                for word, make in DEVICE_WORDS.items():
                    if word in device:
                        slot["device"] = make
            elif lab_codes := [c for c in codes if c in LAB_IMPORT]:
                value, unit = _quantity(resource, where)
                test = LAB_IMPORT[lab_codes[0]]
                unit = {"ng/ml": "ng/mL", "nmol/l": "nmol/L", "mg/dl": "mg/dL", "mmol/l": "mmol/L",
                        "ml/min": "mL/min", "ml/min/1.73m2": "mL/min"}.get(unit.lower(), unit)
                ranges = resource.get("referenceRange") or []
                low = (ranges[0].get("low") or {}).get("value") if ranges else None
                try:
                    labs.append(LabResult(date=_obs_date(resource, where), test=test, value=value, unit=unit,
                                          reference_low=low))
                except ValidationError as error:
                    raise InputError(f"{where}.valueQuantity.unit", unit, error.errors()[0]["msg"]) from None
        elif kind == "MedicationStatement" and resource.get("status") not in IGNORED_STATUS:
            concept = resource.get("medicationCodeableConcept")
            drug = next((RXNORM_TO_DRUG[c] for s, c in _codes(concept) if s == RXNORM and c in RXNORM_TO_DRUG), None)
            if drug is None:
                words = _concept_words(concept)
                drug = next((d for w, d in DRUG_WORDS.items() if w in words), None)
            if drug is None:
                continue
            for dosage in resource.get("dosage") or []:
                for rate in dosage.get("doseAndRate") or []:
                    quantity = rate.get("doseQuantity") or {}
                    if quantity.get("value") is not None and (quantity.get("code") or quantity.get("unit")) == "mg":
                        dose_mg[drug] = float(quantity["value"])
            for note in resource.get("note") or []:
                if str(note.get("text", "")).startswith("planned_stop_date: "):
                    planned_stop[drug] = date.fromisoformat(note["text"].split(": ", 1)[1][:10])
            if resource.get("effectiveDateTime"):
                doses[drug].append(date.fromisoformat(str(resource["effectiveDateTime"])[:10]))
            elif resource.get("effectivePeriod", {}).get("start"):
                period = resource["effectivePeriod"]
                courses.append(Medication(
                    drug=drug, start_date=date.fromisoformat(str(period["start"])[:10]),
                    stop_date=date.fromisoformat(str(period["end"])[:10]) if period.get("end") else None))
            else:
                raise InputError(f"{where}.effective[x]", None, "effectiveDateTime (a dose) or effectivePeriod.start")
    if weight is None or height is None:
        missing = "body weight (LOINC 29463-7)" if weight is None else "body height (LOINC 8302-2)"
        raise InputError("Bundle.entry", f"no {missing} Observation", "weight and height Observations")
    medications = [c.model_copy(update={"dose_mg": dose_mg.get(c.drug), "planned_stop_date": planned_stop.get(c.drug)})
                   for c in courses]
    medications += [Medication(drug=drug, dates=sorted(dates), dose_mg=dose_mg.get(drug),
                               planned_stop_date=planned_stop.get(drug)) for drug, dates in doses.items()]
    patient_block = {"age_years": _age_on(birth, visit), "weight_kg": weight, "height_cm": height}
    if "menopausal_status" in context:
        patient_block["menopausal_status"] = context.pop("menopausal_status")
    return PatientRecord.model_validate({
        "patient": patient_block,
        "dxa": [DxaMeasurement(date=d, site=s, **values) for (d, s), values in sorted(dxa.items())],
        "labs": labs,
        "medications": medications,
        **context,
    })


# ------------------------------------------------------------------ export
def _ref() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _quantity_json(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def record_to_bundle(record: PatientRecord, *, today: date | None = None) -> dict:
    """A FHIR R4 Bundle (type collection) holding the record (birth date approximated from age)."""
    visit = today or date.today()
    patient_ref = _ref()
    birth_year = visit.year - int(record.patient.age_years)
    entries: list[dict] = [{"fullUrl": patient_ref, "resource": {
        "resourceType": "Patient", "gender": "female",
        "birthDate": f"{birth_year:04d}-{visit.month:02d}-{min(visit.day, 28):02d}",
    }}]
    subject = {"reference": patient_ref}

    def observation(code: str, display: str, when: date, value: dict, **extra: Any) -> None:
        entries.append({"fullUrl": _ref(), "resource": {
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "subject": subject, "effectiveDateTime": when.isoformat(), **value, **extra}})

    observation(WEIGHT_LOINC, "Body weight", visit, {"valueQuantity": _quantity_json(record.patient.weight_kg, "kg")})
    observation(HEIGHT_LOINC, "Body height", visit, {"valueQuantity": _quantity_json(record.patient.height_cm, "cm")})
    for item in record.dxa:
        extra: dict[str, Any] = {}
        if item.device != "unknown":
            extra["device"] = {"display": item.device + (f" {item.device_model}" if item.device_model else "")}
        if item.site == "femoral_neck":
            extra["bodySite"] = {"coding": [{"system": SNOMED, "code": NECK_OF_FEMUR_SNOMED[0],
                                             "display": NECK_OF_FEMUR_SNOMED[1]}]}
        for measure, field, unit in (("bmd", "bmd_g_cm2", "g/cm2"), ("t", "t_score", "{T-score}"), ("z", "z_score", "{Z-score}")):
            value = getattr(item, field)
            if value is not None:
                code, display = DXA_EXPORT[(item.site, measure)]
                quantity = _quantity_json(value, unit)
                if measure != "bmd":
                    quantity = {"value": value, "system": UCUM, "code": unit}
                observation(code, display, item.date, {"valueQuantity": quantity}, **extra)
    for lab in record.labs:
        key = f"calcium_{lab.unit}" if lab.test == "calcium" else lab.test
        if key not in LAB_EXPORT:
            continue
        code, display = LAB_EXPORT[key]
        extra = {}
        if lab.reference_low is not None:
            extra["referenceRange"] = [{"low": _quantity_json(lab.reference_low, lab.unit)}]
        observation(code, display, lab.date, {"valueQuantity": _quantity_json(lab.value, lab.unit)}, **extra)
    for med in record.medications:
        concept: dict[str, Any] = {"text": med.drug.replace("_", " ")}
        if med.drug in RXNORM_VERIFIED:
            code, display = RXNORM_VERIFIED[med.drug]
            concept["coding"] = [{"system": RXNORM, "code": code, "display": display}]
        base: dict[str, Any] = {"resourceType": "MedicationStatement", "medicationCodeableConcept": concept,
                                "subject": subject}
        if med.dose_mg is not None:
            base["dosage"] = [{"doseAndRate": [{"doseQuantity": _quantity_json(med.dose_mg, "mg")}]}]
        if med.planned_stop_date is not None:
            base["note"] = [{"text": f"planned_stop_date: {med.planned_stop_date.isoformat()}"}]
        if med.dates:
            for when in med.dates:
                entries.append({"fullUrl": _ref(), "resource": {**base, "status": "completed",
                                                                 "effectiveDateTime": when.isoformat()}})
        if med.start_date is not None:
            period = {"start": med.start_date.isoformat()}
            if med.stop_date is not None:
                period["end"] = med.stop_date.isoformat()
            status = "completed" if med.stop_date is not None and med.stop_date <= visit else "active"
            entries.append({"fullUrl": _ref(), "resource": {**base, "status": status, "effectivePeriod": period}})
    context = record.model_dump(mode="json", include={"risk_factors", "conditions", "cancer", "frax",
                                                      "facility_precision", "planned_ai_years"})
    context["menopausal_status"] = record.patient.menopausal_status
    entries.append({"fullUrl": _ref(), "resource": {
        "resourceType": "Observation", "status": "final", "code": {"text": CONTEXT_CODE_TEXT},
        "subject": subject, "effectiveDateTime": visit.isoformat(), "valueString": json.dumps(context, sort_keys=True)}})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate_bundle(bundle)
    return bundle


def assessment_to_bundle(record: PatientRecord, assessment: Assessment) -> dict:
    """The record plus the assessment as a CarePlan (one activity per recommendation, alerts as notes)
    and Observations (WHO category, QFracture-2009 10-year risks). Validated before it is returned."""
    bundle = record_to_bundle(record, today=assessment.assessed_on)
    patient_ref = bundle["entry"][0]["fullUrl"]
    subject = {"reference": patient_ref}
    when = assessment.assessed_on.isoformat()
    findings: list[dict] = []
    category: dict[str, Any] = {"text": assessment.who_category}
    if assessment.who_category == "osteoporosis":
        category["coding"] = [{"system": SNOMED, "code": "64859006", "display": "Osteoporosis (disorder)"}]
    findings.append({"resourceType": "Observation", "status": "final",
                     "code": {"text": "WHO bone density category (lowest T-score of spine, total hip, femoral neck)"},
                     "subject": subject, "effectiveDateTime": when, "valueCodeableConcept": category,
                     "note": [{"text": assessment.classification.source}]})
    risk = assessment.fracture_risk
    for label, value in (("osteoporotic fracture (hip, wrist, spine)", risk.ten_year_osteoporotic_fracture_pct),
                         ("hip fracture", risk.ten_year_hip_fracture_pct)):
        findings.append({"resourceType": "Observation", "status": "final",
                         "code": {"text": f"10-year risk of {label}, {risk.model}"}, "subject": subject,
                         "effectiveDateTime": when, "valueQuantity": {"value": value, "unit": "%", "system": UCUM, "code": "%"},
                         "note": [{"text": c} for c in risk.caveats]})
    finding_refs = []
    for resource in findings:
        ref = _ref()
        finding_refs.append({"reference": ref})
        bundle["entry"].append({"fullUrl": ref, "resource": resource})
    activities = [{"detail": {"status": "not-started", "code": {"text": rec.id},
                              "description": f"{rec.text} [{rec.source}; {rec.strength}; evidence {rec.evidence}]"}}
                  for rec in assessment.recommendations]
    if assessment.next_dxa_months is not None:
        activities.append({"detail": {"status": "scheduled", "code": {"text": "next_dxa"},
                                      "description": f"DXA in {assessment.next_dxa_months} months",
                                      "scheduledString": f"in {assessment.next_dxa_months} months"}})
    decision = ("Bone agent indicated by " + ", ".join(assessment.because)) if assessment.bone_agent_indicated \
        else "No bone agent indicated by the encoded rules"
    bundle["entry"].append({"fullUrl": _ref(), "resource": {
        "resourceType": "CarePlan", "status": "active", "intent": "proposal", "subject": subject,
        "title": "Bone health plan on aromatase inhibitor (osteotwin decision support)",
        "description": decision, "created": when, "supportingInfo": finding_refs, "activity": activities,
        "note": [{"text": f"ALERT {a.id}: {a.text} [{a.source}]"} for a in assessment.alerts],
    }})
    validate_bundle(bundle)
    return bundle


__all__ = ["BONE_AGENTS", "assessment_to_bundle", "bundle_to_record", "record_to_bundle", "validate_bundle"]
