"""Fracture risk: QFracture-2009 (open, published coefficients), a BMD gradient-of-risk adjustment and
an aromatase-inhibitor multiplier (our extension), the Garvan nomogram (points approximation), and the
published thresholds applied to a user-supplied FRAX result.

None of these models was built for women with breast cancer on an aromatase inhibitor; every result
carries that caveat. QFracture-2009 has no BMD input.

QFracture-2009 numbers are facts taken from the open-source 2009 release (rnab/qpred,
Qmodel_fracture_0.c and Qmodel_nof_0.c; LGPL-3, ClinRisk Ltd), checked against that code [V];
the equation: Hippisley-Cox & Coupland, BMJ 2009;339:b4229. The code itself is not copied. "QFracture" is a ClinRisk trademark for the current
version: this is the 2009 equation.
"""

from __future__ import annotations

import math
from datetime import date

from pydantic import BaseModel, Field

from osteotwin.clinic.record import AROMATASE_INHIBITORS, PatientRecord
from osteotwin.physiology.fracture import GRADIENT_HIP_PER_SD, GRADIENT_OSTEOPOROTIC_PER_SD
from osteotwin.physiology.qfracture import (
    QFRACTURE_AGE_RANGE,
    QFRACTURE_BMI_RANGE,
    S0_HIP,
    S0_OSTEOPOROTIC,
    linear_predictors,
)

# ------------------------------------------------------------------ modifiers
# Gradient of risk per SD decrease of femoral-neck BMD, women (Johnell 2005 [V]): GRADIENT_HIP_PER_SD,
# GRADIENT_OSTEOPOROTIC_PER_SD, imported above from the engine's fracture module (one definition;
# physiology/fracture.py says why Johnell rather than Marshall 1996).
#: Fracture risk ratio, AI vs no AI (Tseng 2018 [V]): 1.17 (1.07-1.28); after treatment 0.99 (0.72-1.37).
AI_FRACTURE_RR = 1.17
AI_VS_TAMOXIFEN_RR = 1.35
#: US-FRAX treatment thresholds (ASCO 2019 [V]; BHOF 2022 [S]).
FRAX_MOF_THRESHOLD_PCT = 20.0
FRAX_HIP_THRESHOLD_PCT = 3.0

NOT_THIS_POPULATION = (
    "No model here was built for women with breast cancer on an aromatase inhibitor; ASCO 2019 notes that "
    "risk tools are not validated in patients with cancer."
)


class RiskEstimate(BaseModel):
    label: str
    osteoporotic_fracture_10y_pct: float | None = Field(description="Hip, wrist or spine (QFracture definition).")
    hip_fracture_10y_pct: float | None
    our_extension: bool
    method: str
    sources: list[str]


class FraxAssessment(BaseModel):
    major_osteoporotic_10y_pct: float
    hip_10y_pct: float
    country: str
    with_bmd: bool
    over_us_threshold: bool
    thresholds: str = "MOF >= 20% or hip >= 3% (US-FRAX; ASCO 2019, BHOF 2022)"
    caveats: list[str]


class GarvanEstimate(BaseModel):
    points: float
    five_year_any_fracture: str
    ten_year_any_fracture: str
    assumptions: list[str]
    source: str = "Garvan nomogram, points approximation by a third party [S]"


class FractureRisk(BaseModel):
    model: str
    ten_year_osteoporotic_fracture_pct: float
    ten_year_hip_fracture_pct: float
    has_bmd_input: bool = False
    estimates: list[RiskEstimate]
    frax: FraxAssessment | None
    garvan: GarvanEstimate | None
    caveats: list[str]


# ------------------------------------------------------------------ QFracture-2009
def smoking_category(current: bool, former: bool, cigarettes_per_day: float | None) -> int:
    """QFracture smoking category 0 non, 1 ex, 2 light (<10/day), 3 moderate (10-19), 4 heavy (>=20).

    Category meanings are recalled from the 2009 paper, not verified; a current smoker with no count
    is put in category 3 (ours).
    """
    if current:
        if cigarettes_per_day is None:
            return 3
        return 2 if cigarettes_per_day < 10 else 3 if cigarettes_per_day < 20 else 4
    return 1 if former else 0


