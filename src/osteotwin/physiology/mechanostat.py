"""The mechanostat: bone loss raises the tissue strain stimulus, which limits further loss.

Stimulus (strain energy density ratio at fixed load, docs/model.md section 6):
``Phi = s_load**2 * (BV0/BV)**2.58 * (v0/v)**2.74`` with the Young's modulus law
E = 84.37 BV**2.58 ash**2.74 (Martinez-Reina 2019) and ``v = M/BV`` the mean mineral fraction.
``s_load`` is the habitual loading of the site relative to baseline (exercise modules raise it).

Responses (our smooth power-law forms of the Scheiner/Martin structures):
- sclerostin from osteocytes, quasi-steady: ``Scl = f_S(E2) * Phi**-gamma_SPhi``; the Wnt
  factor on osteoblast-precursor maturation is ``w = 1/Scl`` (Jorg 2022 saturated regime);
- osteocyte RANKL: the mechanosensitive share of intrinsic RANKL production scales with
  ``Phi**-gamma_LPhi``.
Both act on the bone's own strain term under habitual loading (the set point is habitual loading;
added exercise takes the route below), outside a lazy zone (Frost): it is shrunk towards 0 by the
zone's half-width, so small departures from the habitual state (e.g. tamoxifen's gain) are not
corrected while large ones (AI loss) are. A site gain scales both exponents per site.
The response is allowed to be asymmetric (ours [A]): on the disuse side, where the bone is stiffer than
habitual loading needs (after a drug- or exercise-driven gain), the shrunk log stimulus is multiplied by
a ratio r_disuse <= 1. Frost's mechanostat has separate thresholds for the disuse and the overload
(modelling) responses, with an adapted window between them; a symmetric power law made the spine
give back a denosumab gain while the drug was still acting (FREEDOM extension: spine +13.7% at 5 years
and still rising at 10, S3-022), because the strong spine feedback that ATAC's decelerating AI loss needs
also acted on the gain. r_disuse is calibrated jointly with the drug rows (scripts/calibrate.py --suite all).

Exercise has its own route, separate from this disuse/loss feedback gain (ours [A]): with
``L = log(s_load**2) >= 0`` the programme's loading above habitual, the route is ``L`` times the
accommodation input below (:func:`exercise_route`). It is 0 at habitual loading (so the ATAC-, core- and
drug-fitted states are unchanged). While a programme goes on, the part of the bone's gain that its loading
carries is not disuse (:func:`loaded_set_point_signal`), so the gain is kept once accommodation has ended its
growth (Dalsky 1988: gains "maintained with continued training"). It acts in these ways (since session 3, issue #4):
- modelling-based formation, loading's anabolic mode (Frost's modelling threshold; Robling & Turner:
  bone laid on quiescent surfaces without prior resorption): ``F_mod = k_mod,site * route * BV`` (%BV/d)
  adds bone volume outside the cell counts; its mineral enters at the primary fraction and fills in the
  fast and slow secondary phases like remodelling formation (bone.py), and it counts in the P1NP output;
- the osteocytes: ``k_ex,site * route`` on the sclerostin (Wnt) exponent (loading lowers sclerostin: more
  osteoblast maturation) and ``k_exR * route`` (one gain for both sites) on the osteocyte RANKL exponent
  (loading lowers osteocyte RANKL).
``k_mod``, ``k_ex`` and ``k_exR`` are calibrated by scripts/calibrate_lifestyle.py to LIFTMOR, the exercise
meta-analyses, the exercise turnover-marker checks (Zhang 2025: CTX a little lower, P1NP a little
higher; lifestyle suite MARKER_CHECKS) and EFOPS's 14-month and 12-year differences (S4-101..108). Until session 2 the route carried the whole LIFTMOR gain through
sclerostin and RANKL with k_ex ~0.4-0.7, which cut CTX and P1NP by ~70-85% in the first year (exercise
acted like an antiresorptive). The fitted split: at the spine most of the 8-month gain still comes through
the sclerostin route (CTX ~13% lower at 12 months), at the hip most through modelling.
Osteocytes accommodate to a sustained new loading regime (cellular accommodation, Schriefer 2005;
Turner 1998): after an onset t_acc (the 8-12 months of the calibrating trials) the exercise route is
multiplied by ``exp(-(t - t_acc)/tau_acc)``, t the time since the programme's start (``exercise.start_month``; the
engine's burn-in holds habitual loading), so the gain levels off instead of growing for years. Form ours [A]; both times
are fitted with the exercise gains (scripts/calibrate_lifestyle.py) to rows from 8 months to 12 years, EFOPS's
14-month spine and hip rows included.
Detraining (issue 13): when a programme stops (Scenario ``exercise.stop_month``) its loading ``W`` is withdrawn and
the route turns negative, ``-W`` times the same accommodation course counted again from the stop for as long as the
programme lasted (engine.monthly_inputs), so the give-back mirrors the build-up. A negative route removes bone at
the modelling rate constant (bone.modelling_removal_per_day: Frost's disuse mode, removal of bone the loading no longer
needs; symmetry ours [A]); osteocyte sclerostin and RANKL return to habitual at the stop (the route acts on them only
when positive). No detraining parameter is fitted: the give-back is checked, not fitted, against Dalsky GP et al. Ann
Intern Med 1988;108:824-8 (spine +6.1% after 22 months of weight-bearing training, +1.1% 13 months after it stopped;
abstract read [V]; calibration/lifestyle.py DETRAINING_CHECKS).
The route is not capped by the stimulus the bone has absorbed: such a cap depends on the bone's course, so its mirror
could not be formed from the inputs; the accommodation fade alone ends the growth.
Until session 2 the added load also entered the set-point term; with the jointly refitted core that gave
the spine a persistent, unaccommodated gain of ~9 points after 5 years of a LIFTMOR-like programme.
"""

