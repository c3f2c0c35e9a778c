"""``osteotwin assess RECORD.json [--json]`` (e.g. examples/patients/design_example.json) and ``osteotwin fhir import|export``.

``assess`` reads a patient record (the PatientRecord JSON of ``osteotwin.clinic.record``, e.g.
examples/patients/design_example.json, or a FHIR R4 Bundle) and
prints the guideline assessment: a clinician's summary, or the Assessment JSON with ``--json``.
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

from osteotwin.errors import (
    FileInputError,
    InputError,
    check_output_file,
    describe_document,
    load_json_file,
    wrong_document,
)


def _today(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError("--today", text, "a date as YYYY-MM-DD") from None


RECORD_EXAMPLE = "examples/patients/design_example.json"
BUNDLE_EXAMPLE = "examples/patients/fhir_bundle_anastrozole.json"


def _from_bundle(data: dict, path: str, today: date):
    """The record of a Bundle, its import report printed on stderr; a Bundle the reader cannot use (a value
    of the wrong type or form) is refused in one line."""
    from pydantic import ValidationError

    from osteotwin.clinic.fhir import import_bundle

    try:
        record, report = import_bundle(data, today=today)
        print(report.text(), file=sys.stderr)
        return record
    except (InputError, ValidationError):
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise FileInputError("FHIR Bundle", path, f"has a value this reader cannot use: {detail}") from None


def _load_record(path: str, today: date):
    from osteotwin.clinic import PatientRecord

    data = load_json_file(path, "patient record")
    kind = describe_document(data)
    if kind == "a FHIR Bundle":
        return _from_bundle(data, path, today)
    if kind.startswith("a FHIR"):
        raise FileInputError("patient record", path, f"is {kind}, not a Bundle or patient record "
                             f"(for example {RECORD_EXAMPLE} or {BUNDLE_EXAMPLE})")
    if not isinstance(data, dict) or "patient" not in data or kind in ("a lifestyle profile", "a scenario"):
        raise wrong_document(data, "patient record", path, "a patient record or a FHIR R4 Bundle",
                             f"{RECORD_EXAMPLE} or {BUNDLE_EXAMPLE}")
    return PatientRecord.model_validate(data)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("assess", help="guideline assessment of a patient record (JSON or FHIR Bundle)")
    parser.add_argument("record", help=f"a patient record ({RECORD_EXAMPLE}) or a FHIR R4 Bundle ({BUNDLE_EXAMPLE})")
    parser.add_argument("--json", action="store_true", help="print the Assessment as JSON")
    parser.add_argument("--today", help="assessment date YYYY-MM-DD (default: today)")
    parser.add_argument("--no-projection", action="store_true", help="skip the engine projection")
    parser.add_argument("--fhir-out", help="also write the assessment as a FHIR R4 Bundle to this file")
    parser.set_defaults(handler=run_assess)

    fhir = subparsers.add_parser("fhir", help="FHIR R4 import and export of patient records")
    fhir_sub = fhir.add_subparsers(dest="fhir_command", required=True)
    imp = fhir_sub.add_parser("import", help="FHIR R4 Bundle -> patient record JSON")
    imp.add_argument("bundle", help=f"a FHIR R4 Bundle, e.g. {BUNDLE_EXAMPLE}")
    imp.add_argument("--today", help="date used to compute age from the birth date (YYYY-MM-DD)")
    imp.set_defaults(handler=run_fhir_import)
    exp = fhir_sub.add_parser("export", help="patient record JSON -> FHIR R4 Bundle with the assessment")
    exp.add_argument("record", help=f"a patient record, e.g. {RECORD_EXAMPLE} (or a FHIR R4 Bundle)")
    exp.add_argument("--today", help="assessment date YYYY-MM-DD (default: today)")
    exp.set_defaults(handler=run_fhir_export)


def run_assess(args: argparse.Namespace) -> int:
    from osteotwin.clinic import assess
    from osteotwin.clinic.fhir import assessment_to_bundle
    from osteotwin.clinic.text import summary_text

    today = _today(args.today)
    if args.fhir_out:
        check_output_file(args.fhir_out, "--fhir-out", ".json")
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
    today = _today(args.today)
    data = load_json_file(args.bundle, "FHIR Bundle")
    if describe_document(data) != "a FHIR Bundle":
        raise wrong_document(data, "FHIR Bundle", args.bundle, "a FHIR R4 Bundle (resourceType 'Bundle')", BUNDLE_EXAMPLE)
    record = _from_bundle(data, args.bundle, today)
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
