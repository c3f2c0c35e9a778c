"""``osteotwin simulate SCENARIO.json [--json] [--plot FILE.png]``: run the engine on one scenario.

Default output: a table with one row per year (and the last month) of BMD per site (g/cm2,
% change, T-score), turnover markers and estradiol; warnings go to stderr. ``--json`` prints
one JSON object with the Trajectory fields (warnings inside it). ``--plot`` writes a PNG of
BMD % change and T-score over time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from osteotwin.errors import InputError, check_output_file, describe_document, load_json_file, wrong_document
from osteotwin.scenario import Scenario, Trajectory


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("simulate", help="simulate one scenario (BMD, T-scores, markers over time)")
    parser.add_argument("scenario", help="scenario JSON file, e.g. examples/anastrozole_5y.json (see `osteotwin schema`)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the Trajectory fields")
    parser.add_argument("--plot", metavar="FILE.png", help="write a PNG of BMD over time (into an existing folder)")
    parser.add_argument("--compare", action="store_true",
                        help="compare AI alone, + diet, + exercise, + both, + a drug (BMD and fracture-risk differences)")
    parser.set_defaults(handler=run)


SCENARIO_EXAMPLE = "examples/anastrozole_5y.json; `osteotwin schema` prints its JSON Schema"
NOT_SCENARIOS = ("a FHIR", "a patient record", "a lifestyle profile", "a food log", "an exercise log")


def load_scenario(path: str) -> Scenario:
    """A Scenario from a JSON file; a file of another kind (a FHIR resource, a patient record) is named as such."""
    data = load_json_file(path, "scenario")
    if not isinstance(data, dict) or describe_document(data).startswith(NOT_SCENARIOS):
        raise wrong_document(data, "scenario", path, "a scenario", SCENARIO_EXAMPLE)
    return Scenario.model_validate(data)


def run(args: argparse.Namespace) -> int:
    if args.plot:
        check_output_file(args.plot, "--plot", ".png")
        if getattr(args, "compare", False):
            raise InputError("--plot", args.plot, "not with --compare (the plot shows one scenario)")
    scenario = load_scenario(args.scenario)
    if getattr(args, "compare", False):
        from osteotwin.twin.compare import run_compare

        return run_compare(scenario, as_json=args.json)
    from osteotwin.twin.simulation import simulate

    trajectory = simulate(scenario)
    if args.plot:
        write_plot(trajectory, scenario, Path(args.plot))
    if args.json:
        print(json.dumps(trajectory.model_dump(), separators=(",", ":")))
        return 0
    for warning in trajectory.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(format_table(trajectory, scenario))
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _rows(trajectory: Trajectory) -> list[int]:
    last = len(trajectory.months) - 1
    rows = list(range(0, last + 1, 12))
    if rows[-1] != last:
        rows.append(last)
    return rows


def format_table(trajectory: Trajectory, scenario: Scenario) -> str:
    """A fixed-width table: one row per year and the last month."""
    extra = trajectory.model_extra or {}
    has_dmab = "denosumab_serum_ug_per_ml" in extra and any(v > 0 for v in extra["denosumab_serum_ug_per_ml"])
    has_bp = "bisphosphonate_resorption_inhibition" in extra and any(v > 0 for v in extra["bisphosphonate_resorption_inhibition"])
    header = ["month", "LS g/cm2", "LS %chg", "LS T", "TH g/cm2", "TH %chg", "TH T", "CTX %chg", "P1NP %chg", "E2 pg/mL", "RANKL/OPG"]
    if has_dmab:
        header.append("Dmab ng/mL")
    if has_bp:
        header.append("BP inhib")
    lines = [" ".join(f"{h:>10}" for h in header)]
    for m in _rows(trajectory):
        cells = [
            f"{trajectory.months[m]:>10.0f}",
            f"{trajectory.lumbar_spine_bmd_g_cm2[m]:>10.3f}",
            f"{trajectory.lumbar_spine_bmd_pct_change[m]:>+10.2f}",
            f"{trajectory.lumbar_spine_t_score[m]:>+10.2f}",
            f"{trajectory.total_hip_bmd_g_cm2[m]:>10.3f}",
            f"{trajectory.total_hip_bmd_pct_change[m]:>+10.2f}",
            f"{trajectory.total_hip_t_score[m]:>+10.2f}",
            f"{trajectory.ctx_pct_change[m]:>+10.1f}",
            f"{trajectory.p1np_pct_change[m]:>+10.1f}",
            f"{trajectory.estradiol_pg_ml[m]:>10.2f}",
            f"{(trajectory.rankl_opg_ratio_relative or [float('nan')] * (m + 1))[m]:>10.2f}",
        ]
        if has_dmab:
            cells.append(f"{1000.0 * extra['denosumab_serum_ug_per_ml'][m]:>10.1f}")
        if has_bp:
            cells.append(f"{extra['bisphosphonate_resorption_inhibition'][m]:>10.2f}")
        lines.append(" ".join(cells))
    therapy = ", ".join(f"{c.drug} months {c.start_month:g}-{c.stop_month if c.stop_month is not None else scenario.months:g}"
                        for c in scenario.endocrine_therapy) or "no endocrine therapy"
    agents = ", ".join(a.drug for a in scenario.bone_agents) or "no bone agent"
    title = (f"osteotwin simulate: {scenario.months:g} months; {therapy}; {agents}. "
             "LS lumbar spine, TH total hip; %chg from month 0; CTX/P1NP % change from baseline; RANKL/OPG relative to untreated"
             + ("; Dmab = serum denosumab at the month's end (at 6-month marks: the trough just before the next dose)" if has_dmab else "")
             + ".")
    return title + "\n" + "\n".join(lines)


def write_plot(trajectory: Trajectory, scenario: Scenario, path: Path) -> None:
    """PNG: BMD % change (left) and T-score (right) per site over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = trajectory.months
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    left.plot(months, trajectory.lumbar_spine_bmd_pct_change, label="lumbar spine")
    left.plot(months, trajectory.total_hip_bmd_pct_change, label="total hip")
    left.axhline(0.0, color="grey", linewidth=0.5)
    left.set_xlabel("months")
    left.set_ylabel("BMD change from baseline (%)")
    left.legend()
    right.plot(months, trajectory.lumbar_spine_t_score, label="lumbar spine")
    right.plot(months, trajectory.total_hip_t_score, label="total hip")
    right.axhline(-2.5, color="red", linewidth=0.8, linestyle="--", label="osteoporosis (-2.5)")
    right.axhline(-1.0, color="orange", linewidth=0.8, linestyle="--", label="osteopenia (-1.0)")
    right.set_xlabel("months")
    right.set_ylabel("T-score")
    right.legend(fontsize="small")
    figure.suptitle("osteotwin: simulated BMD")
    figure.savefig(path, dpi=110)
    plt.close(figure)
