"""The right-hand side of the bone-cell core, assembled from one compiled function per mechanism.

Per site (lumbar spine, total hip) the states of spec.SITE_STATES: osteoblast precursors and active
osteoblasts, osteoclast precursors and active osteoclasts (pM), bone volume and mineral volume (%),
osteomorphs (pM), the slow mineral deficit (%) and the primed RANKL source (relative). Signals
(TGF-beta, RANKL, OPG, sclerostin, the mechanical stimulus) are algebraic (quasi-steady).

The terms live in the modules named after their biology, and this file only wires them:
signalling.py (PTH, OPG, RANKL production and binding, RANK activation), mechanostat.py (stimulus,
set-point signal, exercise route), cells.py (cell balances, osteomorphs, primed RANKL source),
bone.py (remodelling and modelling formation, bone volume and mineralisation). The rates are
returned in production/loss form ``dy/dt = P - L*y`` with P, L >= 0, which the integrator
(solve.py) uses for a positive, unconditionally stable linearly implicit step. The right-hand side
is pure: it reads states, parameters and inputs and writes only the rate buffers it is given.

Parameters come from the registry (``parameters.registry()``) and are packed into a flat float
vector laid out by spec.VECTOR_NAMES; baseline-balancing parameters are derived here
(:func:`pack_parameters`) so that the untreated postmenopausal reference is an exact steady state.
"""

from __future__ import annotations

import numba
import numpy as np

from osteotwin.catalog import SITES
from osteotwin.physiology import bone, cache_guard, cells, mechanostat, signalling, spec
from osteotwin.physiology.parameters import ParameterTable, PatientParameters
from osteotwin.physiology.spec import (
    CORE_STATE_NAMES,
    INPUT_NAMES,
    N_CORE_STATES,
    N_INPUTS,
    N_SITE_STATES,
    N_VECTOR,
    PS,
    SITE_STATE_NAMES,
    VECTOR_NAMES,
    P,
    S,
    U,
)

# The modules whose compiled terms the right-hand side inlines (its numba cache, and solve.py's, depend on them).
MECHANISM_FILES: tuple[str, ...] = (signalling.__file__, mechanostat.__file__, cells.__file__, bone.__file__, __file__)
cache_guard.invalidate_stale(__file__, (*MECHANISM_FILES, spec.__file__))


def _rankl_opg(params, obp, oba):
    """Reference RANKL, OPG and pi_L from the quasi-steady balance (used for the derivation; elementwise)."""
    pth = params["pth_baseline_pM"]
    pi_p = pth / (pth + params["pth_rankl_activation_K_pM"])
    pi_m = params["pth_opg_repression_K_pM"] / (pth + params["pth_opg_repression_K_pM"])
    p_o = params["opg_production_per_osteoblast_per_day"] * oba * pi_m
    opg = p_o * params["opg_max_pM"] / (p_o + params["opg_degradation_per_day"] * params["opg_max_pM"])
    l_eff = params["rankl_max_per_precursor"] * obp * pi_p
    beta = params["rankl_intrinsic_production_pM_per_day"]
    rankl = l_eff / (1 + params["rankl_opg_association_per_pM"] * opg + params["rankl_rank_association_per_pM"] * params["rank_pM"]) * beta / (beta + params["rankl_degradation_per_day"] * l_eff)
    x = params["rankl_rank_association_per_pM"] * rankl * params["rank_pM"]
    return rankl, opg, x / (x + params["rank_rankl_activation_K_pM"])


