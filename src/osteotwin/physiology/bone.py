"""Bone volume, mean-field mineralisation and areal BMD per site; T-score references.

Two site instances of the same local model: lumbar spine (trabecular-rich, fast turnover) and
total hip (more cortical, slower turnover). Each has a turnover scale ``theta`` multiplying all
its cell rate constants, and a baseline bone volume fraction.

Mineralisation (our mean-field reduction of the Martinez-Reina 2019 age queue, docs/model.md section 10, with
a slow secondary phase added): new bone enters at the primary mineral fraction v_prim and then fills
its deficit (v_max - v_prim) in two phases, a share (1 - s) at the MR rate kappa (months) and a share s at a
slow rate kappa_slow (years; human secondary mineralisation continues for years, Boivin & Meunier 2002;
in rabbit osteons 67% of the interstitial level is reached within 18 days and the rest accrues slowly
over the following year, Fuchs et al. 2008). With F, R formation and resorption in %BV/d, mineral M and
the slow deficit D (both %BV):

``dD/dt = s*(v_max - v_prim)*F - (kappa_slow + R/BV)*D``
``dM/dt = F*v_prim - R*M/BV + kappa*(v_max*BV - M - D) + kappa_slow*D``

(s = 0 gives MR's single phase). When turnover falls, bone gets older on average and more mineralised:
the fast phase carries the first year's gain, the slow phase keeps adding for years on a strong
antiresorptive (FREEDOM extension) but little on a weak one, whose turnover stays above kappa_slow.
Areal BMD is proportional to mineral mass: BMD = BMD_0 * M / M_0 (bone size constant; ours).
"""

from __future__ import annotations

import numba

from osteotwin.catalog import SITES
from osteotwin.physiology import cache_guard, spec
from osteotwin.physiology.parameters import Parameter, ParameterTable, calibrated
from osteotwin.physiology.spec import PS, P, S

cache_guard.invalidate_stale(__file__, (spec.__file__,))  # the kernels below fold spec's indices in

MR = "Martinez-Reina J, Pivonka P. Biomech Model Mechanobiol 2019, cmodiz/Bone-Models martinez_reina_parameters.py"
C_DRUG = "identified by the long-term denosumab and zoledronic-acid rows (FREEDOM extension S3-022..S3-025, ZO-FAST S2-020..S2-023; scripts/calibrate.py --suite all)"

PARAMETERS = ParameterTable(
    [
        Parameter("resorption_rate_pct_per_pM_day", 200.0, "%/(pM d)", "bone volume resorbed per osteoclast (k_form is derived for balance)", MR, "S", (10.0, 1000.0), symbol="k_res"),
        Parameter("lumbar_spine_turnover_scale", 0.248065, "1", "scales every cell rate at the spine (1 = MR trabecular turnover, ~49%/yr; prior capped at 1 so that the spine turns over at most ~50%/yr)", calibrated("core", "ours: capped at 1, MR trabecular turnover"), "C", (0.2, 1.0), symbol="theta_LS"),
        Parameter("total_hip_turnover_scale", 0.287383, "1", "scales every cell rate at the hip (prior capped like the spine)", calibrated("core", "ours 0.4-0.7 of the spine's (docs/model.md section 10), capped at 1"), "C", (0.05, 1.0), symbol="theta_TH"),
        Parameter("lumbar_spine_bone_volume_pct", 15.0, "%", "baseline bone volume fraction, spine (trabecular, MR BV_0)", MR, "S", (5.0, 40.0), symbol="BV_0,LS"),
        Parameter("total_hip_bone_volume_pct", 30.0, "%", "baseline effective bone volume fraction, hip (mixed cortical/trabecular; prior 50-70 scaled to our turnover, docs/model.md section 10)", "ours", "A", (10.0, 80.0), symbol="BV_0,TH"),
        Parameter("primary_mineral_fraction", 0.121, "1", "mineral volume fraction of new bone after primary mineralisation", MR, "S", (0.05, 0.2), symbol="v_prim"),
        Parameter("max_mineral_fraction", 0.442, "1", "maximum mineral volume fraction", MR, "S", (0.35, 0.5), symbol="v_max"),
        Parameter("secondary_mineralisation_per_day", 0.007, "1/d", "rate of the fast secondary mineralisation phase (MR's single phase)", MR, "S", (0.002, 0.02), symbol="kappa"),
        Parameter("slow_mineralisation_share", 0.619001, "1", "share of the secondary mineral deficit (v_max - v_prim) that fills in the slow phase",
                  calibrated("drugs", "ours within its range, " + C_DRUG + "; two phases: Boivin G, Meunier PJ. Calcif Tissue Int 2002;70:503-11 (recalled); Fuchs RK et al. Matrix Biol 2008;27:34-41 (FTIRM, rabbit; abstract read, journal recalled)"), "C", (0.0, 0.7), symbol="s"),
        Parameter("slow_mineralisation_per_day", 0.000408066, "1/d", "rate of the slow secondary mineralisation phase (time constant of years)",
                  calibrated("drugs", "ours: 1/(8 y) to 1/(1.4 y); " + C_DRUG), "C", (0.00035, 0.002), symbol="kappa_slow"),
        Parameter("lumbar_spine_reference_mean_g_cm2", 1.065, "g/cm2", "young-adult female lumbar spine reference mean (NHANES 2005-2014, peak, non-Hispanic white women)", "Xue S et al. J Clin Endocrinol Metab 2021 doi:10.1210/clinem/dgab180 (abstract)", "V", (0.9, 1.3), symbol="BMD_ref,LS"),
        Parameter("lumbar_spine_reference_sd_g_cm2", 0.122, "g/cm2", "young-adult female lumbar spine reference SD", "Xue 2021 (as above)", "V", (0.08, 0.15), symbol="SD_ref,LS"),
        Parameter("total_hip_reference_mean_g_cm2", 0.942, "g/cm2", "NHANES III non-Hispanic white women 20-29, total hip mean", "Looker AC et al. Osteoporos Int 1998;8:468-89, recalled", "R", (0.85, 1.05), symbol="BMD_ref,TH"),
        Parameter("total_hip_reference_sd_g_cm2", 0.122, "g/cm2", "NHANES III young-adult total hip SD", "Looker 1998 (as above), recalled", "R", (0.09, 0.15), symbol="SD_ref,TH"),
    ]
)