def alcohol_category(units_per_day: float) -> int:
    """QFracture alcohol category 0 none, 1 <1 unit/day, 2 1-2, 3 3-6, 4 7-9, 5 >9 (recalled, unverified)."""
    if units_per_day <= 0:
        return 0
    if units_per_day < 1:
        return 1
    if units_per_day < 3:
        return 2
    if units_per_day < 7:
        return 3
    if units_per_day <= 9:
        return 4
    return 5


def qfracture_2009_cumulative_hazards(
    age: float, bmi: float, smoking: int = 0, alcohol: int = 0, flags: dict[str, bool] | None = None
) -> tuple[list[float], list[float]]:
    """Cumulative hazards H(t), t = 1..10 years, for osteoporotic and hip fracture (female, 2009)."""
    # The 2009 release takes age as a whole number of years (C int); so do we.
    a_op, a_hip = (float(v) for v in linear_predictors(float(int(age)), bmi, smoking, alcohol, flags))
    h_op = [-math.log(s) * math.exp(a_op) for s in S0_OSTEOPOROTIC]
    h_hip = [-math.log(s) * math.exp(a_hip) for s in S0_HIP]
    return h_op, h_hip


def qfracture_2009(
    age: float, bmi: float, smoking: int = 0, alcohol: int = 0, flags: dict[str, bool] | None = None,
    years: int = 10,
) -> tuple[float, float]:
    """QFracture-2009 female risk (%) of osteoporotic and hip fracture at ``years`` (1-10).

    risk = 100 (1 - S0[t] ** exp(a)); no BMD input.
    """
    h_op, h_hip = qfracture_2009_cumulative_hazards(age, bmi, smoking, alcohol, flags)
    return 100.0 * (1.0 - math.exp(-h_op[years - 1])), 100.0 * (1.0 - math.exp(-h_hip[years - 1]))


def _with_multipliers(hazards: list[float], base_rr: float, ai_rr: float, ai_years: float) -> float:
    """10-year risk (%) from cumulative hazards with a constant RR and an RR applied during the AI years."""
    total, previous = 0.0, 0.0
    for year, cumulative in enumerate(hazards, start=1):
        increment = cumulative - previous
        previous = cumulative
        on_fraction = min(max(ai_years - (year - 1), 0.0), 1.0)
        total += increment * base_rr * (1.0 + on_fraction * (ai_rr - 1.0))
    return 100.0 * (1.0 - math.exp(-total))


# ------------------------------------------------------------------ Garvan (points approximation) [S]
def garvan_points(age: float, fn_t_score: float, fractures_since_50: int, falls_12_months: int) -> float:
    return (0.8 * age - 44.0) + (-10.0 * fn_t_score + 40.0) + min(42.0, 14.0 * fractures_since_50) + min(
        15.0, 5.0 * falls_12_months
    )


def garvan_risk_text(points: float) -> tuple[str, str]:
    """5- and 10-year any-fragility-fracture risk from Garvan points (third-party piecewise curves)."""
    if points < 17.5:
        five = "< 1%"
    elif points <= 58.1:
        five = f"{0.09852 * points - 0.724:.1f}%"
    elif points <= 152.9:
        five = f"{0.008 * points ** 2 - 0.7475 * points + 20.54:.1f}%"
    else:
        five = "> 90%"
    if points < 39.5:
        ten = "< 5%"
    elif points <= 103.7:
        ten = f"{0.009526 * points ** 2 - 0.6715 * points + 16.86:.1f}%"
    elif points <= 151.2:
        ten = f"{-0.01494 * points ** 2 + 4.867 * points - 295:.1f}%"
    else:
        ten = "> 99%"
    return five, ten


# ------------------------------------------------------------------ assessment
def _latest_score(record: PatientRecord, site: str, field: str) -> float | None:
    values = [(d.date, getattr(d, field)) for d in record.dxa if d.site == site and getattr(d, field) is not None]
    return max(values)[1] if values else None


def years_on_ai_remaining(record: PatientRecord, today: date) -> float:
    courses = [m for m in record.medications if m.drug in AROMATASE_INHIBITORS and m.start_date is not None]
    current = [m for m in courses if m.start_date <= today and (m.stop_date is None or m.stop_date > today)]
    future = [m for m in courses if m.start_date > today]
    if current:
        course = min(current, key=lambda m: m.start_date)
        elapsed = (today - course.start_date).days / 365.25
        if course.stop_date is not None:
            return max(0.0, (course.stop_date - today).days / 365.25)
        return max(0.0, record.planned_ai_years - elapsed)
    if future:
        return record.planned_ai_years
    return 0.0


