"""QFracture-2009, female: the published equations for 10-year osteoporotic and hip fracture risk.

The one home of these coefficients and of the published equation: osteotwin's fracture risk
(``physiology/fracture.py``, :func:`osteotwin.physiology.fracture.ten_year_fracture_risk`) builds on
:func:`linear_predictors`, and the clinic shows :func:`published_risk_pct` as the reference value.

Numbers are facts taken from the open-source 2009 release (rnab/qpred, Qmodel_fracture_0.c and
Qmodel_nof_0.c; LGPL-3, ClinRisk Ltd) (Hippisley-Cox J, Coupland C. BMJ 2009;339:b4229) [V];
the code itself is not copied. "QFracture" is a ClinRisk trademark for the current version: this is
the 2009 equation, and it has no BMD input.
"""

from __future__ import annotations

import numpy as np

S0_OSTEOPOROTIC = (
    0.999080657958984, 0.998103082180023, 0.997029721736908, 0.995813012123108, 0.994470179080963,
    0.993021965026855, 0.991343677043915, 0.989629805088043, 0.987689733505249, 0.985766530036926,
)
S0_HIP = (
    0.999901890754700, 0.999804556369781, 0.999695241451263, 0.999577820301056, 0.999432742595673,
    0.999266982078552, 0.999067306518555, 0.998853743076324, 0.998617410659790, 0.998342514038086,
)
ALCOHOL_OSTEOPOROTIC = (0, -0.0015342444146155703, 0.02029988298818482, 0.027010977797843356,
                        0.39041996235839499, 0.6960912808109172)
SMOKING_OSTEOPOROTIC = (0, 0.021099366481764414, 0.040238094902923426, 0.1042268143129933, 0.18820036490028713)
ALCOHOL_HIP = (0, -0.12722220989475208, -0.13528192391972202, -0.051026690484888004,
               0.34266243725755824, 0.80966722269546565)
SMOKING_HIP = (0, 0.039939252003766683, 0.16409971050024041, 0.28047636766613449, 0.43874730264615158)
BOOLEAN_OSTEOPOROTIC = {
    "asthma": 0.25401613182109317, "corticosteroids": 0.15648534556449836,
    "cardiovascular_disease": 0.15645294133039619, "endocrine_disorder": 0.1085547161760247,
    "falls": 0.59875370454362287, "chronic_liver_disease": 0.58263273380785241,
    "malabsorption": 0.20940769976809187, "menopausal_symptoms": 0.13967439356235781,
    "rheumatoid_arthritis": 0.26637287639614832, "tricyclic_antidepressants": 0.27032645250901249,
    "type_2_diabetes": 0.22545476355391131, "family_history_osteoporosis": 0.57850592818751423,
}
BOOLEAN_HIP = {
    "asthma": 0.27890852051559845, "corticosteroids": 0.16128527805107568,
    "cardiovascular_disease": 0.15290140342805958, "endocrine_disorder": 0.17055878640077321,
    "falls": 0.70722355117035207, "chronic_liver_disease": 0.50305457916769192,
    "malabsorption": 0.09699987212412825, "menopausal_symptoms": 0.12058523279826015,
    "rheumatoid_arthritis": 0.57627190834220499, "tricyclic_antidepressants": 0.29136745040051554,
    "type_2_diabetes": 0.5106376415323860, "family_history_osteoporosis": 0.055952765933874542,
}
QFRACTURE_AGE_RANGE = (30.0, 84.0)
QFRACTURE_BMI_RANGE = (18.0, 42.0)


def linear_predictors(
    age_years: np.ndarray | float,
    bmi_kg_m2: np.ndarray | float,
    smoking: int = 0,
    alcohol: int = 0,
    flags: dict[str, bool] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear predictors (osteoporotic, hip) of the female 2009 equations; elementwise over arrays.

    ``smoking`` 0-4 and ``alcohol`` 0-5 are QFracture's categories; ``flags`` names the boolean
    covariates of :data:`BOOLEAN_OSTEOPOROTIC`. Callers clamp age and BMI to the published ranges.
    """
    x = np.asarray(age_years, dtype=float) / 10.0
    bmi = np.asarray(bmi_kg_m2, dtype=float)
    osteoporotic = (
        (1.0 / x - 0.196857452392578) * 4.1258537545712093
        + (np.log(x) / x - 0.319947570562363) * -39.198007103161359
        + (10.0 / bmi - 0.385591715574265) * 2.9324140498583149
        + ALCOHOL_OSTEOPOROTIC[alcohol] + SMOKING_OSTEOPOROTIC[smoking]
    )
    hip = (
        (x**3 - 132.45086669921875) * 0.066452777254661852
        + (x**3 * np.log(x) - 215.7276611328125) * -0.025386834966635921
        + ((bmi / 10.0) ** -2 - 0.148729562759399) * 5.1369781819440377
        + ALCOHOL_HIP[alcohol] + SMOKING_HIP[smoking]
    )
    for name, on in (flags or {}).items():
        if on:
            osteoporotic = osteoporotic + BOOLEAN_OSTEOPOROTIC[name]
            hip = hip + BOOLEAN_HIP[name]
    return osteoporotic, hip


def smoking_category(current: bool, former: bool, cigarettes_per_day: float | None) -> int:
    """QFracture smoking category 0 non, 1 ex, 2 light (<10/day), 3 moderate (10-19), 4 heavy (>=20).

    Category meanings are recalled from Hippisley-Cox & Coupland BMJ 2009, not verified [R]; a current
    smoker with no count is put in category 3 (ours).
    """
    if current:
        if cigarettes_per_day is None:
            return 3
        return 2 if cigarettes_per_day < 10 else 3 if cigarettes_per_day < 20 else 4
    return 1 if former else 0


def alcohol_category(units_per_day: float) -> int:
    """QFracture alcohol category 0 none, 1 <1 unit/day, 2 1-2, 3 3-6, 4 7-9, 5 >9 (recalled, unverified [R])."""
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


def published_risk_pct(
    age_years: float, bmi_kg_m2: float, smoking: int = 0, alcohol: int = 0, flags: dict[str, bool] | None = None,
    years: int = 10,
) -> tuple[float, float]:
    """QFracture-2009 female risk (%) of osteoporotic and hip fracture at ``years`` (1-10), as published.

    risk = 100 (1 - S0[t] ** exp(a)); no BMD input. The 2009 release takes age as a whole number of
    years (C int), and so does this reference value; age and BMI are clamped to the published ranges.
    """
    age = min(max(float(int(age_years)), QFRACTURE_AGE_RANGE[0]), QFRACTURE_AGE_RANGE[1])
    bmi = min(max(float(bmi_kg_m2), QFRACTURE_BMI_RANGE[0]), QFRACTURE_BMI_RANGE[1])
    a_op, a_hip = (float(v) for v in linear_predictors(age, bmi, smoking, alcohol, flags))
    return (100.0 * (1.0 - S0_OSTEOPOROTIC[years - 1] ** np.exp(a_op)),
            100.0 * (1.0 - S0_HIP[years - 1] ** np.exp(a_hip)))
