"""Fracture risk over time: 10-year probability of a major osteoporotic and of a hip fracture.

MODEL NAME (shown in every output): ``osteotwin-fracture-1: QFracture-2009 baseline x BMD
gradient of risk x falls x AI exposure x turnover``. It is our own combination of published
pieces, not a validated calculator (neither QFracture nor FRAX takes BMD change or AI exposure).

For a woman at month t (covariates held at their month-t values for the next 10 years):

    hazard multiplier H = GR^(-Z(t)) * F(falls) * M_AI(t) * C(turnover)
    10-year probability = 1 - S0_10 ^ (exp(a(age, BMI)) * H)

* Baseline a(age, BMI), S0_10: QFracture-2009 female equations for "osteoporotic fracture"
  (hip, wrist or spine; our stand-in for a major osteoporotic fracture) and "hip fracture"
  (Hippisley-Cox & Coupland BMJ 2009;339:b4229; coefficients from the public 2009 code,
  guidelines.md 3.4) [V]. Other QFracture covariates are taken as absent. Ages outside 30-84 are
  clamped to that range (QFracture's own range).
* BMD: gradient of risk per SD of the age-matched Z-score (RR = GR^-Z; guidelines.md 3.1).
  Hip fracture: total hip Z, GR 2.6 (Marshall, Johnell & Wedel BMJ 1996, hip BMD -> hip fracture)
  [V]. Major osteoporotic fracture: mean of the lumbar spine and total hip Z, GR 1.5 (Marshall
  1996, any site -> any fracture) [V]. Z = T - expected T for age, from NHANES mean BMD by age.
* Falls: QFracture's "history of falls" hazard ratio (exp 0.5988 osteoporotic, exp 0.7072 hip)
  weighted by the probability of at least one fall in a year, 1 - exp(-falls per year) [A: our
  bridge from a rate to QFracture's yes/no covariate].
* AI exposure: a residual multiplier during AI treatment, returning to 1.0 after it stops
  (Tseng 2018 meta-analysis: AI vs no AI RR 1.17 [V]; after treatment 0.99 [V]). Because our BMD
  term already carries the AI bone loss, the residual is calibrated [C] so that BMD and residual
  together reproduce RR 1.17 (S5-025); it is labelled "AI fracture meta-analysis multiplier".
* Turnover: antiresorptive drugs reduce fractures more than their BMD gain predicts (Bouxsein 2019
  JBMR 34:632; HORIZON: TH BMD explains ~40% of the zoledronate vertebral effect, Jacques 2012)
  [V]. C = (CTX relative)^beta when CTX is below baseline, 1 otherwise; beta calibrated [C] to the
  Bouxsein rows (S5-034..037) and HORIZON zoledronate rows (S5-040/041).
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology import qfracture
from osteotwin.physiology.parameters import Parameter, ParameterTable

MODEL_NAME = (
    "osteotwin-fracture-1: QFracture-2009 female baseline (age, BMI) x BMD gradient of risk per SD "
    "(Marshall 1996) x falls (QFracture falls hazard ratio) x AI fracture meta-analysis multiplier "
    "(Tseng 2018, residual beyond BMD) x turnover suppression (Bouxsein 2019); our combination, not a "
    "validated calculator"
)

# QFracture-2009 female equations (guidelines.md 3.4, from rnab/qpred 2009 code) [V].
_QF_MOF_S0_10 = qfracture.S0_OSTEOPOROTIC[9]
_QF_HIP_S0_10 = qfracture.S0_HIP[9]
_QF_MOF_FALLS = qfracture.BOOLEAN_OSTEOPOROTIC["falls"]
_QF_HIP_FALLS = qfracture.BOOLEAN_HIP["falls"]

# NHANES mean BMD (g/cm2) of women by age-group midpoint, for the expected T-score at an age.
# Lumbar spine: NHANES (as tabulated by Varatharajan 2026 Front Endocrinol 17:1748490, Table 3) [S].
_LS_AGE = np.array([25.0, 35.0, 45.0, 55.0, 65.0, 75.0])
_LS_MEAN = np.array([1.064, 1.065, 1.056, 0.993, 0.952, 0.902])
# Total hip: NHANES III non-Hispanic white women (Looker 1998 Osteoporos Int 8:468) [R: recalled].
_TH_AGE = np.array([25.0, 35.0, 45.0, 55.0, 65.0, 75.0, 85.0])
_TH_MEAN = np.array([0.942, 0.945, 0.920, 0.858, 0.817, 0.725, 0.636])

PARAMETERS = ParameterTable(
    [
        Parameter(
            "hip_gradient_of_risk_per_sd", 2.6, "RR/SD",
            "Hip fracture RR per SD decrease of hip BMD (age-adjusted)",
            "Marshall, Johnell & Wedel BMJ 1996;312:1254 (2.6, 95% CI 2.0-3.5) [V]; Johnell 2005 FN 2.88 [V]",
            "V", (2.0, 3.6),
        ),
        Parameter(
            "any_fracture_gradient_of_risk_per_sd", 1.5, "RR/SD",
            "Any fracture RR per SD decrease of BMD (any site)",
            "Marshall 1996 (1.5, 1.4-1.6) [V]; Johnell 2005 FN -> osteoporotic fracture 1.38 [V]",
            "V", (1.3, 1.7),
        ),
        Parameter(
            "ai_residual_multiplier", 1.0357, "RR",
            "AI fracture meta-analysis multiplier beyond the simulated BMD loss, during AI treatment",
            "Calibrated [C] so that BMD + residual give AI vs no AI RR 1.17 (Tseng 2018, S5-025) [V]",
            "C", (1.0, 1.5),
        ),
        Parameter(
            "turnover_exponent_mof", 1.0503, "1",
            "beta: major-fracture hazard x (CTX relative)^beta when turnover is suppressed",
            "Calibrated [C] to Bouxsein 2019 (S5-034/035) and HORIZON-RFT (S5-041) [V]",
            "C", (0.0, 1.5),
        ),
        Parameter(
            "turnover_exponent_hip", 0.461, "1",
            "beta: hip-fracture hazard x (CTX relative)^beta when turnover is suppressed",
            "Calibrated [C] to Bouxsein 2019 hip rows (S5-036/037) and HORIZON-PFT (S5-040) [V]",
            "C", (0.0, 1.5),
        ),
    ]
)


def _qfracture_linear_predictors(age_years: np.ndarray, bmi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """QFracture-2009 female linear predictors (osteoporotic, hip) with other covariates absent."""
    age = np.clip(np.asarray(age_years, dtype=float), *qfracture.QFRACTURE_AGE_RANGE)
    bmi = np.clip(np.asarray(bmi, dtype=float), *qfracture.QFRACTURE_BMI_RANGE)
    return qfracture.linear_predictors(age, bmi)


def qfracture_10y_probability(age_years: np.ndarray, bmi: np.ndarray, falls: np.ndarray | bool = False) -> tuple[np.ndarray, np.ndarray]:
    """QFracture-2009 10-year risks (fractions) for women with no other risk factors."""
    mof, hip = _qfracture_linear_predictors(age_years, bmi)
    falls = np.asarray(falls, dtype=float)
    mof = mof + _QF_MOF_FALLS * falls
    hip = hip + _QF_HIP_FALLS * falls
    return 1.0 - _QF_MOF_S0_10 ** np.exp(mof), 1.0 - _QF_HIP_S0_10 ** np.exp(hip)


def expected_t_score(age_years: np.ndarray, site: int, reference_mean_g_cm2: float, reference_sd_g_cm2: float) -> np.ndarray:
    """Mean T-score of women of that age (site 0 lumbar spine, 1 total hip) on the given reference."""
    ages, means = (_LS_AGE, _LS_MEAN) if site == 0 else (_TH_AGE, _TH_MEAN)
    mean_bmd = np.interp(np.asarray(age_years, dtype=float), ages, means)
    return (mean_bmd - reference_mean_g_cm2) / reference_sd_g_cm2


def ten_year_fracture_probability(
    age_years: np.ndarray,
    bmi: np.ndarray,
    lumbar_spine_z_score: np.ndarray,
    total_hip_z_score: np.ndarray,
    falls_per_year: np.ndarray,
    ai_exposed: np.ndarray,
    ctx_relative: np.ndarray,
    parameters: ParameterTable | None = None,
) -> dict[str, np.ndarray]:
    """10-year probabilities (percent) of a major osteoporotic and of a hip fracture.

    All arrays broadcast together (e.g. ``(patients, months)``). ``ai_exposed`` is 0..1 (the
    fraction of the month on an aromatase inhibitor, times adherence). Returns the two
    probabilities and the hazard multipliers for transparency.
    """
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    mof_lp, hip_lp = _qfracture_linear_predictors(age_years, bmi)
    fall_probability = 1.0 - np.exp(-np.clip(falls_per_year, 0.0, None))
    falls_mof = 1.0 + fall_probability * (np.exp(_QF_MOF_FALLS) - 1.0)
    falls_hip = 1.0 + fall_probability * (np.exp(_QF_HIP_FALLS) - 1.0)
    mean_z = 0.5 * (np.asarray(lumbar_spine_z_score) + np.asarray(total_hip_z_score))
    bmd_mof = p["any_fracture_gradient_of_risk_per_sd"] ** (-mean_z)
    bmd_hip = p["hip_gradient_of_risk_per_sd"] ** (-np.asarray(total_hip_z_score))
    ai = 1.0 + np.clip(ai_exposed, 0.0, 1.0) * (p["ai_residual_multiplier"] - 1.0)
    suppressed = np.clip(ctx_relative, 0.05, 1.0)
    turnover_mof = suppressed ** p["turnover_exponent_mof"]
    turnover_hip = suppressed ** p["turnover_exponent_hip"]
    multiplier_mof = bmd_mof * falls_mof * ai * turnover_mof
    multiplier_hip = bmd_hip * falls_hip * ai * turnover_hip
    mof = 1.0 - _QF_MOF_S0_10 ** (np.exp(mof_lp) * multiplier_mof)
    hip = 1.0 - _QF_HIP_S0_10 ** (np.exp(hip_lp) * multiplier_hip)
    return {
        "major_osteoporotic_fracture_10y_pct": 100.0 * mof,
        "hip_fracture_10y_pct": 100.0 * hip,
        "major_osteoporotic_fracture_hazard_multiplier": multiplier_mof,
        "hip_fracture_hazard_multiplier": multiplier_hip,
    }


def hazard_ratio_from_probabilities(p1_pct: np.ndarray, p0_pct: np.ndarray) -> np.ndarray:
    """Hazard ratio between two 10-year probabilities under proportional hazards."""
    return np.log1p(-np.asarray(p1_pct) / 100.0) / np.log1p(-np.asarray(p0_pct) / 100.0)
