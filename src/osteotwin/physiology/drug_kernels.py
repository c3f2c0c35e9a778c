"""Numba adapters between the integrator (solve.py) and the bone-drug PK/PD module (drugs.py).

drugs.py owns the PK/PD equations, the parameters and the packed rate-constant layout
(``drugs.K``, ``drugs.rate_constants``); this file gives the integrator that vector per patient and
restates the two observables the core needs per step (denosumab's RANKL inhibition, bisphosphonate
resorption inhibition) as scalar numba functions. ``tests/physiology/test_drug_wiring.py`` checks
them against drugs.py's numpy functions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np

from osteotwin.physiology import cache_guard, drugs
from osteotwin.physiology.drugs import DS, KB, POOL, K

cache_guard.invalidate_stale(__file__, (drugs.__file__,))

DRUG_STATE_NAMES: tuple[str, ...] = drugs.DRUG_STATE_NAMES
N_DRUG_STATES = drugs.N_DRUG_STATES
# The drug Jacobian is block diagonal: denosumab (depot, central, peripheral; its effect site is a
# linear filter of the central concentration, integrated on its own), then each bisphosphonate
# (plasma, surface, buried). Block b holds rows BLOCK_START[b] : BLOCK_START[b] + BLOCK_SIZE.
BLOCK_SIZE = len(POOL)
BLOCK_START = np.array([DS.denosumab_depot_ug, *range(drugs.IDX_BP_FIRST, N_DRUG_STATES, BLOCK_SIZE)], dtype=np.int64)
N_BLOCKS = BLOCK_START.size
assert DS.denosumab_peripheral_ug == BLOCK_SIZE - 1 and DS.denosumab_effect_site_ug_per_ml == BLOCK_SIZE
# absolute error scale of each drug state: denosumab amounts (ug; a 60 mg dose is 37,200 ug absorbed),
# the effect-site concentration (integrated exactly, so its error estimate is 0; the entry only keeps
# the layout), bisphosphonate amounts (umol; a 4 mg zoledronic acid dose is 14 umol)
ABSOLUTE_TOLERANCE = np.array([10.0 if name.endswith("_ug") else 1e-4 for name in DRUG_STATE_NAMES])
# The drug sub-steps' relative tolerance is RTOL_FACTOR x the core's rtol: the drugs reach the bone only
# through the inhibitions (RANKL bound, resorption inhibited), so their amounts need less than the core's
# 2e-4. Measured (benchmarks/RESULTS.md, 1 patient-decade anastrozole + denosumab 60 mg q6m): 10 x takes
# 1,665 drug sub-steps instead of 2,379 (1 x), with the same BMD error against SciPy Radau (0.008 pp),
# and moves no shipped example by more than 0.0003 pp.
RTOL_FACTOR = 10.0
N_DRUG_VECTOR = drugs.N_RATE_CONSTANTS
IDX_DMAB_CENTRAL = DS.denosumab_central_ug
IDX_DMAB_EFFECT = DS.denosumab_effect_site_ug_per_ml
K_DMAB_KE0 = K.denosumab_effect_site_rate_per_day


def pack_drug_parameters(params: Mapping[str, float | np.ndarray]) -> np.ndarray:
    """The rate-constant vector the compiled drug functions read: (N_DRUG_VECTOR,) for scalar values,
    one row per patient, (patients, N_DRUG_VECTOR), for per-patient values (``PatientParameters.values_dict()``)."""
    p = {name: value for name, value in params.items() if name in drugs.PARAMETERS}
    missing = set(drugs.PARAMETERS) - set(p)
    if missing:
        raise KeyError(f"drug parameters missing: {sorted(missing)}")
    return np.ascontiguousarray(drugs.rate_constants(p).T)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def denosumab_serum_ug_per_ml(ds, dp):
    """Serum denosumab (ug/mL) of one patient (drugs.denosumab_serum_ug_per_ml)."""
    return max(ds[DS.denosumab_central_ug], 0.0) / dp[K.denosumab_central_volume_ml]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def denosumab_inhibition(ds, dp):
    """Fraction of RANKL removed, Imax * Ce / (Ce + IC50) (drugs.denosumab_rankl_inhibition)."""
    ce = max(ds[DS.denosumab_effect_site_ug_per_ml], 0.0)
    return dp[K.denosumab_max_rankl_inhibition_fraction] * ce / (ce + dp[K.denosumab_rankl_ic50_ug_per_ml])


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def bisphosphonate_inhibition(ds, dp):
    """Resorption inhibition in [0, Emax) (drugs.bisphosphonate_resorption_inhibition)."""
    c = 0.0
    weight = dp[K.bisphosphonate_buried_effect_weight]
    for d in range(drugs.N_BISPHOSPHONATES):
        row = drugs.IDX_BP_FIRST + len(POOL) * d
        potency = dp[K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d + KB.relative_potency]
        c += potency * (max(ds[row + POOL.surface], 0.0) + weight * max(ds[row + POOL.buried], 0.0))
    # Imax c^h / (c^h + EC50^h), written as x^h / (1 + x^h) with x = c / EC50: 0 without drug, no branch on a
    # value, and a dimensionless power (interop/trace.py writes it into the SBML export with its units).
    xh = (c / dp[K.bisphosphonate_ec50_umol]) ** dp[K.bisphosphonate_hill_coefficient]
    return dp[K.bisphosphonate_max_inhibition_fraction] * xh / (1.0 + xh)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def drug_rhs(ds, resorption_relative, dp, out):
    drugs.drug_rhs_kernel(ds, resorption_relative, dp, out)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def drug_jacobian(ds, resorption_relative, dp, jac):
    drugs.drug_jacobian_kernel(ds, resorption_relative, dp, jac)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def depends_on_resorption(ds, dp, scratch):
    """Whether these drug states' right-hand side moves with the bone's resorption (a bisphosphonate on
    board: uptake, surface exit and buried release scale with it), from drugs.py's coupling column;
    ``scratch`` is a work vector of N_DRUG_STATES."""
    drugs.drug_rhs_resorption_derivative_kernel(ds, 1.0, dp, scratch)
    coupled = False
    for i in range(scratch.size):
        coupled = coupled or scratch[i] != 0.0
    return coupled
