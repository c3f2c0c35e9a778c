"""Store a FHIR import: create the patient, or update the clinician's patient with the same MRN.

:func:`import_fhir_bundle` reads the Bundle with :func:`osteotwin.clinic.fhir.import_bundle` (which
refuses invalid FHIR and reports what it used or left out) and writes it: a new patient, or, when the
clinician already has a patient with the Bundle's record number (Patient.identifier), that patient,
updated. The :class:`~osteotwin.clinic.fhir.ImportReport` says what was added, changed and skipped.

The stored record keeps one unit per lab test (``records.schemas.LAB_UNITS``): values in other units the
clinic accepts (25(OH)D in nmol/L, calcium in mg/dL) are converted; a lab reported as a limit
(``<20 ng/mL``) is not stored as a value. A DXA result without both BMD and T-score is not stored
(the records keep both). Each entry goes through the same plausibility checks as one typed in
(``records.plausibility``): an entry they refuse (a scan before her birth, a T-score that contradicts
the BMD, two antiresorptives at once) is skipped with the reason, the warnings are reported as notes.
A partial birth date (YYYY or YYYY-MM) is stored as the middle of its period
(ours) and reported; a record without a birth date gets today minus the age (ours).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from osteotwin.clinic.fhir import ImportReport, fhir_date, import_bundle
from osteotwin.clinic.record import PatientRecord
from osteotwin.errors import InputError
from osteotwin.records import plausibility
from osteotwin.records.models import DxaResult, LabResult, Medication, Patient, User
from osteotwin.records.patients import DAYS_PER_MONTH, RISK_FACTOR_FIELDS
from osteotwin.records.schemas import LAB_UNITS, DxaIn, LabIn, MedicationIn, PatientIn


def _validated(model: type, data: dict[str, Any], what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "value"
        raise InputError(f"{what}.{field}", first.get("input"), first["msg"].removeprefix("Value error, ")) from None


def _plausible(check: Any, patient: Patient, data: Any, row_id: int | None, what: str,
               report: ImportReport) -> bool:
    """Run a plausibility check: False (and the reason in ``report.skipped``) when it refuses the entry;
    its warnings go to ``report.notes``."""
    try:
        warnings = check(patient, data, row_id=row_id)
    except InputError as error:
        report.skipped.append(f"{what}: not stored: {error}")
        return False
    report.notes.extend(f"{what}: {warning}" for warning in warnings)
    return True


def find_by_identifier(session: Session, clinician: User, system: str | None, value: str) -> Patient | None:
    """The clinician's patient with this record number, if any."""
    return session.scalar(select(Patient).where(Patient.clinician_id == clinician.id,
                                                Patient.identifier_system == (system or ""),
                                                Patient.identifier_value == value))


def import_fhir_bundle(session: Session, clinician: User, bundle: Any, name: str = "",
                       today: dt.date | None = None) -> tuple[Patient, bool, ImportReport]:
    """(patient, created, report) for a FHIR Bundle: a new patient, or the one with the same MRN updated."""
    record, report = import_bundle(bundle, today=today)
    patient, created = store_record(session, clinician, record, report, name=name, today=today)
    return patient, created, report


def store_record(session: Session, clinician: User, record: PatientRecord, report: ImportReport, name: str = "",
                 today: dt.date | None = None) -> tuple[Patient, bool]:
    """Create or update (same MRN) the stored patient from a record; adds to ``report``."""
    today = today or dt.date.today()
    info = record.patient
    existing = None
    if info.identifier is not None:
        existing = find_by_identifier(session, clinician, info.identifier.system, info.identifier.value)
    if info.birth_date:
        birth, note = fhir_date(info.birth_date, "Patient.birthDate")
        if note:
            report.notes.append(f"{note}; stored as {birth}")
    elif existing is not None:
        birth = existing.birth_date
    else:
        birth = today - dt.timedelta(days=round(info.age_years * 365.25))
        report.notes.append(f"Patient.birthDate: none; stored as {birth} (today minus age {info.age_years:g})")
    fields: dict[str, Any] = {
        "name": info.name or name.strip() or (existing.name if existing else "") or "Imported patient",
        "birth_date": birth,
        "menopausal_status": info.menopausal_status,
        "weight_kg": info.weight_kg,
        "height_cm": info.height_cm,
    }
    given = record.model_fields_set
    if "risk_factors" in given or existing is None:
        fields |= {k: getattr(record.risk_factors, k) for k in RISK_FACTOR_FIELDS}
    if "conditions" in given or existing is None:
        fields["rheumatoid_arthritis"] = record.conditions.rheumatoid_arthritis
    if "cancer" in given or existing is None:
        fields["bone_metastases"] = record.cancer.bone_metastases
    if existing is None:
        data = _validated(PatientIn, fields, "patient")
        patient = Patient(clinician_id=clinician.id, **data.model_dump())
        if info.identifier is not None:
            patient.identifier_system = info.identifier.system or ""
            patient.identifier_value = info.identifier.value
        session.add(patient)
        try:
            session.flush()
        except IntegrityError:  # the same MRN saved by a concurrent import (unique per clinician)
            raise InputError("Patient.identifier", info.identifier.value if info.identifier else None,
                             "one patient per record number: another import of it was saved at the same time; "
                             "import again to update that patient") from None
        report.patient += f"{'; ' if report.patient else ''}new patient #{patient.id}"
    else:
        patient = existing
        current = {field: getattr(patient, field) for field in PatientIn.model_fields}
        data = _validated(PatientIn, current | fields, "patient")
        for field, value in data.model_dump().items():
            if field in fields and getattr(patient, field) != value:
                report.changed.append(f"patient.{field}: {getattr(patient, field)} -> {value}")
                setattr(patient, field, value)
        report.patient += f"{'; ' if report.patient else ''}existing patient #{patient.id} updated (same MRN)"
    _store_dxa(session, patient, record, report)
    _store_labs(session, patient, record, report)
    _store_medications(session, patient, record, report)
    session.flush()
    return patient, existing is None


