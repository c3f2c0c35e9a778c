"""Numba adapters between the integrator (solve.py) and the bone-drug PK/PD module (drugs.py).

drugs.py (written by the drugs engineer) owns the PK/PD equations and parameters; this file packs
them into one float vector for the compiled integrator and restates the two observables the core
needs per step (denosumab's RANKL-binding term, bisphosphonate resorption inhibition) as scalar
numba functions. ``tests/physiology/test_drug_coupling.py`` checks them against drugs.py's
numpy functions.

Drug vector layout: ``drugs.rate_constants(params)`` followed by
``[denosumab term per ug/mL, ...]`` (see ``D_*`` indices).
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np

from osteotwin.physiology import cache_guard, drugs

cache_guard.invalidate_stale(__file__, (drugs.__file__,))

DRUG_STATE_NAMES: tuple[str, ...] = drugs.DRUG_STATE_NAMES
N_DRUG_STATES = drugs.N_DRUG_STATES
BLOCK = 3  # the drug Jacobian is block diagonal: denosumab, then each bisphosphonate (3 pools)
N_BLOCKS = N_DRUG_STATES // BLOCK

_NK = drugs.N_RATE_CONSTANTS
D_DEN_TERM_PER_UG_ML = _NK
D_VC = _NK + 1
N_DRUG_VECTOR = _NK + 2

K_BP_FIRST = drugs._K_BP_FIRST
K_BP_STRIDE = drugs._K_BP_STRIDE


def pack_drug_parameters(params: Mapping[str, float] | None) -> np.ndarray:
    """The float vector the compiled drug functions read."""
    p = drugs.default_params() if params is None else {**drugs.default_params(), **{k: v for k, v in dict(params).items() if k in drugs.PARAMETERS}}
    vector = np.zeros(N_DRUG_VECTOR)
    vector[:_NK] = drugs.rate_constants(p)
    # chi * C_pM / Kd with C_pM = C_ug_per_ml * 1e-3 / MW * 1e12
    vector[D_DEN_TERM_PER_UG_ML] = p["denosumab_rankl_access_fraction"] * 1e9 / p["denosumab_molecular_weight_g_per_mol"] / p["denosumab_rankl_kd_pM"]
    vector[D_VC] = p["denosumab_central_volume_ml"]
    return vector


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def denosumab_serum_ug_per_ml(ds, dp):
    """Serum denosumab (ug/mL) of one patient (drugs.denosumab_serum_ug_per_ml)."""
    return max(ds[drugs.IDX_DMAB_CENTRAL], 0.0) / dp[D_VC]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def denosumab_term(ds, dp):
    """chi * C_den / Kd, the RANKL quasi-steady-state term (drugs.denosumab_rankl_binding_term)."""
    return denosumab_serum_ug_per_ml(ds, dp) * dp[D_DEN_TERM_PER_UG_ML]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def bisphosphonate_inhibition(ds, dp):
    """Resorption inhibition in [0, Emax) (drugs.bisphosphonate_resorption_inhibition)."""
    c = 0.0
    weight = dp[drugs.K_BURIED_WEIGHT]
    for d in range(4):
        row = drugs.IDX_BP_FIRST + 3 * d
        c += dp[K_BP_FIRST + K_BP_STRIDE * d + 4] * (max(ds[row + 1], 0.0) + weight * max(ds[row + 2], 0.0))
    if c <= 0.0:
        return 0.0
    h = dp[drugs.K_HILL]
    ch = c**h
    return dp[drugs.K_EMAX] * ch / (ch + dp[drugs.K_EC50] ** h)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def drug_rhs(ds, resorption_relative, dp, out):
    drugs.drug_rhs_kernel(ds, resorption_relative, dp, out)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def drug_jacobian(ds, resorption_relative, dp, jac):
    drugs.drug_jacobian_kernel(ds, resorption_relative, dp, jac)
