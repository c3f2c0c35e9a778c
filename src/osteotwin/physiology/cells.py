"""Bone cell populations per site (Pivonka 2008 structure, Martinez-Reina 2019 recalibration).

Osteoblast precursors (OBp) and active osteoblasts (OBa); a variable osteoclast-precursor pool
(OCp) and active osteoclasts (OCa). TGF-beta released by resorption couples the two: it drives
uncommitted osteoblasts into the precursor pool, represses precursor maturation and promotes
osteoclast apoptosis (Martinez-Reina normalisation: TGF-beta in pM equals OCa in pM).

The variable OCp pool is what makes denosumab withdrawal overshoot: a fixed pool cannot produce
the post-denosumab osteoclast spike (Martinez-Reina 2022). While RANKL is sequestered the pool
fills up to ``(k_diff * pi_L0 + A_OCp) / A_OCp`` times its baseline; when the drug is cleared
the accumulated precursors differentiate at once.

Osteomorphs (McDonald et al. 2021 Cell 184:1330 [citation recalled]): osteoclasts do not only die;
they fission into osteomorphs that can re-fuse into osteoclasts when RANKL is available. Under
RANKL inhibition (denosumab) osteomorphs accumulate; when the drug wears off they re-fuse, which
McDonald et al. propose as the cause of the rebound after stopping denosumab. Per site, with I the
fraction of RANKL removed by denosumab (drugs.denosumab_rankl_inhibition):

    d OM/dt = f_OM * I * (osteoclast exits)  -  (A_OM + k_ref (1 - I)) OM,    OCa gains k_ref (1 - I) OM

so without denosumab (I = 0) no osteomorph pool forms and nothing else changes (the AI, natural-loss
and bisphosphonate results are unaffected). Structure ours after McDonald 2021; f_OM, A_OM and
k_ref are calibrated to the denosumab discontinuation rows (S3-026/S3-027) with the other drug rows.

Primed RANKL source: under RANKL inhibition, RANKL-expressing cells accumulate on bone surfaces
(El-Masri et al. 2024 [recalled]; fewer OPG-producing new osteocytes, Fu et al. 2023 JCI Insight
[recalled]; docs/model.md section 4), so when the drug is cleared RANKL is high
until they are cleared. Per site, a relative extra RANKL production P (multiplies the whole production):

    dP/dt = k_P (P_max * I - P)

P = 0 without denosumab (nothing else changes); it approaches P_max * I on treatment and decays with
time constant 1/k_P after the drug is cleared. Form ours; P_max and k_P are calibrated with the drug rows.
"""

from __future__ import annotations

import numba

from osteotwin.physiology import cache_guard, spec
from osteotwin.physiology.parameters import Parameter, ParameterTable, calibrated
from osteotwin.physiology.spec import PS, P, S, U

cache_guard.invalidate_stale(__file__, (spec.__file__,))  # the kernels below fold spec's indices in

MR = "Martinez-Reina J, Pivonka P. Biomech Model Mechanobiol 2019 (Scheiner 2013 recalibration), cmodiz/Bone-Models martinez_reina_parameters.py"
PIV = "Pivonka P et al. Bone 2008;43:249-63 via cmodiz/Bone-Models pivonka_parameters.py"

PARAMETERS = ParameterTable(
    [
        Parameter("uncommitted_osteoblast_differentiation_pM_per_day", 7.0e-4, "pM/d", "OBu -> OBp flux", PIV, "S", (1e-4, 1e-2), symbol="D_OBu"),
        Parameter("osteoblast_precursor_differentiation_per_day", 0.1657, "1/d", "OBp -> OBa rate", MR, "S", (0.05, 0.5), symbol="D_OBp"),
        Parameter("osteoblast_apoptosis_per_day", 0.2111, "1/d", "active osteoblast apoptosis", MR, "S", (0.05, 0.5), symbol="A_OBa"),
        Parameter("osteoclast_apoptosis_per_day", 5.649, "1/d", "active osteoclast apoptosis", MR, "S", (0.5, 10.0), symbol="A_OCa"),
        Parameter("tgf_osteoblast_activation_K_pM", 5.633e-4, "pM", "TGF-beta activation of OBu differentiation", MR, "S", (1e-4, 1e-2), symbol="K_u"),
        Parameter("tgf_osteoclast_apoptosis_K_pM", 5.633e-4, "pM", "TGF-beta activation of OCa apoptosis", MR, "S", (1e-4, 1e-2), symbol="K_c"),
        Parameter("tgf_osteoblast_repression_K_pM", 1.754e-4, "pM", "TGF-beta repression of OBp maturation", MR, "S", (1e-5, 1e-3), symbol="K_r"),
        Parameter("osteoclast_baseline_pM", 1.0e-4, "pM", "active osteoclasts at the reference steady state (MR 2019 steady state, reproduced)", MR, "S", (1e-5, 1e-3), symbol="OCa_0"),
        Parameter("osteoclast_precursor_baseline_pM", 1.0e-3, "pM", "osteoclast precursors at the reference steady state (MR fixed OCp used as OCp_0)", MR, "S", (1e-4, 1e-2), symbol="OCp_0"),
        Parameter("osteomorph_share_of_osteoclast_exits", 0.956312, "1", "share of osteoclast exits that become osteomorphs per unit of denosumab RANKL inhibition",
                  calibrated("drugs", "ours within its range; identified by the denosumab discontinuation rows S3-026/S3-027; mechanism McDonald 2021 [recalled]"), "C", (0.0, 1.0), symbol="f_OM"),
        Parameter("osteomorph_removal_per_day", 0.0188821, "1/d", "osteomorph loss other than re-fusion",
                  calibrated("drugs", "ours that osteomorphs persist for months under denosumab (McDonald 2021 [recalled])"), "C", (0.001, 0.5), symbol="A_OM"),
        Parameter("osteomorph_refusion_per_day", 0.927223, "1/d", "re-fusion of osteomorphs into osteoclasts when RANKL is free",
                  calibrated("drugs", "ours within its range; identified by the discontinuation rows; mechanism McDonald 2021 [recalled]"), "C", (0.001, 1.0), symbol="k_ref"),
        Parameter("primed_rankl_source_max_relative", 3.79035, "1", "extra RANKL production (relative) that accumulates under sustained, complete denosumab RANKL inhibition",
                  calibrated("drugs", "ours within its range (form ours); identified by the discontinuation rows; mechanism El-Masri 2024, Fu 2023 [recalled]"), "C", (0.0, 5.0), symbol="P_max"),
        Parameter("primed_rankl_source_clearance_per_day", 0.0876523, "1/d", "rate at which the primed RANKL source follows the inhibition (1/k_P: its lifetime after the drug is cleared)",
                  calibrated("drugs", "ours: lifetime 10 days to 1.4 years"), "C", (0.002, 0.1), symbol="k_P"),
        Parameter("osteoclast_precursor_apoptosis_per_day", 0.199918, "1/d", "precursor removal; sets how far the pool fills under denosumab", calibrated("drugs", "ours 0.04-0.08 (a 2-3-fold pool fill, docs/model.md section 4); fitted jointly (fixing it at 0.05 was tried: total cost 33.8 vs 24.4, and the discontinuation rows were not better)"), "C", (0.01, 0.2), symbol="A_OCp"),
    ]
)


