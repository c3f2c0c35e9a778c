"""Clinical decision support: guideline rules as data, fracture risk, DXA monitoring, FHIR.

Public API::

    from osteotwin.clinic import PatientRecord, Assessment, assess
    assessment = assess(record_or_dict, today=date(2026, 3, 1))
    assessment.model_dump(mode="json")      # the `osteotwin assess --json` output
"""

from __future__ import annotations

from datetime import date

from osteotwin.clinic.assessment import Assessment
from osteotwin.clinic.record import PatientRecord

__all__ = ["Assessment", "PatientRecord", "assess"]


def assess(record: PatientRecord | dict, *, today: date | None = None, project: bool = True) -> Assessment:
    """Assess one patient record (PatientRecord, its JSON dict, or a FHIR R4 Bundle dict).

    For a Bundle, the import report's notes and skipped items are added to ``warnings``.

    ``today`` is the date of the visit (default: the current date). With ``project`` the engine's
    projection with and without the recommended bone agent is added when the engine is available.
    """
    from osteotwin.clinic.evaluate import assess_record
    from osteotwin.clinic.projection import add_projection

    visit = today or date.today()
    import_warnings: list[str] = []
    if isinstance(record, dict) and record.get("resourceType") == "Bundle":
        from osteotwin.clinic.fhir import import_bundle

        record, report = import_bundle(record, today=visit)
        import_warnings = [f"FHIR import: {line}" for line in (*report.notes, *(f"skipped {s}" for s in report.skipped))]
    elif not isinstance(record, PatientRecord):
        record = PatientRecord.model_validate(record)
    assessment = assess_record(record, visit)
    if import_warnings:
        assessment = assessment.model_copy(update={"warnings": [*assessment.warnings, *import_warnings]})
    if project:
        assessment = add_projection(record, assessment, visit)
    return assessment