def qfracture_inputs(record: PatientRecord) -> tuple[int, int, dict[str, bool]]:
    """QFracture-2009 smoking category, alcohol category and booleans from a record.

    Mappings that are ours: corticosteroids = any oral glucocorticoid months; falls = a fall in the last
    12 months; family history of osteoporosis includes a parental hip fracture.
    """
    rf, cond = record.risk_factors, record.conditions
    flags = {
        "asthma": cond.asthma, "corticosteroids": rf.oral_glucocorticoid_months > 0,
        "cardiovascular_disease": cond.cardiovascular_disease, "endocrine_disorder": cond.endocrine_disorder,
        "falls": rf.falls_last_12_months > 0, "chronic_liver_disease": cond.chronic_liver_disease,
        "malabsorption": cond.malabsorption, "menopausal_symptoms": cond.menopausal_symptoms,
        "rheumatoid_arthritis": cond.rheumatoid_arthritis, "tricyclic_antidepressants": cond.tricyclic_antidepressants,
        "type_2_diabetes": cond.type_2_diabetes,
        "family_history_osteoporosis": cond.family_history_osteoporosis or rf.family_history_hip_fracture,
    }
    return (smoking_category(rf.current_smoker, rf.former_smoker, rf.cigarettes_per_day),
            alcohol_category(rf.alcohol_units_per_day), flags)


