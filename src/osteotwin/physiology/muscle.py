"""Muscle (osteosarcopenia): lean mass and strength over time, and the falls rate.

Closed-form monthly update of two relative quantities (1.0 at month 0):

    lean(t)     = lean_age(t)     * (1 + T_lean(t))
    strength(t) = strength_age(t) * (1 + T_strength(t))

* ``*_age``: loss with age at a rate that grows with age, multiplied by estrogen deficiency
  (relative estradiol)^(-gamma_E) and by gut-derived inflammation (TNF relative)^gamma_I.
  Rates: leg lean mass about 1%/y and knee-extensor strength 2.6%/y in white women aged 70-79
  (Health ABC, Goodpaster 2006 J Gerontol A 61:1059 [S]); whole-body lean mass is lost more
  slowly (we take 0.6%/y at 65 [A]).
* ``T_*``: the training effect, first order towards a plateau set by the resistance dose
  (sessions/week, intensity) and protein, with time constant ``training_time_constant_months``;
  it decays back (detraining) when training stops. Plateaus: lean body mass +1.1 kg
  (Peterson 2011 Med Sci Sports Exerc 43:249, 49 studies, adults >= 50) [V abstract], i.e. about
  +2.7% of a 40 kg lean mass; strength +24-33% (Peterson 2010 Ageing Res Rev 9:226) [V abstract].
  Protein: supplementation adds 0.30 kg fat-free mass to training gains, with no further gain
  above 1.62 g/kg/d (Morton 2018 Br J Sports Med 52:376) [V abstract].

Falls per year:
    falls = base(age) * RaR_balance(balance hours/week) * (strength / strength_reference)^(-beta)
strength_reference is an untrained, untreated postmenopausal woman of the same age, so training
lowers and AI-accelerated weakness raises the falls rate.
base(age): at least one-third of community-dwelling people over 65 fall each year and trial
control groups fall about 0.85 times per person-year at mean age 76 (Sherrington 2019 Cochrane
CD012424) [V]; we take 0.45/y at 75 rising 4%/year of age [A]. Balance and functional exercise:
rate ratio 0.76; >= 3 h/week including balance 0.58 (Sherrington 2019; 2020 update) [V].
Resistance training alone: effect uncertain (same review) [V], so it acts only through strength
with a small exponent (beta, ours [A]) chosen so that balance plus resistance gives about the
0.66 of "multiple types of exercise" [V].
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology.parameters import Parameter, ParameterTable

PARAMETERS = ParameterTable(
    [
        Parameter(
            "lean_loss_per_year_at_65", 0.006, "1/y",
            "Relative loss of whole-body lean mass per year at age 65, untrained, untreated postmenopausal",
            "Ours [A]; Health ABC leg lean mass ~1%/y at 70-79 (Goodpaster 2006) [S]",
            "A", (0.002, 0.012), symbol="l_lean",
        ),
        Parameter(
            "strength_loss_per_year_at_65", 0.02, "1/y",
            "Relative loss of leg strength per year at age 65",
            "Ours [A]; Health ABC white women 2.6%/y at 70-79 (Goodpaster 2006) [S]",
            "A", (0.01, 0.04), symbol="l_str",
        ),
        Parameter(
            "loss_rate_increase_per_year_of_age", 0.03, "1/y",
            "Relative growth of both loss rates per year of age (exponential)",
            "Ours [A]: 0.6%/y at 65 -> ~0.8%/y at 75 lean; 2%/y -> 2.7%/y strength",
            "A", (0.0, 0.06), symbol="g_age",
        ),
        Parameter(
            "muscle_estrogen_exponent", 0.1, "1",
            "Loss rates x (relative estradiol)^(-gamma_E); AI (E ~0.08) -> x1.29",
            "Ours [A], weak: lean mass falls faster across menopause (SWAN body composition) [R]; no "
            "human dose-response for AI",
            "A", (0.0, 0.3), symbol="gamma_E",
        ),
        Parameter(
            "muscle_inflammation_exponent", 0.5, "1",
            "Loss rates x (TNF relative)^gamma_I (inflammation and anabolic resistance)",
            "Ours [A], weak",
            "A", (0.0, 1.5), symbol="gamma_I",
        ),
        Parameter(
            "training_lean_gain_max", 0.0275, "1",
            "Plateau relative lean-mass gain of 2 sessions/week of moderate-to-high resistance training "
            "at 1.0 g/kg/d protein",
            "Peterson 2011: +1.1 kg lean body mass (95% CI 0.9-1.2) [V]; / ~40 kg lean mass [A]",
            "V", (0.01, 0.05), symbol="G_lean",
        ),
        Parameter(
            "training_strength_gain_max", 0.25, "1",
            "Plateau relative strength gain of 2 sessions/week of moderate-to-high resistance training",
            "Peterson 2010 Ageing Res Rev: +24-33% across four strength tests [V]",
            "V", (0.1, 0.4), symbol="G_str",
        ),
        Parameter(
            "training_time_constant_months", 3.0, "months",
            "Time constant of training adaptation and of detraining",
            "Ours [A]; trials of ~20 weeks reach most of the gain (Peterson 2011) [R]",
            "A", (1.0, 6.0), symbol="tau_tr",
        ),
        Parameter(
            "protein_training_bonus", 0.27, "1",
            "Relative extra training gain at >= 1.62 g/kg/d protein versus 1.0 g/kg/d",
            "Morton 2018: +0.30 kg FFM on ~1.1 kg gains; plateau at 1.62 g/kg/d [V]",
            "V", (0.0, 0.5), symbol="b_prot",
        ),
        Parameter(
            "falls_per_year_at_75", 0.45, "falls/y",
            "Falls per person-year of an untrained woman aged 75",
            "Ours [A], between 'one-third fall each year over 65' and 0.85/person-year in trial control "
            "groups at mean age 76 (Sherrington 2019) [V]",
            "A", (0.3, 0.9), symbol="lambda_75",
        ),
        Parameter(
            "falls_increase_per_year_of_age", 0.04, "1/y",
            "Relative growth of the falls rate per year of age",
            "Ours [A]",
            "A", (0.0, 0.08), symbol="g_falls",
        ),
        Parameter(
            "balance_rate_ratio_1h", 0.76, "1",
            "Falls rate ratio with ~1 h/week of balance and functional exercise",
            "Sherrington 2019 Cochrane: RaR 0.76 (0.70-0.81), high certainty [V]",
            "V", (0.6, 0.9), symbol="RaR_1h",
        ),
        Parameter(
            "balance_rate_ratio_3h", 0.58, "1",
            "Falls rate ratio with >= 3 h/week of exercise including balance",
            "Sherrington 2020 BJSM update: IRR 0.58 (0.45-0.76) [V]",
            "V", (0.4, 0.8), symbol="RaR_3h",
        ),
        Parameter(
            "balance_session_hours", 0.5, "h",
            "Length of one balance session",
            "Too Fit To Fracture: balance 15-20 min/day, ~2 h/week (Giangregorio LM et al. Osteoporos Int 2014;25:821-35) [V]; ours [A] 30 min",
            "A", (0.25, 1.0), symbol="h_bal",
        ),
        Parameter(
            "falls_strength_exponent", 0.5, "1",
            "Falls x (strength / reference strength)^(-beta)",
            "Ours [A]: +25% strength -> RaR 0.89; with balance 0.76 x 0.89 = 0.68 ~ 'multiple types' "
            "0.66 (Sherrington 2019) [V]",
            "A", (0.0, 1.5), symbol="beta",
        ),
    ]
)

INTENSITY_FACTOR = np.array([0.5, 0.85, 1.0])  # low, moderate, high; ours [A] (Peterson 2010: higher intensity, more gain)


def _training_plateau(resistance_sessions_per_week, resistance_intensity_code, protein_g_per_kg_per_day, p):
    """Fraction (0-~1.3) of the reference training plateau for a resistance dose and protein."""
    sessions = np.asarray(resistance_sessions_per_week, dtype=float)
    dose = np.clip(sessions / 2.0, 0.0, 1.25)  # 2/week = reference; 3/week a little more [A]
    intensity = INTENSITY_FACTOR[np.asarray(resistance_intensity_code).astype(int)]
    protein = np.asarray(protein_g_per_kg_per_day, dtype=float)
    protein_factor = np.where(
        protein >= 1.0,
        1.0 + p["protein_training_bonus"] * np.clip((protein - 1.0) / 0.62, 0.0, 1.0),
        1.0 - 0.5 * np.clip((1.0 - protein) / 0.6, 0.0, 1.0),  # low protein halves gains at 0.4 g/kg [A]
    )
    return dose * intensity * protein_factor


def muscle_trajectories(
    age_years: np.ndarray,
    months: np.ndarray,
    estradiol_relative: np.ndarray,
    tnf_relative: np.ndarray,
    resistance_sessions_per_week: np.ndarray,
    resistance_intensity_code: np.ndarray,
    protein_g_per_kg_per_day: np.ndarray,
    training_start_month: float = 0.0,
    parameters: ParameterTable | None = None,
) -> dict[str, np.ndarray]:
    """Relative lean mass and strength, shape ``(patients, len(months))``; 1.0 at month 0.

    ``estradiol_relative`` and ``tnf_relative`` are ``(patients, len(months))`` (values at each
    month, held over the following month). Also returns ``strength_reference_relative``: an
    untrained, untreated postmenopausal woman of the same age (no estrogen or inflammation
    acceleration), the reference of the falls model, and ``strength_untrained_relative``: her own strength
    without the training (the reference of :func:`training_falls_rate_ratio`).
    """
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    months = np.asarray(months, dtype=float)
    age = np.asarray(age_years, dtype=float)[:, None] + months[None, :] / 12.0
    growth = np.exp(p["loss_rate_increase_per_year_of_age"] * (age - 65.0))
    modifier = np.clip(estradiol_relative, 1e-3, None) ** (-p["muscle_estrogen_exponent"]) * np.clip(
        tnf_relative, 1e-3, None
    ) ** p["muscle_inflammation_exponent"]
    dt_years = np.diff(months, prepend=months[0]) / 12.0  # first step 0
    # loss over the interval [t_{k-1}, t_k] uses the rates at t_{k-1}
    lean_rate = np.concatenate([np.zeros((age.shape[0], 1)), (p["lean_loss_per_year_at_65"] * growth * modifier)[:, :-1]], axis=1)
    strength_rate = np.concatenate(
        [np.zeros((age.shape[0], 1)), (p["strength_loss_per_year_at_65"] * growth * modifier)[:, :-1]], axis=1
    )
    lean_age = np.exp(-np.cumsum(lean_rate * dt_years[None, :], axis=1))
    strength_age = np.exp(-np.cumsum(strength_rate * dt_years[None, :], axis=1))
    reference_rate = np.concatenate(
        [np.zeros((age.shape[0], 1)), (p["strength_loss_per_year_at_65"] * growth)[:, :-1]], axis=1
    )
    strength_reference = np.exp(-np.cumsum(reference_rate * dt_years[None, :], axis=1))

    plateau = _training_plateau(resistance_sessions_per_week, resistance_intensity_code, protein_g_per_kg_per_day, p)
    since_start = np.clip(months - training_start_month, 0.0, None)
    approach = 1.0 - np.exp(-since_start / p["training_time_constant_months"])
    training = plateau[:, None] * approach[None, :]
    return {
        "lean_mass_relative": lean_age * (1.0 + p["training_lean_gain_max"] * training),
        "strength_relative": strength_age * (1.0 + p["training_strength_gain_max"] * training),
        "strength_untrained_relative": strength_age,
        "strength_reference_relative": strength_reference,
    }


def lean_body_mass_kg(weight_kg: np.ndarray, height_cm: np.ndarray) -> np.ndarray:
    """Baseline lean body mass of a woman (Janmahasatian 2005 Clin Pharmacokinet 44:1051) [R]."""
    weight = np.asarray(weight_kg, dtype=float)
    bmi = weight / (np.asarray(height_cm, dtype=float) / 100.0) ** 2
    return 9270.0 * weight / (8780.0 + 244.0 * bmi)


def balance_rate_ratio(balance_sessions_per_week: np.ndarray, parameters: ParameterTable | None = None) -> np.ndarray:
    """Falls rate ratio from balance training: log-linear in hours/week through 1 h and 3 h."""
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    hours = np.asarray(balance_sessions_per_week, dtype=float) * p["balance_session_hours"]
    log_1h, log_3h = np.log(p["balance_rate_ratio_1h"]), np.log(p["balance_rate_ratio_3h"])
    log_rr = np.where(hours <= 1.0, hours * log_1h, log_1h + (np.minimum(hours, 3.0) - 1.0) / 2.0 * (log_3h - log_1h))
    return np.exp(log_rr)


def training_falls_rate_ratio(
    balance_sessions_per_week: np.ndarray,
    strength_relative: np.ndarray,
    strength_untrained_relative: np.ndarray,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Falls rate with training / without, shape ``(patients, months)``: the balance rate ratio times the
    strength term of :func:`falls_per_year` for the strength training adds (1.0 without training)."""
    parameters = PARAMETERS if parameters is None else parameters
    gain = np.clip(strength_relative / strength_untrained_relative, 0.2, 5.0)
    return balance_rate_ratio(balance_sessions_per_week, parameters)[:, None] * gain ** (
        -parameters.value("falls_strength_exponent"))


def falls_per_year(
    age_years: np.ndarray,
    months: np.ndarray,
    balance_sessions_per_week: np.ndarray,
    strength_relative: np.ndarray,
    strength_reference_relative: np.ndarray,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Expected falls per year at each month, shape ``(patients, len(months))``."""
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    age = np.asarray(age_years, dtype=float)[:, None] + np.asarray(months, dtype=float)[None, :] / 12.0
    base = p["falls_per_year_at_75"] * np.exp(p["falls_increase_per_year_of_age"] * (age - 75.0))
    strength_ratio = np.clip(strength_relative / strength_reference_relative, 0.2, 5.0)
    return base * balance_rate_ratio(balance_sessions_per_week, parameters)[:, None] * strength_ratio ** (
        -p["falls_strength_exponent"]
    )
