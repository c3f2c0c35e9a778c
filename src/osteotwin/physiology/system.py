"""The right-hand side of the bone-cell core, vectorised over patients by the integrator.

Per site (lumbar spine, total hip) eight states: osteoblast precursors OBp, active osteoblasts OBa,
osteoclast precursors OCp, active osteoclasts OCa (pM), bone volume BV (%), mineral volume M (%),
osteomorphs OM (pM; zero unless denosumab acts, cells.py), the slow mineral deficit D (%; bone.py) and the
primed RANKL source P (relative extra RANKL production; zero unless denosumab acts, cells.py). Signals (TGF-beta, RANKL, OPG, sclerostin, mechanical stimulus) are algebraic
(quasi-steady). The rates are returned in production/loss form ``dy/dt = P - L*y`` with P, L >= 0,
which the integrator (solve.py) uses for a positive, unconditionally stable linearly implicit
step. The right-hand side is pure: it reads states, parameters and inputs and writes only the
rate buffers it is given.

Parameters come from the registry (``parameters.registry()``) and are packed into a flat float
vector; baseline-balancing parameters are derived here (:func:`pack_parameters`) so that the
untreated postmenopausal reference is an exact steady state.
"""

from __future__ import annotations

import numba
import numpy as np

from osteotwin.physiology.parameters import ParameterTable, PatientParameters

SITES = ("lumbar_spine", "total_hip")
SITE_STATE_NAMES = ("osteoblast_precursors_pM", "osteoblasts_pM", "osteoclast_precursors_pM", "osteoclasts_pM", "bone_volume_pct", "mineral_volume_pct",
                    "osteomorphs_pM", "slow_mineral_deficit_pct", "primed_rankl_source_relative")
N_SITE_STATES = 9
N_CORE_STATES = 2 * N_SITE_STATES
OBP, OBA, OCP, OCA, BV, MIN, OM, SLOW, PRIME = range(N_SITE_STATES)

# Inputs, piecewise constant per month: shape (N_INPUTS, months, patients).
INPUT_NAMES = (
    "rankl_production_relative",  # estrogen power law x inflammation (gut) multiplier
    "opg_production_relative",
    "osteoclast_apoptosis_relative",
    "sclerostin_relative",
    "background_rankl_drive",  # extra RANKL production / beta_RANKL, transmenopausal term (both sites)
    "pth_relative",
    "formation_relative",
    "loading_lumbar_spine_relative",
    "loading_total_hip_relative",
    "exercise_accommodation_relative",  # exp(-(t - t_acc)/tau_acc) after onset (mechanostat.py); 1 in burn-in
    "age_rankl_drive",  # extra RANKL production / beta_RANKL, age term at the hip (x site scale at the spine)
)
N_INPUTS = len(INPUT_NAMES)
IN_RANKL, IN_OPG, IN_OCAPOP, IN_SCL, IN_BG, IN_PTH, IN_FORM, IN_LOAD0, IN_LOAD1, IN_EXACC, IN_BGAGE = range(N_INPUTS)

