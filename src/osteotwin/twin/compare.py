"""``osteotwin simulate SCENARIO.json --compare``: what matters for me.

The seed question: can diet alone protect my bones on an aromatase inhibitor, and what do exercise and a drug
each add? Runs the same patient under several regimens, together in one batch, and reports the BMD and
fracture-risk difference each makes against "AI alone", led by one plain sentence per option (diet alone,
+ exercise, + a drug): how much of the AI bone loss at the horizon it prevents at each site, how sure the model
is, and the evidence note for it.

1. AI alone: the scenario's endocrine therapy (anastrozole for the whole horizon if none is given) with the
   scenario's own diet, supplements and gut blocks (population defaults for missing ones), no added exercise,
   no bone agent.
2. + diet: her diet raised to the targets where it falls short (:func:`guideline_diet`): total calcium
   1200 mg/d (BHOF 2022), a vitamin D supplement of 800 IU/d (Hadji 2017 / ASCO 2019), protein 1.2 g/kg/d
   (ESPEN 2014), fibre 25 g/d; what she already takes above a target is kept.
3. + exercise: the scenario's exercise block if it has one; otherwise :func:`guideline_programme`.
4. + diet and exercise.
5. + a drug: the scenario's bone agents if any; otherwise denosumab 60 mg every 6 months
   (ABCSG-18, Gnant 2015) for the horizon.
6. + diet, exercise and the drug.
7. AI, default diet (only when the scenario has diet, supplement or gut blocks): the AI with the population-default
   diet, so the diet answer can say what her own diet already does.

Each row: BMD % change and T-score per site at the horizon, the 10-year probabilities of a major
osteoporotic and a hip fracture at the horizon (model named below the table), falls per year, and
the difference from AI alone. Share of the AI loss prevented = (option - AI alone) / -(AI alone), in
BMD % change from month 0 at the horizon.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from osteotwin.lifestyle import exercise
from osteotwin.scenario import Scenario
from osteotwin.twin.outcomes import EVIDENCE_NOTES, FRACTURE_RISK_MODEL

# The diet targets (+ diet), each with its source.
TARGET_TOTAL_CALCIUM_MG_PER_DAY = 1200  # BHOF 2022 (women over 50)
TARGET_VITAMIN_D_SUPPLEMENT_IU_PER_DAY = 800  # Hadji 2017 AIBL position statement; ASCO 2019
TARGET_PROTEIN_G_PER_KG_PER_DAY = 1.2  # ESPEN 2014 expert group (older adults 1.0-1.2)
TARGET_FIBER_G_PER_DAY = 25  # ours [A]: common adult recommendation 25 g/d
REFERENCE_DIET_CALCIUM_MG_PER_DAY = 800  # Scenario Diet default = the engine's reference person (physiology/lifestyle.py)

DEFAULT_DRUG = [{"drug": "denosumab", "dose_mg": 60, "every_months": 6, "start_month": 0}]

SAFETY_NOTE = ("The exercise programme is the planner's default prescription (lifestyle/exercise.py): moderate "
               "resistance, with impact only when no T-score is <= -2.5 (Too Fit To Fracture); supervised high-"
               "intensity training (LIFTMOR) is an option the planner offers, not the default.")

# How sure the model is about each option, and why (the seed sentences print these).
CERTAINTY = {
    "diet": ("moderate", "calcium and vitamin D are calibrated to meta-analyses of trials in postmenopausal women "
             "(Tang 2007, WHI); no trial in women on an aromatase inhibitor"),
    "exercise": ("low", "calibrated to exercise trials of 8-14 months in postmenopausal women (LIFTMOR, EFOPS, meta-"
                 "analyses); after the first year the spine gain stops growing (osteocyte accommodation, fitted) and the "
                 "hip gain grows only as the new bone mineralises; the model's hip gain exceeds EFOPS's, and exercise "
                 "trials in women on aromatase inhibitors found no significant hip difference: read it as optimistic"),
    "drug": ("high", "denosumab and zoledronic acid are calibrated to trials in women on aromatase inhibitors "
             "(ABCSG-18, ZO-FAST) and in osteoporosis (FREEDOM, HORIZON)"),
}
DIET_EVIDENCE = "calcium/vitamin D calibrated to Tang 2007 and WHI"
DRUG_EVIDENCE = ("bone drugs: denosumab calibrated to ABCSG-18 and FREEDOM, zoledronic acid to ZO-FAST and HORIZON "
                 "(drug suite, docs/calibration.md)")


def guideline_programme(scenario: Scenario) -> dict[str, object]:
    """The exercise programme of "+ exercise" when the scenario has none: the one the planner prescribes for her
    T-scores (lifestyle/exercise.guideline_programme: one set of safety rules everywhere)."""
    return exercise.guideline_programme(lumbar_spine_t_score=scenario.patient.lumbar_spine_t_score,
                                        total_hip_t_score=scenario.patient.total_hip_t_score).model_dump()


def guideline_diet(scenario: Scenario) -> dict[str, dict]:
    """Her diet, supplements and gut blocks raised to the targets where they fall short (module docstring)."""
    base = scenario.model_dump()
    diet = dict(base["diet"] or {})
    supplements = dict(base["supplements"] or {})
    food_calcium = diet.get("calcium_mg_per_day", REFERENCE_DIET_CALCIUM_MG_PER_DAY)
    missing_calcium = TARGET_TOTAL_CALCIUM_MG_PER_DAY - food_calcium - supplements.get("calcium_mg_per_day", 0)
    supplements["calcium_mg_per_day"] = supplements.get("calcium_mg_per_day", 0) + max(missing_calcium, 0)
    supplements["vitamin_d_iu_per_day"] = max(supplements.get("vitamin_d_iu_per_day", 0), TARGET_VITAMIN_D_SUPPLEMENT_IU_PER_DAY)
    diet["protein_g_per_kg_per_day"] = max(diet.get("protein_g_per_kg_per_day", 1.0), TARGET_PROTEIN_G_PER_KG_PER_DAY)
    diet["fiber_g_per_day"] = max(diet.get("fiber_g_per_day", 18), TARGET_FIBER_G_PER_DAY)
    blocks = {"diet": diet, "supplements": supplements}
    if base["gut"] is not None:
        blocks["gut"] = base["gut"]
    return blocks


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
    """The regimens to compare, built from one scenario (same patient, horizon, diet and supplements)."""
    base = scenario.model_dump()
    endocrine = base["endocrine_therapy"] or [{"drug": "anastrozole", "start_month": 0, "stop_month": None, "adherence": 1.0}]
    own_blocks = {name: base[name] for name in ("diet", "supplements", "gut") if base[name] is not None}
    diet_blocks = guideline_diet(scenario)
    exercise = base["exercise"] or guideline_programme(scenario)
    drug = base["bone_agents"] or DEFAULT_DRUG
    core = {"patient": base["patient"], "months": base["months"], "endocrine_therapy": endocrine}
    variants = {
        "AI alone": own_blocks,
        "+ diet": diet_blocks,
        "+ exercise": {**own_blocks, "exercise": exercise},
        "+ diet + exercise": {**diet_blocks, "exercise": exercise},
        "+ drug": {**own_blocks, "bone_agents": drug},
        "+ diet + exercise + drug": {**diet_blocks, "exercise": exercise, "bone_agents": drug},
    }
    if own_blocks:  # what her own diet and supplements already do, against the population-default diet
        variants[DEFAULT_DIET_ROW] = {}
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


def evidence_note(prefix: str) -> str:
    """The evidence note (outcomes.EVIDENCE_NOTES) that starts with ``prefix``."""
    return next(note for note in EVIDENCE_NOTES if note.startswith(prefix))


DEFAULT_DIET_ROW = "AI, default diet"
SEED_OPTIONS = (("Diet alone", "+ diet", "diet"), ("+ exercise", "+ diet + exercise", "exercise"),
                ("+ a drug", "+ diet + exercise + drug", "drug"))


@dataclass(frozen=True)
class SeedAnswer:
    """One option of the seed question: the share of the AI bone loss it prevents at the horizon, per site."""

    option: str
    regimen: str
    lumbar_spine_share_of_ai_loss_prevented_pct: float | None  # None: no loss on AI alone at that site
    total_hip_share_of_ai_loss_prevented_pct: float | None
    certainty: str
    certainty_reason: str
    evidence: str
    sentence: str


def _share(option_pct: float, ai_alone_pct: float) -> float | None:
    return None if ai_alone_pct >= 0.0 else 100.0 * (option_pct - ai_alone_pct) / -ai_alone_pct


def _share_words(share: float | None, difference_pp: float, site: str) -> str:
    if share is None:
        return f"{difference_pp:+.1f} points at the {site} (no loss there on the AI alone)"
    if share > 100.0:
        return f"all of it at the {site} and more ({share:.0f}%, {difference_pp:+.1f} points)"
    return f"{share:.0f}% at the {site} ({difference_pp:+.1f} points)"


def seed_answers(rows: list[ComparisonRow], scenarios: dict[str, Scenario]) -> list[SeedAnswer]:
    """One answer per option (diet alone, + exercise, + a drug), each cumulative on the one before."""
    by_name = {row.regimen: row for row in rows}
    ai = by_name["AI alone"]
    months = next(iter(scenarios.values())).months
    describe_lines = dict(zip(scenarios, describe(scenarios), strict=True))
    evidence = {"diet": DIET_EVIDENCE, "exercise": evidence_note("exercise:"), "drug": DRUG_EVIDENCE}
    answers = []
    for option, regimen, kind in SEED_OPTIONS:
        row = by_name[regimen]
        ls = _share(row.lumbar_spine_bmd_pct_change, ai.lumbar_spine_bmd_pct_change)
        th = _share(row.total_hip_bmd_pct_change, ai.total_hip_bmd_pct_change)
        certainty, reason = CERTAINTY[kind]
        what = describe_lines[regimen].split(";", 1)[-1].strip()
        sentence = (f"{option} ({what}) prevents {_share_words(ls, row.lumbar_spine_bmd_difference_pp, 'spine')} and "
                    f"{_share_words(th, row.total_hip_bmd_difference_pp, 'hip')} of the bone loss on the AI alone at "
                    f"{months:g} months; how sure the model is: {certainty}.")
        if kind == "diet" and DEFAULT_DIET_ROW in by_name:
            default = by_name[DEFAULT_DIET_ROW]
            own_ls = _share(ai.lumbar_spine_bmd_pct_change, default.lumbar_spine_bmd_pct_change)
            own_th = _share(ai.total_hip_bmd_pct_change, default.total_hip_bmd_pct_change)
            sentence += (" Her own diet and supplements, already in AI alone, prevent "
                         f"{_share_words(own_ls, -default.lumbar_spine_bmd_difference_pp, 'spine')} and "
                         f"{_share_words(own_th, -default.total_hip_bmd_difference_pp, 'hip')} of the loss on the AI "
                         "with the population-default diet (calcium 800 mg/d, vitamin D 200 IU/d).")
        answers.append(SeedAnswer(option, regimen, ls, th, certainty, reason, evidence[kind], sentence))
    return answers


def describe(scenarios: dict[str, Scenario]) -> list[str]:
    """One line per regimen saying what it holds (AI alone shows her own diet and supplements)."""
    lines = []
    for name, scenario in scenarios.items():
        parts = []
        diet, supplements = scenario.diet, scenario.supplements
        calcium = (diet.calcium_mg_per_day if diet else REFERENCE_DIET_CALCIUM_MG_PER_DAY) + (supplements.calcium_mg_per_day if supplements else 0)
        vitamin_d = (diet.vitamin_d_iu_per_day if diet else 200) + (supplements.vitamin_d_iu_per_day if supplements else 0)
        protein = diet.protein_g_per_kg_per_day if diet else 1.0
        parts.append(f"calcium {calcium:g} mg/d, vitamin D {vitamin_d:g} IU/d, protein {protein:g} g/kg/d"
                     + (", probiotic" if scenario.gut and scenario.gut.probiotic else "")
                     + ("" if (diet or supplements) else " (population default diet)"))
        if scenario.exercise:
            e = scenario.exercise
            parts.append(f"walking {e.walking_minutes_per_week:g} min/wk, resistance {e.resistance_sessions_per_week:g}/wk "
                         f"({e.resistance_intensity}), impact {e.impact_sessions_per_week:g}/wk, balance "
                         f"{e.balance_sessions_per_week:g}/wk")
        if scenario.bone_agents:
            parts.append(", ".join(agent.drug for agent in scenario.bone_agents))
        therapy = ", ".join(course.drug for course in scenario.endocrine_therapy)
        lines.append(f"  {name:<26} {therapy}; " + "; ".join(parts))
    return lines


def format_comparison(rows: list[ComparisonRow], scenarios: dict[str, Scenario]) -> str:
    months = next(iter(scenarios.values())).months
    answers = seed_answers(rows, scenarios)
    lines = [f"Can diet alone protect her bones on the AI, and what do exercise and a drug add? (model, {months:g} months)"]
    for answer in answers:
        lines.append(f"- {answer.sentence}")
        lines.append(f"  why {answer.certainty}: {answer.certainty_reason}; evidence: {answer.evidence}.")
    lines.append("")
    header = (f"{'regimen':<26}{'LS %chg':>9}{'TH %chg':>9}{'LS T':>7}{'TH T':>7}{'MOF 10y%':>10}{'hip 10y%':>10}"
              f"{'falls/y':>9}{'dLS pp':>8}{'dTH pp':>8}{'dMOF pp':>9}{'dhip pp':>9}")
    lines += [f"osteotwin simulate --compare: the same patient over {months:g} months; values at month {months:g}; "
              "d = difference from AI alone (her own diet and supplements, no added exercise, no bone agent)", header]
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
    lines.extend(f"evidence: {evidence_note(prefix)}." for prefix in ("gut-bone axis:", "protein,"))
    lines.append("safety: " + SAFETY_NOTE)
    return "\n".join(lines)


def run_compare(scenario: Scenario, as_json: bool = False) -> int:
    """The CLI action: print the comparison as a table or as one JSON object."""
    rows, scenarios = compare(scenario)
    if as_json:
        print(json.dumps({
            "months": scenario.months,
            "seed_answers": [asdict(answer) for answer in seed_answers(rows, scenarios)],
            "rows": [asdict(row) for row in rows],
            "regimens": {name: s.model_dump(exclude_none=True) for name, s in scenarios.items()},
            "fracture_risk_model": FRACTURE_RISK_MODEL,
            "safety_note": SAFETY_NOTE,
        }, separators=(",", ":")))
    else:
        print(format_comparison(rows, scenarios))
    return 0
