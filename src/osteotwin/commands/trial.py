"""``osteotwin trial SPEC.json [--json] [--out results.parquet] [--workers N | --scheduler tcp://HOST:PORT]
[--seed S] [--report DIR]``: an in-silico trial on a virtual population (population/trial.py).

Default output: one line per arm and endpoint, value (95% CI) and the published value where the
spec gives one; ``--json`` prints ``{"arms": {...}, "hazard_ratios": {...}}``. Per-patient rows
go to the Parquet file ``--out`` (default: a temporary file, deleted at the end), one row group
per chunk. Specs: examples/trials/*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from osteotwin.errors import InputError, check_output_file, load_json_file, wrong_document

SPEC_EXAMPLE = "examples/trials/zo_fast.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("trial", help="run an in-silico trial on a virtual population (arms, endpoints, CIs)")
    parser.add_argument("spec", help=f"trial spec JSON, e.g. {SPEC_EXAMPLE}")
    parser.add_argument("--json", action="store_true", help="print the endpoint estimates as one JSON object")
    parser.add_argument("--out", metavar="FILE.parquet", help="write one row per virtual patient to this Parquet file")
    add_backend_arguments(parser)
    parser.add_argument("--seed", type=int, metavar="S", help="override the spec's seed")
    parser.add_argument("--patients", type=int, metavar="N", help="override the spec's patients_per_arm")
    parser.set_defaults(handler=run)


def load_spec(path: str, seed: int | None = None, patients: int | None = None):
    from osteotwin.population.trial import TrialSpec

    data = load_json_file(path, "trial spec")
    if not isinstance(data, dict) or "arms" not in data:
        raise wrong_document(data, "trial spec", path, "a trial spec with arms and endpoints", SPEC_EXAMPLE)
    if seed is not None:
        if seed < 0:
            raise InputError("--seed", seed, "a whole number >= 0")
        data["seed"] = seed
    if patients is not None:
        data["patients_per_arm"] = patients
    return TrialSpec.model_validate(data)


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers N | --scheduler tcp://HOST:PORT`` and ``--report DIR``: where a study's chunks run and where its
    report goes (population/backends.py), shared by ``trial`` and ``sensitivity``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    group.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run the chunks on this Dask distributed scheduler")
    parser.add_argument("--report", metavar="DIR", help="write report.md and PNG figures into this folder")


def check_backend_arguments(args: argparse.Namespace) -> None:
    """Refuse a worker count, scheduler address or report folder that cannot work, before any run starts."""
    if args.workers < 1 or args.workers > (os.cpu_count() or 1) * 4:
        raise InputError("--workers", args.workers, f"1 to {(os.cpu_count() or 1) * 4}")
    if args.scheduler is not None and not args.scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InputError("--scheduler", args.scheduler, "an address like tcp://HOST:PORT")
    if args.report:
        report = Path(args.report)
        if report.exists() and not report.is_dir():
            raise InputError("--report", args.report, "a folder (existing or new), not a file")
        if not report.parent.is_dir():
            raise InputError("--report", args.report, "a folder inside an existing folder")


def run(args: argparse.Namespace) -> int:
    check_backend_arguments(args)
    if args.out:
        check_output_file(args.out, "--out", ".parquet")
    spec = load_spec(args.spec, args.seed, args.patients)

    from osteotwin.population.backends import run_trial
    from osteotwin.population.trial_report import estimates, text_summary, write_report

    with tempfile.TemporaryDirectory(prefix="osteotwin-trial-") as scratch:
        out = Path(args.out) if args.out else Path(scratch) / "results.parquet"
        facts = run_trial(spec, out, workers=args.workers, scheduler=args.scheduler)
        results = estimates(spec, out)
        results["run"] = {"backend": facts["backend"], "tasks": facts["tasks"], "seconds": round(facts["seconds"], 2)}
        if args.report:
            write_report(spec, out, results, args.report)
    if args.json:
        print(json.dumps(results, separators=(",", ":")))
    else:
        print(text_summary(spec, results))
        print(f"{facts['tasks']} tasks, {facts['backend']}, {facts['seconds']:.1f} s"
              + (f"; rows in {args.out}" if args.out else "") + (f"; report in {args.report}/report.md" if args.report else ""),
              file=sys.stderr)
    return 0
