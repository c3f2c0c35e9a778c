"""FHIR R4 import and export for the clinic: Bundle <-> PatientRecord, Assessment -> CarePlan + Observations.

Validation uses the ``fhir.resources`` library (8.x). It ships FHIR R4B (4.3) models, which are
structurally identical to R4 (4.0.1) for the resources used here (Bundle, Patient, Observation,
MedicationStatement, MedicationRequest, MedicationAdministration, Medication, CarePlan); an invalid
bundle is refused with the path of the first error.

Import (:func:`import_bundle`) never drops anything silently: every resource is either used, used
with a note (unit converted, partial date, comparator kept as a flag, date taken from elsewhere) or
skipped with its reason, and all three lists come back in an :class:`ImportReport`. What is refused
outright (an :class:`~osteotwin.errors.InputError` naming the field, the value and what is allowed):
a bundle that is not valid FHIR R4, no or several Patient resources, a man, no birth date, no weight or
height, a unit that cannot be converted, an osteotwin context Observation that is not our JSON.

Codes (each with its source):
- DXA LOINC codes, per site and measure, in ``DXA_EXPORT`` / ``DXA_IMPORT``. Checked against the LOINC
  entries quoted by findacode.com (38263-0, 38264-8, 38267-1; panels 83311-1 "Bone density quantitative
  measurement by DXA panel" and 38269-7 "Study report Skeletal system DXA"), HealthAssure's LOINC pages
  (85394-5 DXA Lumbar spine [Z-score]), HL7's example observation-example-bmd (24701-5 "Femur DXA Bone
  density") and US Core's DXA examples (46278-8 "DXA Hip-L ArMass BMD") [V]; the other left/right codes
  are from the OHDSI/OMOP LOINC list [S]. LOINC has no femoral-neck code: the "Femur" codes stand for the
  femoral neck (US Core's bone-density report lists "Hip" and "Femur" results side by side) and the export
  adds SNOMED bodySite 29627003 "Structure of neck of femur" [S, public FSH/code files].
- Lab LOINC: 25(OH)D 1989-3; calcium 17861-6 (mass) and 2000-8 (moles); creatinine clearance 2164-2,
  35591-7 (Cockcroft-Gault), 33558-8; body weight 29463-7 and body height 8302-2 (both in HL7's own
  examples observation-example and observation-example-body-height) [S, public code files]. Bone turnover
  markers: serum beta-CTX 41171-0 (the LOINC of the beta-CrossLaps test in the ARUP, Labcorp and Cleveland
  Clinic test catalogues [V]; its display text is recalled [R]); P1NP 77370-5 "Procollagen type I.N-terminal propeptide [Mass/volume] in Serum or
  Plasma by Immunoassay" [S: two independent public LOINC mapping files].
- RxNorm, in ``RXNORM_CODES``: SCD codes anastrozole 1 mg tablet 199224, letrozole 2.5 mg tablet 200064,
  exemestane 25 mg tablet 310261 and ingredient zoledronic acid 77655 [V]; ingredient codes anastrozole
  84857, letrozole 72965, exemestane 258494, tamoxifen 10324 and alendronate 46041 [S: the same codes in
  several independent public FHIR code files]. Denosumab (Prolia, Xgeva), risedronate and ibandronate
  codes could not be verified: those drugs are exported by name only and recognised on import by their
  generic or brand names (``DRUG_WORDS``).
- UCUM units and their conversions in ``UNIT_FACTORS`` (UCUM definitions: [lb_av] = 0.45359237 kg,
  [in_i] = 2.54 cm, [ft_i] = 30.48 cm); 25(OH)D nmol/L -> ng/mL by /2.496 (molar mass of 25(OH)D3,
  400.64 g/mol; ``osteotwin.clinic.record.NMOL_PER_NG_25OHD``).
- SNOMED 64859006 Osteoporosis (disorder) [V]; HL7 v2 table 0203 "MR" (medical record number) for the
  Patient identifier (terminology.hl7.org CodeSystem v2-0203).

Fields of the record with no standard code (risk factors, conditions, cancer context, FRAX,
facility precision, menopausal status, planned AI years) travel in one Observation coded by text,
``osteotwin-record-context``, whose valueString is their JSON.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import BaseModel, Field, ValidationError

from osteotwin.clinic.assessment import Assessment
from osteotwin.clinic.record import (
    BONE_AGENTS,
    DxaMeasurement,
    LabResult,
    Medication,
    PatientRecord,
)
from osteotwin.errors import InputError

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"  # HL7 v2 table 0203, identifier type ("MR" = MRN)
V2_0203_OLD = "http://hl7.org/fhir/v2/0203"  # the same table's URL before R4
CONTEXT_CODE_TEXT = "osteotwin-record-context"

#: (site, measure) -> LOINC code used on export (sources in the module docstring).
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
#: LOINC code -> (site, measure) on import: the export codes plus the left/right hip and femur codes.
DXA_IMPORT: dict[str, tuple[str, str]] = {code: key for key, (code, _) in DXA_EXPORT.items()} | {
    "46278-8": ("total_hip", "bmd"), "46279-6": ("total_hip", "bmd"),  # DXA Hip - left / right [Mass/Area]
    "80946-7": ("total_hip", "t"), "80945-9": ("total_hip", "t"),  # DXA Hip - left / right [T-score]
    "80938-4": ("total_hip", "z"), "80937-6": ("total_hip", "z"),  # DXA Hip - left / right [Z-score]
    "80954-1": ("femoral_neck", "bmd"), "80953-3": ("femoral_neck", "bmd"),  # DXA Femur - left / right [Mass/Area]
    "80948-3": ("femoral_neck", "t"), "80947-5": ("femoral_neck", "t"),  # DXA Femur - left / right [T-score]
    "80940-0": ("femoral_neck", "z"), "80939-2": ("femoral_neck", "z"),  # DXA Femur - left / right [Z-score]
}
#: DXA panels whose results arrive as Observation.component (findacode.com LOINC entries, see above).
DXA_PANELS: dict[str, str] = {
    "83311-1": "Bone density quantitative measurement by DXA panel",
    "38269-7": "Study report Skeletal system DXA",
}
NECK_OF_FEMUR_SNOMED = ("29627003", "Structure of neck of femur")
LAB_IMPORT: dict[str, str] = {
    "1989-3": "vitamin_d_25_oh", "17861-6": "calcium", "2000-8": "calcium",
    "2164-2": "creatinine_clearance", "35591-7": "creatinine_clearance", "33558-8": "creatinine_clearance",
    "41171-0": "ctx", "77370-5": "p1np",
}
LAB_EXPORT: dict[str, tuple[str, str]] = {
    "vitamin_d_25_oh": ("1989-3", "25-hydroxyvitamin D3+25-hydroxyvitamin D2 [Mass/volume] in Serum or Plasma"),
    "calcium_mg/dL": ("17861-6", "Calcium [Mass/volume] in Serum or Plasma"),
    "calcium_mmol/L": ("2000-8", "Calcium [Moles/volume] in Serum or Plasma"),
    "creatinine_clearance": ("35591-7", "Creatinine renal clearance predicted by Cockcroft-Gault formula"),
    "ctx": ("41171-0", "Collagen crosslinked C-telopeptide [Mass/volume] in Serum or Plasma"),
    "p1np": ("77370-5", "Procollagen type I.N-terminal propeptide [Mass/volume] in Serum or Plasma by Immunoassay"),
}
WEIGHT_LOINC, HEIGHT_LOINC = "29463-7", "8302-2"

#: quantity -> {unit as sent (UCUM code or common spelling): (unit stored, factor)}; value stored = value x factor.
UNIT_FACTORS: dict[str, dict[str, tuple[str, float]]] = {
    "weight": {"kg": ("kg", 1.0), "g": ("kg", 0.001), "[lb_av]": ("kg", 0.45359237), "lb": ("kg", 0.45359237),
               "lbs": ("kg", 0.45359237), "[oz_av]": ("kg", 0.028349523125)},
    "height": {"cm": ("cm", 1.0), "m": ("cm", 100.0), "mm": ("cm", 0.1), "[in_i]": ("cm", 2.54),
               "in": ("cm", 2.54), "[ft_i]": ("cm", 30.48)},
    # HL7's own BMD example writes g/cm2 as UCUM "g/cm-2"; kg/m2 = 0.1 g/cm2.
    "bmd": {"g/cm2": ("g/cm2", 1.0), "g/cm-2": ("g/cm2", 1.0), "g/cm²": ("g/cm2", 1.0),
            "mg/cm2": ("g/cm2", 0.001), "kg/m2": ("g/cm2", 0.1)},
    "score": {"{T-score}": ("", 1.0), "{Z-score}": ("", 1.0), "{SD}": ("", 1.0), "SD": ("", 1.0), "1": ("", 1.0),
              "{score}": ("", 1.0), "T-score": ("", 1.0), "Z-score": ("", 1.0), "": ("", 1.0)},
    "vitamin_d_25_oh": {"ng/mL": ("ng/mL", 1.0), "ug/L": ("ng/mL", 1.0), "nmol/L": ("nmol/L", 1.0)},
    "calcium": {"mmol/L": ("mmol/L", 1.0), "mg/dL": ("mg/dL", 1.0), "umol/L": ("mmol/L", 0.001),
                "mg/L": ("mg/dL", 0.1)},
    "creatinine_clearance": {"mL/min": ("mL/min", 1.0), "mL/s": ("mL/min", 60.0),
                             "mL/min/{1.73_m2}": ("mL/min", 1.0), "mL/min/1.73m2": ("mL/min", 1.0)},
    "ctx": {"ng/L": ("ng/L", 1.0), "pg/mL": ("ng/L", 1.0), "ng/mL": ("ng/L", 1000.0), "ug/L": ("ng/L", 1000.0)},
    "p1np": {"ug/L": ("ug/L", 1.0), "ng/mL": ("ug/L", 1.0)},
}

#: drug -> [(RxNorm code, display, evidence)]; the first is written on export (sources in the module docstring).
RXNORM_CODES: dict[str, list[tuple[str, str, str]]] = {
    "anastrozole": [("199224", "anastrozole 1 MG Oral Tablet", "V"), ("84857", "anastrozole", "S")],
    "letrozole": [("200064", "letrozole 2.5 MG Oral Tablet", "V"), ("72965", "letrozole", "S")],
    "exemestane": [("310261", "exemestane 25 MG Oral Tablet", "V"), ("258494", "exemestane", "S")],
    "tamoxifen": [("10324", "tamoxifen", "S")],
    "zoledronic_acid": [("77655", "zoledronic acid", "V")],
    "alendronate": [("46041", "alendronate", "S")],
}
#: drug -> (code, display) written on export (kept under its old name for docs and callers).
RXNORM_VERIFIED: dict[str, tuple[str, str]] = {drug: codes[0][:2] for drug, codes in RXNORM_CODES.items()}
RXNORM_TO_DRUG: dict[str, str] = {code: drug for drug, codes in RXNORM_CODES.items() for code, _, _ in codes}
#: Generic and brand names (lower case, matched as words) -> drug.
DRUG_WORDS = {
    "anastrozole": "anastrozole", "arimidex": "anastrozole", "letrozole": "letrozole", "femara": "letrozole",
    "exemestane": "exemestane", "aromasin": "exemestane", "tamoxifen": "tamoxifen", "nolvadex": "tamoxifen",
    "soltamox": "tamoxifen", "goserelin": "goserelin", "zoladex": "goserelin",
    "leuprorelin": "leuprorelin", "leuprolide": "leuprorelin", "triptorelin": "triptorelin",
    "denosumab": "denosumab", "prolia": "denosumab", "xgeva": "denosumab",
    "zoledronic": "zoledronic_acid", "zoledronate": "zoledronic_acid", "reclast": "zoledronic_acid",
    "aclasta": "zoledronic_acid", "zometa": "zoledronic_acid",
    "alendronate": "alendronate", "alendronic": "alendronate", "fosamax": "alendronate",
    "risedronate": "risedronate", "risedronic": "risedronate", "actonel": "risedronate", "atelvia": "risedronate",
    "ibandronate": "ibandronate", "ibandronic": "ibandronate", "boniva": "ibandronate", "bonviva": "ibandronate",
    "clodronate": "clodronate", "clodronic": "clodronate", "bonefos": "clodronate",
}
#: Injected or infused bone agents: a dose is an administration, not a course.
PERIODIC_AGENTS = frozenset({"denosumab", "zoledronic_acid"})
DEVICE_WORDS = {"hologic": "hologic", "lunar": "ge_lunar", "ge ": "ge_lunar", "norland": "norland"}
IGNORED_STATUS = {
    "Observation": {"entered-in-error", "cancelled"},
    "MedicationStatement": {"entered-in-error", "not-taken"},
    "MedicationRequest": {"entered-in-error", "cancelled", "draft"},
    "MedicationAdministration": {"entered-in-error", "not-done"},
}
COMPARATORS = ("<", "<=", ">=", ">")
_FHIR_DATE = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T.*)?)?)?$")


class ImportReport(BaseModel):
    """What a FHIR import used, how, and what it left out (and why). Lines name the Bundle entry."""

    patient: str = ""
    added: list[str] = Field(default_factory=list, description="What was taken into the record.")
    notes: list[str] = Field(default_factory=list, description="Conversions, partial dates, flags, assumptions.")
    skipped: list[str] = Field(default_factory=list, description="Resources or values left out, with the reason.")
    changed: list[str] = Field(default_factory=list, description="Stored values updated (re-import of the same MRN).")

    def text(self) -> str:
        """The report as plain text, one line per item."""
        lines = [f"FHIR import: {self.patient}" if self.patient else "FHIR import"]
        for title, items in (("added", self.added), ("changed", self.changed), ("notes", self.notes),
                             ("skipped", self.skipped)):
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  - {item}" for item in items]
        return "\n".join(lines)


# ------------------------------------------------------------------ validation
def _path(loc: tuple[Any, ...]) -> str:
    text = "Bundle"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _known_resource_type(kind: str) -> bool:
    try:
        get_fhir_model_class(kind)
    except (KeyError, ValueError, TypeError, ImportError):
        return False
    return True


def validate_bundle(bundle: Any) -> Bundle:
    """Validate a FHIR R4 Bundle; refuse it with the path of the first error."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        kind = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise InputError("resourceType", kind, "a FHIR R4 Bundle (resourceType 'Bundle')")
    entries = bundle.get("entry")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource is None:
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str) or not _known_resource_type(kind):
            raise InputError(f"Bundle.entry[{index}].resource.resourceType", kind if isinstance(resource, dict) else
                             type(resource).__name__, "a FHIR R4 resource type (Patient, Observation, ...)")
    try:
        return Bundle.model_validate(bundle)
    except (TypeError, KeyError, AttributeError) as error:  # fhir.resources on malformed nested input
        raise InputError("Bundle", type(error).__name__, "a FHIR R4 Bundle the fhir.resources models can read") from None
    except ValidationError as error:
        first = error.errors()[0]
        value = first.get("input")
        value = "(object)" if isinstance(value, dict) else "(list)" if isinstance(value, list) else value
        raise InputError(_path(first["loc"]), value, first["msg"].removeprefix("Value error, ")) from None