def pack_parameters(params: ParameterTable | PatientParameters) -> np.ndarray:
    """Flat parameter vector for the numba kernels, with baseline-balancing values derived [D].

    A table gives one vector (N_VECTOR,); per-patient parameters give one row per patient,
    (patients, N_VECTOR), each derived from that patient's own values (vectorised).

    Derivations (Pivonka 2008 steady state; the OpenBoneMin pattern of balancing at a reference): given the reference osteoclasts OCa_0 and
    precursors OCp_0, the precursor and active osteoblast levels follow from their balances; the
    formation rate k_form from BV balance; the precursor differentiation rate k_diff and supply
    S_OCp from the OCa and OCp balances at the reference RANKL; the slow mineral deficit d_0 and the
    mineral fraction v_0 from the mineral balances (bone.py).
    """
    if isinstance(params, PatientParameters) and (table := params.shared_table()) is not None:
        return np.ascontiguousarray(np.broadcast_to(pack_parameters(table), (params.patients, len(VECTOR_NAMES))))
    if isinstance(params, ParameterTable) and "packed_vector" in params.derived:
        return params.derived["packed_vector"].copy()
    p = params.values_dict()
    oca0 = p["osteoclast_baseline_pM"]
    ocp0 = p["osteoclast_precursor_baseline_pM"]
    pi_u = oca0 / (oca0 + p["tgf_osteoblast_activation_K_pM"])
    pi_r = p["tgf_osteoblast_repression_K_pM"] / (oca0 + p["tgf_osteoblast_repression_K_pM"])
    pi_c = oca0 / (oca0 + p["tgf_osteoclast_apoptosis_K_pM"])
    obp0 = p["uncommitted_osteoblast_differentiation_pM_per_day"] * pi_u / (p["osteoblast_precursor_differentiation_per_day"] * pi_r)
    oba0 = p["osteoblast_precursor_differentiation_per_day"] * pi_r * obp0 / p["osteoblast_apoptosis_per_day"]
    k_form = p["resorption_rate_pct_per_pM_day"] * oca0 / oba0
    rankl0, opg0, pi_l0 = _rankl_opg(p, obp0, oba0)
    k_diff = p["osteoclast_apoptosis_per_day"] * pi_c * oca0 / (pi_l0 * ocp0)
    s_ocp = (k_diff * pi_l0 + p["osteoclast_precursor_apoptosis_per_day"]) * ocp0
    derived = {
        "formation_rate_pct_per_pM_day": k_form,
        "osteoclast_differentiation_per_day": k_diff,
        "osteoclast_precursor_supply_pM_per_day": s_ocp,
        "reference_osteoblast_precursors_pM": obp0, "reference_osteoblasts_pM": oba0,
        "reference_osteoclast_precursors_pM": ocp0, "reference_osteoclasts_pM": oca0,
        "reference_rankl_pM": rankl0, "reference_opg_pM": opg0,
    }
    for site in SITES:
        theta = p[f"{site}_turnover_scale"]
        bv0 = p[f"{site}_bone_volume_pct"]
        r = theta * p["resorption_rate_pct_per_pM_day"] * oca0 / bv0  # fraction of bone resorbed per day
        kappa, kappa_slow, share = p["secondary_mineralisation_per_day"], p["slow_mineralisation_per_day"], p["slow_mineralisation_share"]
        deficit = p["max_mineral_fraction"] - p["primary_mineral_fraction"]
        v0 = p["max_mineral_fraction"] - deficit * r * ((1.0 - share) / (kappa + r) + share / (kappa_slow + r))
        derived[f"{site}_reference_slow_mineral_deficit_pct"] = share * deficit * r * bv0 / (kappa_slow + r)
        derived[f"{site}_reference_mineral_fraction"] = v0
        derived[f"{site}_reference_mineral_volume_pct"] = v0 * bv0
    p.update(derived)
    if isinstance(params, ParameterTable):
        vector = np.array([p[name] for name in VECTOR_NAMES], dtype=np.float64)
        params.derived["packed_vector"] = vector  # a table is immutable: derive once
        return vector.copy()
    packed = np.empty((params.patients, len(VECTOR_NAMES)))
    for column, name in enumerate(VECTOR_NAMES):
        packed[:, column] = p[name]
    return packed