def _store_dxa(session: Session, patient: Patient, record: PatientRecord, report: ImportReport) -> None:
    stored = {(row.date, row.site): row for row in patient.dxa_results}
    for item in record.dxa:
        what = f"DXA {item.site} {item.date}"
        if item.bmd_g_cm2 is None or item.t_score is None:
            report.skipped.append(f"{what}: the records keep BMD and T-score together; this result has "
                                  f"{'no BMD' if item.bmd_g_cm2 is None else 'no T-score'} and is not stored")
            continue
        data = _validated(DxaIn, {"date": item.date, "site": item.site, "bmd_g_cm2": item.bmd_g_cm2,
                                  "t_score": item.t_score, "z_score": item.z_score, "device": item.device},
                          f"dxa {item.site} {item.date}")
        row = stored.get((item.date, item.site))
        if not _plausible(plausibility.check_dxa, patient, data, row.id if row else None, what, report):
            continue
        if row is None:
            stored[(item.date, item.site)] = DxaResult(**data.model_dump())
            patient.dxa_results.append(stored[(item.date, item.site)])
            report.added.append(f"{what}: stored (BMD {item.bmd_g_cm2:g} g/cm2, T {item.t_score:g})")
            continue
        changes = [f"{k} {getattr(row, k)} -> {v}" for k, v in data.model_dump().items() if getattr(row, k) != v]
        if changes:
            for key, value in data.model_dump().items():
                setattr(row, key, value)
            report.changed.append(f"{what}: {', '.join(changes)}")
        else:
            report.skipped.append(f"{what}: already stored")


def _store_labs(session: Session, patient: Patient, record: PatientRecord, report: ImportReport) -> None:
    stored = {(row.date, row.test): row for row in patient.labs}
    for lab in record.labs:
        what = f"lab {lab.test} {lab.date}"
        if lab.comparator is not None:
            report.skipped.append(f"{what}: reported as '{lab.comparator}{lab.value:g} {lab.unit}', a limit; the "
                                  "records store measured values only")
            continue
        unit = LAB_UNITS.get(lab.test)
        value = round(lab.value_in_standard_unit(), 4)
        if lab.unit != unit:
            report.notes.append(f"{what}: {lab.value:g} {lab.unit} stored as {value:g} {unit}")
        data = _validated(LabIn, {"date": lab.date, "test": lab.test, "value": value, "unit": unit}, what)
        row = stored.get((lab.date, lab.test))
        if not _plausible(plausibility.check_lab, patient, data, row.id if row else None, what, report):
            continue
        if row is None:
            stored[(lab.date, lab.test)] = LabResult(**data.model_dump())
            patient.labs.append(stored[(lab.date, lab.test)])
            report.added.append(f"{what}: stored ({value:g} {unit})")
        elif abs(row.value - data.value) > 1e-9:
            report.changed.append(f"{what}: {row.value:g} -> {data.value:g} {unit}")
            row.value = data.value
        else:
            report.skipped.append(f"{what}: already stored")


def _store_medications(session: Session, patient: Patient, record: PatientRecord, report: ImportReport) -> None:
    stored = {(row.drug, row.start_date): row for row in patient.medications}
    for item in record.medications:
        data = _validated(MedicationIn, _medication_fields(item.model_dump(mode="json")), f"medication {item.drug}")
        what = f"medication {data.drug} from {data.start_date}"
        row = stored.get((data.drug, data.start_date))
        if not _plausible(plausibility.check_medication, patient, data, row.id if row else None, what, report):
            continue
        if row is None:
            stored[(data.drug, data.start_date)] = Medication(**data.model_dump())
            patient.medications.append(stored[(data.drug, data.start_date)])
            report.added.append(f"{what}: stored")
            continue
        changes = [f"{k} {getattr(row, k)} -> {v}" for k, v in data.model_dump().items()
                   if k not in ("drug", "start_date") and v is not None and getattr(row, k) != v]
        if changes:
            for key, value in data.model_dump().items():
                if value is not None:
                    setattr(row, key, value)
            report.changed.append(f"{what}: {', '.join(changes)}")
        else:
            report.skipped.append(f"{what}: already stored")


def _medication_fields(item: dict[str, Any]) -> dict[str, Any]:
    dates = sorted(item.get("dates") or [])
    start = item.get("start_date") or (dates[0] if dates else None)
    every_months = None
    if len(dates) >= 2:
        first, second = dt.date.fromisoformat(dates[0]), dt.date.fromisoformat(dates[1])
        every_months = round((second - first).days / DAYS_PER_MONTH, 1) or None
    stop = item.get("stop_date")
    if stop is None and len(dates) >= 2:
        stop = dates[-1]
    return {"drug": item["drug"], "start_date": start, "stop_date": stop, "dose_mg": item.get("dose_mg"),
            "every_months": every_months}

