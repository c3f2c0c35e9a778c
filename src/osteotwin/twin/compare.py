"""``osteotwin simulate SCENARIO.json --compare``: what matters for me.

Runs the same patient under several regimens, together in one batch, and reports the BMD and
fracture-risk difference each makes against "AI alone":

1. AI alone: the scenario's endocrine therapy (anastrozole for the whole horizon if none is
   given), population-default diet, no supplements, habitual activity, no bone agent.
2. + diet: the scenario's diet, supplements and gut blocks if it has any; otherwise a diet that
   meets the guideline targets (total calcium 1200 mg/d, BHOF 2022; vitamin D 800 IU/d from a
   supplement, Hadji 2017 / ASCO 2019; protein 1.2 g/kg/d, ESPEN 2014; fibre 25 g/d).
3. + exercise: the scenario's exercise block if it has one; otherwise a multicomponent programme
   (Too Fit To Fracture 2014; ESSA 2017): walking 150 min/week, resistance 2 sessions/week at high
   intensity (LIFTMOR, supervised; moderate if a T-score is <= -2.5), impact 3 sessions/week
   (none if a T-score is <= -2.5), balance 3 sessions/week.
4. + diet and exercise.
5. + a drug: the scenario's bone agents if any; otherwise denosumab 60 mg every 6 months
   (ABCSG-18, Gnant 2015) for the horizon.
6. + diet, exercise and the drug.

Each row: BMD % change and T-score per site at the horizon, the 10-year probabilities of a major
osteoporotic and a hip fracture at the horizon (model named below the table), falls per year, and
the difference from AI alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from osteotwin.scenario import Scenario
from osteotwin.twin.outcomes import EVIDENCE_NOTES, FRACTURE_RISK_MODEL

GUIDELINE_DIET = {"calcium_mg_per_day": 800, "vitamin_d_iu_per_day": 200, "protein_g_per_kg_per_day": 1.2,
                  "fiber_g_per_day": 25}
GUIDELINE_SUPPLEMENTS = {"calcium_mg_per_day": 400, "vitamin_d_iu_per_day": 800}
GUIDELINE_EXERCISE = {"walking_minutes_per_week": 150, "resistance_sessions_per_week": 2, "resistance_intensity": "high",
                      "impact_sessions_per_week": 3, "balance_sessions_per_week": 3}
OSTEOPOROSIS_EXERCISE = {"walking_minutes_per_week": 150, "resistance_sessions_per_week": 2,
                         "resistance_intensity": "moderate", "impact_sessions_per_week": 0, "balance_sessions_per_week": 3}
DEFAULT_DRUG = [{"drug": "denosumab", "dose_mg": 60, "every_months": 6, "start_month": 0}]

SAFETY_NOTE = ("High-intensity resistance and impact training were tested supervised, after familiarisation, in women "
               "screened for vertebral fracture (LIFTMOR); with a T-score <= -2.5 the default programme uses moderate "
               "resistance and no impact (Too Fit To Fracture).")


@dataclass(frozen=True)
class ComparisonRow:
    regimen: str
    lumbar_spine_bmd_pct_change: float
    total_hip_bmd_pct_change: float
    lumbar_spine_t_score: float
    total_hip_t_score: float
    major_osteoporotic_fracture_10y_pct: float
    hip_fracture_10y_pct: float
    falls_per_year: float
    lumbar_spine_bmd_difference_pp: float
    total_hip_bmd_difference_pp: float
    major_osteoporotic_fracture_difference_pp: float
    hip_fracture_difference_pp: float


def comparison_scenarios(scenario: Scenario) -> dict[str, Scenario]:
    """The regimens to compare, built from one scenario (same patient and horizon)."""
    base = scenario.model_dump()
    endocrine = base["endocrine_therapy"] or [{"drug": "anastrozole", "start_month": 0, "stop_month": None, "adherence": 1.0}]
    lowest_t = min(scenario.patient.lumbar_spine_t_score, scenario.patient.total_hip_t_score)
    has_diet = any(base[name] is not None for name in ("diet", "supplements", "gut"))
    diet_blocks = ({name: base[name] for name in ("diet", "supplements", "gut") if base[name] is not None}
                   if has_diet else {"diet": GUIDELINE_DIET, "supplements": GUIDELINE_SUPPLEMENTS})
    exercise = base["exercise"] or (OSTEOPOROSIS_EXERCISE if lowest_t <= -2.5 else GUIDELINE_EXERCISE)
    drug = base["bone_agents"] or DEFAULT_DRUG
    core = {"patient": base["patient"], "months": base["months"], "endocrine_therapy": endocrine}
    variants = {
        "AI alone": {},
        "+ diet": diet_blocks,
        "+ exercise": {"exercise": exercise},
        "+ diet + exercise": {**diet_blocks, "exercise": exercise},
        "+ drug": {"bone_agents": drug},
        "+ diet + exercise + drug": {**diet_blocks, "exercise": exercise, "bone_agents": drug},
    }
    return {name: Scenario.model_validate({**core, **blocks}) for name, blocks in variants.items()}


def compare(scenario: Scenario) -> tuple[list[ComparisonRow], dict[str, Scenario]]:
    """Simulate every regimen together; rows in the order of :func:`comparison_scenarios`."""
    from osteotwin.twin.simulation import simulate_batch

    scenarios = comparison_scenarios(scenario)
    trajectories = simulate_batch(list(scenarios.values()))
    last = {name: trajectory for name, trajectory in zip(scenarios, trajectories, strict=True)}
    base = last["AI alone"]

    def end(trajectory, field: str) -> float:
        return float(getattr(trajectory, field)[-1])

    rows = []
    for name, trajectory in last.items():
        rows.append(ComparisonRow(
            regimen=name,
            lumbar_spine_bmd_pct_change=end(trajectory, "lumbar_spine_bmd_pct_change"),
            total_hip_bmd_pct_change=end(trajectory, "total_hip_bmd_pct_change"),
            lumbar_spine_t_score=end(trajectory, "lumbar_spine_t_score"),
            total_hip_t_score=end(trajectory, "total_hip_t_score"),
            major_osteoporotic_fracture_10y_pct=end(trajectory, "major_osteoporotic_fracture_10y_pct"),
            hip_fracture_10y_pct=end(trajectory, "hip_fracture_10y_pct"),
            falls_per_year=end(trajectory, "falls_per_year"),
            lumbar_spine_bmd_difference_pp=end(trajectory, "lumbar_spine_bmd_pct_change") - end(base, "lumbar_spine_bmd_pct_change"),
            total_hip_bmd_difference_pp=end(trajectory, "total_hip_bmd_pct_change") - end(base, "total_hip_bmd_pct_change"),
            major_osteoporotic_fracture_difference_pp=(end(trajectory, "major_osteoporotic_fracture_10y_pct")
                                                       - end(base, "major_osteoporotic_fracture_10y_pct")),
            hip_fracture_difference_pp=end(trajectory, "hip_fracture_10y_pct") - end(base, "hip_fracture_10y_pct"),
        ))
    return rows, scenarios


def describe(scenarios: dict[str, Scenario]) -> list[str]:
    """One line per regimen saying what was added."""
    lines = []
    for name, scenario in scenarios.items():
        parts = []
        if scenario.diet or scenario.supplements or scenario.gut:
            diet = scenario.diet
            supplements = scenario.supplements
            calcium = (diet.calcium_mg_per_day if diet else 800) + (supplements.calcium_mg_per_day if supplements else 0)
            vitamin_d = (diet.vitamin_d_iu_per_day if diet else 200) + (supplements.vitamin_d_iu_per_day if supplements else 0)
            parts.append(f"calcium {calcium:g} mg/d, vitamin D {vitamin_d:g} IU/d"
                         + (", probiotic" if scenario.gut and scenario.gut.probiotic else ""))
        if scenario.exercise:
            e = scenario.exercise
            parts.append(f"walking {e.walking_minutes_per_week:g} min/wk, resistance {e.resistance_sessions_per_week:g}/wk "
                         f"({e.resistance_intensity}), impact {e.impact_sessions_per_week:g}/wk, balance "
                         f"{e.balance_sessions_per_week:g}/wk")
        if scenario.bone_agents:
            parts.append(", ".join(agent.drug for agent in scenario.bone_agents))
        therapy = ", ".join(course.drug for course in scenario.endocrine_therapy)
        lines.append(f"  {name:<26} {therapy}" + ("; " + "; ".join(parts) if parts else ""))
    return lines


def format_comparison(rows: list[ComparisonRow], scenarios: dict[str, Scenario]) -> str:
    months = next(iter(scenarios.values())).months
    header = (f"{'regimen':<26}{'LS %chg':>9}{'TH %chg':>9}{'LS T':>7}{'TH T':>7}{'MOF 10y%':>10}{'hip 10y%':>10}"
              f"{'falls/y':>9}{'dLS pp':>8}{'dTH pp':>8}{'dMOF pp':>9}{'dhip pp':>9}")
    lines = [f"osteotwin simulate --compare: the same patient over {months:g} months; values at month {months:g}; "
             "d = difference from AI alone", header]
    for row in rows:
        lines.append(
            f"{row.regimen:<26}{row.lumbar_spine_bmd_pct_change:>+9.2f}{row.total_hip_bmd_pct_change:>+9.2f}"
            f"{row.lumbar_spine_t_score:>+7.2f}{row.total_hip_t_score:>+7.2f}{row.major_osteoporotic_fracture_10y_pct:>10.2f}"
            f"{row.hip_fracture_10y_pct:>10.2f}{row.falls_per_year:>9.2f}{row.lumbar_spine_bmd_difference_pp:>+8.2f}"
            f"{row.total_hip_bmd_difference_pp:>+8.2f}{row.major_osteoporotic_fracture_difference_pp:>+9.2f}"
            f"{row.hip_fracture_difference_pp:>+9.2f}")
    lines.append("regimens:")
    lines.extend(describe(scenarios))
    lines.append(f"fracture risk model: {FRACTURE_RISK_MODEL}")
    lines.append("evidence: calcium/vitamin D calibrated to Tang 2007 and WHI.")
    lines.extend(f"evidence: {note}." for note in EVIDENCE_NOTES[:3])
    lines.append("safety: " + SAFETY_NOTE)
    return "\n".join(lines)


def run_compare(scenario: Scenario, as_json: bool = False) -> int:
    """The CLI action: print the comparison as a table or as one JSON object."""
    rows, scenarios = compare(scenario)
    if as_json:
        print(json.dumps({
            "months": scenario.months,
            "rows": [asdict(row) for row in rows],
            "regimens": {name: s.model_dump(exclude_none=True) for name, s in scenarios.items()},
            "fracture_risk_model": FRACTURE_RISK_MODEL,
            "safety_note": SAFETY_NOTE,
        }, separators=(",", ":")))
    else:
        print(format_comparison(rows, scenarios))
    return 0