# ------------------------------------------------------------------ import helpers
def _codes(concept: dict | None) -> list[tuple[str, str]]:
    if not concept:
        return []
    return [(c.get("system") or "", c.get("code") or "") for c in concept.get("coding") or []]


def _concept_words(concept: dict | None) -> str:
    if not concept:
        return ""
    parts = [concept.get("text", "")] + [c.get("display", "") for c in concept.get("coding") or []]
    return " ".join(p for p in parts if p).lower()


def fhir_date(raw: Any, where: str) -> tuple[date, str | None]:
    """A FHIR date or dateTime as a date, and a note when it is partial (YYYY or YYYY-MM).

    A partial date is kept at its precision by taking the middle of the period it names (ours):
    a year -> 1 July, a month -> the 15th."""
    match = _FHIR_DATE.match(str(raw or ""))
    if not match:
        raise InputError(where, raw, "a FHIR date: YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        if day:
            return date(int(year), int(month), int(day)), None
        if month:
            return date(int(year), int(month), 15), f"{where} = {raw!r} (month precision): taken as the 15th"
        return date(int(year), 7, 1), f"{where} = {raw!r} (year precision): taken as 1 July"
    except ValueError:
        raise InputError(where, raw, "a calendar date") from None


def _build(model: type, where: str, **values: Any) -> Any:
    """``model(**values)``; a refused value becomes an InputError naming the FHIR element it came from."""
    try:
        return model(**values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "value"
        raise InputError(f"{where} ({model.__name__}.{field})", first.get("input"),
                         first["msg"].removeprefix("Value error, ")) from None


def _age_on(birth: date, today: date) -> float:
    return round((today - birth).days / 365.25, 1)


def _convert_unit(kind: str, value: float, unit: str, where: str, what: str) -> tuple[float, str, str | None]:
    """(value, unit) in osteotwin's unit for ``kind``, and a note when converted; refuses unknown units."""
    table = UNIT_FACTORS[kind]
    key = unit if unit in table else next((u for u in table if u.lower() == unit.lower()), None)
    if key is None:
        allowed = ", ".join(repr(u) for u in table if u) or "none"
        raise InputError(where, unit, f"a unit for {what}: {allowed}")
    target, factor = table[key]
    if "1.73" in key:
        return value, target, f"{what}: {value:g} {key} (normalised to 1.73 m2 body surface) read as {target}"
    if factor == 1.0:
        return value, target, None
    converted = round(value * factor, 6)
    return converted, target, f"{what}: {value:g} {key} converted to {converted:g} {target}"


class _Observation:
    """One measured value: an Observation's own value or one of its components."""

    def __init__(self, holder: dict, where: str, codes: list[str]) -> None:
        self.holder, self.where, self.codes = holder, where, codes

    def quantity(self) -> tuple[float, str, str | None] | str:
        """(value, unit, comparator), or the reason there is no usable number."""
        absent = self.holder.get("dataAbsentReason")
        if absent:
            return f"no value (dataAbsentReason: {_concept_words(absent) or 'given'})"
        quantity = self.holder.get("valueQuantity")
        if not quantity or quantity.get("value") is None:
            kinds = [k for k in self.holder if k.startswith("value")]
            return f"no valueQuantity ({', '.join(kinds) or 'no value'})"
        unit = quantity.get("code") or quantity.get("unit") or ""
        return float(quantity["value"]), str(unit), quantity.get("comparator")


def _observation_date(resource: dict, where: str, bundle_date: tuple[date, str] | None,
                      report: ImportReport) -> date | None:
    for field in ("effectiveDateTime", "effectiveInstant"):
        if resource.get(field):
            when, note = fhir_date(resource[field], f"{where}.{field}")
            if note:
                report.notes.append(note)
            return when
    period = resource.get("effectivePeriod") or {}
    if period.get("start") or period.get("end"):
        field = "start" if period.get("start") else "end"
        when, note = fhir_date(period[field], f"{where}.effectivePeriod.{field}")
        if note:
            report.notes.append(note)
        return when
    if resource.get("issued"):
        when, _ = fhir_date(resource["issued"], f"{where}.issued")
        report.notes.append(f"{where}: no effective date; the issued date {when} is used")
        return when
    if bundle_date is not None:
        report.notes.append(f"{where}: no effective or issued date; the Bundle's {bundle_date[1]} {bundle_date[0]} "
                            "is used")
        return bundle_date[0]
    return None


def _dxa_site(site: str, resource: dict) -> str:
    """The site of a Femur/Hip code, corrected by an explicit bodySite (neck of femur or total hip)."""
    body = resource.get("bodySite")
    if not body:
        return site
    if any(code == NECK_OF_FEMUR_SNOMED[0] for _, code in _codes(body)) or "neck" in _concept_words(body):
        return "femoral_neck" if site in ("femoral_neck", "total_hip") else site
    if "total hip" in _concept_words(body):
        return "total_hip" if site in ("femoral_neck", "total_hip") else site
    return site


def _patient_identity(patient: dict, where: str, report: ImportReport) -> dict[str, Any]:
    """name, identifier (the MRN when typed MR) and birth date of the Patient resource."""
    identity: dict[str, Any] = {}
    names = patient.get("name") or []
    official = [n for n in names if n.get("use") == "official"] or names
    for item in official:
        given = item.get("given") or []
        text = item.get("text") or " ".join(p for p in [*given, item.get("family") or ""] if p).strip()
        if text:
            identity["name"] = text[:200]
            break
    identifiers = [i for i in patient.get("identifier") or [] if i.get("value")]
    mrn = [i for i in identifiers if any(code == "MR" and system in (V2_0203, V2_0203_OLD, "")
                                         for system, code in _codes(i.get("type")))]
    chosen = (mrn or [i for i in identifiers if i.get("use") in ("usual", "official")] or identifiers or [None])[0]
    if chosen is not None:
        identity["identifier"] = {"system": chosen.get("system"), "value": str(chosen["value"])[:100]}
        kind = "MRN" if mrn else "identifier"
        report.patient = f"{kind} {chosen['value']}" + (f" ({chosen['system']})" if chosen.get("system") else "")
        for other in identifiers:
            if other is not chosen:
                report.skipped.append(f"{where}.identifier: {other.get('system') or ''}|{other['value']} "
                                      f"(one identifier is kept: the {kind})")
    else:
        report.patient = identity.get("name", "no identifier")
        report.notes.append(f"{where}.identifier: none; a re-import cannot be matched to this patient by MRN")
    return identity


def _medication_concept(resource: dict, by_reference: dict[str, dict]) -> dict | None:
    if resource.get("medicationCodeableConcept"):
        return resource["medicationCodeableConcept"]
    reference = (resource.get("medicationReference") or {}).get("reference") or ""
    if reference.startswith("#"):
        contained = [c for c in resource.get("contained") or [] if c.get("id") == reference[1:]]
        return contained[0].get("code") if contained else None
    target = by_reference.get(reference) or by_reference.get("/".join(reference.split("/")[-2:]))
    return (target or {}).get("code")


def _drug_of(concept: dict | None) -> str | None:
    for system, code in _codes(concept):
        if system == RXNORM and code in RXNORM_TO_DRUG:
            return RXNORM_TO_DRUG[code]
    words = set(re.findall(r"[a-z]+", _concept_words(concept)))
    return next((drug for word, drug in DRUG_WORDS.items() if word in words), None)


def _dose_mg(dosages: list[dict]) -> float | None:
    for dosage in dosages:
        for rate in dosage.get("doseAndRate") or []:
            quantity = rate.get("doseQuantity") or {}
            if quantity.get("value") is not None and (quantity.get("code") or quantity.get("unit")) == "mg":
                return float(quantity["value"])
        dose = dosage.get("dose") or {}  # MedicationAdministration.dosage.dose
        if dose.get("value") is not None and (dose.get("code") or dose.get("unit")) == "mg":
            return float(dose["value"])
    return None


# ------------------------------------------------------------------ import
def import_bundle(bundle: dict, *, today: date | None = None) -> tuple[PatientRecord, ImportReport]:
    """A PatientRecord and its :class:`ImportReport` from a FHIR R4 Bundle.

    Reads one Patient (name, MRN, birth date), Observations (weight, height, DXA results alone or as
    panel components, 25(OH)D, calcium, creatinine clearance, osteotwin's context Observation) and
    MedicationStatement, MedicationRequest and MedicationAdministration resources."""
    validate_bundle(bundle)
    visit = today or date.today()
    report = ImportReport()
    entries = [(i, (e or {}).get("resource") or {}) for i, e in enumerate(bundle.get("entry") or [])]
    patients = [(i, r) for i, r in entries if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise InputError("Bundle.entry", f"{len(patients)} Patient resources", "exactly one Patient")
    p_index, patient = patients[0]
    p_where = f"Bundle.entry[{p_index}].resource"
    if patient.get("gender") not in (None, "female"):
        raise InputError(f"{p_where}.gender", patient.get("gender"), "female (the encoded AIBL rules are for women)")
    if not patient.get("birthDate"):
        raise InputError(f"{p_where}.birthDate", None, "a birth date (needed for age)")
    birth, birth_note = fhir_date(patient["birthDate"], f"{p_where}.birthDate")
    if birth_note:
        report.notes.append(birth_note + " for the age")
    identity = _patient_identity(patient, p_where, report)
    identity["birth_date"] = str(patient["birthDate"])
    report.added.append(f"{p_where}: Patient{' ' + identity['name'] if 'name' in identity else ''}, "
                        f"born {patient['birthDate']}")

    bundle_date: tuple[date, str] | None = None
    if bundle.get("timestamp"):
        bundle_date = (fhir_date(bundle["timestamp"], "Bundle.timestamp")[0], "timestamp")
    elif (bundle.get("meta") or {}).get("lastUpdated"):
        bundle_date = (fhir_date(bundle["meta"]["lastUpdated"], "Bundle.meta.lastUpdated")[0], "meta.lastUpdated")

    by_reference: dict[str, dict] = {}
    for i, resource in entries:
        full_url = ((bundle.get("entry") or [])[i] or {}).get("fullUrl")
        if full_url:
            by_reference[full_url] = resource
        if resource.get("id"):
            by_reference[f"{resource.get('resourceType')}/{resource['id']}"] = resource

    context: dict[str, Any] = {}
    body: dict[str, list[tuple[date, float, str]]] = {"weight": [], "height": []}
    dxa: dict[tuple[date, str], dict[str, Any]] = defaultdict(dict)
    labs: list[LabResult] = []
    doses: dict[str, list[date]] = defaultdict(list)
    courses: list[Medication] = []
    dose_mg: dict[str, float] = {}
    planned_stop: dict[str, date] = {}
    for index, resource in entries:
        where = f"Bundle.entry[{index}].resource"
        kind = resource.get("resourceType")
        if kind in ("Patient", "Medication"):
            continue
        if resource.get("status") in IGNORED_STATUS.get(kind, ()):
            report.skipped.append(f"{where}: {kind} with status {resource['status']!r}")
            continue
        if kind == "Observation":
            if (resource.get("code") or {}).get("text") == CONTEXT_CODE_TEXT:
                context = _context(resource, where)
                report.added.append(f"{where}: osteotwin record context ({', '.join(sorted(context)) or 'empty'})")
                continue
            _read_observation(resource, where, bundle_date, report, body, dxa, labs)
        elif kind in ("MedicationStatement", "MedicationRequest", "MedicationAdministration"):
            concept = _medication_concept(resource, by_reference)
            drug = _drug_of(concept)
            if drug is None:
                named = _concept_words(concept) or ", ".join(f"{s}|{c}" for s, c in _codes(concept)) or "no medication code"
                report.skipped.append(f"{where}: {kind} for {named!r}, not a drug osteotwin uses")
                continue
            dosages = resource.get("dosage") or resource.get("dosageInstruction") or []
            if isinstance(dosages, dict):
                dosages = [dosages]
            if (mg := _dose_mg(dosages)) is not None:
                dose_mg[drug] = mg
            for note in resource.get("note") or []:
                if str(note.get("text", "")).startswith("planned_stop_date: "):
                    planned_stop[drug] = fhir_date(note["text"].split(": ", 1)[1], f"{where}.note")[0]
            _read_medication(kind, resource, where, drug, doses, courses, report)
        else:
            report.skipped.append(f"{where}: {kind} resources are not used by osteotwin")

    missing = [name for name, loinc in (("weight", WEIGHT_LOINC), ("height", HEIGHT_LOINC)) if not body[name]]
    if missing:
        what = " and ".join(f"body {m} (LOINC {WEIGHT_LOINC if m == 'weight' else HEIGHT_LOINC})" for m in missing)
        raise InputError("Bundle.entry", f"no {what} Observation", "weight and height Observations")
    patient_block: dict[str, Any] = {"age_years": _age_on(birth, visit), **identity}
    for name, unit in (("weight", "kg"), ("height", "cm")):
        values = sorted(body[name], key=lambda item: item[0])
        when, value, where = values[-1]
        patient_block[f"{name}_{unit}"] = value
        report.added.append(f"{where}: body {name} {value:g} {unit} ({when})")
        report.skipped += [f"{w}: body {name} {v:g} {unit} ({d}), older than the {when} value used"
                           for d, v, w in values[:-1]]
    if "menopausal_status" in context:
        patient_block["menopausal_status"] = context.pop("menopausal_status")
    try:
        medications = [Medication.model_validate(c.model_dump() | {"dose_mg": dose_mg.get(c.drug),
                                                                   "planned_stop_date": planned_stop.get(c.drug)})
                       for c in courses]
        medications += [Medication(drug=drug, dates=sorted(set(dates)), dose_mg=dose_mg.get(drug),
                                   planned_stop_date=planned_stop.get(drug)) for drug, dates in doses.items()]
        record = PatientRecord.model_validate({
            "patient": patient_block,
            "dxa": [DxaMeasurement(date=d, site=s, **values) for (d, s), values in sorted(dxa.items())],
            "labs": labs,
            "medications": medications,
            **context,
        })
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InputError(f"record.{field}", first.get("input"), first["msg"].removeprefix("Value error, ")) from None
    return record, report


def _context(resource: dict, where: str) -> dict[str, Any]:
    allowed = "the JSON object written by osteotwin's FHIR export (risk_factors, conditions, cancer, frax, ...)"
    raw = resource.get("valueString")
    try:
        value = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, TypeError):
        raise InputError(f"{where}.valueString", str(raw)[:80], allowed) from None
    if not isinstance(value, dict):
        raise InputError(f"{where}.valueString", str(raw)[:80], allowed)
    known = {"risk_factors", "conditions", "cancer", "frax", "facility_precision", "planned_ai_years",
             "menopausal_status"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise InputError(f"{where}.valueString", unknown[0], f"keys among {', '.join(sorted(known))}")
    return value


def _read_observation(resource: dict, where: str, bundle_date: tuple[date, str] | None, report: ImportReport,
                      body: dict[str, list], dxa: dict, labs: list[LabResult]) -> None:
    own_codes = [code for system, code in _codes(resource.get("code")) if system == LOINC]
    values = [_Observation(resource, where, own_codes)]
    components = resource.get("component") or []
    values += [_Observation(c, f"{where}.component[{i}]", [code for system, code in _codes(c.get("code"))
                                                           if system == LOINC]) for i, c in enumerate(components)]
    panel = [c for c in own_codes if c in DXA_PANELS]
    if panel or (components and not resource.get("valueQuantity")):
        values = values[1:]  # a panel carries its results in its components
    if not values:
        report.skipped.append(f"{where}: DXA panel {panel[0] if panel else ''} without components")
        return
    when: date | None = None
    for item in values:
        codes = item.codes
        if WEIGHT_LOINC in codes or HEIGHT_LOINC in codes:
            kind, label = ("weight", "body weight") if WEIGHT_LOINC in codes else ("height", "body height")
        elif dxa_codes := [c for c in codes if c in DXA_IMPORT]:
            kind, label = "dxa", dxa_codes[0]
        elif lab_codes := [c for c in codes if c in LAB_IMPORT]:
            kind, label = "lab", lab_codes[0]
        else:
            named = _concept_words(item.holder.get("code") or {}) or ", ".join(codes) or "no LOINC code"
            report.skipped.append(f"{item.where}: Observation {named!r} ({', '.join(codes) or 'no LOINC code'}) "
                                  "is not used by osteotwin")
            continue
        quantity = item.quantity()
        if isinstance(quantity, str):
            report.skipped.append(f"{item.where}: {label}: {quantity}")
            continue
        value, unit, comparator = quantity
        if when is None:
            when = _observation_date(resource, where, bundle_date, report)
            if when is None:
                report.skipped.append(f"{where}: no effective date, issued date or Bundle timestamp; "
                                      "the Observation cannot be placed in time")
                return
        unit_where = f"{item.where}.valueQuantity.code"
        if kind in ("weight", "height"):
            if comparator:
                report.skipped.append(f"{item.where}: {label} {comparator}{value:g} is a limit, not a measurement")
                continue
            value, _unit, note = _convert_unit(kind, value, unit, unit_where, label)
            if note:
                report.notes.append(f"{item.where}: {note}")
            body[kind].append((when, round(value, 2), item.where))
        elif kind == "dxa":
            site, measure = DXA_IMPORT[label]
            site = _dxa_site(site, resource)
            what = f"DXA {site} {'BMD' if measure == 'bmd' else measure.upper() + '-score'} (LOINC {label})"
            if comparator:
                report.skipped.append(f"{item.where}: {what} {comparator}{value:g} is a limit, not a measurement")
                continue
            value, _unit, note = _convert_unit("bmd" if measure == "bmd" else "score", value, unit, unit_where, what)
            if note:
                report.notes.append(f"{item.where}: {note}")
            field = {"bmd": "bmd_g_cm2", "t": "t_score", "z": "z_score"}[measure]
            slot = dxa[(when, site)]
            if field in slot:
                report.skipped.append(f"{item.where}: {what} {value:g} on {when}: a {site} {field} for that date "
                                      f"is already taken ({slot[field]:g}); one value per site and date")
                continue
            slot[field] = value
            device = ((resource.get("device") or {}).get("display") or "").lower() + " "
            for word, make in DEVICE_WORDS.items():
                if word in device:
                    slot["device"] = make
            if site == "femoral_neck" and "neck" not in _concept_words(resource.get("bodySite")) and not any(
                    code == NECK_OF_FEMUR_SNOMED[0] for _, code in _codes(resource.get("bodySite"))):
                report.notes.append(f"{item.where}: LOINC {label} (DXA Femur) read as the femoral neck")
            report.added.append(f"{item.where}: {what} {value:g} on {when}")
        else:
            test = LAB_IMPORT[label]
            value, unit, note = _convert_unit(test, value, unit, unit_where, f"{test} (LOINC {label})")
            if note:
                report.notes.append(f"{item.where}: {note}")
            ranges = resource.get("referenceRange") or []
            low = (ranges[0].get("low") or {}).get("value") if ranges and item.holder is resource else None
            if low is not None:
                low_unit = (ranges[0]["low"].get("code") or ranges[0]["low"].get("unit") or unit)
                low = _convert_unit(test, float(low), low_unit, f"{where}.referenceRange[0].low.code",
                                    f"{test} reference low")[0]
            if comparator:
                report.notes.append(f"{item.where}: {test} reported as '{comparator}{value:g} {unit}': kept as "
                                    f"{value:g} with comparator {comparator!r} (a limit, not a measurement)")
            labs.append(_build(LabResult, f"{item.where}.valueQuantity", date=when, test=test, value=value, unit=unit,
                               reference_low=low, comparator=comparator))
            report.added.append(f"{item.where}: {test} {comparator or ''}{value:g} {unit} on {when}")


def _read_medication(kind: str, resource: dict, where: str, drug: str, doses: dict[str, list[date]],
                     courses: list[Medication], report: ImportReport) -> None:
    def read(raw: Any, field: str) -> date:
        when, note = fhir_date(raw, f"{where}.{field}")
        if note:
            report.notes.append(note)
        return when

    if kind == "MedicationRequest":
        bounds = [((d.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}
                  for d in resource.get("dosageInstruction") or []]
        bound = next((b for b in bounds if b.get("start")), {})
        if bound.get("start"):
            start = read(bound["start"], "dosageInstruction.timing.repeat.boundsPeriod.start")
        elif resource.get("authoredOn"):
            start = read(resource["authoredOn"], "authoredOn")
        else:
            report.skipped.append(f"{where}: MedicationRequest for {drug} without authoredOn or boundsPeriod.start")
            return
        stop = read(bound["end"], "dosageInstruction.timing.repeat.boundsPeriod.end") if bound.get("end") else None
        if stop is not None and stop < start:
            report.skipped.append(f"{where}: {drug} order ends ({stop}) before it starts ({start})")
            return
        courses.append(_build(Medication, where, drug=drug, start_date=start, stop_date=stop))
        report.added.append(f"{where}: {drug} ordered, course from {start}" + (f" to {stop}" if stop else ""))
        if drug in PERIODIC_AGENTS:
            report.notes.append(f"{where}: an order, not an administration: {drug} is taken as a course from "
                                f"{start}; the dose dates (needed for the denosumab-stop checks) come from "
                                "MedicationStatement or MedicationAdministration")
        return
    effective = resource.get("effectiveDateTime")
    period = resource.get("effectivePeriod") or {}
    if effective:
        when = read(effective, "effectiveDateTime")
        doses[drug].append(when)
        report.added.append(f"{where}: {drug} dose on {when}")
    elif period.get("start"):
        start = read(period["start"], "effectivePeriod.start")
        stop = read(period["end"], "effectivePeriod.end") if period.get("end") else None
        if kind == "MedicationAdministration" and drug in PERIODIC_AGENTS:
            doses[drug].append(start)
            report.added.append(f"{where}: {drug} dose on {start}")
            return
        if stop is not None and stop < start:
            report.skipped.append(f"{where}: {drug} ends ({stop}) before it starts ({start})")
            return
        courses.append(_build(Medication, where, drug=drug, start_date=start, stop_date=stop))
        report.added.append(f"{where}: {drug} course from {start}" + (f" to {stop}" if stop else ""))
    else:
        report.skipped.append(f"{where}: {kind} for {drug} has no effective date (effectiveDateTime or "
                              "effectivePeriod.start)")


def bundle_to_record(bundle: dict, *, today: date | None = None) -> PatientRecord:
    """A PatientRecord from a FHIR R4 Bundle (see :func:`import_bundle`, which also returns the report)."""
    return import_bundle(bundle, today=today)[0]


# ------------------------------------------------------------------ export
def _ref() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _quantity_json(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _patient_resource(record: PatientRecord, visit: date) -> dict:
    """The Patient: name, identifier (typed MR, HL7 v2-0203) and the birth date exactly as recorded.

    A record without a birth date (only ``age_years``) is exported with the birth year alone, a FHIR
    date at year precision, so that the export does not invent a day."""
    info = record.patient
    resource: dict[str, Any] = {"resourceType": "Patient", "gender": "female"}
    if info.identifier is not None:
        identifier: dict[str, Any] = {"use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MR",
                                                                            "display": "Medical record number"}]},
                                      "value": info.identifier.value}
        if info.identifier.system:
            identifier["system"] = info.identifier.system
        resource["identifier"] = [identifier]
    if info.name:
        parts = info.name.split()
        name: dict[str, Any] = {"use": "official", "text": info.name, "family": parts[-1]}
        if len(parts) > 1:
            name["given"] = parts[:-1]
        resource["name"] = [name]
    if info.birth_date:
        resource["birthDate"] = info.birth_date
    else:
        resource["birthDate"] = f"{(visit - timedelta(days=round(info.age_years * 365.25))).year:04d}"
    return resource


def record_to_bundle(record: PatientRecord, *, today: date | None = None) -> dict:
    """A FHIR R4 Bundle (type collection) holding the record, validated before it is returned."""
    visit = today or date.today()
    patient_ref = _ref()
    entries: list[dict] = [{"fullUrl": patient_ref, "resource": _patient_resource(record, visit)}]
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
        quantity = _quantity_json(lab.value, lab.unit)
        if lab.comparator is not None:
            quantity = {"value": lab.value, "comparator": lab.comparator, **{k: v for k, v in quantity.items()
                                                                             if k != "value"}}
        observation(code, display, lab.date, {"valueQuantity": quantity}, **extra)
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


__all__ = ["BONE_AGENTS", "ImportReport", "assessment_to_bundle", "bundle_to_record", "import_bundle", "record_to_bundle",
           "validate_bundle"]
