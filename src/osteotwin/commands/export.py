"""``osteotwin export sbml SCENARIO.json [--out model.xml] [--drop-bone-agents]``: the model in SBML.

Writes SBML Level 3 Version 2 of the bone-cell core with that scenario's inputs (docs/interop.md):
time in days, ``lumbar_spine_bmd_pct_change`` and ``total_hip_bmd_pct_change`` as model quantities,
initial values after the engine's burn-in so month 0 matches ``osteotwin simulate``. Bone agents are
exported as dosing events into the drugs' compartments; a start triggered by a simulated T-score
(``start_when``) is not, and such a scenario is refused (exit 2) unless ``--drop-bone-agents`` is given,
which exports it without bone agents and says so loudly on stderr and in the model's notes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from osteotwin.errors import check_output_file

SBML_HELP = ("write SBML L3V2 of the bone model with this scenario's inputs (time in days; BMD %% change per site "
             "as model quantities; bone-agent doses as events). A start triggered by a simulated T-score (start_when) "
             "is not exported: such a scenario is refused (exit 2) unless --drop-bone-agents is given")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export the model to other tools' formats (SBML)")
    formats = parser.add_subparsers(dest="format", required=True)
    sbml = formats.add_parser("sbml", help=SBML_HELP, description=SBML_HELP.replace("%%", "%"))
    sbml.add_argument("scenario", help="scenario JSON file, e.g. examples/anastrozole_5y.json (see `osteotwin schema`)")
    sbml.add_argument("--out", metavar="FILE.xml", help="output file (default: standard output)")
    sbml.add_argument("--drop-bone-agents", action="store_true",
                      help="export a scenario that has bone agents WITHOUT them (a warning is printed and written into the model)")
    sbml.set_defaults(handler=run_sbml)


def run_sbml(args: argparse.Namespace) -> int:
    from osteotwin.commands.simulate import load_scenario
    from osteotwin.interop.sbml import export_sbml

    if args.out:
        check_output_file(args.out, "--out", ".xml")
    text, warnings = export_sbml(load_scenario(args.scenario), drop_bone_agents=args.drop_bone_agents)
    for warning in warnings:
        print(warning, file=sys.stderr)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"SBML written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
