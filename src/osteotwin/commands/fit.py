"""``osteotwin fit RECORD.json [--json] [--months 60]``: her personal twin (issue 15).

RECORD is the ``assess`` input (a patient record such as examples/patients/denosumab_overdue.json, or a
FHIR R4 Bundle). Her turnover per site is fitted to her DXA series and, with two or more values of one, to
her serum CTX and P1NP as her change from her first value (osteotwin.twin.personal), and her projections per
regimen, from her latest scan, the expected-against-observed check of each follow-up scan and her markers
against the fitted twin are printed: a short summary, or with ``--json`` one object
``{"fitted", "projections", "scan_checks", "marker_checks", "notes", ...}``. With one scan per site and no
markers the fit is the prior's, and a note says so; the notes name the prior of each parameter.
"""

from __future__ import annotations

import argparse
import json

from osteotwin.commands.assess import BUNDLE_EXAMPLE, RECORD_EXAMPLE, _load_record, _today
from osteotwin.errors import InputError

MAX_MONTHS = 120  # ours: ten years; the engine is calibrated up to 84 months (twin/simulation.py) and warns beyond


def _months(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_MONTHS:
        raise InputError("--months", text, f"a whole number of months from 1 to {MAX_MONTHS}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit", help="personal twin: fit her turnover to her DXA series, project regimens")
    parser.add_argument("record", help=f"a patient record ({RECORD_EXAMPLE}) or a FHIR R4 Bundle ({BUNDLE_EXAMPLE})")
    parser.add_argument("--json", action="store_true", help="print fitted parameters, projections and scan checks as JSON")
    parser.add_argument("--months", default="60", help=f"projection horizon from her latest scan (1-{MAX_MONTHS}; default 60)")
    parser.add_argument("--today", help="date used to compute age from a FHIR birth date (YYYY-MM-DD; default: today)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from osteotwin.twin.personal import fit_record

    months = _months(args.months)
    record = _load_record(args.record, _today(args.today))
    twin = fit_record(record, months=months)
    print(json.dumps(twin.as_json(), indent=2) if args.json else twin.text())
    return 0