from __future__ import annotations

import numba
import numpy as np

from osteotwin.physiology import cache_guard, spec
from osteotwin.physiology.parameters import Parameter, ParameterTable, calibrated
from osteotwin.physiology.spec import PS, P

cache_guard.invalidate_stale(__file__, (spec.__file__,))  # the kernels below fold spec's indices in

MR = "Martinez-Reina J, Pivonka P. Biomech Model Mechanobiol 2019 (E = 84.37 BV^2.58 ash^2.74), cmodiz/Bone-Models martinez_reina_parameters.py"
C_EX = ("calibrated to LIFTMOR (S4-010..013), Howe 2011 (S4-018/019), Shojaa 2020 (S4-021..023), the exercise turnover-marker "
        "checks (Zhang 2025) and EFOPS's 14-month spine and hip and 12-year spine differences (Kemmler 2003, 2012; S4-101..108), weighted by precision, by scripts/calibrate_lifestyle.py; form ours; loading lowers osteocyte sclerostin: "
        "Robling AG et al. J Biol Chem 2008;283:5866-75 (recalled)")
C_MOD = ("calibrated to LIFTMOR (S4-010..013), Howe 2011 (S4-018/019), Shojaa 2020 (S4-021..023), the exercise "
         "turnover-marker checks (Zhang 2025) and EFOPS's 14-month spine and hip and 12-year spine differences (Kemmler 2003, 2012; S4-101..108), weighted by precision, by scripts/calibrate_lifestyle.py; modelling-based formation "
         "as loading's anabolic mode: Frost HM. Anat Rec 2003;275:1081-101 (modelling threshold; recalled); Robling AG, "
         "Castillo AB, Turner CH. Annu Rev Biomed Eng 2006;8:455-98 (loading adds bone by modelling on quiescent "
         "surfaces; recalled); linear form in the route ours [A]")
