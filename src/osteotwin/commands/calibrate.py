"""``osteotwin calibrate [TARGETS.csv] [--suite core|drugs|all] [--parameters NAME,NAME] [--starts N]
[--budget-minutes M] [--seed S] [--write] [--json] [--petab DIR]``: refit engine parameters to the targets.

The fit is population/calibration/fit.py: weighted least squares of every row's error over
sigma = sqrt(SE**2 + (tolerance/2)**2) (SE from the row's CI or n, halved weight for a recalled row;
targets.precision_weight), within the parameters' prior ranges, from several starts (the shipped
values or ``--start FILE``, then seeded log-normal perturbations), bounded in time. Default targets:
the shipped CSV behind docs/calibration.md; a TARGETS.csv with the same columns replaces the values,
dispersions, n and certainty of the rows it holds, and the shipped rows it leaves out drop out of the
fit (targets.use_targets).

Prints each start's cost, the fitted values with approximate 95% intervals (1.96 Gauss-Newton SE, also
as a share of the prior range: identified below 0.25), the strongly correlated pairs (|r| > 0.9) and
the fitted parameters at a bound; ``--json`` prints them as one object. ``--write`` writes the best
values (6 significant digits) into their ``Parameter(...)`` declarations (parameters.write_values) and
regenerates docs/parameters.md, and names the files changed; then regenerate docs/calibration.md with
``python -m osteotwin.population.calibration.report``. ``--petab DIR`` does not fit: it writes the
suite's problem as PEtab v1 (interop/petab.py, docs/interop.md).

Bad input exits 2 naming the option, the value and what is allowed, before any work or write.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from osteotwin.errors import InputError, read_input_text

STARTS_DEFAULT = 3  # the shipped fit's (docs/calibration.md, Fit record)
BUDGET_MINUTES_DEFAULT = 15.0  # the shipped fit's
MAX_EVALUATIONS_DEFAULT = 300  # per start, the shipped fit's
SEED_DEFAULT = 13  # fit.fit's
# docs/parameters.md, in a fresh process (this one's registry() holds the values from before --write).
DOCS_COMMAND = "from osteotwin.cli import main; raise SystemExit(main(['parameters', '--markdown']))"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("calibrate", help="refit engine parameters to the calibration targets (or export them as PEtab)",
                                   description=__doc__.split("\n\n")[1].replace("%", "%%"))
    parser.add_argument("targets", nargs="?", help="targets CSV (default: the shipped one behind docs/calibration.md)")
    parser.add_argument("--suite", default="all", help="core, drugs or all (default all)")
    parser.add_argument("--parameters", metavar="NAME,NAME", help="fit only these (default: every parameter of the suite)")
    parser.add_argument("--starts", type=int, default=STARTS_DEFAULT, metavar="N", help="starts; the first is the shipped values")
    parser.add_argument("--budget-minutes", type=float, default=BUDGET_MINUTES_DEFAULT, metavar="M",
                        help="no start goes on after its share of this many minutes")
    parser.add_argument("--max-evaluations", type=int, default=MAX_EVALUATIONS_DEFAULT, metavar="N", help="per start")
    parser.add_argument("--seed", type=int, default=SEED_DEFAULT, metavar="S", help="seed of the perturbed starts")
    parser.add_argument("--start", metavar="FILE", help="first start from the 'name = value' lines of FILE instead of the shipped values")
    parser.add_argument("--write", action="store_true",
                        help="write the best values into their Parameter(...) declarations and docs/parameters.md")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--petab", metavar="DIR", help="write the problem as PEtab v1 into DIR (no fit)")
    parser.set_defaults(handler=run)


@dataclass(frozen=True)
class Request:
    """A checked calibrate command line."""

    suite: str
    names: tuple[str, ...]
    targets: dict | None  # TargetRow by id from TARGETS.csv, or None for the shipped CSV
    first_start: dict[str, float] | None


def parse_parameters(text: str | None, suite: str) -> tuple[str, ...]:
    """The names of ``--parameters``: each known to the registry and fitted by the suite."""
    from osteotwin.physiology.parameters import registry
    from osteotwin.population.calibration import fit

    allowed = fit.SUITES[suite][1]
    if text is None:
        return allowed
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise InputError("--parameters", text, f"comma-separated names from the {suite} suite: {', '.join(allowed)}")
    for name in names:
        if name not in registry():
            raise InputError("--parameters", name, f"an engine parameter (osteotwin parameters); the {suite} suite fits {', '.join(allowed)}")
        if name not in allowed:
            raise InputError("--parameters", name, f"not calibratable by the {suite} suite; it fits {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise InputError("--parameters", text, "each name once")
    return names


def read_targets(path: str) -> dict:
    """TARGETS.csv's rows by id. A row whose id is shipped keeps the shipped site and time point (the
    suites compare each id with one model output)."""
    from osteotwin.population.calibration.targets import parse_targets, shipped_targets

    rows = parse_targets(read_input_text(path, "targets CSV", "UTF-8 CSV text"), path)
    for row_id, row in rows.items():
        shipped = shipped_targets().get(row_id)
        if shipped is None:
            continue
        for field in ("site", "timepoint_months"):
            if getattr(row, field) != getattr(shipped, field):
                raise InputError(f"{path} {row_id} {field}", getattr(row, field),
                                 f"{getattr(shipped, field)!r} as in the shipped CSV (the suites compare row {row_id} with that output)")
    return rows


def read_start(path: str, names: tuple[str, ...]) -> dict[str, float]:
    """``name = value`` lines (as this command prints them) of fitted parameters inside their prior ranges."""
    from osteotwin.physiology.parameters import registry

    values = {}
    for number, line in enumerate(read_input_text(path, "start file", "UTF-8 text").splitlines(), start=1):
        name, sep, value = line.partition(" = ")
        if not sep:
            continue
        name = name.strip()
        try:
            number_value = float(value)
        except ValueError:
            raise InputError(f"{path} line {number} {name}", value.strip(), "a number") from None
        if name in names:
            low, high = registry()[name].prior_range
            if not low <= number_value <= high:
                raise InputError(f"{path} line {number} {name}", number_value, f"a value in the prior range [{low:g}, {high:g}]")
            values[name] = number_value
    return values


def check(args: argparse.Namespace) -> Request:
    """Every option checked before any work (InputError naming it)."""
    from osteotwin.physiology.parameters import calibration_suite, registry
    from osteotwin.population.calibration import fit

    if args.suite not in fit.SUITES:
        raise InputError("--suite", args.suite, f"one of {', '.join(sorted(fit.SUITES))}")
    if args.starts < 1:
        raise InputError("--starts", args.starts, "a whole number >= 1")
    if not args.budget_minutes > 0:
        raise InputError("--budget-minutes", args.budget_minutes, "a number of minutes > 0")
    if args.max_evaluations < 1:
        raise InputError("--max-evaluations", args.max_evaluations, "a whole number >= 1")
    if args.seed < 0:
        raise InputError("--seed", args.seed, "a whole number >= 0")
    names = parse_parameters(args.parameters, args.suite)
    if args.petab is not None:
        if args.write:
            raise InputError("--write", True, "not with --petab: --petab writes the problem without fitting")
        folder = Path(args.petab)
        if folder.exists() and not folder.is_dir():
            raise InputError("--petab", args.petab, "a folder (it is a file)")
        if not folder.parent.is_dir():
            raise InputError("--petab", args.petab, f"a folder in an existing folder ({str(folder.parent)!r} does not exist)")
    if args.write:
        for name in names:
            if calibration_suite(registry()[name]) not in ("core", "drugs"):
                raise InputError("--write", name, "a parameter whose declaration's source is calibrated('core'|'drugs', ...)")
    targets = read_targets(args.targets) if args.targets else None
    first_start = read_start(args.start, names) if args.start else None
    return Request(args.suite, names, targets, first_start)


def run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from osteotwin.population.calibration.targets import use_targets

    request = check(args)
    with use_targets(request.targets) if request.targets is not None else nullcontext():
        if args.petab is not None:
            return export(request, Path(args.petab), args.json)
        result = calibrate(request, args)
    if args.write:
        result["written"] = write(result)
    if args.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print(text_summary(result))
    if args.write:
        print(f"written to {', '.join(result['written'])}", file=sys.stderr)
    return 0


def calibrate(request: Request, args: argparse.Namespace) -> dict:
    """Fit, then the identifiability of the fitted parameters at the best values: a JSON-shaped dict."""
    from osteotwin.physiology.parameters import registry
    from osteotwin.population.calibration import fit

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    starts = fit.fit(request.suite, starts=args.starts, budget_seconds=60.0 * args.budget_minutes,
                     max_evaluations=args.max_evaluations, seed=args.seed, first_start=request.first_start, log=log,
                     parameters=request.names)
    best = starts[0]
    base = registry()
    table = base.with_values(**best.solution)
    ident = fit.identifiability(request.suite, table, parameters=request.names)
    rows = len(fit.residuals(table, fit.SUITES[request.suite][0])[0])
    parameters = []
    for name, share in zip(ident.names, ident.half_width_share, strict=True):
        low, high = base[name].prior_range
        value, half_width = best.solution[name], float(share) * (high - low)
        parameters.append({"name": name, "value": value, "shipped": base.value(name), "prior_range": [low, high],
                           "ci95": [value - half_width, value + half_width], "half_width_share": float(share),
                           "identified": ident.identified(name)})
    return {
        "suite": request.suite, "targets": args.targets or "shipped", "rows": rows,
        "starts": [{"index": s.index, "cost": s.cost, "evaluations": s.evaluations, "seconds": s.seconds}
                   for s in sorted(starts, key=lambda s: s.index)],
        "best_start": best.index, "cost": best.cost, "parameters": parameters,
        "correlated": [{"a": a, "b": b, "r": r} for a, b, r in ident.strong_correlations()],
        "at_bound": [{"name": name, "value": value, "prior_range": list(bounds), "side": side}
                     for name, value, bounds, side in fit.at_bound(table) if name in request.names],
    }


def text_summary(result: dict) -> str:
    """The result as the script printed it: starts, ``name = value`` lines (a ``--start`` file), intervals."""
    lines = [f"osteotwin calibrate: suite {result['suite']}, {result['rows']} rows of {result['targets']} targets; "
             f"best start {result['best_start']}, cost (0.5 sum r^2) {result['cost']:.3f}",
             "start  cost  evaluations  seconds"]
    lines += [f"{s['index']:5d}  {s['cost']:.3f}  {s['evaluations']:5d}  {s['seconds']:.0f}" for s in result["starts"]]
    lines += [f"{p['name']} = {p['value']:.6g}" for p in result["parameters"]]
    lines.append("parameter: shipped -> fitted, approximate 95% interval, half-width as share of prior range (identified < 0.25)")
    for p in result["parameters"]:
        lines.append(f"  {p['name']}: {p['shipped']:.6g} -> {p['value']:.6g} [{p['ci95'][0]:.6g}, {p['ci95'][1]:.6g}] "
                     f"{p['half_width_share']:.3f}{'' if p['identified'] else '  NOT IDENTIFIED'}")
    lines += [f"  correlated: {c['a']} ~ {c['b']}: r = {c['r']:+.2f}" for c in result["correlated"]]
    lines += [f"  at {b['side']} bound: {b['name']} = {b['value']:.6g} in {tuple(b['prior_range'])}" for b in result["at_bound"]]
    return "\n".join(lines)


def write(result: dict) -> list[str]:
    """The best values into their declarations, then docs/parameters.md of a source checkout; the files changed."""
    from osteotwin.physiology.parameters import write_values

    written = [str(path) for path in write_values({p["name"]: float(f"{p['value']:.6g}") for p in result["parameters"]})]
    docs = Path(__file__).resolve().parents[3] / "docs" / "parameters.md"
    if docs.is_file():
        docs.write_text(subprocess.run([sys.executable, "-c", DOCS_COMMAND], check=True, capture_output=True,
                                       text=True, encoding="utf-8").stdout, encoding="utf-8")
        written.append(str(docs))
    return written


def export(request: Request, folder: Path, as_json: bool) -> int:
    """``--petab DIR``: the problem of the suite's rows and the chosen parameters (interop/petab.py)."""
    from osteotwin.interop.petab import write_problem

    summary = write_problem(folder, request.names, request.suite)
    if as_json:
        print(json.dumps(summary, separators=(",", ":")))
    else:
        print(f"PEtab problem written to {folder}/problem.yaml: {summary['measurements']} measurements in "
              f"{summary['conditions']} conditions, {len(summary['estimated'])} estimated parameters; "
              f"{len(summary['rows_left_out'])} rows left out ({folder}/rows_left_out.tsv), "
              f"{len(summary['parameters_left_out'])} chosen parameters not estimable in it")
    return 0