SITE_NAMES = SITES


def t_score(bmd_g_cm2, site_index: int, params: ParameterTable):
    """T-score = (BMD - young-adult mean) / young-adult SD for site 0 (spine) or 1 (hip)."""
    site = SITE_NAMES[site_index]
    return (bmd_g_cm2 - params.value(f"{site}_reference_mean_g_cm2")) / params.value(f"{site}_reference_sd_g_cm2")


def bmd_from_t_score(t, site_index: int, params: ParameterTable):
    """Areal BMD (g/cm2) for a T-score at site 0 (spine) or 1 (hip)."""
    site = SITE_NAMES[site_index]
    return params.value(f"{site}_reference_mean_g_cm2") + t * params.value(f"{site}_reference_sd_g_cm2")


# ---------------------------------------------------------------------------------------------
# Compiled terms (one patient, one site s whose states start at o); p is the packed core vector.
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def modelling_formation(p, s, route, bv):
    """Modelling-based formation of site s (%BV/d): ``k_mod,site * route * BV``.

    Bone laid on quiescent surfaces without prior resorption, mechanical loading's anabolic mode
    (Frost; Robling & Turner; mechanostat.py), driven by the exercise route and not through the cell
    counts (so it moves neither the osteoclasts nor the osteoblast pool). A negative route (detraining) forms nothing;
    it removes bone instead (:func:`modelling_removal_per_day`).
    """
    return p[PS.modelling_formation_per_day + s] * max(route, 0.0) * bv


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def modelling_removal_per_day(p, s, route):
    """Detraining, the mirror of modelling-based formation (mechanostat.py): a negative exercise route removes bone
    volume, with its mineral and slow mineral deficit in proportion, at ``k_mod,site * (-route)`` per day, the rate
    constant the bone was built with (Frost's disuse mode removes bone a loading no longer needs; symmetry ours [A])."""
    return p[PS.modelling_formation_per_day + s] * max(-route, 0.0)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def remodelling_formation(p, s, oba):
    """Osteoblasts refilling resorbed cavities (%BV/d): theta k_form OBa."""
    return p[PS.turnover_scale + s] * p[P.formation_rate_pct_per_pM_day] * oba


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def bone_and_mineral_rates(p, s, o, y, formation, removal_per_day, prod, loss):
    """Bone volume, mineral and the slow mineral deficit (module docstring): formation F adds bone whose
    mineral enters at v_prim and fills in a fast (kappa) and a slow (kappa_slow) phase; resorption
    removes bone with its mineral in proportion, R/BV = theta k_res OCa / BV, and so does detraining
    (``removal_per_day``, a fraction of the bone per day: :func:`modelling_removal_per_day`)."""
    bv = y[o + S.bone_volume_pct]
    slow = y[o + S.slow_mineral_deficit_pct]
    resorption_per_bv = p[PS.turnover_scale + s] * p[P.resorption_rate_pct_per_pM_day] * y[o + S.osteoclasts_pM] / bv + removal_per_day
    kappa = p[P.secondary_mineralisation_per_day]
    kappa_slow = p[P.slow_mineralisation_per_day]
    prod[o + S.bone_volume_pct] = formation
    loss[o + S.bone_volume_pct] = resorption_per_bv
    prod[o + S.mineral_volume_pct] = formation * p[P.primary_mineral_fraction] + kappa * (p[P.max_mineral_fraction] * bv - slow) + kappa_slow * slow
    loss[o + S.mineral_volume_pct] = resorption_per_bv + kappa
    prod[o + S.slow_mineral_deficit_pct] = formation * p[P.slow_mineralisation_share] * (p[P.max_mineral_fraction] - p[P.primary_mineral_fraction])
    loss[o + S.slow_mineral_deficit_pct] = resorption_per_bv + kappa_slow
