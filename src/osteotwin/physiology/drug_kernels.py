"""Numba adapters between the integrator (solve.py) and the bone-drug PK/PD module (drugs.py).

drugs.py (written by the drugs engineer) owns the PK/PD equations and parameters; this file packs
them into one float vector for the compiled integrator and restates the two observables the core
needs per step (denosumab's RANKL inhibition, bisphosphonate resorption inhibition) as scalar
numba functions. ``tests/physiology/test_drug_coupling.py`` checks them against drugs.py's
numpy functions.

Drug vector layout: ``drugs.rate_constants(params)`` followed by
``[denosumab Imax, IC50 in ug/mL]`` (see ``D_*`` indices).
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np

from osteotwin.physiology import cache_guard, drugs

cache_guard.invalidate_stale(__file__, (drugs.__file__,))

DRUG_STATE_NAMES: tuple[str, ...] = drugs.DRUG_STATE_NAMES
N_DRUG_STATES = drugs.N_DRUG_STATES
# The drug Jacobian is block diagonal: denosumab (depot, central, peripheral; its effect site is a
# linear filter of the central concentration, integrated on its own), then each bisphosphonate
# (plasma, surface, buried). Block b holds rows BLOCK_START[b] : BLOCK_START[b] + BLOCK_SIZE.
BLOCK_SIZE = 3
BLOCK_START = np.array([drugs.IDX_DMAB_DEPOT, *range(drugs.IDX_BP_FIRST, N_DRUG_STATES, 3)], dtype=np.int64)
N_BLOCKS = BLOCK_START.size
assert drugs.IDX_DMAB_PERIPHERAL == BLOCK_SIZE - 1 and drugs.IDX_DMAB_EFFECT == BLOCK_SIZE
# absolute error scale of each drug state: denosumab amounts (ug; a 60 mg dose is 37,200 ug absorbed),
# the effect-site concentration (integrated exactly, so its error estimate is 0; the entry only keeps
# the layout), bisphosphonate amounts (umol; a 4 mg zoledronic acid dose is 14 umol)
ABSOLUTE_TOLERANCE = np.array([10.0, 10.0, 10.0, 1e-4] + [1e-4] * (N_DRUG_STATES - drugs.IDX_BP_FIRST))

_NK = drugs.N_RATE_CONSTANTS
D_DEN_IMAX = _NK
D_DEN_IC50_UG_ML = _NK + 1
N_DRUG_VECTOR = _NK + 2
IDX_DMAB_CENTRAL = drugs.IDX_DMAB_CENTRAL
IDX_DMAB_EFFECT = drugs.IDX_DMAB_EFFECT
K_DMAB_KE0 = drugs.K_DMAB_KE0

K_BP_FIRST = drugs._K_BP_FIRST
K_BP_STRIDE = drugs._K_BP_STRIDE


def pack_drug_parameters(params: Mapping[str, float | np.ndarray]) -> np.ndarray:
    """The float vector the compiled drug functions read: (N_DRUG_VECTOR,) for scalar values, one
    row per patient, (patients, N_DRUG_VECTOR), for per-patient values (``PatientParameters.values_dict()``)."""
    p = {name: value for name, value in params.items() if name in drugs.PARAMETERS}
    missing = set(drugs.PARAMETERS) - set(p)
    if missing:
        raise KeyError(f"drug parameters missing: {sorted(missing)}")
    shape = np.shape(p["denosumab_absorption_rate_per_day"])
    vector = np.zeros((N_DRUG_VECTOR, *shape))
    vector[:_NK] = drugs.rate_constants(p)
    vector[D_DEN_IMAX] = p["denosumab_max_rankl_inhibition_fraction"]
    vector[D_DEN_IC50_UG_ML] = np.asarray(p["denosumab_rankl_ic50_ng_per_ml"]) / 1000.0
    return np.ascontiguousarray(vector.T)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def denosumab_serum_ug_per_ml(ds, dp):
    """Serum denosumab (ug/mL) of one patient (drugs.denosumab_serum_ug_per_ml)."""
    return max(ds[drugs.IDX_DMAB_CENTRAL], 0.0) / dp[drugs.K_DMAB_VC]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def denosumab_inhibition(ds, dp):
    """Fraction of RANKL removed, Imax * Ce / (Ce + IC50) (drugs.denosumab_rankl_inhibition)."""
    ce = max(ds[drugs.IDX_DMAB_EFFECT], 0.0)
    return dp[D_DEN_IMAX] * ce / (ce + dp[D_DEN_IC50_UG_ML])


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
