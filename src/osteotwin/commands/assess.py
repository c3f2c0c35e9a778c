"""``osteotwin assess PATIENT.json [--json]`` and ``osteotwin fhir import|export``.

``assess`` reads a patient record (the PatientRecord JSON of ``osteotwin.clinic.record``, or a FHIR R4
Bundle) and prints the guideline assessment: a clinician's summary, or the Assessment JSON with ``--json``.
``fhir import`` turns a FHIR R4 Bundle into a PatientRecord JSON; ``fhir export`` writes the record
and its assessment as a FHIR R4 Bundle (CarePlan + Observations). Whenever a Bundle is read, its
import report (what was added, converted or skipped, and why) is printed on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from osteotwin.errors import InputError


def _today(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("--today", text, "a date as YYYY-MM-DD") from None


def _load_record(path: str, today: date):
    from osteotwin.clinic import PatientRecord
    from osteotwin.clinic.fhir import import_bundle

    data = json.loads(Path(path).read_text())
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        record, report = import_bundle(data, today=today)
        print(report.text(), file=sys.stderr)
        return record
    if not isinstance(data, dict):
        raise InputError("input", type(data).__name__, "a JSON object (a patient record or a FHIR Bundle)")
    return PatientRecord.model_validate(data)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("assess", help="guideline assessment of a patient record (JSON or FHIR Bundle)")
    parser.add_argument("record", help="PATIENT.json: a patient record or a FHIR R4 Bundle")
    parser.add_argument("--json", action="store_true", help="print the Assessment as JSON")
    parser.add_argument("--today", help="assessment date YYYY-MM-DD (default: today)")
    parser.add_argument("--no-projection", action="store_true", help="skip the engine projection")
    parser.add_argument("--fhir-out", help="also write the assessment as a FHIR R4 Bundle to this file")
    parser.set_defaults(handler=run_assess)

    fhir = subparsers.add_parser("fhir", help="FHIR R4 import and export of patient records")
    fhir_sub = fhir.add_subparsers(dest="fhir_command", required=True)
    imp = fhir_sub.add_parser("import", help="FHIR R4 Bundle -> patient record JSON")
    imp.add_argument("bundle")
    imp.add_argument("--today", help="date used to compute age from the birth date (YYYY-MM-DD)")
    imp.set_defaults(handler=run_fhir_import)
    exp = fhir_sub.add_parser("export", help="patient record JSON -> FHIR R4 Bundle with the assessment")
    exp.add_argument("record")
    exp.add_argument("--today", help="assessment date YYYY-MM-DD (default: today)")
    exp.set_defaults(handler=run_fhir_export)


def run_assess(args: argparse.Namespace) -> int:
    from osteotwin.clinic import assess
    from osteotwin.clinic.fhir import assessment_to_bundle
    from osteotwin.clinic.text import summary_text

    today = _today(args.today)
    record = _load_record(args.record, today)
    assessment = assess(record, today=today, project=not args.no_projection)
    if args.fhir_out:
        Path(args.fhir_out).write_text(json.dumps(assessment_to_bundle(record, assessment), indent=2))
    if args.json:
        print(json.dumps(assessment.model_dump(mode="json"), indent=2))
    else:
        print(summary_text(assessment))
    return 0


def run_fhir_import(args: argparse.Namespace) -> int:
    from osteotwin.clinic.fhir import import_bundle

    today = _today(args.today)
    record, report = import_bundle(json.loads(Path(args.bundle).read_text()), today=today)
    print(report.text(), file=sys.stderr)
    print(json.dumps(record.model_dump(mode="json", exclude_defaults=True), indent=2))
    return 0


def run_fhir_export(args: argparse.Namespace) -> int:
    from osteotwin.clinic import assess
    from osteotwin.clinic.fhir import assessment_to_bundle

    today = _today(args.today)
    record = _load_record(args.record, today)
    assessment = assess(record, today=today, project=False)
    print(json.dumps(assessment_to_bundle(record, assessment), indent=2))
    return 0
