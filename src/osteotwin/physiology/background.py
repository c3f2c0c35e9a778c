"""Background (untreated) postmenopausal bone loss by years since menopause and age.

An extra RANKL production, as a fraction of the intrinsic production beta_RANKL, added on top of
the reference steady state (the reference is the untreated postmenopausal woman with no drift):

``b(y, a) = b_meno * onset(y) * tau**2 / (tau**2 + max(y, 0)**2) + b_age * max(a - a_0, 0) / 10``

with y years since the final menstrual period (FMP) and a age in years. ``onset`` is a logistic
ramp over the transmenopause (centred one year before the FMP). The form follows the
Scheiner/Martinez-Reina postmenopausal RANKL term (a hyperbolic decay, model.md P2), re-scaled;
the age term is ours and lets loss speed up again in old age (SOF rows). All magnitudes are
calibrated to the natural-loss rows (SWAN, Michigan, SOF, CaMos).
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology.parameters import Parameter, ParameterTable

C_NAT = "calibrated by scripts/calibrate.py to natural-loss rows S1-065..S1-081 (SWAN, Michigan, SOF, CaMos)"

PARAMETERS = ParameterTable(
    [
        Parameter("menopause_rankl_drive", 1.0, "1", "b_meno: extra RANKL production at the FMP / beta_RANKL", C_NAT + "; form after MR 2019 PMO term (model.md P2)", "C", (0.0, 10.0)),
        Parameter("menopause_drive_decay_years", 3.0, "y", "tau: half-decay time of the menopausal drive (hyperbolic)", C_NAT, "C", (0.5, 20.0)),
        Parameter("menopause_onset_years_before_fmp", 1.0, "y", "centre of the logistic onset before the FMP", "ours (SWAN: loss starts ~1 y before FMP, Greendale 2012)", "A", (0.0, 3.0)),
        Parameter("menopause_onset_width_years", 0.5, "y", "width of the logistic onset", "ours", "A", (0.1, 2.0)),
        Parameter("age_rankl_drive_per_decade", 0.1, "1/10y", "b_age: extra RANKL production per decade above age a_0 / beta_RANKL", C_NAT + " (SOF age strata S1-076, S1-077)", "C", (0.0, 5.0)),
        Parameter("age_drive_onset_years", 65.0, "y", "a_0: age from which the age term grows", "ours", "A", (50.0, 80.0)),
    ]
)


def background_rankl_drive(years_since_menopause: np.ndarray, age_years: np.ndarray, params: ParameterTable) -> np.ndarray:
    """Extra RANKL production / beta_RANKL at the given years since FMP and age (elementwise)."""
    y = np.asarray(years_since_menopause, dtype=float)
    onset = 1.0 / (1.0 + np.exp(-(y + params.value("menopause_onset_years_before_fmp")) / params.value("menopause_onset_width_years")))
    tau = params.value("menopause_drive_decay_years")
    decay = tau**2 / (tau**2 + np.maximum(y, 0.0) ** 2)
    age_term = params.value("age_rankl_drive_per_decade") * np.maximum(np.asarray(age_years, dtype=float) - params.value("age_drive_onset_years"), 0.0) / 10.0
    return params.value("menopause_rankl_drive") * onset * decay + age_term
