"""Fracture risk over time: 10-year probability of a major osteoporotic, a hip and any clinical fracture.

MODEL NAME (shown in every output): ``osteotwin-fracture-2: QFracture-2009 baseline x BMD
gradient of risk (Johnell 2005) x falls x AI exposure x turnover``. It is our own combination of
published pieces, not a validated calculator (neither QFracture nor FRAX takes BMD change or AI
exposure).

For a woman at month t (covariates held at their month-t values for the next 10 years):

    hazard multiplier H = GR^(-Z_hip(t)) * F(falls) * M_AI(t) * C(turnover)
    10-year probability = 1 - S0_10 ^ (exp(a(age, BMI)) * H)

* Baseline a(age, BMI), S0_10: QFracture-2009 female equations for "osteoporotic fracture"
  (hip, wrist or spine; our stand-in for a major osteoporotic fracture) and "hip fracture"
  (Hippisley-Cox & Coupland BMJ 2009;339:b4229; coefficients from the public 2009 code,
  physiology/qfracture.py; Hippisley-Cox & Coupland 2009) [V]. The woman's QFracture risk factors (smoking, alcohol and the
  booleans; ``Scenario.patient.risk_factors`` or the clinic's record) add their published
  coefficients to a; without them they are taken as absent (population default). Ages outside
  30-84 and BMI outside 18-42 are clamped to QFracture's own ranges; age is continuous (the 2009
  code truncates it to whole years).
ONE PATH: :func:`ten_year_fracture_risk` is the only place a patient's 10-year risk is computed:
the engine's trajectories (``twin/outcomes.py``), the clinic's assessment
(``osteotwin.clinic.fracture_risk.assess_fracture_risk``, which maps a record to these inputs) and
therefore the projection (``osteotwin assess --json``, the web projection page and API) all read it.

* BMD: gradient of risk per SD of the age-matched Z-score (RR = GR^-Z; Johnell 2005), ONE
  definition for the engine and the clinic (:data:`GRADIENT_HIP_PER_SD`,
  :data:`GRADIENT_OSTEOPOROTIC_PER_SD`; Johnell 2005, femoral neck, women at age 65) [V], applied
  to the total hip Z-score (the engine has no femoral-neck site; total hip stands in, as in the
  clinic) [A]. Z = T - expected T for age, from NHANES mean BMD by age. Spine BMD does not enter
  (as in Johnell 2005 and FRAX); the model has no vertebral-fracture outcome.
* Falls: QFracture's "history of falls" hazard ratio (exp 0.5988 osteoporotic, exp 0.7072 hip)
  weighted by the probability of at least one fall in a year, 1 - exp(-falls per year) [A: our
  bridge from a rate to QFracture's yes/no covariate]. The rate is the muscle model's
  (``muscle.falls_per_year``) for the population default; when the woman's falls in the last 12
  months are recorded, that count is her rate at month 0 and the muscle model's relative change
  carries it forward (``twin/outcomes.py``) [A].
* Falls prevented by training: balance and strength training lower the fall rate by a
  ratio r (``muscle.training_falls_rate_ratio``; Sherrington 2019: RaR 0.76 for balance and functional
  exercise [V]); the fall-related share f of fractures falls in proportion, T = (1 - f) + f r, f = 0.9 for hip
  and 0.75 for major osteoporotic fractures (clinical vertebral fractures mostly occur without a fall) [R/A].
  The QFracture falls term above then reads the untrained fall rate, so training is not counted twice.
  Check (lifestyle suite SHERRINGTON-FX, evaluated, not fitted): exercise vs control, people with a
  fall-related fracture RR 0.73 (95% CI 0.56-0.95; Sherrington 2019 Cochrane CD012424, comparison 3 [V]).
* AI exposure: a residual multiplier during AI treatment, returning to 1.0 after it stops
  (Tseng 2018 meta-analysis: AI vs no AI RR 1.17 [V]; after treatment 0.99 [V]). Because our BMD
  term already carries the AI bone loss, the residual is calibrated [C] so that BMD and residual
  together reproduce RR 1.17 (S5-025); it is labelled "AI fracture meta-analysis multiplier".
* Turnover: antiresorptive drugs reduce fractures more than their BMD gain predicts (Bouxsein 2019
  JBMR 34:632; HORIZON: TH BMD explains ~40% of the zoledronate vertebral effect and 12-month PINP
  change ~58%, Jacques 2012 JBMR 27:1627, abstract read) [V]. C = (CTX relative)^beta when CTX is
  below baseline, 1 otherwise; beta calibrated [C] to the Bouxsein rows (S5-034..037) and HORIZON
  zoledronate rows (S5-040/041).
* Any clinical fracture (all sites, what trials such as ATAC count): the osteoporotic-fracture
  hazard (with all the multipliers above) times K = ``any_clinical_to_osteoporotic_hazard_ratio``,
  derived [D] from the 5-year risk of a first clinical fracture in a Dutch general-practice cohort
  of postmenopausal women aged 50-80 without prior fracture (van Geel 2006, BMC Med 4:24: 7.0%,
  95% CI 5.5-8.5, with normal BMD; 13.8%, 10.9-16.6, with T < -1; abstract read [V]) for emulated
  women aged 65 with T-scores 0.0 and -1.8 [A] (:func:`any_clinical_ratio_from_van_geel`; K is 4.6
  and 5.3 in the two strata, and 6.7 or 3.9 if the emulated age is 60 or 70 instead: the age is the
  main uncertainty). K carries both the sites QFracture leaves out (ribs, ankle, humerus, pelvis, hands, feet...) and
  QFracture's lower ascertainment of fractures in GP records. Cross-checks (not fitted): in GLOW,
  hip and clinical vertebral fractures were 6% and 8% of 4122 incident fractures in women aged 55+
  (Costa 2013 PLoS One 8:e83306, abstract read) [V], so all fractures / (hip + spine) = 7.1 bounds K
  from above; the Garvan nomogram (Nguyen ND et al. Osteoporos Int 2007, low-trauma fractures only) [S] implies K
  about 2.3-2.5 for the same emulated women. The same BMD, falls, AI and turnover multipliers are
  applied to all sites [A].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteotwin.physiology import qfracture
from osteotwin.physiology.parameters import Parameter, ParameterTable

MODEL_NAME = (
    "osteotwin-fracture-3: QFracture-2009 female baseline (age, BMI) x BMD gradient of risk per SD of total "
    "hip BMD (Johnell 2005) x falls (QFracture falls hazard ratio) x falls prevented by balance and strength "
    "training on the fall-related share of fractures (Sherrington 2019) x AI fracture meta-analysis multiplier "
    "(Tseng 2018, residual beyond BMD) x turnover suppression (Bouxsein 2019); any clinical fracture = "
    "osteoporotic-fracture hazard x all-site ratio (van Geel 2006); our combination, not a validated calculator"
)

ANY_CLINICAL_FRACTURE_NOTE = (
    "any clinical fracture (all sites, as counted by trials such as ATAC): the osteoporotic-fracture hazard x "
    "an all-site ratio derived [D] from van Geel 2006 (BMC Med 4:24; 5-year risk of a first clinical fracture in "
    "women aged 50-80: 7.0% with normal BMD, 13.8% with T < -1) for emulated women aged 65 [A]; not a "
    "validated calculator"
)

# ------------------------------------------------------------------ gradient of risk (one definition)
# Choice: Johnell et al. J Bone Miner Res 2005;20:1185-94 [V], not Marshall, Johnell &
# Wedel BMJ 1996;312:1254 (hip 2.6, 2.0-3.5; any site -> any fracture 1.5, 1.4-1.6) [V], because Johnell
# 2005 is the larger and later meta-analysis (12 cohorts, 29,082 women, 168,366 person-years, against 11
# cohorts and ~90,000 person-years), reports women separately, is per SD of the femoral-neck BMD that DXA
# reports and FRAX uses, and gives the gradient for the same two outcomes the engine reports (hip fracture,
# osteoporotic fracture); Marshall's 1.5 pools every BMD site and every fracture. The two hip values lie in
# each other's 95% CI. Johnell's gradients depend on age (hip: higher at 50 than at 80; osteoporotic: rises
# with age); we use the published age-65 values at every age [A]. The clinic
# (osteotwin.clinic.fracture_risk) applies the same numbers to the femoral-neck (or total hip) Z-score.
#: Hip fracture RR per SD decrease of femoral-neck BMD, women at age 65: 2.88 (95% CI 2.31-3.59) [V].
GRADIENT_HIP_PER_SD = 2.88
#: Osteoporotic fracture RR per SD decrease of femoral-neck BMD, women at age 65: 1.38 (1.28-1.48) [V].
GRADIENT_OSTEOPOROTIC_PER_SD = 1.38

# QFracture-2009 female equations (Hippisley-Cox J, Coupland C. BMJ 2009;339:b4229; from the rnab/qpred 2009 code) [V].
_QF_MOF_S0_10 = qfracture.S0_OSTEOPOROTIC[9]
_QF_HIP_S0_10 = qfracture.S0_HIP[9]
_QF_MOF_FALLS = qfracture.BOOLEAN_OSTEOPOROTIC["falls"]
_QF_HIP_FALLS = qfracture.BOOLEAN_HIP["falls"]
#: The QFracture booleans a risk-factor block carries (falls enter through the fall rate instead).
QFRACTURE_FLAGS = tuple(name for name in qfracture.BOOLEAN_OSTEOPOROTIC if name != "falls")

# NHANES mean BMD (g/cm2) of women by age-group midpoint, for the expected T-score at an age.
# Lumbar spine: NHANES (as tabulated by Varatharajan 2026 Front Endocrinol 17:1748490, Table 3) [S].
_LS_AGE = np.array([25.0, 35.0, 45.0, 55.0, 65.0, 75.0])
_LS_MEAN = np.array([1.064, 1.065, 1.056, 0.993, 0.952, 0.902])
# Total hip: NHANES III non-Hispanic white women (Looker 1998 Osteoporos Int 8:468) [R: recalled].
_TH_AGE = np.array([25.0, 35.0, 45.0, 55.0, 65.0, 75.0, 85.0])
_TH_MEAN = np.array([0.942, 0.945, 0.920, 0.858, 0.817, 0.725, 0.636])

# van Geel 2006 (BMC Med 4:24, abstract) [V]: 5-year absolute risk (%) of a first clinical fracture in
# postmenopausal women aged 50-80 without a fracture history, by BMD, with 95% CI; and our emulation of
# each stratum [A]: age 65 (middle of the 50-80 range), BMI 25, T-score 0.0 (normal BMD) and -1.8 (T < -1).
VAN_GEEL_5Y_RISK_PCT = {"normal BMD": (7.0, 5.5, 8.5), "T < -1": (13.8, 10.9, 16.6)}
VAN_GEEL_EMULATION = {"age_years": 65.0, "bmi_kg_m2": 25.0, "total_hip_t_score": {"normal BMD": 0.0, "T < -1": -1.8}}

PARAMETERS = ParameterTable(
    [
        Parameter(
            "hip_gradient_of_risk_per_sd", GRADIENT_HIP_PER_SD, "RR/SD",
            "Hip fracture RR per SD decrease of hip BMD (femoral neck; total hip stands in), women at age 65",
            "Johnell et al. JBMR 2005;20:1185 (2.88, 95% CI 2.31-3.59) [V]; chosen over Marshall 1996 (2.6) [V], "
            "see GRADIENT_HIP_PER_SD",
            "V", (2.0, 3.6), symbol="GR_hip",
        ),
        Parameter(
            "osteoporotic_fracture_gradient_of_risk_per_sd", GRADIENT_OSTEOPOROTIC_PER_SD, "RR/SD",
            "Osteoporotic fracture RR per SD decrease of hip BMD (femoral neck; total hip stands in), women at 65",
            "Johnell et al. JBMR 2005;20:1185 (1.38, 95% CI 1.28-1.48) [V]; chosen over Marshall 1996 any site -> "
            "any fracture (1.5) [V], see GRADIENT_HIP_PER_SD",
            "V", (1.2, 1.7), symbol="GR_OP",
        ),
        Parameter(
            "hip_fracture_fall_related_share", 0.9, "1",
            "Share of hip fractures that follow a fall: the part of the hip hazard that falls prevented by training remove",
            "About 90% or more of hip fractures follow a fall (Grisso JA et al. N Engl J Med 1991;324:1326-31; "
            "Parkkari J et al. Calcif Tissue Int 1999;65:183-7) [R: recalled, unverified]",
            "R", (0.8, 0.98), symbol="f_fall,hip",
        ),
        Parameter(
            "osteoporotic_fracture_fall_related_share", 0.75, "1",
            "Share of major osteoporotic fractures (hip, wrist, humerus, clinical vertebral) that follow a fall",
            "Ours [A]: wrist, humerus and hip fractures nearly all follow falls [R], clinical vertebral fractures "
            "(about a quarter of the major osteoporotic ones [R]) mostly do not",
            "A", (0.5, 0.9), symbol="f_fall,MOF",
        ),
        Parameter(
            "any_clinical_to_osteoporotic_hazard_ratio", 4.93, "1",
            "Hazard of any clinical fracture (all sites) per unit hazard of a QFracture osteoporotic fracture",
            "Derived [D] from van Geel 2006 BMC Med 4:24 (5-year risk of a first clinical fracture, women 50-80: 7.0% "
            "normal BMD, 13.8% T < -1) [V] with emulated women aged 65, T 0.0 / -1.8 [A] "
            "(any_clinical_ratio_from_van_geel); GLOW (Costa 2013) bound <= 7.1 [V]",
            "D", (2.0, 8.0), symbol="HR_any",
        ),
        Parameter(
            "ai_residual_multiplier", 1.0978, "RR",
            "AI fracture meta-analysis multiplier beyond the simulated BMD loss, during AI treatment",
            "Calibrated [C] so that BMD + residual give AI vs no AI RR 1.17 (Tseng 2018, S5-025) [V]",
            "C", (1.0, 1.5), symbol="M_AI",
        ),
        Parameter(
            "turnover_exponent_mof", 0.5723, "1",
            "Major-fracture hazard x (CTX relative)^beta when turnover is suppressed",
            "Calibrated [C] to Bouxsein 2019 (S5-034/035) and HORIZON-RFT (S5-041) [V]",
            "C", (0.0, 1.5), symbol="beta_MOF",
        ),
        Parameter(
            "turnover_exponent_hip", 0.2173, "1",
            "Hip-fracture hazard x (CTX relative)^beta when turnover is suppressed",
            "Calibrated [C] to Bouxsein 2019 hip rows (S5-036/037) and HORIZON-PFT (S5-040) [V]",
            "C", (0.0, 1.5), symbol="beta_hip",
        ),
    ]
)


def _qfracture_linear_predictors(age_years: np.ndarray, bmi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """QFracture-2009 female linear predictors (osteoporotic, hip) with other covariates absent."""
    age = np.clip(np.asarray(age_years, dtype=float), *qfracture.QFRACTURE_AGE_RANGE)
    bmi = np.clip(np.asarray(bmi, dtype=float), *qfracture.QFRACTURE_BMI_RANGE)
    return qfracture.linear_predictors(age, bmi)


def expected_t_score(age_years: np.ndarray, site: int, reference_mean_g_cm2: float, reference_sd_g_cm2: float) -> np.ndarray:
    """Mean T-score of women of that age (site 0 lumbar spine, 1 total hip) on the given reference."""
    ages, means = (_LS_AGE, _LS_MEAN) if site == 0 else (_TH_AGE, _TH_MEAN)
    mean_bmd = np.interp(np.asarray(age_years, dtype=float), ages, means)
    return (mean_bmd - reference_mean_g_cm2) / reference_sd_g_cm2


def risk_factor_offsets(risk_factors: Sequence[object | None]) -> tuple[np.ndarray, np.ndarray]:
    """QFracture-2009 linear-predictor offsets (osteoporotic, hip), one per patient, shaped (patients, 1).

    Each item is a risk-factor block with the fields of ``osteotwin.scenario.FractureRiskFactors``
    (current_smoker, former_smoker, cigarettes_per_day, alcohol_units_per_day and the QFracture
    booleans of :data:`qfracture.BOOLEAN_OSTEOPOROTIC` except falls, which enter through the fall
    rate); None is the population default (no risk factor, offset 0). Coefficients: physiology/qfracture.py [V].
    """
    mof, hip = np.zeros((len(risk_factors), 1)), np.zeros((len(risk_factors), 1))
    for i, rf in enumerate(risk_factors):
        if rf is None:
            continue
        smoking = qfracture.smoking_category(rf.current_smoker, rf.former_smoker, rf.cigarettes_per_day)
        alcohol = qfracture.alcohol_category(rf.alcohol_units_per_day)
        mof[i, 0] = qfracture.SMOKING_OSTEOPOROTIC[smoking] + qfracture.ALCOHOL_OSTEOPOROTIC[alcohol]
        hip[i, 0] = qfracture.SMOKING_HIP[smoking] + qfracture.ALCOHOL_HIP[alcohol]
        for name in QFRACTURE_FLAGS:
            if getattr(rf, name):
                mof[i, 0] += qfracture.BOOLEAN_OSTEOPOROTIC[name]
                hip[i, 0] += qfracture.BOOLEAN_HIP[name]
    return mof, hip


def ten_year_fracture_risk(
    age_years: np.ndarray | float,
    bmi_kg_m2: np.ndarray | float,
    total_hip_t_score: np.ndarray | float,
    falls_per_year: np.ndarray | float,
    ai_exposure: np.ndarray | float,
    ctx_relative: np.ndarray | float,
    risk_factor_offsets: tuple[np.ndarray | float, np.ndarray | float] = (0.0, 0.0),
    parameters: ParameterTable | None = None,
    training_falls_rate_ratio: np.ndarray | float = 1.0,
) -> dict[str, np.ndarray]:
    """A woman's 10-year risk (percent) of a major osteoporotic, a hip and any clinical fracture: the one path.

    From her state, every argument broadcasting over (patients, months): age (years), BMI (kg/m2),
    total hip T-score (the gradient of risk acts on the age-matched Z = T - :func:`expected_t_score`),
    falls per year, AI exposure 0..1 (fraction of the month on an aromatase inhibitor x adherence),
    CTX relative to baseline (1 where no bone drug acts: the turnover term is a drug-trial relation)
    and the QFracture risk-factor offsets of :func:`risk_factor_offsets` (population default: 0).
    ``falls_per_year`` is her rate without training; ``training_falls_rate_ratio`` (1: no training) is what
    balance and strength training do to it (muscle.training_falls_rate_ratio).
    ``parameters`` must hold this module's parameters and bone.py's total-hip reference (the engine's
    registry, the default). The model: this module's docstring.
    """
    if parameters is None:
        from osteotwin.physiology.parameters import registry

        parameters = registry()
    # Z at the age QFracture is evaluated at (clamped to 30-84 as the baseline is) [A: ours]: beyond 84 the
    # baseline stops rising, and a Z that kept rising with the NHANES mean to 85 would lower the risk with age.
    age_for_z = np.clip(np.asarray(age_years, dtype=float), *qfracture.QFRACTURE_AGE_RANGE)
    expected = expected_t_score(age_for_z, 1, parameters.value("total_hip_reference_mean_g_cm2"),
                                parameters.value("total_hip_reference_sd_g_cm2"))
    z_hip = np.asarray(total_hip_t_score, dtype=float) - expected
    return ten_year_fracture_probability(age_years, bmi_kg_m2, z_hip, falls_per_year, ai_exposure, ctx_relative,
                                         parameters, risk_factor_offsets=risk_factor_offsets,
                                         training_falls_rate_ratio=training_falls_rate_ratio)


def ten_year_fracture_probability(
    age_years: np.ndarray,
    bmi: np.ndarray,
    total_hip_z_score: np.ndarray,
    falls_per_year: np.ndarray,
    ai_exposed: np.ndarray,
    ctx_relative: np.ndarray,
    parameters: ParameterTable | None = None,
    *,
    risk_factor_offsets: tuple[np.ndarray | float, np.ndarray | float] = (0.0, 0.0),
    training_falls_rate_ratio: np.ndarray | float = 1.0,
) -> dict[str, np.ndarray]:
    """The hazard arithmetic of :func:`ten_year_fracture_risk`, on the age-matched total hip Z-score.

    All arrays broadcast together (e.g. ``(patients, months)``). ``total_hip_z_score`` is the
    age-matched Z-score (stand-in for the femoral neck); ``ai_exposed`` is 0..1 (the fraction of the
    month on an aromatase inhibitor, times adherence). Returns the probabilities and the hazard
    multipliers for transparency. Patients' risk goes through :func:`ten_year_fracture_risk`; this
    form serves the calibration rows stated per SD of Z (Johnell 2005, van Geel 2006).
    """
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    mof_lp, hip_lp = _qfracture_linear_predictors(age_years, bmi)
    mof_lp = mof_lp + np.asarray(risk_factor_offsets[0], dtype=float)
    hip_lp = hip_lp + np.asarray(risk_factor_offsets[1], dtype=float)
    fall_probability = 1.0 - np.exp(-np.clip(falls_per_year, 0.0, None))
    falls_mof = 1.0 + fall_probability * (np.exp(_QF_MOF_FALLS) - 1.0)
    falls_hip = 1.0 + fall_probability * (np.exp(_QF_HIP_FALLS) - 1.0)
    z_hip = np.asarray(total_hip_z_score, dtype=float)
    bmd_mof = p["osteoporotic_fracture_gradient_of_risk_per_sd"] ** (-z_hip)
    bmd_hip = p["hip_gradient_of_risk_per_sd"] ** (-z_hip)
    ai = 1.0 + np.clip(ai_exposed, 0.0, 1.0) * (p["ai_residual_multiplier"] - 1.0)
    suppressed = np.clip(ctx_relative, 0.05, 1.0)
    turnover_mof = suppressed ** p["turnover_exponent_mof"]
    turnover_hip = suppressed ** p["turnover_exponent_hip"]
    ratio = np.clip(np.asarray(training_falls_rate_ratio, dtype=float), 0.0, None)
    falls_mof = falls_mof * (1.0 - p["osteoporotic_fracture_fall_related_share"] * (1.0 - ratio))
    falls_hip = falls_hip * (1.0 - p["hip_fracture_fall_related_share"] * (1.0 - ratio))
    multiplier_mof = bmd_mof * falls_mof * ai * turnover_mof
    multiplier_hip = bmd_hip * falls_hip * ai * turnover_hip
    hazard_mof = -np.log(_QF_MOF_S0_10) * np.exp(mof_lp) * multiplier_mof  # 10-year cumulative hazard
    hazard_hip = -np.log(_QF_HIP_S0_10) * np.exp(hip_lp) * multiplier_hip
    hazard_any = p["any_clinical_to_osteoporotic_hazard_ratio"] * hazard_mof
    return {
        "major_osteoporotic_fracture_10y_pct": -100.0 * np.expm1(-hazard_mof),
        "hip_fracture_10y_pct": -100.0 * np.expm1(-hazard_hip),
        "any_clinical_fracture_10y_pct": -100.0 * np.expm1(-hazard_any),
        "major_osteoporotic_fracture_hazard_multiplier": multiplier_mof,
        "hip_fracture_hazard_multiplier": multiplier_hip,
    }


def hazard_ratio_from_probabilities(p1_pct: np.ndarray, p0_pct: np.ndarray) -> np.ndarray:
    """Hazard ratio between two 10-year probabilities under proportional hazards."""
    return np.log1p(-np.asarray(p1_pct) / 100.0) / np.log1p(-np.asarray(p0_pct) / 100.0)


def any_clinical_ratio_from_van_geel(parameters: ParameterTable | None = None) -> dict[str, float]:
    """The derivation of ``any_clinical_to_osteoporotic_hazard_ratio`` (K) from van Geel 2006.

    For each stratum, K = (5-year cumulative hazard of a first clinical fracture, van Geel) / (the
    model's osteoporotic-fracture hazard over 5 years, taken as half its 10-year hazard, as the
    calibration suite annualises) for the emulated woman of :data:`VAN_GEEL_EMULATION`. Returns K
    per stratum and their geometric mean (the parameter's value, rounded to 2 decimals).
    """
    from osteotwin.physiology import bone

    parameters = PARAMETERS if parameters is None else parameters
    reference = bone.PARAMETERS.value("total_hip_reference_mean_g_cm2"), bone.PARAMETERS.value("total_hip_reference_sd_g_cm2")
    age, bmi = VAN_GEEL_EMULATION["age_years"], VAN_GEEL_EMULATION["bmi_kg_m2"]
    expected = float(expected_t_score(age, 1, *reference))
    ratios = {}
    for stratum, (risk_pct, _, _) in VAN_GEEL_5Y_RISK_PCT.items():
        z = VAN_GEEL_EMULATION["total_hip_t_score"][stratum] - expected
        mof = ten_year_fracture_probability(age, bmi, z, 0.0, 0.0, 1.0, parameters)["major_osteoporotic_fracture_10y_pct"]
        model_hazard_5y = -0.5 * float(np.log1p(-mof / 100.0))
        ratios[stratum] = -float(np.log1p(-risk_pct / 100.0)) / model_hazard_5y
    ratios["geometric mean"] = float(np.exp(np.mean(np.log(list(ratios.values())))))
    return ratios
