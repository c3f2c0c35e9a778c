"""Estradiol per patient and its effects on bone as power laws (docs/model.md section 2).

Why power laws: menopause lowers estradiol about 15-fold and aromatase inhibitors (AIs) lower it
about 10-fold further, and both cause bone loss of similar size; Hill curves centred on
premenopausal estradiol cannot produce the AI effect. Every estrogen-regulated process X gets a
multiplier ``r_E ** (-gamma_X)`` with ``r_E = (E2 + E_floor) / (E_pm + E_floor)``, equal to 1 at
the untreated postmenopausal reference level.

Endocrine therapy acts on a monthly (piecewise constant) basis: AIs reach steady state within
days (half-lives 1-4 d), so on the bone time scale a course is a step change in estradiol,
and estradiol returns to the untreated level when the course stops. Adherence is exposure: the
share of days on the drug (ours [A]). On a day taken, bone sees the suppressed estradiol; on a day
missed it sees the untreated level (the half-lives of 1-4 days are short against the gaps that
make up most non-adherence, which are weeks to months), so each multiplier below is the
days-weighted mean of its on- and off-drug values (:func:`exposure_multipliers`) and the AI's
effect on bone is proportional to the days on drug. (Until issue 13 the estradiol was averaged
first and put through the power law, so 80% adherence removed about half of the 5-year loss.) Tamoxifen does not lower serum estradiol in
postmenopausal women (our assumption) but is a partial estrogen agonist on bone; it acts as
an effective bone estradiol ``E_pm * tamoxifen_bone_estrogen_ratio`` (calibrated to the ATAC
tamoxifen arm).
"""

from __future__ import annotations

import numpy as np

from osteotwin.catalog import AROMATASE_INHIBITORS, ENDOCRINE_DRUGS
from osteotwin.physiology.parameters import Parameter, ParameterTable, calibrated

DIXON = "Dixon JM et al. J Clin Oncol 2008;26:1671-6 (mean E2 by ultrasensitive assay)"

PARAMETERS = ParameterTable(
    [
        Parameter("estradiol_postmenopausal_pg_ml", 7.0, "pg/mL", "untreated postmenopausal serum estradiol (AI candidates, mean age 63)", DIXON, "S", (3.0, 15.0), symbol="E_pm"),
        Parameter("estradiol_floor_pg_ml", 0.2, "pg/mL", "assay/tissue floor so the effect saturates at very low E2 (docs/model.md section 2)", "ours (prior 0.1-0.3 pg/mL, docs/model.md section 2)", "A", (0.05, 0.5), symbol="E_s"),
        Parameter("anastrozole_residual_fraction", 0.101, "1", "serum E2 on anastrozole 1 mg/d / untreated (2.71 vs 25.7 pmol/L)", DIXON, "S", (0.05, 0.2), symbol="rho_ANA"),
        Parameter("letrozole_residual_fraction", 0.059, "1", "serum E2 on letrozole 2.5 mg/d / untreated (1.56 vs 25.7 pmol/L)", DIXON, "S", (0.02, 0.15), symbol="rho_LET"),
        Parameter("exemestane_residual_fraction", 0.10, "1", "serum E2 on exemestane 25 mg/d / untreated (85-95% suppression)", "exemestane label and reviews; Geisler J et al. 1998, recalled", "R", (0.05, 0.15), symbol="rho_EXE"),
        Parameter("tamoxifen_bone_estrogen_ratio", 2.70042, "1", "effective bone estradiol on tamoxifen 20 mg/d / untreated postmenopausal (partial agonist)", calibrated("core", "ours: its range only (a partial agonist, above the untreated level); identified by the ATAC tamoxifen arm S1-005, S1-006, S1-009, S1-010"), "C", (1.0, 20.0), symbol="rho_TAM"),
        Parameter("estrogen_rankl_exponent", 0.318342, "1", "RANKL production multiplier r_E**-gamma_L", calibrated("core", "ours 0.3-0.6 (docs/model.md section 2); its lower bound 0.3 is kept: below it an AI barely raises RANKL/OPG, against the mechanism"), "C", (0.3, 1.5), symbol="gamma_L"),
        Parameter("estrogen_opg_exponent", 0.05, "1", "OPG production multiplier r_E**+gamma_O", "ours, prior 0-0.1 (docs/model.md section 2; modest, recalled)", "A", (0.0, 0.1), symbol="gamma_O"),
        Parameter("estrogen_osteoclast_apoptosis_exponent", 0.00767278, "1", "osteoclast apoptosis multiplier r_E**+gamma_C (estrogen shortens osteoclast life)", calibrated("core", "ours 0.1-0.3 (docs/model.md section 2; estrogen promotes osteoclast apoptosis, recalled)"), "C", (0.0, 0.6), symbol="gamma_C"),
        Parameter("estrogen_sclerostin_exponent", 0.10, "1", "sclerostin multiplier r_E**-gamma_S (Jorg 2022 e_Sc gives ~+9% at AI levels)", "ours, prior 0.05-0.15 (docs/model.md section 2, after Jorg DJ et al. eLife 2022;11:e76228); Modder UI et al. 2011 (recalled)", "R", (0.0, 0.3), symbol="gamma_S"),
    ]
)

