"""``osteotwin sensitivity SPEC.json [--json] [--report DIR] [--samples N] [--workers N | --scheduler tcp://HOST:PORT]``:
global (Sobol) sensitivity of chosen outputs of one scenario over the chosen parameters' prior ranges
(population/sensitivity.py). Default output: one table per output, parameters by total index; ``--json``
prints the whole result (``indices``: output id -> parameter -> S1, ST and their 95% intervals).
Specs: examples/sensitivity/*.json.
"""

from __future__ import annotations

import argparse
import json
import sys

from osteotwin.commands.trial import add_backend_arguments, check_backend_arguments
from osteotwin.errors import load_json_file, wrong_document

SPEC_EXAMPLE = "examples/sensitivity/anastrozole_5y.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sensitivity", help="global Sobol sensitivity of outputs over parameter prior ranges")
    parser.add_argument("spec", help=f"sensitivity spec JSON, e.g. {SPEC_EXAMPLE}")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--samples", type=int, metavar="N", help="override the spec's base sample (a power of 2)")
    add_backend_arguments(parser)
    parser.set_defaults(handler=run)


def load_spec(path: str, samples: int | None = None):
    from osteotwin.population.sensitivity import SensitivitySpec

    data = load_json_file(path, "sensitivity spec")
    if not isinstance(data, dict) or "parameters" not in data or "scenario" not in data:
        raise wrong_document(data, "sensitivity spec", path, "a spec with scenario, parameters and outputs", SPEC_EXAMPLE)
    if samples is not None:
        data["samples"] = samples
    return SensitivitySpec.model_validate(data)


def run(args: argparse.Namespace) -> int:
    check_backend_arguments(args)
    spec = load_spec(args.spec, args.samples)

    from osteotwin.population.sensitivity import run_sensitivity, text_summary, write_report

    result = run_sensitivity(spec, workers=args.workers, scheduler=args.scheduler)
    if args.report:
        write_report(result, args.report)
    if args.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print(text_summary(result), flush=True)
        print(f"{result['run']['tasks']} tasks, {result['run']['backend']}, {result['run']['seconds']:.1f} s"
              + (f"; report in {args.report}/report.md" if args.report else ""), file=sys.stderr)
    return 0