def reference_state(vector: np.ndarray) -> np.ndarray:
    """The core states at the untreated postmenopausal reference steady state: (N_CORE_STATES,) for
    one vector, (patients, N_CORE_STATES) for one row per patient."""
    vector = np.asarray(vector)
    y = np.zeros(vector.shape[:-1] + (N_CORE_STATES,))
    for s in range(len(SITES)):
        o = s * N_SITE_STATES
        y[..., o + S.osteoblast_precursors_pM] = vector[..., P.reference_osteoblast_precursors_pM]
        y[..., o + S.osteoblasts_pM] = vector[..., P.reference_osteoblasts_pM]
        y[..., o + S.osteoclast_precursors_pM] = vector[..., P.reference_osteoclast_precursors_pM]
        y[..., o + S.osteoclasts_pM] = vector[..., P.reference_osteoclasts_pM]
        y[..., o + S.bone_volume_pct] = vector[..., PS.bone_volume_pct + s]
        y[..., o + S.mineral_volume_pct] = vector[..., PS.reference_mineral_volume_pct + s]
        y[..., o + S.slow_mineral_deficit_pct] = vector[..., PS.reference_slow_mineral_deficit_pct + s]
    return y  # osteomorphs and the primed RANKL source are zero without denosumab


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def site_signals(y, s, p, u, denosumab_inhibition):
    """Algebraic signals of site s: (stimulus Phi, Wnt factor w, RANKL pM, OPG pM, pi_L, exercise route).

    Exercise enters as the site's loading above habitual, ``L = log(s_load**2) >= 0``, and reaches
    bone through one route (mechanostat.exercise_route; negative after a programme stops, detraining): modelling
    formation or removal (bone.py), sclerostin (gain k_ex,site) and osteocyte RANKL (gain k_exR). The disuse/loss
    feedback acts on the set-point signal of the bone under the loading it carries (mechanostat.loaded_set_point_signal:
    the gain a programme built is not disuse while it goes on), scaled by the site gain, measured from a set point
    that declines with the years since the start (ageing, background.py).
    """
    o = s * N_SITE_STATES
    bv = y[o + S.bone_volume_pct]
    log_load = 2.0 * np.log(u[U.loading_lumbar_spine_relative + s])
    log_phi_bone = mechanostat.log_bone_stimulus(p, s, bv, y[o + S.mineral_volume_pct] / bv)
    log_phi = log_load + log_phi_bone
    route = mechanostat.exercise_route(log_load, 2.0 * np.log(u[U.withdrawn_loading_lumbar_spine_relative + s]),
                                       u[U.exercise_accommodation_relative])
    loading_route = max(route, 0.0)  # the osteocytes' sclerostin and RANKL follow a positive route only (mechanostat.py)
    # The bone the mechanostat maintains declines with age (a site fraction per year) and with the menopausal
    # estradiol fall (background.py).
    decline = p[P.stiffness_bone_volume_exponent] * (p[PS.set_point_decline_per_year + s] * u[U.elapsed_years]
                                                     + p[P.menopause_set_point_decline] * u[U.menopause_fall_since_start])
    feedback = p[PS.mechanosensitivity + s] * (mechanostat.loaded_set_point_signal(p, log_phi_bone, log_load) - decline)
    wnt = np.exp(p[P.sclerostin_stimulus_exponent] * (feedback + p[PS.exercise_loading_sensitivity + s] * loading_route)) / u[U.sclerostin_relative]
    pth = signalling.pth_pM(p, u)
    opg = signalling.opg_pM(p, u, y[o + S.osteoblasts_pM], pth)
    production = signalling.rankl_production_pM_per_day(p, u, s, y[o + S.primed_rankl_source_relative],
                                                         feedback + p[P.exercise_osteocyte_rankl_sensitivity] * loading_route)
    rankl = signalling.rankl_pM(p, y[o + S.osteoblast_precursors_pM], opg, pth, production, denosumab_inhibition)
    phi = np.exp(log_phi)
    pi_l = signalling.rank_activation(p, rankl)
    return phi, wnt, rankl, opg, pi_l, route


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def core_rates(y, p, u, denosumab_inhibition, bisphosphonate_inhibition, prod, loss):
    """Production and loss rates (per day) of the core states: dy/dt = prod - loss * y.

    ``denosumab_inhibition`` in [0, 1): fraction of RANKL bound by bone-site denosumab (0 without the drug);
    ``bisphosphonate_inhibition`` in [0, 1) raises osteoclast apoptosis by 1/(1 - I).
    """
    for s in range(len(SITES)):
        o = s * N_SITE_STATES
        phi, wnt, rankl, opg, pi_l, route = site_signals(y, s, p, u, denosumab_inhibition)
        cells.osteoblast_rates(p, u, s, o, y, wnt, prod, loss)
        cells.osteoclast_rates(p, u, s, o, y, pi_l, denosumab_inhibition, bisphosphonate_inhibition, prod, loss)
        cells.primed_rankl_source_rates(p, o, denosumab_inhibition, prod, loss)
        # Remodelling formation plus modelling-based formation; the new bone of both mineralises alike.
        formation = bone.remodelling_formation(p, s, y[o + S.osteoblasts_pM]) + bone.modelling_formation(p, s, route, y[o + S.bone_volume_pct])
        bone.bone_and_mineral_rates(p, s, o, y, formation, bone.modelling_removal_per_day(p, s, route), prod, loss)


def core_derivative(y: np.ndarray, p: np.ndarray, u: np.ndarray, denosumab_inhibition: float = 0.0, bisphosphonate_inhibition: float = 0.0) -> np.ndarray:
    """dy/dt of the core for one patient (for steady-state tests and the SciPy reference)."""
    prod = np.empty(N_CORE_STATES)
    loss = np.empty(N_CORE_STATES)
    core_rates(y, p, u, denosumab_inhibition, bisphosphonate_inhibition, prod, loss)
    return prod - loss * y


def baseline_inputs() -> np.ndarray:
    """Inputs of the untreated postmenopausal reference (all multipliers 1, no background drive)."""
    u = np.ones(N_INPUTS)
    u[U.background_rankl_drive] = 0.0
    u[U.age_rankl_drive] = 0.0
    u[U.elapsed_years] = 0.0
    u[U.menopause_fall_since_start] = 0.0
    return u


__all__ = [
    "CORE_STATE_NAMES", "INPUT_NAMES", "N_CORE_STATES", "N_INPUTS", "N_SITE_STATES", "N_VECTOR", "SITES",
    "SITE_STATE_NAMES", "VECTOR_NAMES", "baseline_inputs", "core_derivative", "core_rates", "pack_parameters",
    "reference_state", "site_signals",
]
