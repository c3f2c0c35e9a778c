"""Calcium, vitamin D and PTH: the reduced module (docs/model.md section 8).

Intake (diet plus supplements) sets serum 25(OH)D and absorbed calcium; low vitamin D or low
absorbed calcium raises PTH (secondary hyperparathyroidism), which the core turns into more
RANKL and less OPG (Pivonka PTH terms). Supplementing a replete woman lowers PTH a little, which
gives the small, non-progressive BMD gain of the calcium/vitamin D trials (Tang 2007, WHI CaD);
supplementing a deficient woman lowers it more.

25(OH)D at steady state (ng/mL):
    D = D_endogenous + A * (1 - exp(-I / K))        I = vitamin D3 intake, IU/d
A and K reproduce the curve of Ekwaru 2014 PLoS One 9:e111265 [V abstract]: +12.0 nmol/L per
1000 IU between 0 and 1000 IU/d and +1.1 nmol/L per 1000 IU at 15,000-20,000 IU/d (exponential).
D_endogenous (skin and unlisted food) is set so that the reference person (200 IU/d) has
25 ng/mL, or taken from a measured 25(OH)D when one is given.
Time course: first-order approach with half-life ``vitamin_d_half_life_days`` (docs/model.md section 8:
2-3 weeks [R]).

Absorbed calcium: fractional absorption falls with intake (active transport saturates) and rises
a little with 25(OH)D:
    f_abs = f_ref * (I_Ca / I_ref)^(-beta) * (1 + a_D * (D - D_ref) / (D + K_D)),  clipped 0.1-0.6

PTH relative to the reference person:
    PTH/PTH_ref = g_D(D) * (J_abs / J_abs,ref)^(-gamma_Ca)
    g_D(D) = (1 + A_D exp(-D / lambda_D)) / (1 + A_D exp(-D_ref / lambda_D))
g_D falls steeply below ~20 ng/mL and flattens above ~30-40 ng/mL; in EVOS (Mezquita-Raya 2003
[V abstract], PubMed 12753264) secondary hyperparathyroidism (PTH > 65 pg/mL) affected 33% at
25(OH)D < 10 ng/mL, 16% at 10-18 and 12% above 18, and none above 40 ng/mL.
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology.parameters import Parameter, ParameterTable

NMOL_PER_NG = 2.5  # 1 ng/mL 25(OH)D = 2.5 nmol/L (MedlinePlus) [V]

PARAMETERS = ParameterTable(
    [
        Parameter(
            "reference_calcium_mg_per_day", 800.0, "mg/d",
            "Total calcium intake of the reference person (all drives 1.0)",
            "Scenario default Diet.calcium_mg_per_day; EFSA 2015 average requirement 750 mg/d [V]",
            "A", (500.0, 1200.0), symbol="Ca_ref",
        ),
        Parameter(
            "reference_vitamin_d_iu_per_day", 200.0, "IU/d",
            "Total vitamin D intake of the reference person",
            "Scenario default Diet.vitamin_d_iu_per_day (typical unsupplemented intake) [A]",
            "A", (0.0, 800.0), symbol="VD_ref",
        ),
        Parameter(
            "reference_25ohd_ng_per_ml", 25.0, "ng/mL",
            "Serum 25(OH)D of the reference person",
            "IOM 2011: >= 20 ng/mL adequate (IOM 2011 via MedlinePlus) [S]; US older women mostly 20-30 ng/mL [R]",
            "A", (18.0, 32.0), symbol="D_ref",
        ),
        Parameter(
            "vitamin_d_response_max_nmol_per_l", 94.0, "nmol/L",
            "Largest rise of 25(OH)D from oral vitamin D3 (exponential dose-response)",
            "Fitted by us to Ekwaru 2014 PLoS One 9:e111265 (12.0 nmol/L per 1000 IU at 0-1000 IU/d; "
            "1.1 per 1000 IU at 15-20k IU/d) [V abstract]",
            "V", (60.0, 140.0), symbol="A",
        ),
        Parameter(
            "vitamin_d_response_scale_iu_per_day", 7300.0, "IU/d",
            "Intake scale of the exponential dose-response",
            "Fitted by us to Ekwaru 2014 (as above) [V abstract]",
            "V", (3000.0, 12000.0), symbol="K",
        ),
        Parameter(
            "vitamin_d_half_life_days", 18.0, "d",
            "Half-life of the approach of 25(OH)D to a new steady state",
            "t1/2 about 2-3 weeks (docs/model.md section 8) [R]",
            "R", (10.0, 30.0), symbol="t_half,D",
        ),
        Parameter(
            "calcium_absorption_fraction_reference", 0.30, "1",
            "Fractional calcium absorption at the reference intake",
            "Dairy ~32% (Weaver CM et al. Am J Clin Nutr 1999, via Lindshield, Human Nutrition 12.22) [S]",
            "S", (0.2, 0.4), symbol="alpha_ref",
        ),
        Parameter(
            "calcium_absorption_intake_exponent", 0.25, "1",
            "Fractional absorption ~ intake^(-beta) (saturable active transport)",
            "Ours [A]; fractional absorption falls as intake rises (Heaney; docs/model.md section 8) [R]",
            "A", (0.0, 0.5), symbol="beta",
        ),
        Parameter(
            "calcium_absorption_vitamin_d_gain", 0.2, "1",
            "Relative rise of calcium absorption with 25(OH)D above the reference",
            "Ours [A]; absorption rises modestly with 25(OH)D (docs/model.md section 8) [R]",
            "A", (0.0, 0.5), symbol="a_D",
        ),
        Parameter(
            "calcium_absorption_vitamin_d_half_ng_per_ml", 10.0, "ng/mL",
            "25(OH)D scale of the absorption effect",
            "Ours [A]",
            "A", (5.0, 30.0), symbol="K_D",
        ),
        Parameter(
            "pth_vitamin_d_amplitude", 1.5, "1",
            "Amplitude of the PTH rise at very low 25(OH)D",
            "Ours [A], shaped to EVOS (Mezquita-Raya 2003: secondary hyperparathyroidism 33% / 16% / 12% "
            "for 25(OH)D < 10 / 10-18 / > 18 ng/mL, none > 40) [V abstract]; not identifiable from the "
            "replete trial populations of Tang/WHI, so not fitted",
            "A", (0.3, 4.0), symbol="A_D",
        ),
        Parameter(
            "pth_vitamin_d_scale_ng_per_ml", 10.0, "ng/mL",
            "25(OH)D scale over which the PTH rise fades",
            "Ours [A]; PTH flattens above ~30-40 ng/mL (EVOS; Aloia 2006 AJCN knot at 44 nmol/L) [V abstract]",
            "A", (5.0, 20.0), symbol="lambda_D",
        ),
        Parameter(
            "pth_absorbed_calcium_exponent", 0.2144, "1",
            "PTH ~ (absorbed calcium / reference)^(-gamma_Ca)",
            "Ours [A] (docs/model.md section 8); calibrated [C] by scripts/calibrate_lifestyle.py to "
            "Tang 2007 (S4-026/027) and WHI CaD (S4-029, weight 0.3)",
            "C", (0.05, 1.0), symbol="gamma_Ca",
        ),
    ]
)


def serum_25ohd_steady_state_ng_ml(
    vitamin_d_iu_per_day: np.ndarray,
    endogenous_ng_ml: np.ndarray | float | None = None,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Steady-state serum 25(OH)D (ng/mL) for a daily vitamin D3 intake.

    ``endogenous_ng_ml`` is the part not explained by oral intake (skin, unlisted food); ``None``
    uses the reference person's.
    """
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    intake = np.asarray(vitamin_d_iu_per_day, dtype=float)
    if np.any(intake < 0):
        raise ValueError("vitamin_d_iu_per_day must be non-negative")
    if endogenous_ng_ml is None:
        endogenous_ng_ml = reference_endogenous_25ohd_ng_ml(parameters)
    rise_ng = (p["vitamin_d_response_max_nmol_per_l"] / NMOL_PER_NG) * (
        1.0 - np.exp(-intake / p["vitamin_d_response_scale_iu_per_day"])
    )
    return np.asarray(endogenous_ng_ml, dtype=float) + rise_ng