ACC = ("calibrated [C] by scripts/calibrate_lifestyle.py (exercise group) to the exercise rows with "
       "durations 8 months to 12 years (LIFTMOR, meta-analyses at ~12 months, EFOPS at 14 months and 12 years, S4-101..108): "
       "when the route stops adding bone; form ours [A]: exp(-(t - t_acc)/tau) fade for osteocyte cellular accommodation "
       "(Schriefer JL et al. J Biomech 2005;38:1838-45: the reference state for adaptation follows the strain history "
       "[verified]; Turner CH Bone 1998;23:399-407, rule 3: cells accommodate to a customary loading [recalled, unverified]); "
       "prior range ours")
ACC_ONSET = ("calibrated [C] with the time constant above; prior range ours [A]: within the first two years, "
             "the span over which the trials' gains accrue (LIFTMOR S4-010..013, meta-analyses S4-018..023, EFOPS S4-101..106)")
C_MECH = "identified by the ATAC on/off-treatment rows S1-001..S1-018 (deceleration, recovery)"

PARAMETERS = ParameterTable(
    [
        Parameter("stiffness_bone_volume_exponent", 2.58, "1", "exponent of BV in the Young's modulus law", MR, "S", (1.5, 3.5), symbol="n_BV"),
        Parameter("stiffness_ash_exponent", 2.74, "1", "exponent of ash fraction in the Young's modulus law", MR, "S", (1.5, 3.5), symbol="n_ash"),
        Parameter("sclerostin_stimulus_exponent", 4.8886, "1", "sclerostin ~ Phi**-gamma (formation side of the mechanostat)", calibrated("core", "ours 0.5-1 (docs/model.md section 6); " + C_MECH), "C", (0.0, 5.0), symbol="gamma_SPhi"),
        Parameter("lumbar_spine_mechanosensitivity", 1.0, "1", "site gain on both mechanostat exponents, spine (reference, 1 by definition)", "ours (reference site)", "A", (1.0, 1.0), symbol="g_LS"),
        Parameter("total_hip_mechanosensitivity", 0.439261, "1", "site gain on both mechanostat exponents, hip, relative to the spine", calibrated("core", "ours: site-specific mechanics (docs/model.md section 10); " + C_MECH), "C", (0.0, 3.0), symbol="g_TH"),
        Parameter("mechanostat_lazy_zone_log", 0.00604554, "1", "half-width of the lazy zone in log(Phi): no response while |log Phi| is below it (Frost)", calibrated("core", "ours, default 0 (Frost; docs/model.md section 6); " + C_MECH), "C", (0.0, 0.3), symbol="epsilon_lazy"),
        Parameter("lumbar_spine_exercise_loading_sensitivity", 0.7269, "1", "spine: gain of the exercise route (loading above habitual, not yet absorbed by bone gained) on the sclerostin (Wnt) exponent", C_EX, "C", (0.0, 3.0), symbol="k_ex,LS"),
        Parameter("total_hip_exercise_loading_sensitivity", 0.122, "1", "hip: gain of the exercise route (loading above habitual, not yet absorbed by bone gained) on the sclerostin (Wnt) exponent", C_EX, "C", (0.0, 3.0), symbol="k_ex,TH"),
        Parameter("exercise_osteocyte_rankl_sensitivity", 0.01114, "1", "gain of the exercise route on the osteocyte RANKL exponent (both sites): loading lowers osteocyte RANKL",
                  C_EX.replace("loading lowers osteocyte sclerostin", "loading lowers osteocyte RANKL and sclerostin"), "C", (0.0, 1.0), symbol="k_exR"),
        Parameter("lumbar_spine_modelling_formation_per_day", 8.276e-05, "1/d", "spine: modelling-based formation (bone laid on quiescent surfaces, no prior resorption) per unit of the exercise route, as a fraction of bone volume per day: F_mod = k_mod x route x BV", C_MOD, "C", (0.0, 0.02), symbol="k_mod,LS"),
        Parameter("total_hip_modelling_formation_per_day", 0.0003122, "1/d", "hip: modelling-based formation per unit of the exercise route, fraction of bone volume per day (as the spine)", C_MOD, "C", (0.0, 0.02), symbol="k_mod,TH"),
        Parameter("exercise_accommodation_time_days", 142.7, "d", "time constant of osteocyte accommodation; the exercise route is multiplied by exp(-(t - t_acc)/tau_acc) after the onset t_acc, t from the scenario start", ACC, "C", (90.0, 1095.0), symbol="tau_acc"),
        Parameter("exercise_accommodation_onset_days", 349.9, "d", "time on the programme before accommodation fades the exercise route (trials show steady gains over their 8-12 months)", ACC_ONSET, "C", (0.0, 730.0), symbol="t_acc"),
        Parameter("mechanostat_disuse_gain_ratio", 0.318119, "1", "response on the disuse side (bone stiffer than habitual loading needs) relative to the overload side",
                  calibrated("core", "asymmetry ours [A] after Frost's separate disuse and modelling thresholds (Frost HM. Anat Rec 2003;275:1081-101, recalled); "
                  "identified by ATAC (S1-001..S1-018) with the long-term denosumab rows (FREEDOM extension S3-022, S3-023; scripts/calibrate.py --suite all)"), "C", (0.0, 1.0), symbol="r_disuse"),
        Parameter("osteocyte_rankl_stimulus_exponent", 5.0, "1", "osteocyte RANKL ~ Phi**-gamma (resorption side of the mechanostat)", calibrated("core", "ours 0.5 (docs/model.md section 6); " + C_MECH), "C", (0.0, 5.0), symbol="gamma_LPhi"),
    ]
)