# Flat parameter vector layout (registry values, then derived values).
VECTOR_NAMES = (
    "pth_baseline_pM", "pth_rankl_activation_K_pM", "pth_opg_repression_K_pM",
    "opg_production_per_osteoblast_per_day", "opg_max_pM", "opg_degradation_per_day",
    "rankl_max_per_precursor", "rankl_intrinsic_production_pM_per_day", "rankl_degradation_per_day",
    "rankl_opg_association_per_pM", "rankl_rank_association_per_pM", "rank_pM", "rank_rankl_activation_K_pM",
    "osteocyte_rankl_share",
    "uncommitted_osteoblast_differentiation_pM_per_day", "osteoblast_precursor_differentiation_per_day",
    "osteoblast_apoptosis_per_day", "osteoclast_apoptosis_per_day", "tgf_osteoblast_activation_K_pM",
    "tgf_osteoclast_apoptosis_K_pM", "tgf_osteoblast_repression_K_pM", "osteoclast_precursor_apoptosis_per_day",
    "resorption_rate_pct_per_pM_day", "primary_mineral_fraction", "max_mineral_fraction",
    "secondary_mineralisation_per_day", "slow_mineralisation_share", "slow_mineralisation_per_day",
    "stiffness_bone_volume_exponent", "stiffness_ash_exponent",
    "sclerostin_stimulus_exponent", "osteocyte_rankl_stimulus_exponent", "mechanostat_lazy_zone_log", "mechanostat_disuse_gain_ratio",
    "lumbar_spine_exercise_loading_sensitivity", "total_hip_exercise_loading_sensitivity",
    "lumbar_spine_age_drive_scale", "total_hip_age_drive_scale",
    "osteomorph_share_of_osteoclast_exits", "osteomorph_removal_per_day", "osteomorph_refusion_per_day",
    "primed_rankl_source_max_relative", "primed_rankl_source_clearance_per_day",
    "lumbar_spine_modelling_formation_per_day", "total_hip_modelling_formation_per_day", "exercise_osteocyte_rankl_sensitivity",
    # derived [D]
    "derived_formation_rate_pct_per_pM_day", "derived_osteoclast_differentiation_per_day",
    "derived_osteoclast_precursor_supply_pM_per_day",
    "derived_obp0", "derived_oba0", "derived_ocp0", "derived_oca0",
    "derived_rankl0_pM", "derived_opg0_pM",
    "theta_0", "theta_1", "bv0_0", "bv0_1", "m0_0", "m0_1", "v0_0", "v0_1", "mech_0", "mech_1", "d0_0", "d0_1",
)
(P_PTH0, P_KPP, P_KPM, P_POPG, P_OPGMAX, P_DOPG, P_NL, P_BETAL, P_DL, P_KAO, P_KAR, P_RANK, P_KD, P_PHIOT,
 P_DOBU, P_DOBP, P_AOBA, P_AOCA, P_KU, P_KC, P_KR, P_AOCP, P_KRES, P_VPRIM, P_VMAX, P_KAPPA, P_SSLOW, P_KSLOW, P_EBV, P_EASH,
 P_GSCL, P_GL, P_LAZY, P_DISUSE, P_EX0, P_EX1, P_AGES0, P_AGES1, P_FOM, P_AOM, P_KREF, P_PMAX, P_KP, P_MOD0, P_MOD1, P_EXR,
 P_KFORM, P_KDIFF, P_SOCP, P_OBP0, P_OBA0, P_OCP0, P_OCA0, P_RANKL0, P_OPG0,
 P_THETA0, P_THETA1, P_BV00, P_BV01, P_M00, P_M01, P_V00, P_V01, P_MECH0, P_MECH1, P_D00, P_D01) = range(len(VECTOR_NAMES))
N_VECTOR = len(VECTOR_NAMES)


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
        "derived_formation_rate_pct_per_pM_day": k_form,
        "derived_osteoclast_differentiation_per_day": k_diff,
        "derived_osteoclast_precursor_supply_pM_per_day": s_ocp,
        "derived_obp0": obp0, "derived_oba0": oba0, "derived_ocp0": ocp0, "derived_oca0": oca0,
        "derived_rankl0_pM": rankl0, "derived_opg0_pM": opg0,
    }
    for index, site in enumerate(SITES):
        theta = p[f"{site}_turnover_scale"]
        bv0 = p[f"{site}_bone_volume_pct"]
        r = theta * p["resorption_rate_pct_per_pM_day"] * oca0 / bv0  # fraction of bone resorbed per day
        kappa, kappa_slow, share = p["secondary_mineralisation_per_day"], p["slow_mineralisation_per_day"], p["slow_mineralisation_share"]
        deficit = p["max_mineral_fraction"] - p["primary_mineral_fraction"]
        v0 = p["max_mineral_fraction"] - deficit * r * ((1.0 - share) / (kappa + r) + share / (kappa_slow + r))
        derived[f"d0_{index}"] = share * deficit * r * bv0 / (kappa_slow + r)
        derived[f"theta_{index}"] = theta
        derived[f"bv0_{index}"] = bv0
        derived[f"v0_{index}"] = v0
        derived[f"m0_{index}"] = v0 * bv0
        derived[f"mech_{index}"] = p[f"{site}_mechanosensitivity"]
    p.update(derived)
    if isinstance(params, ParameterTable):
        return np.array([p[name] for name in VECTOR_NAMES], dtype=np.float64)
    patients = params.patients
    return np.ascontiguousarray(np.stack([np.broadcast_to(p[name], (patients,)) for name in VECTOR_NAMES], axis=1), dtype=np.float64)