def reference_endogenous_25ohd_ng_ml(parameters: ParameterTable | None = None) -> float:
    """The endogenous 25(OH)D of the reference person (reference level minus the oral-intake rise)."""
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    rise_ng = (p["vitamin_d_response_max_nmol_per_l"] / NMOL_PER_NG) * (
        1.0 - np.exp(-p["reference_vitamin_d_iu_per_day"] / p["vitamin_d_response_scale_iu_per_day"])
    )
    return p["reference_25ohd_ng_per_ml"] - float(rise_ng)


def endogenous_from_measured_ng_ml(
    measured_25ohd_ng_ml: np.ndarray,
    habitual_vitamin_d_iu_per_day: np.ndarray,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Endogenous 25(OH)D implied by a measurement taken on the habitual intake (floored at 0)."""
    parameters = PARAMETERS if parameters is None else parameters
    rise = serum_25ohd_steady_state_ng_ml(habitual_vitamin_d_iu_per_day, 0.0, parameters)
    return np.maximum(np.asarray(measured_25ohd_ng_ml, dtype=float) - rise, 0.0)


def calcium_absorbed_mg_per_day(
    calcium_mg_per_day: np.ndarray, serum_25ohd_ng_ml: np.ndarray, parameters: ParameterTable | None = None
) -> np.ndarray:
    """Absorbed calcium (mg/d) from total intake and 25(OH)D."""
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    intake = np.asarray(calcium_mg_per_day, dtype=float)
    if np.any(intake < 0):
        raise ValueError("calcium_mg_per_day must be non-negative")
    d = np.asarray(serum_25ohd_ng_ml, dtype=float)
    d_ref = p["reference_25ohd_ng_per_ml"]
    safe_intake = np.maximum(intake, 1.0)
    fraction = (
        p["calcium_absorption_fraction_reference"]
        * (safe_intake / p["reference_calcium_mg_per_day"]) ** (-p["calcium_absorption_intake_exponent"])
        * (1.0 + p["calcium_absorption_vitamin_d_gain"] * (d - d_ref) / (d + p["calcium_absorption_vitamin_d_half_ng_per_ml"]))
    )
    return np.clip(fraction, 0.1, 0.6) * intake


def pth_relative(
    calcium_mg_per_day: np.ndarray, serum_25ohd_ng_ml: np.ndarray, parameters: ParameterTable | None = None
) -> np.ndarray:
    """PTH relative to the reference person (1.0 at 800 mg/d calcium and 25 ng/mL 25(OH)D)."""
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    d = np.asarray(serum_25ohd_ng_ml, dtype=float)
    d_ref = p["reference_25ohd_ng_per_ml"]
    amplitude, scale = p["pth_vitamin_d_amplitude"], p["pth_vitamin_d_scale_ng_per_ml"]
    g_d = (1.0 + amplitude * np.exp(-d / scale)) / (1.0 + amplitude * np.exp(-d_ref / scale))
    absorbed = calcium_absorbed_mg_per_day(calcium_mg_per_day, d, parameters)
    absorbed_ref = calcium_absorbed_mg_per_day(np.array(p["reference_calcium_mg_per_day"]), np.array(d_ref), parameters)
    # Floor absorbed calcium at 5% of the reference so that zero intake gives a large but finite PTH.
    ratio = np.maximum(absorbed / absorbed_ref, 0.05)
    return g_d * ratio ** (-p["pth_absorbed_calcium_exponent"])


def serum_25ohd_trajectory_ng_ml(
    start_ng_ml: np.ndarray, steady_ng_ml: np.ndarray, days: np.ndarray, parameters: ParameterTable | None = None
) -> np.ndarray:
    """First-order approach from ``start`` to ``steady``; shape ``(patients, len(days))``."""
    parameters = PARAMETERS if parameters is None else parameters
    rate = np.log(2.0) / parameters.value("vitamin_d_half_life_days")
    start = np.asarray(start_ng_ml, dtype=float)[:, None]
    steady = np.asarray(steady_ng_ml, dtype=float)[:, None]
    return steady + (start - steady) * np.exp(-rate * np.asarray(days, dtype=float)[None, :])