# ---------------------------------------------------------------------------------------------
# Compiled terms (one patient, one site s); p is the packed core vector (spec.P, spec.PS).
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def log_bone_stimulus(p, s, bv, mineral_fraction):
    """log Phi of the current bone under habitual loading, relative to the reference bone:
    ``e_BV log(BV0/BV) + e_ash log(v0/v)`` (stiffness law above). It carries no exercise: the
    mechanostat's set point is habitual loading."""
    return (p[P.stiffness_bone_volume_exponent] * np.log(p[PS.bone_volume_pct + s] / bv)
            + p[P.stiffness_ash_exponent] * np.log(p[PS.reference_mineral_fraction + s] / mineral_fraction))


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def exercise_route(log_load, log_withdrawn, accommodation):
    """The exercise route (module docstring): the programme's loading above habitual ``L``, or after it stops minus
    the loading withdrawn ``W`` (detraining), times the accommodation input (engine.monthly_inputs: the fade counted
    from the programme's start, and after the stop the same course again, so the give-back mirrors the build-up)."""
    return (log_load - log_withdrawn) * accommodation


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def set_point_signal(p, log_phi_bone):
    """The disuse/loss feedback signal: log Phi of the bone shrunk towards 0 by the lazy zone's
    half-width, and scaled by r_disuse on the disuse side (bone stiffer than loading needs)."""
    lazy = p[P.mechanostat_lazy_zone_log]  # >= 0 (its prior range)
    signal = max(log_phi_bone - lazy, 0.0) + min(log_phi_bone + lazy, 0.0)  # 0 inside the lazy zone
    # Written without branches on values, so that the SBML export can trace it (interop/trace.py).
    return max(signal, 0.0) + p[P.mechanostat_disuse_gain_ratio] * min(signal, 0.0)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def loaded_set_point_signal(p, log_phi_bone, log_load):
    """The disuse/loss feedback signal of bone under a programme's loading ``log_load`` L >= 0 (module docstring).

    The part of the bone's gain over the reference that the loading carries, ``min(L, -log Phi_bone)``, is not disuse,
    so a gain is kept while the programme goes on. With L = 0 (no programme, or after it stops) this is
    :func:`set_point_signal`: every fit without exercise is unchanged.
    """
    return set_point_signal(p, log_phi_bone + min(log_load, max(-log_phi_bone, 0.0)))
