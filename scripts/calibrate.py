"""Fit the engine's calibrated parameters to calibration_targets.csv and ship them.

Usage: ``python scripts/calibrate.py [--suite all|core|drugs] [--starts N] [--budget-minutes M] [--write]``.

The fit is osteotwin.population.calibration.fit: weighted least squares of every row's error over
sigma = sqrt(SE**2 + (tolerance/2)**2) (SE from the row's CI or n; targets.precision_weight; no weight
by hand), within the parameters' prior ranges, from several starts (the shipped values, then seeded
perturbations), bounded in time. It prints each start's cost, the best values (``name = value``), the
approximate 95% interval of each parameter as a share of its prior range, the strongly correlated
pairs and the parameters at a bound. ``--write`` writes the best values (6 significant digits) into
their ``Parameter(...)`` declarations (``parameters.write_values``) and regenerates docs/parameters.md;
nothing else is written. Then regenerate docs/calibration.md with
``python -m osteotwin.population.calibration.report``.

How the shipped values were reached (issue 13): from the session-3 values, with the set-point decline
(background.py), adherence as exposure (estrogen.py), the IBIS-II, MA.17B and IES rows and weights by
precision, ``--suite all --starts 3 --budget-minutes 15`` (the record of the starts is in
docs/calibration.md, "Fit record"). Earlier history: the session-2 start values are
calibrate_start_session2.txt next to this script (``--start FILE``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from osteotwin.physiology.parameters import calibration_suite, registry, write_values
from osteotwin.population.calibration import fit

ROOT = Path(__file__).resolve().parents[1]
# docs/parameters.md, in a fresh process (this one's registry() holds the values from before --write).
DOCS_COMMAND = "from osteotwin.cli import main; raise SystemExit(main(['parameters', '--markdown']))"


def read_values(path: str) -> dict[str, float]:
    """``name = value`` lines, as this script prints them."""
    values = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            values[name.strip()] = float(value)
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(fit.SUITES), default="all")
    parser.add_argument("--starts", type=int, default=3, help="number of starts (the first is the shipped values)")
    parser.add_argument("--budget-minutes", type=float, default=15.0, help="no new start after this many minutes")
    parser.add_argument("--max-evaluations", type=int, default=300, help="per start")
    parser.add_argument("--write", action="store_true",
                        help="write the best values into their Parameter(...) declarations and docs/parameters.md")
    parser.add_argument("--start", help="first start from the values in this file (lines 'name = value') instead of the shipped ones")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    starts = fit.fit(args.suite, starts=args.starts, budget_seconds=60.0 * args.budget_minutes,
                     max_evaluations=args.max_evaluations, first_start=read_values(args.start) if args.start else None, log=log)
    best = starts[0]
    log("start  cost  evaluations  seconds")
    for s in sorted(starts, key=lambda s: s.index):
        log(f"{s.index:5d}  {s.cost:.3f}  {s.evaluations:5d}  {s.seconds:.0f}")
    for name, value in best.solution.items():
        print(f"{name} = {value:.6g}")
    table = registry().with_values(**best.solution)
    ident = fit.identifiability(args.suite, table)
    log("parameter: 95% half-width as share of prior range (identified < 0.25)")
    for name, share in zip(ident.names, ident.half_width_share, strict=True):
        log(f"  {name}: {share:.3f}{'' if share < 0.25 else '  NOT IDENTIFIED'}")
    for a, b, r in ident.strong_correlations():
        log(f"  correlated: {a} ~ {b}: r = {r:+.2f}")
    for name, value, bounds, side in fit.at_bound(table):
        log(f"  at {side} bound: {name} = {value:.6g} in {bounds}")
    if args.write:
        base = registry()
        for name in best.solution:
            if calibration_suite(base[name]) not in ("core", "drugs"):
                raise SystemExit(f"{name}: its declaration's source is not calibrated('core'|'drugs', ...); fix it before writing")
        written = write_values({name: float(f"{value:.6g}") for name, value in best.solution.items()})
        docs = ROOT / "docs" / "parameters.md"
        docs.write_text(subprocess.run([sys.executable, "-c", DOCS_COMMAND], check=True,
                                       capture_output=True, text=True).stdout, encoding="utf-8")
        log(f"written to {', '.join(str(path) for path in written)} and {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
