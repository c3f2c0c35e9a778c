"""Patient records: per-patient authorisation, reads and writes (each audited), and conversion
of a stored record to the ``assess`` input shape (``osteotwin.clinic.record.PatientRecord``: patient,
risk_factors, dxa, labs, medications) and to the ``simulate`` Patient block.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from osteotwin.catalog import DAYS_PER_MONTH
from osteotwin.clinic.record import ASSESSED_DRUGS
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


class NotFound(Exception):
    """No such patient for this user (missing and forbidden look the same from outside)."""


def age_years(birth_date: dt.date, on: dt.date | None = None) -> float:
    on = on or dt.date.today()
    return round((on - birth_date).days / 365.25, 1)


def patient_for(session: Session, user: User, patient_id: int, what: str, action: str = "read") -> Patient:
    """The patient if ``user`` may see her (clinician: own patients; patient: herself); audited.

    A refused attempt is audited as ``denied`` by the caller (in its own transaction, since
    the request's transaction is rolled back) and raises :class:`NotFound`.
    """
    patient = session.get(Patient, patient_id) if isinstance(patient_id, int) else None
    allowed = patient is not None and (
        (user.role == "clinician" and patient.clinician_id == user.id)
        or (user.role == "patient" and patient.account_user_id == user.id)
    )
    if not allowed:
        raise NotFound(patient_id)
    audit(session, user.id, action, patient.id, what)
    return patient


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


def add_dxa(session: Session, user: User, patient: Patient, data: DxaIn) -> DxaResult:
    row = DxaResult(patient_id=patient.id, **data.model_dump())
    session.add(row)
    session.flush()
    audit(session, user.id, "create", patient.id, f"dxa {row.id}")
    return row


def add_lab(session: Session, user: User, patient: Patient, data: LabIn) -> LabResult:
    row = LabResult(patient_id=patient.id, **data.model_dump())
    session.add(row)
    session.flush()
    audit(session, user.id, "create", patient.id, f"lab {row.id}")
    return row


def add_medication(session: Session, user: User, patient: Patient, data: MedicationIn) -> Medication:
    row = Medication(patient_id=patient.id, **data.model_dump())
    session.add(row)
    session.flush()
    audit(session, user.id, "create", patient.id, f"medication {row.id}")
    return row


def add_food(session: Session, user: User, patient: Patient, data: FoodLogIn, food_name: str = "") -> FoodLogEntry:
    row = FoodLogEntry(patient_id=patient.id, food_name=food_name[:300], **data.model_dump())
    session.add(row)
    session.flush()
    audit(session, user.id, "create", patient.id, f"food log {row.id}")
    return row


def add_exercise(session: Session, user: User, patient: Patient, data: ExerciseLogIn, kind: str) -> ExerciseLogEntry:
    """Log a session; ``kind`` (aerobic, impact, resistance, balance) comes from the planner's library."""
    row = ExerciseLogEntry(patient_id=patient.id, kind=kind, **data.model_dump())
    session.add(row)
    session.flush()
    audit(session, user.id, "create", patient.id, f"exercise log {row.id}")
    return row


def delete_food(session: Session, user: User, patient: Patient, entry_id: int) -> bool:
    row = session.get(FoodLogEntry, entry_id)
    if row is None or row.patient_id != patient.id:
        return False
    session.delete(row)
    audit(session, user.id, "delete", patient.id, f"food log {entry_id}")
    return True


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


def record_dict(patient: Patient, on: dt.date | None = None, *, with_identity: bool = False) -> dict[str, Any]:
    """The stored record as the ``assess`` input (``PatientRecord``): patient, risk_factors, dxa, labs,
    medications. ``with_identity`` adds name, birth date and record number (for the FHIR export)."""
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
        "dxa": [
            {"date": r.date.isoformat(), "site": r.site, "bmd_g_cm2": r.bmd_g_cm2, "t_score": r.t_score,
             "device": r.device}
            for r in sorted(patient.dxa_results, key=lambda r: (r.date, r.site))
        ],
        "labs": [
            {"date": r.date.isoformat(), "test": r.test, "value": r.value, "unit": r.unit}
            for r in sorted(patient.labs, key=lambda r: (r.date, r.test))
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