# ---------------------------------------------------------------------------------------------
# Compiled terms (one patient, one site s whose states start at o): rates in production/loss form,
# dy/dt = prod - loss * y (system.core_rates); p is the packed core vector (spec.P, spec.PS).
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def osteoblast_rates(p, u, s, o, y, wnt, prod, loss):
    """OBp and OBa: TGF-beta (= OCa) drives uncommitted cells into the precursor pool (pi_U) and
    represses their maturation (pi_R); Wnt (mechanostat) and nutrients speed maturation."""
    theta = p[PS.turnover_scale + s]
    tgf = y[o + S.osteoclasts_pM]
    pi_u = tgf / (tgf + p[P.tgf_osteoblast_activation_K_pM])
    pi_r = p[P.tgf_osteoblast_repression_K_pM] / (tgf + p[P.tgf_osteoblast_repression_K_pM])
    maturation = p[P.osteoblast_precursor_differentiation_per_day] * pi_r * wnt * u[U.formation_relative]
    prod[o + S.osteoblast_precursors_pM] = theta * p[P.uncommitted_osteoblast_differentiation_pM_per_day] * pi_u
    loss[o + S.osteoblast_precursors_pM] = theta * maturation
    prod[o + S.osteoblasts_pM] = theta * maturation * y[o + S.osteoblast_precursors_pM]
    loss[o + S.osteoblasts_pM] = theta * p[P.osteoblast_apoptosis_per_day]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def osteoclast_rates(p, u, s, o, y, rank_activation, denosumab_inhibition, bisphosphonate_inhibition, prod, loss):
    """OCp, OCa and osteomorphs: precursors supplied at a constant rate differentiate with pi_L;
    osteoclasts die by TGF-beta-promoted apoptosis (pi_C), raised by low estrogen's input and by
    bisphosphonates (x 1/(1 - I_BP)); under denosumab a share f_OM of exits become osteomorphs that
    re-fuse at k_ref (1 - I) (module docstring)."""
    theta = p[PS.turnover_scale + s]
    oca = y[o + S.osteoclasts_pM]
    pi_c = oca / (oca + p[P.tgf_osteoclast_apoptosis_K_pM])
    differentiation = p[P.osteoclast_differentiation_per_day] * rank_activation
    prod[o + S.osteoclast_precursors_pM] = theta * p[P.osteoclast_precursor_supply_pM_per_day]
    loss[o + S.osteoclast_precursors_pM] = theta * (differentiation + p[P.osteoclast_precursor_apoptosis_per_day])
    refusion = theta * p[P.osteomorph_refusion_per_day] * (1.0 - denosumab_inhibition)
    prod[o + S.osteoclasts_pM] = theta * differentiation * y[o + S.osteoclast_precursors_pM] + refusion * y[o + S.osteomorphs_pM]
    loss[o + S.osteoclasts_pM] = theta * p[P.osteoclast_apoptosis_per_day] * pi_c * u[U.osteoclast_apoptosis_relative] / (1.0 - bisphosphonate_inhibition)
    prod[o + S.osteomorphs_pM] = p[P.osteomorph_share_of_osteoclast_exits] * denosumab_inhibition * loss[o + S.osteoclasts_pM] * oca
    loss[o + S.osteomorphs_pM] = theta * p[P.osteomorph_removal_per_day] + refusion


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def primed_rankl_source_rates(p, o, denosumab_inhibition, prod, loss):
    """dP/dt = k_P (P_max I - P): the primed RANKL source fills under denosumab and clears after it."""
    prod[o + S.primed_rankl_source_relative] = p[P.primed_rankl_source_clearance_per_day] * p[P.primed_rankl_source_max_relative] * denosumab_inhibition
    loss[o + S.primed_rankl_source_relative] = p[P.primed_rankl_source_clearance_per_day]
