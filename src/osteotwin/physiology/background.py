"""Background (untreated) postmenopausal bone loss by years since menopause and age.

An extra RANKL production, as a fraction of the intrinsic production beta_RANKL, added on top of
the reference steady state (the reference is the untreated postmenopausal woman with no drift):

``b(y, a) = b_meno * x(y) + s_site * b_age * (max(a - a_0, 0) / 10) ** n_age``

with y years since the final menstrual period (FMP) and a age in years.

Transmenopausal term, estradiol-driven. Serum estradiol falls across the menopausal transition
along an FMP-centred sigmoid: in SWAN (Randolph 2011) mean E2 is flat until 2.0 y before the FMP,
falls fastest at the FMP and is stable from 2.2 y after it. We write the fraction of that fall
completed by y as a cumulative normal ``F(y) = Phi((y - c_E) / sigma_E)`` (c_E = 0, sigma_E = 1 y,
so that ~95% of the fall lies between FMP-2 y and FMP+2 y; both are then fitted within priors
around these values, as bone may lag serum E2). ``x`` is the part of the fall that
bone has not yet adapted to: it follows ``dx/dy = F'(y) - x / tau`` (first-order adaptation with
time constant tau; ours [A], a lumped stand-in for the re-equilibration of remodelling at the
lower estradiol that the engine's burn-in, which holds bone volume, cannot represent for women
who start long after their FMP). With x = 0 before the transition the closed form is
``x(y) = exp(sigma_E**2 / (2 tau**2) - (y - c_E) / tau) * Phi((y - c_E) / sigma_E - sigma_E / tau)``
(an exponentially modified Gaussian). So the drive rises with the estradiol fall and then fades;
with the spine's mechanostat the simulated loss is steepest from FMP-1 y to FMP+2 y (Greendale 2012)
and then settles (~1%/yr 2-7 y after the FMP, Sowers 2010; tests/physiology/test_calibration.py).
As tau grows the drive approaches the estradiol fall itself. In the core fit sigma_E and n_age sit
at the upper ends of their prior ranges (docs/calibration.md, parameters.md).

Ageing through the mechanostat (ours [A]): a drive that adds RANKL only moves bone to a new
steady state, which the mechanostat defends; with the spine's strong feedback the fitted spine
stayed flat from 60 to 85, while untreated women keep losing about 0.35-0.6%/yr at both sites
around 60 (IBIS-II placebo: spine -1.2%, hip -1.8% over 3 years, Sestak 2014; MA.17B placebo: -0.7%
at both over 2 years, Perez 2006). So the bone the mechanostat maintains declines: its set-point
signal is measured from ``n_BV * d_site * t`` (t years since the start, d_site the fraction per year,
n_BV the stiffness law's BV exponent; system.site_signals), so at a steady decline the bone volume
tracks ``BV_0 exp(-d_site t)`` and the feedback no longer resists the loss; it still resists (and
limits) what an AI adds. This is Frost's reading of involutional loss as a mechanostat whose set
point drifts (Frost HM. Anat Rec 2003;275:1081-101, recalled; Lanyon L, Skerry T. J Bone Miner Res
2001;16:1937-47, recalled). Recovery after an AI stops then heads for the declined set point, not the
bone she had when it started. The menopausal transition acts the same way: the set point falls by
``n_BV * m_meno * F(y)``, F the completed share of the estradiol fall, so what the transition takes is
not regained. The transient RANKL drive b_meno x(y) below is kept as structure but set to 0 (issue 13):
fitted jointly it reached ~11, and as it faded with x(y) the bone of a woman 4 years past her FMP
regained ~0.5% over the next 5 years, a rebound no cohort shows (tests/physiology/test_properties.py).
t counts from the start because the engine's reference is the
woman's own bone at month 0.

Age term: ours [A], scaled per site (s_site: 1 at the hip, fitted at the spine); loss speeds up again in old age (SOF: total-hip loss 2.5 mg/cm2/yr at 67-69
vs 10.4 at >= 85, Ensrud 1995; CaMos: hip loss accelerates after 70, Berger 2008), so it grows as a
power n_age > 1 of the decades above a_0. Magnitudes are calibrated to the natural-loss rows
(SWAN, Michigan, SOF, CaMos, Rochester) jointly with the ATAC rows (scripts/calibrate.py --suite core).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import special as scipy_special

from osteotwin.physiology.parameters import Parameter, ParameterTable, calibrated

C_NAT = "identified by the natural-loss rows S1-065..S1-081 (SWAN, Michigan, SOF, CaMos, Rochester) with the ATAC rows"
C_SET = ("identified by the untreated arms (IBIS-II placebo S1-021/S1-022, S1-024/S1-025; MA.17B placebo S1-028/S1-029) "
         "with the natural-loss and ATAC rows")
RANDOLPH = ("Randolph JF Jr et al. J Clin Endocrinol Metab 2011;96:746-54 (SWAN, n = 1215: mean E2 flat until 2.03 y before the FMP, "
            "maximal rate of fall at the FMP, stable 2.17 y after)")

PARAMETERS = ParameterTable(
    [
        Parameter("menopause_rankl_drive", 0.0, "1", "extra RANKL production / beta_RANKL per unit of not-yet-adapted estradiol fall x(y)", "ours [A]: 0, the transition acts through the set point (module docstring: a fading drive lets bone regain what the transition took)", "A", (0.0, 20.0), symbol="b_meno"),
        Parameter("menopause_drive_decay_years", 1.792932, "y", "time constant of bone\'s adaptation to the transmenopausal estradiol fall (x relaxes as exp(-y/tau) once E2 is stable)", "first-order form ours; its value from the session-3 core fit, inert while b_meno = 0", "A", (0.3, 30.0), symbol="tau"),
        Parameter("estradiol_fall_centre_years_since_fmp", -0.0418857, "y", "centre (maximal rate) of the transmenopausal fall that drives bone, years after the FMP", calibrated("core", RANDOLPH + " (E2 fastest at the FMP; bone loss fastest FMP to FMP+2 y, Sowers 2010, so a lag is allowed)"), "C", (-1.0, 1.0), symbol="c_E"),
        Parameter("estradiol_fall_width_years", 1.3882, "y", "SD of the cumulative-normal fall (prior: E2 falls from FMP-2 y to FMP+2 y = +-2 sigma_E)", calibrated("core", RANDOLPH + ", sigma_E = 4.2 y / 4; " + C_NAT), "C", (0.5, 1.5), symbol="sigma_E"),
        Parameter("age_rankl_drive_per_decade", 0.204195, "1", "extra RANKL production / beta_RANKL one decade above a_0", calibrated("core", "ours within its range; " + C_NAT + " (SOF age strata S1-076, S1-077)"), "C", (0.0, 10.0), symbol="b_age"),
        Parameter("age_drive_exponent", 3.74209, "1", "power of the decades above a_0 in the age term (> 1: loss accelerates with age)", calibrated("core", "accelerating form ours (SOF, Ensrud 1995; CaMos, Berger 2008); " + C_NAT), "C", (1.0, 5.0), symbol="n_age"),
        Parameter("lumbar_spine_age_drive_scale", 0.00653886, "1",
                  "age term at the spine relative to the hip",
                  calibrated("core", "ours [A] that it may differ: in older women spine DXA is raised by degenerative change "
                  "(osteophytes, facet sclerosis, aortic calcification [recalled]) so measured spine loss slows with age while the "
                  "hip keeps losing; ATAC's arms off treatment (hip -2.1%/y after tamoxifen, spine flat) point the same way"),
                  "C", (0.0, 1.0), symbol="s_LS"),
        Parameter("total_hip_age_drive_scale", 1.0, "1", "age term at the hip (the reference; the spine's scale is fitted relative to it)",
                  "reference by definition", "A", (1.0, 1.0), symbol="s_TH"),
        Parameter("menopause_set_point_decline", 0.201083, "1",
                  "fraction of her bone the mechanostat stops maintaining once the transmenopausal estradiol fall is complete (both sites)",
                  calibrated("core", "ours 0-0.3: about the 10% spine and 9% femoral-neck loss from FMP-5 y to FMP+5 y (SWAN, S1-065/S1-067), "
                  "which the bone reaches with a lag; " + C_NAT), "C", (0.0, 0.3), symbol="m_meno"),
        Parameter("lumbar_spine_set_point_decline_per_year", 9.52801e-05, "1/y",
                  "fraction of its bone the spine's mechanostat stops maintaining per year from the start (ageing)",
                  calibrated("core", "ours: 0-2%/yr, the span of untreated loss after the transition (placebo arms of IBIS-II "
                  "0.4%/yr and MA.17B 0.35%/yr at the spine; SOF, Ensrud 1995); " + C_SET), "C", (0.0, 0.02), symbol="d_LS"),
        Parameter("total_hip_set_point_decline_per_year", 0.019993, "1/y",
                  "fraction of its bone the hip's mechanostat stops maintaining per year from the start (ageing)",
                  calibrated("core", "ours: 0-2%/yr (IBIS-II placebo 0.6%/yr, MA.17B placebo 0.35%/yr at the hip; SOF 67-69: "
                  "2.5 mg/cm2/yr); " + C_SET), "C", (0.0, 0.02), symbol="d_TH"),
        Parameter("age_drive_onset_years", 57.7017, "y", "age from which the age term grows",
                  calibrated("core", "ours 40-80 y, around the menopause to old age; " + C_SET + " (IBIS-II's placebo hip loses 0.6%/yr at 59-62, "
                  "which an onset at 65 cannot give; until issue 13 fixed at 65)"), "C", (40.0, 80.0), symbol="a_0"),
    ]
)


@numba.vectorize(["float64(float64, float64, float64, float64)"], cache=True)
def _unadapted_estradiol_fall(y, centre, width, tau):
    """x(y): exponentially modified Gaussian (see the module docstring); 0 long before the FMP."""
    z = (y - centre) / width - width / tau
    log_tail = 0.5 * (width / tau) ** 2 - (y - centre) / tau
    cdf = 0.5 * math.erfc(-z / math.sqrt(2.0))
    if cdf <= 0.0:
        return 0.0
    return math.exp(min(log_tail + math.log(cdf), 50.0))


def unadapted_estradiol_fall(years_since_menopause: np.ndarray, params: ParameterTable) -> np.ndarray:
    """x(y) in [0, 1]: the part of the transmenopausal estradiol fall that bone has not adapted to."""
    y = np.asarray(years_since_menopause, dtype=float)
    return _unadapted_estradiol_fall(y, params.value("estradiol_fall_centre_years_since_fmp"),
                                     params.value("estradiol_fall_width_years"), params.value("menopause_drive_decay_years"))


def completed_estradiol_fall(years_since_menopause: np.ndarray, params: ParameterTable) -> np.ndarray:
    """F(y) in [0, 1]: the share of the transmenopausal estradiol fall completed by y years since the FMP (never falls)."""
    y = np.asarray(years_since_menopause, dtype=float)
    return 0.5 * scipy_special.erfc(-(y - params.value("estradiol_fall_centre_years_since_fmp"))
                                    / (params.value("estradiol_fall_width_years") * math.sqrt(2.0)))


def menopausal_rankl_drive(years_since_menopause: np.ndarray, params: ParameterTable) -> np.ndarray:
    """The transmenopausal term b_meno * x(y), the same at both sites (elementwise)."""
    return params.value("menopause_rankl_drive") * unadapted_estradiol_fall(years_since_menopause, params)


def age_rankl_drive(age_years: np.ndarray, params: ParameterTable) -> np.ndarray:
    """The age term b_age * (decades above a_0) ** n_age at the hip; the spine's is ``lumbar_spine_age_drive_scale`` times it."""
    decades = np.maximum(np.asarray(age_years, dtype=float) - params.value("age_drive_onset_years"), 0.0) / 10.0
    return params.value("age_rankl_drive_per_decade") * decades ** params.value("age_drive_exponent")


def background_rankl_drive(years_since_menopause: np.ndarray, age_years: np.ndarray, params: ParameterTable) -> np.ndarray:
    """Extra RANKL production / beta_RANKL at the hip, at the given years since FMP and age (elementwise)."""
    return menopausal_rankl_drive(years_since_menopause, params) + age_rankl_drive(age_years, params)
