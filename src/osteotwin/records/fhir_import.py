"""Create a stored patient from an ``assess``-shaped record (e.g. converted from a FHIR Bundle).

The record holds age, not a birth date; when the Bundle's Patient resource carries ``birthDate``
and ``name`` they are used, otherwise the birth date is estimated as today minus the age (ours).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from osteotwin.records.models import DxaResult, LabResult, Medication, Patient, User
from osteotwin.records.patients import DAYS_PER_MONTH, RISK_FACTOR_FIELDS
from osteotwin.records.schemas import LAB_UNITS, DxaIn, LabIn, MedicationIn, PatientIn


def bundle_patient_identity(bundle: dict[str, Any]) -> tuple[str | None, str | None]:
    """(name, birthDate) from the first Patient resource of a Bundle, if present."""
    for entry in bundle.get("entry") or []:
        resource = (entry or {}).get("resource") or {}
        if resource.get("resourceType") == "Patient":
            name = None
            for item in resource.get("name") or []:
                parts = [*(item.get("given") or []), item.get("family") or ""]
                name = item.get("text") or " ".join(p for p in parts if p).strip() or None
                if name:
                    break
            return name, resource.get("birthDate")
    return None, None


def create_patient_from_record(session: Session, clinician: User, record: dict[str, Any], name: str = "",
                               bundle: dict[str, Any] | None = None) -> Patient:
    today = dt.date.today()
    info = record.get("patient") or {}
    bundle_name, bundle_birth = bundle_patient_identity(bundle or {})
    birth = dt.date.fromisoformat(bundle_birth) if bundle_birth and len(bundle_birth) == 10 else (
        today - dt.timedelta(days=round(float(info.get("age_years", 60)) * 365.25)))
    risk = record.get("risk_factors") or {}
    fields: dict[str, Any] = {
        "name": name.strip() or bundle_name or "Imported patient",
        "birth_date": birth,
        "menopausal_status": info.get("menopausal_status", "postmenopausal"),
        "weight_kg": info.get("weight_kg"),
        "height_cm": info.get("height_cm"),
        **{k: risk[k] for k in RISK_FACTOR_FIELDS if k in risk},
        "rheumatoid_arthritis": bool((record.get("conditions") or {}).get("rheumatoid_arthritis", False)),
        "bone_metastases": bool((record.get("cancer") or {}).get("bone_metastases", False)),
    }
    data = PatientIn.model_validate(fields)
    patient = Patient(clinician_id=clinician.id, **data.model_dump())
    session.add(patient)
    session.flush()
    for item in record.get("dxa") or []:
        if item.get("bmd_g_cm2") is None or item.get("t_score") is None:
            continue  # the records keep both; a scan with only one of them is skipped (ours)
        device = item.get("device") or "unknown"
        dxa = DxaIn.model_validate({k: item.get(k) for k in ("date", "site", "bmd_g_cm2", "t_score")} | {"device": device})
        session.add(DxaResult(patient_id=patient.id, **dxa.model_dump()))
    for item in record.get("labs") or []:
        if item.get("test") in LAB_UNITS and item.get("unit") == LAB_UNITS[item["test"]]:
            lab = LabIn.model_validate({k: item.get(k) for k in ("date", "test", "value", "unit")})
            session.add(LabResult(patient_id=patient.id, **lab.model_dump()))
    for item in record.get("medications") or []:
        session.add(Medication(patient_id=patient.id, **_medication_from(item).model_dump()))
    session.flush()
    return patient


def _medication_from(item: dict[str, Any]) -> MedicationIn:
    dates = sorted(item.get("dates") or [])
    start = item.get("start_date") or (dates[0] if dates else None)
    every_months = None
    if len(dates) >= 2:
        first, second = dt.date.fromisoformat(dates[0]), dt.date.fromisoformat(dates[1])
        every_months = round((second - first).days / DAYS_PER_MONTH, 1) or None
    stop = item.get("stop_date")
    if stop is None and len(dates) >= 2:
        stop = dates[-1]
    return MedicationIn.model_validate({"drug": item["drug"], "start_date": start, "stop_date": stop,
                                        "dose_mg": item.get("dose_mg"), "every_months": every_months})
