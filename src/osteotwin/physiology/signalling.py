"""RANK/RANKL/OPG signalling with PTH, quasi-steady (Pivonka 2008; Martinez-Reina 2019 values).

Receptor binding is fast (minutes to hours) compared with bone cells (days), so RANKL and OPG are
algebraic functions of the cell state (quasi-steady state). Denosumab removes a fraction of free
RANKL (bone-site occupancy, drugs.denosumab_rankl_inhibition). Numbers as
implemented in cmodiz/Bone-Models ``parameters/pivonka_parameters.py`` and
``martinez_reina_parameters.py`` (docs/model.md section 1), which notes where code and paper differ.
"""

from __future__ import annotations

import numba
import numpy as np

from osteotwin.physiology import cache_guard, spec
from osteotwin.physiology.parameters import Parameter, ParameterTable
from osteotwin.physiology.spec import PS, P, U

cache_guard.invalidate_stale(__file__, (spec.__file__,))  # the kernels below fold spec's indices in

PIV = "Pivonka P et al. Bone 2008;43:249-63, as implemented in cmodiz/Bone-Models pivonka_parameters.py"
MR = "Martinez-Reina J, Pivonka P. Biomech Model Mechanobiol 2019, cmodiz/Bone-Models martinez_reina_parameters.py"

PARAMETERS = ParameterTable(
    [
        Parameter("pth_baseline_pM", 2.907, "pM", "PTH on the Pivonka scale (beta_PTH 250 pM/d / D_PTH 86 1/d)", PIV, "S", (1.0, 10.0), symbol="PTH_0"),
        Parameter("pth_rankl_activation_K_pM", 150.0, "pM", "PTH activation of RANKL expression", PIV, "S", (50.0, 500.0), symbol="K_P+"),
        Parameter("pth_opg_repression_K_pM", 0.2226, "pM", "PTH repression of OPG production", PIV, "S", (0.05, 1.0), symbol="K_P-"),
        Parameter("opg_production_per_osteoblast_per_day", 1.6249e8, "1/d", "OPG production per active osteoblast (code value; paper differs)", PIV, "S", (1e7, 1e9), symbol="p_OPG"),
        Parameter("opg_max_pM", 2.0e8, "pM", "OPG ceiling", PIV, "S", (1e7, 1e9), symbol="OPG_max"),
        Parameter("opg_degradation_per_day", 0.35, "1/d", "OPG degradation", PIV, "S", (0.1, 1.0), symbol="D_OPG"),
        Parameter("rankl_max_per_precursor", 2.7035e6, "pM/pM", "maximum RANKL per osteoblast precursor (code value)", PIV, "S", (1e5, 1e7), symbol="N_RANKL"),
        Parameter("rankl_intrinsic_production_pM_per_day", 168.4, "pM/d", "intrinsic RANKL production (code 1.684e2, paper e4)", PIV, "S", (10.0, 1e4), symbol="beta_RANKL"),
        Parameter("rankl_degradation_per_day", 10.13, "1/d", "RANKL degradation", PIV, "S", (1.0, 50.0), symbol="D_RANKL"),
        Parameter("rankl_opg_association_per_pM", 1.0e-3, "1/pM", "RANKL-OPG association constant", PIV, "S", (1e-4, 1e-2), symbol="K_A,OPG"),
        Parameter("rankl_rank_association_per_pM", 3.412e-2, "1/pM", "RANKL-RANK association constant", PIV, "S", (1e-3, 1e-1), symbol="K_A,RANK"),
        Parameter("rank_pM", 10.0, "pM", "RANK on osteoclast precursors (fixed)", PIV, "S", (1.0, 100.0), symbol="RANK"),
        Parameter("rank_rankl_activation_K_pM", 5.680, "pM", "RANKL-RANK activation of precursor differentiation", MR, "S", (1.0, 20.0), symbol="K_d"),
        Parameter("osteocyte_rankl_share", 0.4, "1", "share of intrinsic RANKL made by mechanosensitive osteocytes", "ours, prior 0.3-0.5 (docs/model.md sections 3 and 6)", "A", (0.3, 0.5), symbol="phi_Ot"),
    ]
)


# ---------------------------------------------------------------------------------------------
# Compiled terms (one patient, one site); p is the packed core vector (spec.P), u the inputs.
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def pth_pM(p, u):
    """PTH on the Pivonka scale: baseline x the minerals module's relative PTH."""
    return p[P.pth_baseline_pM] * u[U.pth_relative]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def opg_pM(p, u, oba, pth):
    """Quasi-steady OPG: production by active osteoblasts, repressed by PTH (pi_P-), times the estrogen
    multiplier, saturating at OPG_max (Pivonka 2008 eq. for OPG)."""
    pi_m = p[P.pth_opg_repression_K_pM] / (pth + p[P.pth_opg_repression_K_pM])
    production = p[P.opg_production_per_osteoblast_per_day] * oba * pi_m * u[U.opg_production_relative]
    return production * p[P.opg_max_pM] / (production + p[P.opg_degradation_per_day] * p[P.opg_max_pM])


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def rankl_production_pM_per_day(p, u, s, primed, osteocyte_signal):
    """Intrinsic RANKL production beta_RANKL: a non-mechanosensitive share (1 - phi_Ot) and the osteocytes'
    share phi_Ot x exp(-gamma_LPhi x osteocyte_signal) (mechanostat.py), times the estrogen/inflammation
    input, plus the background drives (background.py), all raised by the primed source (cells.py)."""
    share = p[P.osteocyte_rankl_share]
    osteocytes = (1.0 - share) + share * np.exp(-p[P.osteocyte_rankl_stimulus_exponent] * osteocyte_signal)
    drive = osteocytes * u[U.rankl_production_relative] + u[U.background_rankl_drive] + p[PS.age_drive_scale + s] * u[U.age_rankl_drive]
    return p[P.rankl_intrinsic_production_pM_per_day] * (1.0 + primed) * drive


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def rankl_pM(p, obp, opg, pth, production, denosumab_inhibition):
    """Quasi-steady free RANKL on osteoblast precursors (PTH-activated, pi_P+), competing between OPG and
    RANK, with the fraction bound by denosumab removed (drugs.py) (Pivonka 2008 eq. for RANKL)."""
    pi_p = pth / (pth + p[P.pth_rankl_activation_K_pM])
    l_eff = p[P.rankl_max_per_precursor] * obp * pi_p
    binding = 1.0 + p[P.rankl_opg_association_per_pM] * opg + p[P.rankl_rank_association_per_pM] * p[P.rank_pM]
    saturation = production / (p[P.rankl_intrinsic_production_pM_per_day] + p[P.rankl_degradation_per_day] * l_eff)
    return (1.0 - denosumab_inhibition) * l_eff / binding * saturation


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def rank_activation(p, rankl):
    """pi_L: the RANKL-RANK complex's activation of osteoclast-precursor differentiation."""
    complex_pm = p[P.rankl_rank_association_per_pM] * rankl * p[P.rank_pM]
    return complex_pm / (complex_pm + p[P.rank_rankl_activation_K_pM])