def assess_fracture_risk(record: PatientRecord, today: date) -> FractureRisk:
    """All fracture-risk numbers for one record, each labelled with its model, method and sources."""
    caveats = [NOT_THIS_POPULATION, "QFracture-2009 has no BMD input; it is the 2009 equation, not the current QFracture."]
    age = record.patient.age_years
    bmi = record.patient.bmi_kg_m2
    lo, hi = QFRACTURE_AGE_RANGE
    if not lo <= age <= hi:
        caveats.append(f"Age {age:g} is outside QFracture-2009's range {lo:g}-{hi:g}; computed at {min(max(age, lo), hi):g}.")
        age = min(max(age, lo), hi)
    lo, hi = QFRACTURE_BMI_RANGE
    if not lo <= bmi <= hi:
        caveats.append(f"BMI {bmi:.1f} is outside QFracture-2009's range {lo:g}-{hi:g}; computed at the nearest limit.")
        bmi = min(max(bmi, lo), hi)
    rf = record.risk_factors
    smoking, alcohol, flags = qfracture_inputs(record)
    if smoking or alcohol:
        caveats.append("QFracture smoking and alcohol category meanings are recalled from the 2009 paper, not verified.")
    if rf.family_history_hip_fracture and not record.conditions.family_history_osteoporosis:
        caveats.append("Parental hip fracture was entered as QFracture's 'family history of osteoporosis' (our mapping).")
    h_op, h_hip = qfracture_2009_cumulative_hazards(age, bmi, smoking, alcohol, flags)
    base_op = _with_multipliers(h_op, 1.0, 1.0, 0.0)
    base_hip = _with_multipliers(h_hip, 1.0, 1.0, 0.0)
    estimates = [RiskEstimate(
        label="QFracture-2009 (female), as published", osteoporotic_fracture_10y_pct=round(base_op, 2),
        hip_fracture_10y_pct=round(base_hip, 2), our_extension=False,
        method="100 (1 - S0[10] ** exp(a)); clinical risk factors only", sources=["qfracture2009"],
    )]
    z_fn = _latest_score(record, "femoral_neck", "z_score")
    z_site = "femoral neck"
    if z_fn is None:
        z_fn, z_site = _latest_score(record, "total_hip", "z_score"), "total hip"
    rr_op = rr_hip = 1.0
    if z_fn is not None:
        rr_op = GRADIENT_OSTEOPOROTIC_PER_SD ** (-z_fn)
        rr_hip = GRADIENT_HIP_PER_SD ** (-z_fn)
        estimates.append(RiskEstimate(
            label=f"QFracture-2009 x BMD gradient of risk ({z_site} Z {z_fn:+.1f})",
            osteoporotic_fracture_10y_pct=round(_with_multipliers(h_op, rr_op, 1.0, 0.0), 2),
            hip_fracture_10y_pct=round(_with_multipliers(h_hip, rr_hip, 1.0, 0.0), 2), our_extension=True,
            method=f"hazard x GR ** (-Z): GR {GRADIENT_HIP_PER_SD} (hip), {GRADIENT_OSTEOPOROTIC_PER_SD} (osteoporotic) "
                   "per SD of femoral-neck BMD at age 65 (Johnell 2005). Assumes QFracture's risk is that of an "
                   "average-BMD woman with these risk factors (ours; risk factors and BMD are correlated, so this "
                   "can double-count)",
            sources=["qfracture2009", "johnell2005", "ours"],
        ))
        if z_site == "total hip":
            caveats.append("The gradient of risk was derived for femoral-neck BMD; the total-hip Z-score stands in (ours).")
    else:
        caveats.append("No femoral-neck or total-hip Z-score in the record: no BMD adjustment (supply the device Z-score).")
    ai_years = min(years_on_ai_remaining(record, today), 10.0)
    if ai_years > 0:
        estimates.append(RiskEstimate(
            label=f"{estimates[-1].label} x AI exposure ({ai_years:.1f} of the next 10 years)",
            osteoporotic_fracture_10y_pct=round(_with_multipliers(h_op, rr_op, AI_FRACTURE_RR, ai_years), 2),
            hip_fracture_10y_pct=round(_with_multipliers(h_hip, rr_hip, AI_FRACTURE_RR, ai_years), 2),
            our_extension=True,
            method=f"hazard x {AI_FRACTURE_RR} during the remaining AI years, x 1.0 after (Tseng 2018: AI vs no AI "
                   f"RR 1.17, 1.07-1.28; after treatment 0.99). Against tamoxifen the RR is {AI_VS_TAMOXIFEN_RR}. "
                   "The multiplier is our extension, not part of any published model",
            sources=["qfracture2009", "tseng2018", "ours"],
        ))
    frax = None
    if record.frax is not None:
        fx = record.frax
        frax_caveats = ["FRAX is proprietary; the result was computed outside osteotwin.",
                        "ASCO 2019: FRAX is not validated in patients with cancer; it does not count AI use."]
        if fx.country.upper() not in {"US", "USA", "UNITED STATES"}:
            frax_caveats.append(f"The thresholds are US-FRAX values; this result is from the {fx.country} model.")
        if not fx.with_bmd:
            frax_caveats.append("FRAX without BMD.")
        frax = FraxAssessment(
            major_osteoporotic_10y_pct=fx.major_osteoporotic_10y_pct, hip_10y_pct=fx.hip_10y_pct,
            country=fx.country, with_bmd=fx.with_bmd,
            over_us_threshold=fx.major_osteoporotic_10y_pct >= FRAX_MOF_THRESHOLD_PCT
            or fx.hip_10y_pct >= FRAX_HIP_THRESHOLD_PCT,
            caveats=frax_caveats,
        )
    garvan = None
    fn_t = _latest_score(record, "femoral_neck", "t_score")
    if fn_t is not None and record.patient.age_years >= 55:
        assumptions = ["Model 1 (female, age, femoral-neck T-score, fractures since 50, falls in 12 months).",
                       "Predicts incidence, not competing-risk probability; cohort aged 60+ (Dubbo)."]
        n_fractures = 1 if rf.prior_fragility_fracture else 0
        if rf.prior_fragility_fracture:
            assumptions.append("Number of fractures since 50 not recorded: counted as 1 (ours).")
        points = garvan_points(record.patient.age_years, fn_t, n_fractures, rf.falls_last_12_months)
        five, ten = garvan_risk_text(points)
        garvan = GarvanEstimate(points=round(points, 1), five_year_any_fracture=five, ten_year_any_fracture=ten,
                                assumptions=assumptions)
    return FractureRisk(
        model="QFracture-2009 (female; Hippisley-Cox & Coupland, BMJ 2009)",
        ten_year_osteoporotic_fracture_pct=round(base_op, 2), ten_year_hip_fracture_pct=round(base_hip, 2),
        estimates=estimates, frax=frax, garvan=garvan, caveats=caveats,
    )