ENDOCRINE_DRUG_CODES = {name: code for code, name in enumerate(("none", *ENDOCRINE_DRUGS))}
# Each aromatase inhibitor's serum estradiol on treatment / untreated, by drug code.
_RESIDUAL_PARAMETER = {ENDOCRINE_DRUG_CODES[drug]: f"{drug}_residual_fraction" for drug in AROMATASE_INHIBITORS}


def serum_estradiol_pg_ml(drug_code: np.ndarray, adherence: np.ndarray, params: ParameterTable) -> np.ndarray:
    """Time-averaged serum estradiol (pg/mL) for a drug code and adherence, elementwise.

    AI: ``E_pm * (1 - (1 - residual) * adherence)``; tamoxifen and no therapy: ``E_pm``.
    """
    e_pm = params.value("estradiol_postmenopausal_pg_ml")
    suppression = np.zeros(np.shape(drug_code))
    for code, name in _RESIDUAL_PARAMETER.items():
        suppression = np.where(drug_code == code, 1.0 - params.value(name), suppression)
    return e_pm * (1.0 - suppression * adherence)


def bone_estradiol_pg_ml(drug_code: np.ndarray, adherence: np.ndarray, params: ParameterTable) -> np.ndarray:
    """Estradiol as bone sees it: serum E2, except tamoxifen adds its agonism as equivalent E2."""
    serum = serum_estradiol_pg_ml(drug_code, adherence, params)
    ratio = params.value("tamoxifen_bone_estrogen_ratio")
    tamoxifen = serum * (1.0 + adherence * (ratio - 1.0))
    return np.where(drug_code == ENDOCRINE_DRUG_CODES["tamoxifen"], tamoxifen, serum)


def estrogen_ratio(bone_estradiol: np.ndarray, params: ParameterTable) -> np.ndarray:
    """r_E = (E2 + floor) / (E_pm + floor): 1 at the untreated postmenopausal reference."""
    floor = params.value("estradiol_floor_pg_ml")
    return (bone_estradiol + floor) / (params.value("estradiol_postmenopausal_pg_ml") + floor)


def estrogen_multipliers(ratio: np.ndarray, params: ParameterTable) -> dict[str, np.ndarray]:
    """Power-law multipliers of the estrogen-regulated processes; all 1 at r_E = 1."""
    return {
        "rankl": ratio ** -params.value("estrogen_rankl_exponent"),
        "opg": ratio ** params.value("estrogen_opg_exponent"),
        "osteoclast_apoptosis": ratio ** params.value("estrogen_osteoclast_apoptosis_exponent"),
        "sclerostin": ratio ** -params.value("estrogen_sclerostin_exponent"),
    }


def exposure_multipliers(drug_code: np.ndarray, adherence: np.ndarray, params: ParameterTable) -> dict[str, np.ndarray]:
    """The estrogen multipliers with adherence as exposure (module docstring): the share ``adherence`` of
    days at the on-drug multipliers and the rest at the untreated ones (1), elementwise."""
    on_drug = estrogen_multipliers(estrogen_ratio(bone_estradiol_pg_ml(drug_code, np.ones(np.shape(adherence)), params), params), params)
    return {name: adherence * value + (1.0 - adherence) for name, value in on_drug.items()}