def reference_state(vector: np.ndarray) -> np.ndarray:
    """The core states at the untreated postmenopausal reference steady state: (N_CORE_STATES,) for
    one vector, (patients, N_CORE_STATES) for one row per patient."""
    vector = np.asarray(vector)
    y = np.zeros(vector.shape[:-1] + (N_CORE_STATES,))
    for s in range(2):
        o = s * N_SITE_STATES
        y[..., o + OBP] = vector[..., P_OBP0]
        y[..., o + OBA] = vector[..., P_OBA0]
        y[..., o + OCP] = vector[..., P_OCP0]
        y[..., o + OCA] = vector[..., P_OCA0]
        y[..., o + BV] = vector[..., P_BV00 + s]
        y[..., o + MIN] = vector[..., P_M00 + s]
        y[..., o + SLOW] = vector[..., P_D00 + s]
    return y


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def modelling_formation(p, s, route, bv):
    """Modelling-based formation of site s (%BV/d): ``k_mod,site * route * BV``.

    Bone laid on quiescent surfaces without prior resorption, mechanical loading's anabolic mode
    (Frost; Robling & Turner; mechanostat.py), driven by the exercise route of :func:`site_signals`
    and not through the cell counts (so it moves neither the osteoclasts nor the osteoblast pool).
    """
    return p[P_MOD0 + s] * route * bv


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def site_signals(y, s, p, u, denosumab_inhibition):
    """Algebraic signals of site s: (stimulus Phi, Wnt factor w, RANKL pM, OPG pM, pi_L, exercise route)."""
    o = s * N_SITE_STATES
    obp = y[o + OBP]
    oba = y[o + OBA]
    bv = y[o + BV]
    v = y[o + MIN] / bv
    gain = p[P_MECH0 + s]
    log_load = 2.0 * np.log(u[IN_LOAD0 + s])  # >= 0: exercise above habitual
    # Strain of the current bone under habitual loading, relative to the reference bone: the
    # mechanostat's set point is habitual loading, so this part carries no exercise.
    log_phi_bone = p[P_EBV] * np.log(p[P_BV00 + s] / bv) + p[P_EASH] * np.log(p[P_V00 + s] / v)
    log_phi = log_load + log_phi_bone
    phi = np.exp(log_phi)
    # Exercise reaches bone through one route (mechanostat.py): the part of the
    # added stimulus that bone gained since has not yet absorbed, min(log_load, max(log_phi, 0)); 0 at
    # habitual loading (baseline unchanged) and falls to 0 as the bone stiffens (re-equilibration,
    # plateau). Osteocyte accommodation to the sustained new regime (Schriefer 2005) fades it with
    # time on the programme: u[IN_EXACC]. Since session 3 the route adds bone by modelling-based
    # formation (core_rates) and lowers sclerostin (gain k_ex) and osteocyte RANKL (gain k_exR); the gains
    # are calibrated with the exercise trials' turnover markers (lifestyle suite), so exercise no longer
    # acts as an antiresorptive. (Until session 2 the added load also entered the set-point term below.)
    route = min(log_load, max(log_phi, 0.0)) * u[IN_EXACC]
    exercise = p[P_EX0 + s] * route
    lazy = p[P_LAZY]
    log_phi_set = log_phi_bone
    if log_phi_set > lazy:
        log_phi_set -= lazy
    elif log_phi_set < -lazy:
        log_phi_set += lazy
    else:
        log_phi_set = 0.0
    if log_phi_set < 0.0:  # bone stiffer than habitual loading needs (after a gain): the disuse side (mechanostat.py)
        log_phi_set *= p[P_DISUSE]
    w = np.exp(p[P_GSCL] * (gain * log_phi_set + exercise)) / u[IN_SCL]
    pth = p[P_PTH0] * u[IN_PTH]
    pi_p = pth / (pth + p[P_KPP])
    pi_m = p[P_KPM] / (pth + p[P_KPM])
    p_o = p[P_POPG] * oba * pi_m * u[IN_OPG]
    opg = p_o * p[P_OPGMAX] / (p_o + p[P_DOPG] * p[P_OPGMAX])
    l_eff = p[P_NL] * obp * pi_p
    beta = p[P_BETAL]
    production = beta * (1.0 + y[o + PRIME]) * (((1.0 - p[P_PHIOT]) + p[P_PHIOT] * np.exp(-p[P_GL] * (gain * log_phi_set + p[P_EXR] * route))) * u[IN_RANKL] + u[IN_BG] + p[P_AGES0 + s] * u[IN_BGAGE])
    rankl = (1.0 - denosumab_inhibition) * l_eff / (1.0 + p[P_KAO] * opg + p[P_KAR] * p[P_RANK]) * production / (beta + p[P_DL] * l_eff)
    x = p[P_KAR] * rankl * p[P_RANK]
    return phi, w, rankl, opg, x / (x + p[P_KD]), route


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def core_rates(y, p, u, denosumab_inhibition, bisphosphonate_inhibition, prod, loss):
    """Production and loss rates (per day) of the core states: dy/dt = prod - loss * y.

    ``denosumab_inhibition`` in [0, 1): fraction of RANKL bound by bone-site denosumab (0 without the drug);
    ``bisphosphonate_inhibition`` in [0, 1) raises osteoclast apoptosis by 1/(1 - I).
    """
    for s in range(2):
        o = s * N_SITE_STATES
        theta = p[P_THETA0 + s]
        obp = y[o + OBP]
        oba = y[o + OBA]
        ocp = y[o + OCP]
        oca = y[o + OCA]
        bv = y[o + BV]
        phi, w, rankl, opg, pi_l, route = site_signals(y, s, p, u, denosumab_inhibition)
        tgf = oca
        pi_u = tgf / (tgf + p[P_KU])
        pi_r = p[P_KR] / (tgf + p[P_KR])
        pi_c = tgf / (tgf + p[P_KC])
        maturation = p[P_DOBP] * pi_r * w * u[IN_FORM]
        prod[o + OBP] = theta * p[P_DOBU] * pi_u
        loss[o + OBP] = theta * maturation
        prod[o + OBA] = theta * maturation * obp
        loss[o + OBA] = theta * p[P_AOBA]
        differentiation = p[P_KDIFF] * pi_l
        prod[o + OCP] = theta * p[P_SOCP]
        loss[o + OCP] = theta * (differentiation + p[P_AOCP])
        refusion = theta * p[P_KREF] * (1.0 - denosumab_inhibition)
        prod[o + OCA] = theta * differentiation * ocp + refusion * y[o + OM]
        loss[o + OCA] = theta * p[P_AOCA] * pi_c * u[IN_OCAPOP] / (1.0 - bisphosphonate_inhibition)
        prod[o + OM] = p[P_FOM] * denosumab_inhibition * loss[o + OCA] * oca
        loss[o + OM] = theta * p[P_AOM] + refusion
        # Remodelling formation (osteoblasts refilling resorbed cavities) plus modelling-based formation;
        # the new bone of both mineralises alike: primary fraction, then the fast and slow secondary phases.
        formation = theta * p[P_KFORM] * oba + modelling_formation(p, s, route, bv)
        resorption_per_bv = theta * p[P_KRES] * oca / bv
        prod[o + BV] = formation
        loss[o + BV] = resorption_per_bv
        slow = y[o + SLOW]
        prod[o + MIN] = formation * p[P_VPRIM] + p[P_KAPPA] * (p[P_VMAX] * bv - slow) + p[P_KSLOW] * slow
        loss[o + MIN] = resorption_per_bv + p[P_KAPPA]
        prod[o + SLOW] = formation * p[P_SSLOW] * (p[P_VMAX] - p[P_VPRIM])
        loss[o + SLOW] = resorption_per_bv + p[P_KSLOW]
        prod[o + PRIME] = p[P_KP] * p[P_PMAX] * denosumab_inhibition
        loss[o + PRIME] = p[P_KP]


def core_derivative(y: np.ndarray, p: np.ndarray, u: np.ndarray, denosumab_inhibition: float = 0.0, bisphosphonate_inhibition: float = 0.0) -> np.ndarray:
    """dy/dt of the core for one patient (for steady-state tests and the SciPy reference)."""
    prod = np.empty(N_CORE_STATES)
    loss = np.empty(N_CORE_STATES)
    core_rates(y, p, u, denosumab_inhibition, bisphosphonate_inhibition, prod, loss)
    return prod - loss * y


def baseline_inputs() -> np.ndarray:
    """Inputs of the untreated postmenopausal reference (all multipliers 1, no background drive)."""
    u = np.ones(N_INPUTS)
    u[IN_BG] = 0.0
    u[IN_BGAGE] = 0.0
    return u
