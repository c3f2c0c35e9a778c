"""Fracture risk for one record: osteotwin's 10-year risk (the engine's one path), QFracture-2009 as
published for reference, the Garvan nomogram (points approximation) and the published thresholds
applied to a user-supplied FRAX result.

The headline numbers (``ten_year_osteoporotic_fracture_pct``, ``ten_year_hip_fracture_pct``) are
:func:`osteotwin.physiology.fracture.ten_year_fracture_risk` on the record's state today:
QFracture-2009 with the record's risk factors x BMD gradient of risk (Johnell 2005) x falls x AI
exposure (Tseng 2018) x turnover. This module only maps a record to those inputs
(:func:`fracture_risk_inputs`); the engine's projection starts from the same inputs
(``osteotwin.clinic.projection`` puts :func:`scenario_risk_factors` into the Scenario), so the
assessment equals the projection at month 0.

None of these models was built for women with breast cancer on an aromatase inhibitor; every result
carries that caveat. QFracture-2009 (Hippisley-Cox & Coupland, BMJ 2009;339:b4229; coefficients in
physiology/qfracture.py [V]) has no BMD input. "QFracture" is a ClinRisk trademark for the current
version: this is the 2009 equation.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from osteotwin.clinic.record import AROMATASE_INHIBITORS, PatientRecord
from osteotwin.physiology import fracture, qfracture
from osteotwin.physiology.parameters import registry
from osteotwin.scenario import FractureRiskFactors

# ------------------------------------------------------------------ thresholds
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
    ten_year_osteoporotic_fracture_pct: float = Field(
        description="10-year major osteoporotic fracture risk, %, by osteotwin.physiology.fracture.ten_year_fracture_risk "
                    "(equal to the projection's month 0).")
    ten_year_hip_fracture_pct: float = Field(
        description="10-year hip fracture risk, %, by the same function (equal to the projection's month 0).")
    has_bmd_input: bool = Field(False, description="A total hip or femoral-neck T-score entered the risk.")
    estimates: list[RiskEstimate]
    frax: FraxAssessment | None
    garvan: GarvanEstimate | None
    caveats: list[str]


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


# ------------------------------------------------------------------ record -> the one path's inputs
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


def ai_months_remaining(record: PatientRecord, today: date) -> int:
    """Whole months of aromatase inhibitor left from today (0 when none): the projection simulates the AI
    from month 0 for these months, and the assessment counts her as AI-exposed today when it is > 0."""
    if not any(m.drug in AROMATASE_INHIBITORS for m in record.medications):
        return 0
    return round(years_on_ai_remaining(record, today) * 12)


def scenario_risk_factors(record: PatientRecord) -> FractureRiskFactors:
    """The record's QFracture-2009 risk factors and recorded falls as the Scenario's risk-factor block.

    Mappings that are ours: corticosteroids = any oral glucocorticoid months; family history of
    osteoporosis includes a parental hip fracture.
    """
    rf, cond = record.risk_factors, record.conditions
    return FractureRiskFactors(
        current_smoker=rf.current_smoker, former_smoker=rf.former_smoker, cigarettes_per_day=rf.cigarettes_per_day,
        alcohol_units_per_day=rf.alcohol_units_per_day, falls_last_12_months=rf.falls_last_12_months,
        asthma=cond.asthma, corticosteroids=rf.oral_glucocorticoid_months > 0,
        cardiovascular_disease=cond.cardiovascular_disease, endocrine_disorder=cond.endocrine_disorder,
        chronic_liver_disease=cond.chronic_liver_disease, malabsorption=cond.malabsorption,
        menopausal_symptoms=cond.menopausal_symptoms, rheumatoid_arthritis=cond.rheumatoid_arthritis,
        tricyclic_antidepressants=cond.tricyclic_antidepressants, type_2_diabetes=cond.type_2_diabetes,
        family_history_osteoporosis=cond.family_history_osteoporosis or rf.family_history_hip_fracture,
    )


def hip_t_score_for_risk(record: PatientRecord) -> tuple[float | None, str]:
    """The T-score the gradient of risk reads and its site: the newest total hip scan's T-score (what the
    projection starts from), else the newest femoral-neck T-score; (None, "") when neither is recorded."""
    from osteotwin.clinic.evaluate import latest_per_site  # evaluate imports this module

    latest = latest_per_site(record.dxa)
    for site in ("total_hip", "femoral_neck"):
        if site in latest and latest[site].t_score is not None:
            return latest[site].t_score, site.replace("_", " ")
    return None, ""


def fracture_risk_inputs(record: PatientRecord, today: date) -> dict[str, object]:
    """The arguments of :func:`osteotwin.physiology.fracture.ten_year_fracture_risk` for this record today.

    Age, BMI, hip T-score (without one: the mean T-score for her age, i.e. average BMD, Z = 0), the
    falls of the last 12 months as her fall rate, AI exposure 1 while AI months remain, CTX relative 1
    (no turnover marker in the record; the projection's bone agent starts at month 0) and the
    QFracture offsets of the record's risk factors. The projection's Scenario carries the same state.
    """
    parameters = registry()
    age = record.patient.age_years
    t_score, _ = hip_t_score_for_risk(record)
    if t_score is None:
        t_score = float(fracture.expected_t_score(age, 1, parameters.value("total_hip_reference_mean_g_cm2"),
                                                  parameters.value("total_hip_reference_sd_g_cm2")))
    risk_factors = scenario_risk_factors(record)
    return {
        "age_years": age, "bmi_kg_m2": record.patient.bmi_kg_m2, "total_hip_t_score": t_score,
        "falls_per_year": float(risk_factors.falls_last_12_months),
        "ai_exposure": 1.0 if ai_months_remaining(record, today) > 0 else 0.0, "ctx_relative": 1.0,
        "risk_factor_offsets": tuple(float(v[0, 0]) for v in fracture.risk_factor_offsets([risk_factors])),
        "parameters": parameters,
    }


def ten_year_risk_pct(record: PatientRecord, today: date) -> tuple[float, float]:
    """(major osteoporotic, hip) 10-year risk in percent for this record today, by the one path."""
    risk = fracture.ten_year_fracture_risk(**fracture_risk_inputs(record, today))
    return float(risk["major_osteoporotic_fracture_10y_pct"]), float(risk["hip_fracture_10y_pct"])


# ------------------------------------------------------------------ assessment
def assess_fracture_risk(record: PatientRecord, today: date) -> FractureRisk:
    """All fracture-risk numbers for one record, each labelled with its model, method and sources."""
    caveats = [NOT_THIS_POPULATION, "QFracture-2009 has no BMD input; it is the 2009 equation, not the current QFracture."]
    age = record.patient.age_years
    bmi = record.patient.bmi_kg_m2
    lo, hi = qfracture.QFRACTURE_AGE_RANGE
    if not lo <= age <= hi:
        caveats.append(f"Age {age:g} is outside QFracture-2009's range {lo:g}-{hi:g}; computed at {min(max(age, lo), hi):g}.")
    lo, hi = qfracture.QFRACTURE_BMI_RANGE
    if not lo <= bmi <= hi:
        caveats.append(f"BMI {bmi:.1f} is outside QFracture-2009's range {lo:g}-{hi:g}; computed at the nearest limit.")
    rf = record.risk_factors
    risk_factors = scenario_risk_factors(record)
    smoking = qfracture.smoking_category(rf.current_smoker, rf.former_smoker, rf.cigarettes_per_day)
    alcohol = qfracture.alcohol_category(rf.alcohol_units_per_day)
    if smoking or alcohol:
        caveats.append("QFracture smoking and alcohol category meanings are recalled from the 2009 paper, not verified.")
    if rf.family_history_hip_fracture and not record.conditions.family_history_osteoporosis:
        caveats.append("Parental hip fracture was entered as QFracture's 'family history of osteoporosis' (our mapping).")
    flags = {name: bool(getattr(risk_factors, name)) for name in fracture.QFRACTURE_FLAGS}
    published_op, published_hip = qfracture.published_risk_pct(age, bmi, smoking, alcohol,
                                                                {**flags, "falls": rf.falls_last_12_months > 0})
    estimates = [RiskEstimate(
        label="QFracture-2009 (female), as published (reference)", osteoporotic_fracture_10y_pct=round(published_op, 2),
        hip_fracture_10y_pct=round(published_hip, 2), our_extension=False,
        method="100 (1 - S0[10] ** exp(a)); clinical risk factors only (a fall in the last 12 months = history of falls)",
        sources=["qfracture2009"],
    )]
    t_score, t_site = hip_t_score_for_risk(record)
    if t_site == "femoral neck":
        caveats.append("No total-hip T-score: the femoral-neck T-score stands in for the gradient of risk (ours).")
    elif t_score is None:
        caveats.append("No total-hip or femoral-neck T-score in the record: BMD taken as average for her age (Z = 0).")
    op, hip = ten_year_risk_pct(record, today)
    on_ai = ai_months_remaining(record, today) > 0
    bmd_words = f"{t_site} T {t_score:+.1f}" if t_score is not None else "BMD average for age"
    estimates.append(RiskEstimate(
        label=f"osteotwin: QFracture-2009 x BMD ({bmd_words}) x falls x AI ({'on' if on_ai else 'off'}) "
              "(the engine's month-0 value)",
        osteoporotic_fracture_10y_pct=round(op, 2), hip_fracture_10y_pct=round(hip, 2), our_extension=True,
        method=fracture.MODEL_NAME + ". Falls: the falls of the last 12 months as a rate, 1 - exp(-rate) weighting "
               "QFracture's falls hazard ratio (ours). The same function gives the projection and simulate trajectories",
        sources=["qfracture2009", "johnell2005", "tseng2018", "ours"],
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
        model=fracture.MODEL_NAME,
        ten_year_osteoporotic_fracture_pct=round(op, 2), ten_year_hip_fracture_pct=round(hip, 2),
        has_bmd_input=t_score is not None,
        estimates=estimates, frax=frax, garvan=garvan, caveats=caveats,
    )
