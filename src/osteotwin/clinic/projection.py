"""Item 6: the engine's projection of BMD and fracture risk at 1, 3 and 5 years, with and without
the recommended bone agent. This is a call into the engine (``osteotwin.simulate_batch``), not a copy.

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
from datetime import date
from typing import Any

from osteotwin.catalog import SITES, default_years_since_menopause
from osteotwin.clinic.assessment import Assessment, Projection, ProjectionPoint
from osteotwin.clinic.evaluate import latest_per_site
from osteotwin.clinic.fracture_risk import ai_months_remaining, scenario_risk_factors
from osteotwin.clinic.record import AROMATASE_INHIBITORS, BONE_AGENTS, PatientRecord

HORIZON_MONTHS = 60
REPORT_MONTHS = (0, 12, 36, 60)  # month 0: today, equal to the assessment's fracture risk
ENGINE_AGENTS = {"denosumab", "zoledronic_acid", "alendronate", "risedronate", "ibandronate"}
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


def _agent_to_simulate(record: PatientRecord, assessment: Assessment, today: date) -> str:
    current = [m.drug for m in record.medications if m.drug in ENGINE_AGENTS and m.first_date <= today]
    if current:
        return current[-1]
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


def build_scenarios(record: PatientRecord, assessment: Assessment, today: date) -> tuple[dict, dict, str] | str:
    """(without, with, agent) Scenario dicts for the engine, or the reason none can be built."""
    patient = scenario_patient(record)
    if any(f"{site}_t_score" not in patient for site in SITES):
        return "the engine needs baseline lumbar-spine and total-hip T-scores"
    ai = [m.drug for m in record.medications if m.drug in AROMATASE_INHIBITORS]
    remaining_months = ai_months_remaining(record, today)
    endocrine = []
    if ai and remaining_months > 0:
        endocrine = [{"drug": ai[-1], "start_month": 0, "stop_month": min(remaining_months, HORIZON_MONTHS),
                      "adherence": 1.0}]
    agent = _agent_to_simulate(record, assessment, today)
    base = {"patient": patient, "months": HORIZON_MONTHS, "endocrine_therapy": endocrine}
    with_agent = {**base, "bone_agents": [{"drug": agent, **SCHEDULES[agent], "start_month": 0,
                                           "stop_month": HORIZON_MONTHS}]}
    return {**base, "bone_agents": []}, with_agent, agent


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


__all__ = ["BONE_AGENTS", "add_projection", "build_scenarios", "scenario_patient"]
