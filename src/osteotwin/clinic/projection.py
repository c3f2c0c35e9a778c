"""The engine's projection of a record: the one set of comparison regimens (:func:`comparison`, used by the
web projection page and by the assessment) and the assessment's projection of BMD and fracture risk at 1, 3 and
5 years, with and without the recommended bone agent. This is a call into the engine
(``osteotwin.simulate_batch``), not a copy.

When the engine is not importable the assessment says so in ``projection_note``; nothing is faked.

Choices that are ours (labelled in the output):
- the bone agent simulated: denosumab 60 mg every 6 months (Hadji 2017: strongest fracture evidence),
  zoledronic acid 4 mg every 6 months when an adjuvant bisphosphonate is indicated, or the bone agent the
  patient already takes; it is continued over the whole 5-year horizon;
- years since menopause, when not recorded: age - 51 (ours), at least 0;
- fracture risk at each time is the engine's own (``physiology/fracture.py``, ``ten_year_fracture_risk``): the
  Scenario carries the record's risk factors (``fracture_risk.scenario_risk_factors``), so month 0 equals the
  assessment's ``fracture_risk`` numbers and no second formula exists here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from osteotwin.catalog import SITES, default_years_since_menopause
from osteotwin.clinic.assessment import Assessment, Projection, ProjectionPoint
from osteotwin.clinic.evaluate import latest_per_site
from osteotwin.clinic.fracture_risk import ai_months_remaining, scenario_risk_factors
from osteotwin.clinic.record import AROMATASE_INHIBITORS, BONE_AGENTS, PatientRecord

HORIZON_MONTHS = 60
DENOSUMAB_STOP_MONTH = 24  # "denosumab for 2 years, then stopped": ours, to show the rebound within 5 years
REPORT_MONTHS = (0, 12, 36, 60)  # month 0: today, equal to the assessment's fracture risk
ENGINE_AGENTS = {"denosumab", "zoledronic_acid", "alendronate", "risedronate", "ibandronate"}
# Label schedules [A: product labels]: denosumab 60 mg every 6 months (Prolia; adjuvant ABCSG-18, Gnant et al.,
# Lancet 2015); zoledronic acid 4 mg every 6 months (adjuvant ABCSG-12, Gnant et al. NEJM 2009; Z-FAST, Brufsky
# et al. JCO 2007); alendronate 70 mg and risedronate 35 mg weekly, ibandronate 150 mg monthly (oral labels).
SCHEDULES: dict[str, dict[str, Any]] = {
    "denosumab": {"dose_mg": 60, "every_months": 6},
    "zoledronic_acid": {"dose_mg": 4, "every_months": 6},
    "alendronate": {"dose_mg": 70, "every_days": 7},
    "risedronate": {"dose_mg": 35, "every_days": 7},
    "ibandronate": {"dose_mg": 150, "every_months": 1},
}


def _engine():
    try:
        from osteotwin import simulate_batch  # type: ignore[attr-defined]
    except ImportError:
        return None
    return simulate_batch


def _current_agent(record: PatientRecord, today: date) -> str | None:
    """The bone agent she is on today (the newest one started and not stopped), or None."""
    current = [m for m in record.medications if m.drug in ENGINE_AGENTS and m.first_date <= today
               and (m.stop_date is None or m.stop_date > today)]
    return max(current, key=lambda m: m.first_date).drug if current else None


def _agent_to_simulate(record: PatientRecord, assessment: Assessment, today: date) -> str:
    current = _current_agent(record, today)
    if current is not None:
        return current
    renal_limit = any(a.id == "renal_contraindication_bisphosphonate" for a in assessment.alerts)
    if "hadji2017_adjuvant_bp_recurrence" in assessment.because and not renal_limit:
        return "zoledronic_acid"
    return "denosumab"


def scenario_patient(record: PatientRecord) -> dict[str, Any]:
    """The Scenario ``patient`` block of a record: age, years since menopause, body size, the newest T-score
    per engine site and the fracture risk factors (mapped as the assessment maps them, so that the engine's
    fracture risk at month 0 equals the assessment's: one path, ``physiology/fracture.ten_year_fracture_risk``).

    Years since menopause, when not recorded: the catalog's population default (menopause at 51), and never
    more than the years since age 12.
    """
    age = record.patient.age_years
    ysm = record.patient.years_since_menopause
    if ysm is None:
        ysm = default_years_since_menopause(age)
    block: dict[str, Any] = {"age_years": age, "years_since_menopause": min(ysm, max(0.0, age - 12)),
                             "weight_kg": record.patient.weight_kg, "height_cm": record.patient.height_cm}
    latest = latest_per_site(record.dxa)
    block.update({f"{site}_t_score": latest[site].t_score for site in SITES
                  if site in latest and latest[site].t_score is not None})
    block["risk_factors"] = scenario_risk_factors(record).model_dump(mode="json")
    return block


@dataclass(frozen=True)
class ComparisonRegimen:
    """One regimen of the comparison: its key (the personal twin's regimen keys where they mean the same,
    twin/personal/projections.py), a label in a clinician's words and the Scenario the engine runs."""

    key: str
    label: str
    scenario: dict[str, Any]


@dataclass(frozen=True)
class Comparison:
    """The comparison regimens of one record, the reference for "difference" (``ai_alone``, or ``continue``
    when she takes no bone agent, which then is the AI alone) and what was assumed, in words."""

    regimens: list[ComparisonRegimen]
    reference: str
    assumptions: list[str]

    def scenarios(self) -> dict[str, dict[str, Any]]:
        return {r.key: r.scenario for r in self.regimens}


def _schedule_words(agent: str) -> str:
    schedule = SCHEDULES[agent]
    every = (f"every {schedule['every_months']:g} months" if "every_months" in schedule
             else f"every {schedule['every_days']:g} days")
    return f"{agent.replace('_', ' ')} {schedule['dose_mg']:g} mg {every}"


def comparison(record: PatientRecord, today: date, lifestyle: dict[str, Any] | None = None,
               months: int = HORIZON_MONTHS) -> Comparison | str:
    """The one set of comparison regimens (web projection page and the assessment's projection), each starting
    today from her newest T-scores, or the reason none can be built.

    - ``continue``: her current treatment as recorded: the aromatase inhibitor she takes, for the months left of
      its course (``fracture_risk.ai_months_remaining``: to its stop date, else start + planned AI years), and the
      bone agent she is on, continued at its label schedule (``SCHEDULES``);
    - ``ai_alone``: the same AI without a bone agent (only when she takes one; otherwise ``continue`` is the AI alone);
    - ``lifestyle_plan``: ``continue`` plus the lifestyle plan's diet, supplements, exercise and gut blocks (only when
      ``lifestyle`` is given: the web passes the planner's ``regimen`` blocks);
    - ``denosumab``, ``zoledronic_acid``: the AI plus that agent on its label schedule over the horizon (a switch
      when she takes another agent; left out when it is the one she continues);
    - ``denosumab_2y_then_stop``: the AI plus denosumab for 2 years, then stopped without a follow-on: the rebound
      that the labels warn of (2 years: ours, to show it within the horizon).

    No AI recorded: none is simulated (said in ``assumptions``); nothing is assumed in its place.
    """
    patient = scenario_patient(record)
    if any(f"{site}_t_score" not in patient for site in SITES):
        return "the engine needs baseline lumbar-spine and total-hip T-scores"
    assumptions: list[str] = []
    ai_courses = sorted((m for m in record.medications if m.drug in AROMATASE_INHIBITORS), key=lambda m: m.first_date)
    remaining = ai_months_remaining(record, today)
    endocrine: list[dict[str, Any]] = []
    ai_words = "no aromatase inhibitor"
    if ai_courses and remaining > 0:
        drug = ai_courses[-1].drug
        # A course that runs past the horizon stays open (a stop at the horizon would show its last month off the AI).
        stop = remaining if remaining < months else None
        endocrine = [{"drug": drug, "start_month": 0, "stop_month": stop, "adherence": 1.0}]
        ai_words = drug + (f" (its course ends in {remaining} months)" if stop is not None else "")
        if not any(m.stop_date or m.planned_stop_date for m in ai_courses):
            assumptions.append(f"{drug}: no stop date recorded, so {record.planned_ai_years:g} years in all from its "
                               "start are assumed (the record's planned AI years).")
    elif ai_courses:
        assumptions.append(f"{ai_courses[-1].drug}: the course has ended, so no aromatase inhibitor is simulated.")
    else:
        assumptions.append("No aromatase inhibitor is recorded, so none is simulated: add her AI course to see the "
                           "loss it causes.")
    if any(m.drug == "tamoxifen" and (m.stop_date is None or m.stop_date > today) for m in record.medications):
        assumptions.append("Tamoxifen is recorded but not simulated here (the comparison follows the AI).")
    base = {"patient": patient, "months": months, "endocrine_therapy": endocrine}
    current = _current_agent(record, today)

    def agent_block(agent: str, stop_month: float | None = None) -> dict[str, Any]:
        return {"drug": agent, **SCHEDULES[agent], "start_month": 0, "stop_month": stop_month or months}

    ai_label = ai_words.split(" (")[0].capitalize()
    prefix = f"{ai_label} + " if endocrine else ""  # no AI simulated: the rows name the bone agent only

    def sentence(words: str) -> str:
        return words[:1].upper() + words[1:]

    continue_agents = [agent_block(current)] if current else []
    continue_words = ai_words + (f" + {_schedule_words(current)}" if current else "")
    regimens = [ComparisonRegimen("continue", f"Continue current treatment: {continue_words}",
                                  {**base, "bone_agents": continue_agents})]
    if current:
        alone = f"{ai_label} alone" if endocrine else "No bone drug"
        regimens.append(ComparisonRegimen("ai_alone", f"{alone} (stop {current.replace('_', ' ')})",
                                          {**base, "bone_agents": []}))
    if lifestyle:
        blocks = {k: v for k, v in lifestyle.items() if k in ("diet", "supplements", "exercise", "gut") and v is not None}
        regimens.append(ComparisonRegimen("lifestyle_plan", "Current treatment + her lifestyle plan (diet, "
                                          "supplements, exercise)", {**base, "bone_agents": continue_agents, **blocks}))
    for agent in ("denosumab", "zoledronic_acid"):
        if agent != current:
            verb = "switch to " if current else ""
            regimens.append(ComparisonRegimen(agent, sentence(f"{prefix}{verb}{_schedule_words(agent)}"),
                                              {**base, "bone_agents": [agent_block(agent)]}))
    stopped_words = "continue denosumab for 2 years" if current == "denosumab" else "denosumab for 2 years"
    regimens.append(ComparisonRegimen("denosumab_2y_then_stop",
                                      sentence(f"{prefix}{stopped_words}, then stop without a follow-on"),
                                      {**base, "bone_agents": [agent_block("denosumab", DENOSUMAB_STOP_MONTH)]}))
    if current:
        assumptions.append(f"{current.replace('_', ' ')}: doses before today are not simulated; every regimen starts "
                           "from today's T-scores.")
    return Comparison(regimens, "ai_alone" if current else "continue", assumptions)


def build_scenarios(record: PatientRecord, assessment: Assessment, today: date) -> tuple[dict, dict, str] | str:
    """(without, with, agent) Scenario dicts for the assessment's projection, taken from :func:`comparison`:
    without = the AI alone; with = her current bone agent continued, else the agent the assessment points to."""
    built = comparison(record, today)
    if isinstance(built, str):
        return built
    scenarios = built.scenarios()
    agent = _agent_to_simulate(record, assessment, today)
    with_agent = scenarios["continue"] if _current_agent(record, today) == agent else scenarios[agent]
    return scenarios[built.reference], with_agent, agent


# The fracture outcomes a projection reports: short name -> the engine's trajectory field (10-year risk, %).
FRACTURE_FIELDS = {"major_osteoporotic": "major_osteoporotic_fracture_10y_pct", "hip": "hip_fracture_10y_pct"}


def cumulative_fracture_risk_pct(ten_year_pct: list[float], months: int) -> float:
    """The risk (%) of a fracture within the first ``months`` of a trajectory, from the engine's 10-year risk at
    each month (one path: ``physiology/fracture.ten_year_fracture_risk``). Each month's 10-year probability p is
    read as a constant yearly hazard -ln(1 - p)/10 over that month, and the hazards add up [A: ours; the
    constant-hazard reading of a 10-year probability ignores competing mortality]."""
    p = [min(max(float(v), 0.0), 99.999) / 100.0 for v in ten_year_pct[:months]]
    hazard = sum(-math.log(1.0 - v) / 10.0 for v in p) / 12.0
    return 100.0 * (1.0 - math.exp(-hazard))


def _points(trajectory: Any) -> list[ProjectionPoint]:
    """The trajectory read at REPORT_MONTHS; fracture risk is the engine's (one path, physiology/fracture.py)."""
    months = list(trajectory.months)
    out = []
    for m in REPORT_MONTHS:
        i = min(range(len(months)), key=lambda k: abs(months[k] - m))
        out.append(ProjectionPoint(
            months=m, lumbar_spine_t_score=round(trajectory.lumbar_spine_t_score[i], 2),
            total_hip_t_score=round(trajectory.total_hip_t_score[i], 2),
            lumbar_spine_bmd_pct_change=round(trajectory.lumbar_spine_bmd_pct_change[i], 2),
            total_hip_bmd_pct_change=round(trajectory.total_hip_bmd_pct_change[i], 2),
            hip_fracture_10y_pct=round(trajectory.hip_fracture_10y_pct[i], 2),
            osteoporotic_fracture_10y_pct=round(trajectory.major_osteoporotic_fracture_10y_pct[i], 2),
        ))
    return out


def add_projection(record: PatientRecord, assessment: Assessment, today: date) -> Assessment:
    """The assessment with the engine projection added, or with ``projection_note`` saying why not."""
    simulate_batch = _engine()
    if simulate_batch is None:
        return assessment.model_copy(update={
            "projection_note": "not available: the physiology engine (osteotwin.simulate_batch) is not installed"})
    built = build_scenarios(record, assessment, today)
    if isinstance(built, str):
        return assessment.model_copy(update={"projection_note": f"not computed: {built}"})
    without, with_agent, agent = built
    trajectories = simulate_batch([without, with_agent])
    fields = ("lumbar_spine_t_score", "total_hip_t_score", "lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change",
              "major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct")
    if not all(math.isfinite(v) for t in trajectories for name in fields for v in getattr(t, name)):
        return assessment.model_copy(update={
            "projection_note": "not shown: the engine returned non-finite values (NaN or infinity) for these scenarios"})
    caveats = [
        "A mechanistic simulation calibrated to trial averages, not a guideline and not a prediction for this person.",
        f"Simulated agent: {agent} ({SCHEDULES[agent]}) over 5 years (choice and duration: ours).",
        "Fracture risk: the engine's model (QFracture-2009 with this record's risk factors x BMD gradient of risk, "
        "Johnell 2005, x falls x AI x turnover), the same function as the assessment's; month 0 is today (ours).",
    ]
    if any(m.drug in BONE_AGENTS and m.first_date <= today for m in record.medications):
        caveats.append("Bone-agent doses before today are not simulated: both courses start from today's "
                       "T-scores, so an earlier agent's offset (e.g. the rebound after stopping denosumab) is not shown.")
    if record.patient.years_since_menopause is None:
        caveats.append("Years since menopause not recorded: menopause at 51 assumed (ours).")
    for trajectory in trajectories:
        caveats.extend(getattr(trajectory, "warnings", []) or [])
    projection = Projection(
        bone_agent=agent, without_bone_agent=_points(trajectories[0]),
        with_bone_agent=_points(trajectories[1]),
        method="osteotwin.simulate_batch on two Scenarios (same patient and AI; with and without the bone agent)",
        caveats=caveats,
    )
    return assessment.model_copy(update={"projection": projection, "projection_note": None})


__all__ = ["BONE_AGENTS", "FRACTURE_FIELDS", "Comparison", "ComparisonRegimen", "add_projection", "build_scenarios", "comparison",
           "cumulative_fracture_risk_pct", "scenario_patient"]
