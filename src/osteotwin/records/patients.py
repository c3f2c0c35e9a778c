"""Patient records: per-patient authorisation, reads and writes (each audited), and conversion
of a stored record to the ``assess`` input shape (``osteotwin.clinic.record.PatientRecord``: patient,
risk_factors, dxa, labs, medications) and to the ``simulate`` Patient block.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from osteotwin.catalog import DAYS_PER_MONTH, DAYS_PER_YEAR
from osteotwin.clinic.record import ASSESSED_DRUGS
from osteotwin.clinic.record import LAB_UNITS as ASSESSED_LAB_UNITS
from osteotwin.errors import InputError
from osteotwin.records import plausibility
from osteotwin.records.audit import audit
from osteotwin.records.models import (
    DxaResult,
    ExerciseLogEntry,
    FoodLogEntry,
    LabResult,
    Medication,
    Patient,
    User,
)
from osteotwin.records.schemas import (
    BONE_AGENTS,
    ENDOCRINE_DRUGS,
    DxaIn,
    ExerciseLogIn,
    FoodLogIn,
    LabIn,
    MedicationIn,
    PatientIn,
)

RISK_FACTOR_FIELDS = (
    "current_smoker", "former_smoker", "family_history_hip_fracture", "prior_fragility_fracture",
    "oral_glucocorticoid_months", "falls_last_12_months", "alcohol_units_per_day",
)
# Drugs the `assess` input knows (osteotwin.clinic.record.MedicationName); others (e.g. warfarin)
# stay in the record and reach the planner's interaction checks, not the assessment.
ASSESS_DRUGS = frozenset(ASSESSED_DRUGS)
# Lab tests the assessment reads; others (albumin) are stored and listed but not passed to it.
ASSESSED_LAB_TESTS = frozenset(ASSESSED_LAB_UNITS)


class NotFound(Exception):
    """No such patient for this user (missing and forbidden look the same from outside)."""


def age_years(birth_date: dt.date, on: dt.date | None = None) -> float:
    """Age in years to one decimal, truncated: 64.96 years is 64.9, never 65.0 before the birthday
    (an age threshold of a rule must not fire days early)."""
    on = on or dt.date.today()
    return math.floor((on - birth_date).days / DAYS_PER_YEAR * 10) / 10


def completed_years(birth_date: dt.date, on: dt.date | None = None) -> int:
    """Age in completed years, as said aloud (63 until the 64th birthday; never rounded up)."""
    on = on or dt.date.today()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def entry_warnings(patient: Patient) -> dict[str, list[str]]:
    """The plausibility warnings of each stored DXA result, lab and medication, keyed ``"<kind>-<id>"``;
    a row stored before a check existed that the check would now refuse is listed with its reason."""
    result: dict[str, list[str]] = {}
    for kind, rows in (("dxa", patient.dxa_results), ("labs", patient.labs), ("medications", patient.medications),
                       ("exercise-log", patient.exercise_log), ("food-log", patient.food_log)):
        check = ENTRY_KINDS[kind][2]
        for row in rows:
            try:
                warnings = check(patient, row, row_id=row.id)
            except InputError as error:
                warnings = [f"stored before this check existed and would now be refused: {error}"]
            if warnings:
                result[f"{kind}-{row.id}"] = warnings
    return result


def patient_for(session: Session, user: User, patient_id: int, what: str, action: str = "read",
                *, lock: bool = False) -> Patient:
    """The patient if ``user`` may see her (clinician: own patients; patient: herself); audited.

    ``lock`` takes her row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite's writers are serialised
    already) so that two concurrent writes to one record check for duplicates one after the other.

    A refused attempt is audited as ``denied`` by the caller (in its own transaction, since
    the request's transaction is rolled back) and raises :class:`NotFound`.
    """
    patient = session.get(Patient, patient_id, with_for_update=lock) if isinstance(patient_id, int) else None
    if patient is None or not may_access(user, patient):
        raise NotFound(patient_id)
    audit(session, user.id, action, patient.id, what)
    return patient


def may_access(user: User, patient: Patient) -> bool:
    """Whether ``user`` may read and write this record: her clinician, or the patient herself."""
    return ((user.role == "clinician" and patient.clinician_id == user.id)
            or (user.role == "patient" and patient.account_user_id == user.id))


def own_patient(session: Session, user: User) -> Patient | None:
    """A patient user's own record."""
    return session.scalar(select(Patient).where(Patient.account_user_id == user.id))


def list_patients(session: Session, clinician: User, query: str = "", limit: int = 200) -> list[Patient]:
    """A clinician's patients, optionally filtered by a name fragment or record number."""
    statement = select(Patient).where(Patient.clinician_id == clinician.id)
    query = query.strip()
    if query:
        conditions = [func.lower(Patient.name).contains(query.lower())]
        if query.isascii() and query.isdigit() and len(query) <= 9:  # a record number fits 32 bits
            conditions.append(Patient.id == int(query))
        statement = statement.where(or_(*conditions))
    patients = list(session.scalars(statement.order_by(Patient.name).limit(limit)))
    audit(session, clinician.id, "read", None, f"patient list ({len(patients)} rows)")
    return patients


def create_patient(session: Session, clinician: User, data: PatientIn) -> Patient:
    patient = Patient(clinician_id=clinician.id, **data.model_dump())
    session.add(patient)
    session.flush()
    audit(session, clinician.id, "create", patient.id, "patient")
    return patient


def update_patient(session: Session, user: User, patient: Patient, data: PatientIn) -> Patient:
    for field, value in data.model_dump().items():
        setattr(patient, field, value)
    audit(session, user.id, "update", patient.id, "patient")
    return patient


@dataclass
class Saved:
    """A stored (or edited) entry and the warnings of its unusual values (osteotwin.records.plausibility)."""

    row: Any
    warnings: list[str] = dataclass_field(default_factory=list)

    @property
    def id(self) -> int:
        return self.row.id


# What each kind of entry is called in the audit trail, its table, its plausibility check and its fields.
ENTRY_KINDS: dict[str, tuple[str, type, Callable[..., list[str]]]] = {
    "dxa": ("dxa", DxaResult, plausibility.check_dxa),
    "labs": ("lab", LabResult, plausibility.check_lab),
    "medications": ("medication", Medication, plausibility.check_medication),
    "food-log": ("food log", FoodLogEntry, plausibility.check_food),
    "exercise-log": ("exercise log", ExerciseLogEntry, plausibility.check_exercise),
}


def _add(session: Session, user: User, patient: Patient, entry_kind: str, data: Any, **extra: Any) -> Saved:
    what, table, check = ENTRY_KINDS[entry_kind]
    warnings = check(patient, data)
    row = table(patient_id=patient.id, **data.model_dump(), **extra)
    session.add(row)
    session.flush()
    audit(session, user.id, "create", patient.id, f"{what} {row.id}")
    return Saved(row, warnings)


def entry_for(session: Session, patient: Patient, entry_kind: str, entry_id: int) -> Any:
    """One stored entry of the patient, or :class:`NotFound` (another patient's entry looks missing)."""
    _, table, _ = ENTRY_KINDS[entry_kind]
    row = session.get(table, entry_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound(patient.id)
    return row


def update_entry(session: Session, user: User, patient: Patient, entry_kind: str, entry_id: int, data: Any,
                 **extra: Any) -> Saved:
    """Replace a stored entry by ``data`` after the same checks as a new one (the entry itself excluded
    from the duplicate checks). The audit row names the fields that changed, never their values."""
    what, _, check = ENTRY_KINDS[entry_kind]
    if not may_access(user, patient):
        raise NotFound(patient.id)
    row = entry_for(session, patient, entry_kind, entry_id)
    warnings = check(patient, data, row_id=row.id)
    values = data.model_dump() | extra
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    audit(session, user.id, "update", patient.id,
          f"{what} {row.id}: {', '.join(changed) if changed else 'no change'}")
    return Saved(row, warnings)


def delete_entry(session: Session, user: User, patient: Patient, entry_kind: str, entry_id: int) -> None:
    """Delete a stored entry (audited: who, when, which entry)."""
    what, _, _ = ENTRY_KINDS[entry_kind]
    if not may_access(user, patient):
        raise NotFound(patient.id)
    row = entry_for(session, patient, entry_kind, entry_id)
    session.delete(row)
    session.flush()
    session.expire(patient)
    audit(session, user.id, "delete", patient.id, f"{what} {entry_id}")


def add_dxa(session: Session, user: User, patient: Patient, data: DxaIn) -> Saved:
    return _add(session, user, patient, "dxa", data)


def add_lab(session: Session, user: User, patient: Patient, data: LabIn) -> Saved:
    return _add(session, user, patient, "labs", data)


def add_medication(session: Session, user: User, patient: Patient, data: MedicationIn) -> Saved:
    return _add(session, user, patient, "medications", data)


def add_food(session: Session, user: User, patient: Patient, data: FoodLogIn, food_name: str = "") -> Saved:
    return _add(session, user, patient, "food-log", data, food_name=food_name[:300])


def add_exercise(session: Session, user: User, patient: Patient, data: ExerciseLogIn, kind: str) -> Saved:
    """Log a session; ``kind`` (aerobic, impact, resistance, balance) comes from the planner's library."""
    return _add(session, user, patient, "exercise-log", data, kind=kind)


# The add function of each kind of entry (the kinds of ENTRY_KINDS).
ENTRY_ADDERS: dict[str, Callable[..., Saved]] = {
    "dxa": add_dxa, "labs": add_lab, "medications": add_medication, "food-log": add_food,
    "exercise-log": add_exercise,
}


# Food and exercise entries: the patient's own pages, the clinician pages and the API use these four.
def update_food_entry(session: Session, user: User, patient: Patient, entry_id: int, data: FoodLogIn,
                      food_name: str = "") -> Saved:
    return update_entry(session, user, patient, "food-log", entry_id, data, food_name=food_name[:300])


def delete_food_entry(session: Session, user: User, patient: Patient, entry_id: int) -> None:
    delete_entry(session, user, patient, "food-log", entry_id)


def update_exercise_session(session: Session, user: User, patient: Patient, entry_id: int, data: ExerciseLogIn,
                            kind: str) -> Saved:
    return update_entry(session, user, patient, "exercise-log", entry_id, data, kind=kind)


def delete_exercise_session(session: Session, user: User, patient: Patient, entry_id: int) -> None:
    delete_entry(session, user, patient, "exercise-log", entry_id)


# --- conversions --------------------------------------------------------------------------------

def administration_dates(medication: Medication, until: dt.date | None = None) -> list[str]:
    """ISO dates of each administration of a periodic bone agent, from start to stop (or ``until``)."""
    end = medication.stop_date or until or dt.date.today()
    if medication.every_months:
        step = dt.timedelta(days=medication.every_months * DAYS_PER_MONTH)
    elif medication.every_days:
        step = dt.timedelta(days=medication.every_days)
    else:
        return [medication.start_date.isoformat()]
    dates, day = [], medication.start_date
    while day <= end and len(dates) < 2000:
        dates.append(day.isoformat())
        day = day + step
    return dates


def medication_dict(medication: Medication) -> dict[str, Any]:
    """One medication in the ``assess`` input shape."""
    entry: dict[str, Any] = {"drug": medication.drug, "start_date": medication.start_date.isoformat()}
    if medication.stop_date is not None:
        entry["stop_date"] = medication.stop_date.isoformat()
    if medication.drug in BONE_AGENTS:
        if medication.dose_mg is not None:
            entry["dose_mg"] = medication.dose_mg
        entry["dates"] = administration_dates(medication)
    return entry


def current_medications(patient: Patient, on: dt.date | None = None) -> list[Medication]:
    on = on or dt.date.today()
    return [m for m in patient.medications if m.start_date <= on and (m.stop_date is None or m.stop_date >= on)]


def latest_t_scores(patient: Patient) -> dict[str, float]:
    """The newest T-score per site."""
    latest: dict[str, tuple[dt.date, float]] = {}
    for row in patient.dxa_results:
        if row.site not in latest or row.date >= latest[row.site][0]:
            latest[row.site] = (row.date, row.t_score)
    return {site: value for site, (_, value) in latest.items()}


def years_since_menopause(patient: Patient, on: dt.date | None = None) -> float | None:
    on = on or dt.date.today()
    if patient.menopausal_status != "postmenopausal" or patient.menopause_year is None:
        return None
    return float(max(0, on.year - patient.menopause_year))


# The assessment input's open BMD interval (osteotwin.clinic.record.DxaMeasurement); the records refuse
# far inside it (osteotwin.records.limits), rows stored before those limits may sit on its edges.
_ASSESS_BMD_OPEN_G_CM2 = (0.2, 2.5)
_ASSESS_SCORE_RANGE = (-7.0, 7.0)


def readable_dxa(patient: Patient, *, derive_z: bool = True) -> tuple[list[dict[str, Any]], list[str]]:
    """The DXA results in the ``assess`` input shape, and what was left out to keep them readable.

    Rows stored before the plausibility checks existed may hold a second result for a site and date
    (the newest entry is used) or a BMD on the edge of what the assessment reads (0.2 or 2.5 g/cm2: the
    BMD is left out, the T-score kept). Without a reported Z-score, the Z-score of the spine and hip is
    derived for her age at the scan (``plausibility.derived_z_score``) when ``derive_z``; the FHIR export
    passes ``derive_z=False`` so it exports only what was measured."""
    newest: dict[tuple[dt.date, str], DxaResult] = {}
    notes: list[str] = []
    for row in sorted(patient.dxa_results, key=lambda r: r.id or 0):
        key = (row.date, row.site)
        if key in newest:
            notes.append(f"DXA {row.site.replace('_', ' ')} {row.date.isoformat()}: two entries "
                         f"({newest[key].id} and {row.id}); the newer ({row.id}) is used, delete the other")
        newest[key] = row
    entries = []
    for row in sorted(newest.values(), key=lambda r: (r.date, r.site)):
        entry: dict[str, Any] = {"date": row.date.isoformat(), "site": row.site, "device": row.device}
        low, high = _ASSESS_BMD_OPEN_G_CM2
        if low < row.bmd_g_cm2 < high:
            entry["bmd_g_cm2"] = row.bmd_g_cm2
        else:
            notes.append(f"DXA {row.site.replace('_', ' ')} {row.date.isoformat()}: BMD {row.bmd_g_cm2:g} g/cm2 is not "
                         "a possible value and is left out (the T-score is used); edit the entry")
        for name in ("t_score", "z_score"):
            value = getattr(row, name)
            if value is not None and _ASSESS_SCORE_RANGE[0] <= value <= _ASSESS_SCORE_RANGE[1]:
                entry[name] = value
        if "z_score" not in entry and "t_score" in entry and derive_z:
            age = (row.date - patient.birth_date).days / DAYS_PER_YEAR
            z = plausibility.derived_z_score(row.site, row.t_score, age)
            if z is not None and _ASSESS_SCORE_RANGE[0] <= z <= _ASSESS_SCORE_RANGE[1]:
                entry["z_score"] = z
        if len(entry) > 3:
            entries.append(entry)
    return entries, notes


def record_dict(patient: Patient, on: dt.date | None = None, *, with_identity: bool = False) -> dict[str, Any]:
    """The stored record as the ``assess`` input (``PatientRecord``): patient, risk_factors, dxa, labs,
    medications. ``with_identity`` adds name, birth date and record number (for the FHIR export).
    Every stored row is readable (``readable_dxa``)."""
    on = on or dt.date.today()
    block: dict[str, Any] = {
        "age_years": age_years(patient.birth_date, on),
        "menopausal_status": patient.menopausal_status,
        "weight_kg": patient.weight_kg,
        "height_cm": patient.height_cm,
    }
    ysm = years_since_menopause(patient, on)
    if ysm is not None:
        block["years_since_menopause"] = ysm
    if with_identity:
        block |= {"name": patient.name, "birth_date": patient.birth_date.isoformat()}
        if patient.identifier_value:
            block["identifier"] = {"system": patient.identifier_system or None, "value": patient.identifier_value}
    return {
        "patient": block,
        "risk_factors": {name: getattr(patient, name) for name in RISK_FACTOR_FIELDS},
        "dxa": readable_dxa(patient, derive_z=not with_identity)[0],
        "labs": [
            {"date": r.date.isoformat(), "test": r.test, "value": r.value, "unit": r.unit}
            for r in sorted(patient.labs, key=lambda r: (r.date, r.test)) if r.test in ASSESSED_LAB_TESTS
        ],
        "medications": [medication_dict(m) for m in patient.medications if m.drug in ASSESS_DRUGS],
        "conditions": {"rheumatoid_arthritis": patient.rheumatoid_arthritis},
        "cancer": {"bone_metastases": patient.bone_metastases},
    }


def endocrine_therapy(patient: Patient, on: dt.date | None = None) -> Medication | None:
    """The current (or most recent) aromatase inhibitor / tamoxifen course."""
    on = on or dt.date.today()
    courses = [m for m in patient.medications if m.drug in ENDOCRINE_DRUGS and m.start_date <= on]
    current = [m for m in courses if m.stop_date is None or m.stop_date >= on]
    return (current or courses or [None])[-1]


def patient_in_from(patient: Patient) -> PatientIn:
    return PatientIn(**{field: getattr(patient, field) for field in PatientIn.model_fields})
