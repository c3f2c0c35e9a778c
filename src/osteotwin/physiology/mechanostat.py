"""The mechanostat: bone loss raises the tissue strain stimulus, which limits further loss.

Stimulus (strain energy density ratio at fixed load, model.md 4.6 E):
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

Exercise has its own route to the osteocytes, separate from this disuse/loss feedback gain (ours [A]):
with ``L = log(s_load**2) >= 0`` the loading above habitual, the exponents also carry
``k_ex,site * min(L, max(log Phi, 0))``, i.e. the part of the exercise stimulus that the bone gained
since has not yet absorbed. It is 0 at habitual loading (so the ATAC-, core- and drug-fitted states
are unchanged) and falls back to 0 as the loaded bone stiffens (the mechanostat re-equilibrates, the
exercise gain plateaus). ``k_ex`` is calibrated to LIFTMOR and the exercise meta-analyses by
scripts/calibrate_lifestyle.py; the ATAC-fitted hip gain (~0.01) alone made the hip deaf to exercise.
Osteocytes accommodate to a sustained new loading regime (cellular accommodation, Schriefer 2005;
Turner 1998): after an onset t_acc (the 8-12 months of the calibrating trials) the exercise route is
multiplied by ``exp(-(t - t_acc)/tau_acc)``, t the time since the scenario start (the engine's burn-in holds
habitual loading), so the gain levels off instead of growing for years, and part of it fades as the
disuse feedback returns the bone towards its habitual-loading set point. Ours [A], both times assumed.
Until session 2 the added load also entered the set-point term; with the jointly refitted core that gave
the spine a persistent, unaccommodated gain of ~9 points after 5 years of a LIFTMOR-like programme.
"""

from __future__ import annotations

from osteotwin.physiology.parameters import Parameter, ParameterTable

MR = "Martinez-Reina J, Pivonka P. Biomech Model Mechanobiol 2019 (E = 84.37 BV^2.58 ash^2.74; model.md P2)"
C_EX = "calibrated to LIFTMOR (S4-010..013), Howe 2011 (S4-018/019), Shojaa 2020 (S4-021..023) by scripts/calibrate_lifestyle.py; form ours"
ACC = ("ours [A]: exp(-(t - t_acc)/tau) fade of the exercise route for osteocyte cellular accommodation "
       "(Schriefer JL et al. J Biomech 2005;38:1838-45: the reference state for adaptation follows the strain "
       "history [verified]; Turner CH Bone 1998;23:399-407, rule 3: cells accommodate to a customary loading "
       "[recalled, unverified]); not identifiable from the 8-12-month rows (the fade starts after them), fixed so "
       "the LIFTMOR programme's 60-month gain over control stays within ~2x its 12-month gain (no trial > ~2 y)")
ACC_ONSET = ("ours [A]: onset of accommodation after the 8-12 months over which LIFTMOR (S4-010..013) and the exercise "
             "meta-analyses (S4-018..023) show the gains the route is calibrated to; the fade is not applied within them")
C_MECH = "calibrated by scripts/calibrate.py to ATAC on/off-treatment rows S1-001..S1-018 (deceleration, recovery)"

PARAMETERS = ParameterTable(
    [
        Parameter("stiffness_bone_volume_exponent", 2.58, "1", "exponent of BV in the Young's modulus law", MR, "S", (1.5, 3.5)),
        Parameter("stiffness_ash_exponent", 2.74, "1", "exponent of ash fraction in the Young's modulus law", MR, "S", (1.5, 3.5)),
        Parameter("sclerostin_stimulus_exponent", 1.0, "1", "gamma_SPhi: sclerostin ~ Phi**-gamma (formation side of the mechanostat)", C_MECH + "; prior model.md P7 0.5-1", "C", (0.0, 5.0)),
        Parameter("lumbar_spine_mechanosensitivity", 1.0, "1", "site gain on both mechanostat exponents, spine (reference, 1 by definition)", "ours (reference site)", "A", (1.0, 1.0)),
        Parameter("total_hip_mechanosensitivity", 1.0, "1", "site gain on both mechanostat exponents, hip, relative to the spine", C_MECH + "; site-specific mechanics per model.md 4.6 I", "C", (0.0, 3.0)),
        Parameter("mechanostat_lazy_zone_log", 0.02, "1", "half-width of the lazy zone in log(Phi): no response while |log Phi| is below it (Frost)", C_MECH + "; model.md 4.6 E epsilon_lazy (ours, default 0)", "C", (0.0, 0.3)),
        Parameter("lumbar_spine_exercise_loading_sensitivity", 0.3763, "1", "k_ex, spine: gain of the exercise route (loading above habitual, not yet absorbed by bone gained) on both mechanostat exponents", C_EX, "C", (0.0, 3.0)),
        Parameter("total_hip_exercise_loading_sensitivity", 0.6948, "1", "k_ex, hip: gain of the exercise route (loading above habitual, not yet absorbed by bone gained) on both mechanostat exponents", C_EX, "C", (0.0, 3.0)),
        Parameter("exercise_accommodation_time_days", 365.0, "d", "tau_acc: time constant of osteocyte accommodation; the exercise route is multiplied by exp(-(t - t_acc)/tau_acc) after the onset t_acc, t from the scenario start", ACC, "A", (90.0, 1095.0)),
        Parameter("exercise_accommodation_onset_days", 365.0, "d", "t_acc: time on the programme before accommodation fades the exercise route (trials show steady gains over their 8-12 months)", ACC_ONSET, "A", (0.0, 730.0)),
        Parameter("osteocyte_rankl_stimulus_exponent", 1.0, "1", "gamma_LPhi: osteocyte RANKL ~ Phi**-gamma (resorption side of the mechanostat)", C_MECH + "; prior model.md P7 0.5", "C", (0.0, 5.0)),
    ]
)
