"""Gut-bone axis: estrogen deficiency -> gut permeability -> LPS -> TNF-alpha -> RANKL.

EVIDENCE: this module rests mainly on ANIMAL evidence. In ovariectomised mice, estrogen loss
raises gut permeability and TNF-producing T cells, and germ-free or TNF-deficient mice, or mice
given Lactobacillus rhamnosus GG / VSL#3, are protected from the bone loss (Li 2016 JCI
126:2049; Roggia 2001 PNAS). In women the only support is the probiotic randomised trials
(Jansson 2019 Lancet Rheumatol: lumbar spine -0.01% vs -0.72% at 12 months; ELBOW, Nilsson
2018: tibia vBMD; Yu 2021 meta-analysis: LS SMD 0.27, hip not significant) and one null trial
(Gregori 2024). No trial in women on aromatase inhibitors exists, so the share of AI bone loss
carried by the gut is an assumption (docs/model.md section 7: prior 20-40% of the estrogen-
deficiency RANKL increment in mice; we take less, see ``gut_rankl_per_tnf``). The module can be
switched off (``EngineOptions.gut_axis``) and the calibration report shows its contribution.

Two pieces:
* :func:`gut_barrier_relative` (outside the right-hand side): what the person does for the gut
  (probiotic, prebiotic fibre, polyphenols) as a permeability multiplier, 1.0 for no intervention.
* :func:`inflammation_rankl_relative` (inside the right-hand side, plain arithmetic so numba can
  compile it): relative RANKL production from gut-derived TNF-alpha, 1.0 for an untreated
  postmenopausal woman (estradiol_relative = 1) with no gut intervention.

Equations (quasi-steady state of docs/model.md section 7; the permeability time constant of ~2 weeks is
negligible on the monthly scale of BMD):
    permeability P = ((E + e_floor) / (1 + e_floor)) ** (-gamma_P) - (1 - barrier) * window(t)
    TNF relative    = P                    (LPS = P, TNF = 1 + a_T (LPS - 1) with a_T = 1)
    RANKL relative  = 1 + phi * (TNF - 1)
    window(t)       = 1 while t < T_int (months on the intervention), 0 after

Bounded by the human trials: an intervention lowers permeability by the same absolute amount
whatever the woman's estradiol, i.e. its RANKL effect is the one fitted in untreated postmenopausal women
(Jansson 2019) and is NOT amplified by an aromatase inhibitor's estrogen deficiency, because no trial of a
probiotic exists in women on an AI (a reduction that multiplied the estrogen-raised permeability made a
probiotic remove most of the 5-year AI spine loss). And it acts for T_int = 12 months,
the longest human trials with an effect (Jansson 2019; ELBOW, Nilsson 2018); after that the model adds
nothing more (no human evidence of a growing effect; the 24-month L. reuteri trial, Gregori 2024, was
null): bone already gained stays, apart from the small remodelling-space transient when RANKL returns.
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology.parameters import Parameter, ParameterTable

PARAMETERS = ParameterTable(
    [
        Parameter(
            "gut_permeability_estrogen_exponent", 0.25, "1",
            "Gut permeability ~ (E2/E2_postmenopausal)^(-gamma_P); 0.25 makes the 15-fold E2 fall "
            "at menopause double permeability; with the core's calibration the gut route then carries about "
            "25% of the 5-year AI bone loss (within the 20-40% prior of docs/model.md section 7)",
            "Ours [A], anchored to the roughly twofold rise in gut permeability after ovariectomy in mice "
            "(Li 2016 JCI 126:2049) [R: fold change recalled]",
            "A", (0.0, 0.6), symbol="gamma_P",
        ),
        Parameter(
            "gut_rankl_per_tnf", 0.5, "1",
            "Fractional rise of RANKL production per unit relative rise of TNF-alpha",
            "Ours [A]; chosen so that the gut route carries a minority of the AI RANKL increment "
            "(the 20-40% prior, docs/model.md section 7, is from mice; human share unknown)",
            "A", (0.0, 1.0), symbol="phi",
        ),
        Parameter(
            "gut_estradiol_floor_relative", 0.005, "1",
            "Safety floor of relative estradiol so the power law stays finite at E2 = 0 (the "
            "engine's r_E already includes the assay floor E_s of estrogen.py)",
            "Ours [A]",
            "A", (0.0, 0.05), symbol="e_floor",
        ),
        Parameter(
            "probiotic_permeability_reduction", 0.5483, "1",
            "Fractional fall of gut permeability with a daily Lactobacillus probiotic "
            "(1e10 CFU/d)",
            "Calibrated [C] to Jansson 2019 (S4-045: LS +0.71 pp vs placebo at 12 mo); prior 0.5 "
            "(docs/model.md section 7)",
            "C", (0.0, 0.9), symbol="epsilon_pro",
        ),
        Parameter(
            "gut_intervention_effect_months", 12.0, "months",
            "Months over which a gut intervention (probiotic, fibre, polyphenols) lowers RANKL; no further "
            "effect after (the bone already gained is kept)",
            "Ours [A], bounded by the human trials: Jansson 2019 Lancet Rheumatol (12 mo, LS +0.71 pp, "
            "S4-045) and ELBOW (Nilsson 2018, 12 mo) found effects; Gregori 2024 (L. reuteri, 24 mo) was "
            "null; no trial in women on an aromatase inhibitor",
            "A", (6.0, 24.0), symbol="T_int",
        ),
        Parameter(
            "fiber_reference_g_per_day", 18.0, "g/d",
            "Fibre intake of the reference person (no prebiotic effect at or below it)",
            "Scenario default Diet.fiber_g_per_day; typical adult intake 15-20 g/d [R]",
            "A", (10.0, 25.0), symbol="Fib_ref",
        ),
        Parameter(
            "fiber_permeability_reduction_max", 0.1, "1",
            "WEAK: largest fractional fall of permeability from prebiotic fibre above the reference "
            "(reached at +12 g/d)",
            "Ours [A]; prebiotic fibre/inulin improves barrier markers in rodents, human bone data are "
            "small short trials [R]. Small by design; off with weak_evidence_nutrients",
            "A", (0.0, 0.3), symbol="epsilon_fib",
        ),
        Parameter(
            "fiber_effect_saturation_g_per_day", 12.0, "g/d",
            "Extra fibre above the reference at which the prebiotic effect is full",
            "Ours [A]; prebiotic trials typically add 5-20 g/d of inulin-type fructans [R]",
            "A", (5.0, 30.0), symbol="Fib_sat",
        ),
        Parameter(
            "polyphenol_permeability_reduction_max", 0.05, "1",
            "WEAK: largest fractional fall of permeability from dietary polyphenols (reached at 1000 mg/d "
            "above a 500 mg/d reference)",
            "Ours [A]; polyphenol effects on gut barrier and bone are mostly animal and in-vitro data [R]. "
            "Small by design; off with weak_evidence_nutrients",
            "A", (0.0, 0.2), symbol="epsilon_pol",
        ),
    ]
)

_P = PARAMETERS.values_dict()

# Module-level floats read by the right-hand side; numba freezes globals at compile time.
GAMMA_P = _P["gut_permeability_estrogen_exponent"]
PHI_TNF = _P["gut_rankl_per_tnf"]
E_FLOOR = _P["gut_estradiol_floor_relative"]
INTERVENTION_MONTHS = _P["gut_intervention_effect_months"]

POLYPHENOL_REFERENCE_MG_PER_DAY = 500.0  # ours [A]: typical Western intake is several hundred mg/d [R]
POLYPHENOL_SATURATION_MG_PER_DAY = 1000.0  # ours [A]


def inflammation_rankl_relative(estradiol_relative, gut_barrier_relative, month=None):
    """Relative RANKL production from gut-derived TNF-alpha; plain arithmetic (numba-safe).

    1.0 at ``estradiol_relative = 1`` (untreated postmenopausal) and ``gut_barrier_relative = 1``
    (no gut intervention). Lower estradiol raises permeability (power law); an intervention lowers it
    by ``1 - gut_barrier_relative``, independent of estradiol, while ``month < T_int`` (module docstring).
    ``month``: months since the start of the scenario (the intervention starts at month 0), broadcastable
    against the other arguments; ``None`` applies the intervention at every time (its first-year effect).
    Works elementwise on floats and numpy arrays.
    """
    estrogen_permeability = ((estradiol_relative + E_FLOOR) / (1.0 + E_FLOOR)) ** (-GAMMA_P)
    reduction = 1.0 - gut_barrier_relative
    if month is not None:
        reduction = reduction * (month < INTERVENTION_MONTHS)
    return 1.0 + PHI_TNF * (estrogen_permeability - reduction - 1.0)


def gut_barrier_relative(
    probiotic: np.ndarray,
    fiber_g_per_day: np.ndarray,
    polyphenols_mg_per_day: np.ndarray,
    weak_evidence: bool = True,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Gut permeability relative to no intervention (1.0); < 1 with a probiotic, fibre, polyphenols.

    ``probiotic`` is 0..1 (fraction of days taken). Fibre and polyphenol effects are weak evidence
    and apply only when ``weak_evidence`` is true.
    """
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    probiotic = np.clip(np.asarray(probiotic, dtype=float), 0.0, 1.0)
    barrier = 1.0 - p["probiotic_permeability_reduction"] * probiotic
    if weak_evidence:
        extra_fiber = np.clip(
            (np.asarray(fiber_g_per_day, dtype=float) - p["fiber_reference_g_per_day"])
            / p["fiber_effect_saturation_g_per_day"],
            0.0,
            1.0,
        )
        barrier = barrier * (1.0 - p["fiber_permeability_reduction_max"] * extra_fiber)
        extra_polyphenols = np.clip(
            (np.asarray(polyphenols_mg_per_day, dtype=float) - POLYPHENOL_REFERENCE_MG_PER_DAY)
            / POLYPHENOL_SATURATION_MG_PER_DAY,
            0.0,
            1.0,
        )
        barrier = barrier * (1.0 - p["polyphenol_permeability_reduction_max"] * extra_polyphenols)
    return barrier
