"""Exercise -> mechanical loading stimulus per site (lumbar spine, total hip).

Form (a combination of two published measures; the combination is ours [A]):

* the daily stress stimulus of Carter and Beaupre (Whalen, Carter & Steele 1988 J Biomech 21:825;
  Beaupre, Orr & Carter 1990 J Orthop Res 8:651) [R: form recalled]: stress magnitude counts with
  the power m = 4, psi = (sum_j n_j sigma_j^m)^(1/m);
* the osteogenic index of Turner & Robling 2003 (Exerc Sport Sci Rev 31:45) [V formula,
  Turner & Robling 2003]: within one kind of loading, cycle number saturates as ln(N + 1), so bone
  adapted to thousands of daily steps gains little from more steps of the same size.

    S_site = sigma_gait^m * ln(1 + n_gait) + [spine: non-gait habitual term]
             + sum_{impact, resistance} max(sigma^m - 1, 0) * ln(1 + n)     (n = cycles per day)
    psi_relative = (S_site / S_site,habitual)^(1/m)
    loading_stimulus_relative = 1 + gain * (psi_relative - 1)

Classes: gait (habitual steps plus purposeful walking, with the cycle-weighted mean of sigma^m),
impact (jumps, drop landings), resistance (loaded repetitions; sigma scales with intensity) and, at
the spine only, habitual non-gait loading (posture, bending, lifting), a constant share of the
spine's habitual stimulus. Weekly doses are averaged over 7 days. Impact and resistance loads
count only by how much their sigma^m exceeds the habitual step (1): loads no larger than
everyday walking add no stimulus (the customary-loading "lazy zone" of Frost's mechanostat [R]),
which is why the LIFTMOR low-intensity home programme (<60% 1RM) protected nothing.

Consequences, as the exercise trials show: walking raises the hip stimulus a little and the spine
stimulus hardly at all; a few heavy lifts (deadlift, squat, overhead press at 80-85% 1RM, as in
LIFTMOR, Watson 2018 JBMR 33:211) load the spine and hip strongly; jump landings load the hip most.
The relative stresses are our assumptions anchored to ground-reaction-force multiples
(walking about 1.0-1.5 body weights, jump landings 4-5 [R]; docs/model.md section 6); ``stimulus_gain``
the moderate-intensity scale and the impact stresses are calibrated [C], to LIFTMOR (S4-010..013),
the exercise meta-analyses (S4-018/019, S4-021..023) and EFOPS (S4-101..108), by scripts/calibrate_lifestyle.py, jointly with the per-site exercise
route of the mechanostat (mechanostat.py ``*_exercise_loading_sensitivity``).

Returned per site: 1.0 for the reference person (habitual activity, no added exercise), never
below 1.0, non-decreasing in every dose. The core turns it into bone through the mechanostat's exercise
route (mechanostat.py): modelling-based formation and lower osteocyte sclerostin (Wnt).
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology.parameters import Parameter, ParameterTable

SITE_INDEX = {"lumbar_spine": 0, "total_hip": 1}

PARAMETERS = ParameterTable(
    [
        Parameter(
            "stress_exponent_m", 4.0, "1",
            "Exponent of the daily stress stimulus: weight of stress magnitude relative to cycle number",
            "Whalen, Carter & Steele 1988 J Biomech 21:825; Beaupre 1990 (m = 4 typical, range 3-8) [R]",
            "R", (2.0, 8.0), symbol="m",
        ),
        Parameter(
            "habitual_steps_per_day", 5000.0, "cycles/d",
            "Habitual daily steps of the reference person (untrained postmenopausal woman)",
            "Tudor-Locke 2011 (older adults 2000-9000 steps/d) [R]; ours [A] to pick 5000",
            "A", (2000.0, 9000.0), symbol="n_hab",
        ),
        Parameter(
            "spine_habitual_nongait_share", 0.5, "1",
            "Share of the spine's habitual daily stress stimulus from non-gait loads (posture, bending, "
            "lifting), so extra walking raises the spine stimulus less than the hip stimulus",
            "Ours [A]; walking meta-analyses find hip but little spine effect (Martyn-St James & Carroll "
            "2008 [R])",
            "A", (0.0, 0.8), symbol="f_ng,LS",
        ),
        Parameter(
            "walking_steps_per_minute", 100.0, "steps/min",
            "Cadence of purposeful walking",
            "Tudor-Locke 2018 (100 steps/min ~ moderate intensity) [R]",
            "R", (80.0, 130.0), symbol="c_walk",
        ),
        Parameter(
            "walking_relative_stress_hip", 1.15, "1",
            "Peak hip stress of brisk walking relative to the habitual step",
            "GRF ~1.2-1.5 BW brisk vs ~1.1 BW slow walking (docs/model.md section 6) [R]; ours [A]",
            "A", (1.0, 1.5), symbol="sigma_walk,TH",
        ),
        Parameter(
            "walking_relative_stress_spine", 1.0, "1",
            "Peak spine stress of brisk walking relative to the habitual step",
            "Ours [A]: spine compressive load changes little with walking speed",
            "A", (0.8, 1.3), symbol="sigma_walk,LS",
        ),
        Parameter(
            "impact_cycles_per_session", 50.0, "cycles",
            "Jumps or drop landings per impact session",
            "ESSA dose detail: ~50 jumps per session (Beck BR et al. J Sci Med Sport 2017;20:438-45) [R]",
            "R", (10.0, 150.0), symbol="n_imp",
        ),
        Parameter(
            "impact_relative_stress_hip", 1.725, "1",
            "Peak hip stress of a jump landing relative to a walking step",
            "Calibrated [C] by scripts/calibrate_lifestyle.py (exercise group) to the exercise rows, "
            "chiefly EFOPS's high-impact programme at 14 months (hip +0.5 pp, S4-103/104) against LIFTMOR and the "
            "meta-analyses; prior range from ground-reaction forces of jump landings ~4-5 BW vs ~1.2-1.5 BW walking "
            "(docs/model.md section 6) [R]",
            "C", (1.5, 4.5), symbol="sigma_imp,TH",
        ),
        Parameter(
            "impact_relative_stress_spine", 3.5, "1",
            "Peak spine stress of a jump landing relative to a walking step (attenuated by lower limbs)",
            "Calibrated [C] by scripts/calibrate_lifestyle.py (exercise group) to the exercise rows "
            "(EFOPS 14 months and 12 years, LIFTMOR, meta-analyses); prior range ours [A]",
            "C", (1.0, 3.5), symbol="sigma_imp,LS",
        ),
        Parameter(
            "resistance_cycles_per_session", 75.0, "cycles",
            "Loaded repetitions per resistance session (LIFTMOR: 5 sets x 5 reps x 3 lifts)",
            "Watson SL et al. J Bone Miner Res 2018;33:211-20 (LIFTMOR protocol) [V]",
            "V", (20.0, 200.0), symbol="n_res",
        ),
        Parameter(
            "resistance_relative_stress_spine_high", 3.0, "1",
            "Peak lumbar stress of a deadlift/squat/overhead press at 80-85% 1RM relative to a walking step",
            "Ours [A]; lumbar compression in heavy lifts is several body weights vs ~1-1.5 in walking [R]. "
            "Fixed (not fitted): the stimulus gain is fitted instead",
            "A", (1.5, 5.0), symbol="sigma_res,LS",
        ),
        Parameter(
            "resistance_relative_stress_hip_high", 2.2, "1",
            "Peak hip stress of squat/deadlift at 80-85% 1RM relative to a walking step",
            "Ours [A]; hip contact force in loaded squats/deadlifts vs walking [R]. Fixed (not fitted)",
            "A", (1.2, 4.0), symbol="sigma_res,TH",
        ),
        Parameter(
            "resistance_intensity_scale_moderate", 0.7671, "1",
            "Effective stimulus of moderate intensity (~60-70% 1RM, 8-12RM) relative to high (80-85% 1RM)",
            "Calibrated [C] by scripts/calibrate_lifestyle.py (exercise group) to the contrast between LIFTMOR's "
            "high-intensity programme (S4-010..013) and the moderate programmes of the meta-analyses (S4-018/019, "
            "S4-021..023); prior range ours [A] from the load ratio 65/82.5 ~ 0.8, lower because bone responds "
            "more than proportionally to load magnitude",
            "C", (0.5, 0.95), symbol="i_mod",
        ),
        Parameter(
            "stimulus_gain", 0.1579, "1",
            "Gain from the relative stress stimulus psi to the core's mechanostat stimulus multiplier",
            "Calibrated [C] to LIFTMOR (S4-010..013) against the core's mechanostat",
            "C", (0.01, 3.0), symbol="g_psi",
        ),
        Parameter(
            "resistance_intensity_scale_low", 0.35, "1",
            "Peak stress at low intensity (<60% 1RM, 10-15 reps, LIFTMOR control) relative to high",
            "Ours [A]: body-weight and light-band exercise; lumbar load about that of walking",
            "A", (0.2, 0.8), symbol="i_low",
        ),
    ]
)


def loading_stimulus_relative(
    walking_minutes_per_week: np.ndarray,
    impact_sessions_per_week: np.ndarray,
    resistance_sessions_per_week: np.ndarray,
    resistance_intensity_code: np.ndarray,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Loading stimulus per site relative to habitual activity, shape ``(2, patients)``.

    Row 0 lumbar spine, row 1 total hip. Exactly 1.0 with no added exercise; never below 1.0
    (added exercise cannot unload bone) and non-decreasing in every dose.
    """
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    m = p["stress_exponent_m"]
    walking = np.atleast_1d(np.asarray(walking_minutes_per_week, dtype=float))
    impact = np.atleast_1d(np.asarray(impact_sessions_per_week, dtype=float))
    resistance = np.atleast_1d(np.asarray(resistance_sessions_per_week, dtype=float))
    code = np.atleast_1d(np.asarray(resistance_intensity_code)).astype(int)
    if np.any(walking < 0) or np.any(impact < 0) or np.any(resistance < 0):
        raise ValueError("exercise doses must be non-negative")
    if np.any((code < 0) | (code > 2)):
        raise ValueError("resistance_intensity_code must be 0 (low), 1 (moderate) or 2 (high)")

    intensity_scale = np.array(
        [p["resistance_intensity_scale_low"], p["resistance_intensity_scale_moderate"], 1.0]
    )[code]
    habitual_steps = p["habitual_steps_per_day"]
    walking_steps = walking * p["walking_steps_per_minute"] / 7.0
    jumps = impact * p["impact_cycles_per_session"] / 7.0
    lifts = resistance * p["resistance_cycles_per_session"] / 7.0
    gait_steps = habitual_steps + walking_steps
    habitual_gait_term = np.log1p(habitual_steps)

    out = np.empty((2, walking.size))
    for site, suffix in ((0, "spine"), (1, "hip")):
        gait_sigma_m = (habitual_steps + walking_steps * p[f"walking_relative_stress_{suffix}"] ** m) / gait_steps
        nongait = 0.0
        if suffix == "spine":
            share = p["spine_habitual_nongait_share"]
            nongait = habitual_gait_term * share / (1.0 - share)
        habitual = habitual_gait_term + nongait
        total = (
            gait_sigma_m * np.log1p(gait_steps)
            + nongait
            + np.maximum(p[f"impact_relative_stress_{suffix}"] ** m - 1.0, 0.0) * np.log1p(jumps)
            + np.maximum((intensity_scale * p[f"resistance_relative_stress_{suffix}_high"]) ** m - 1.0, 0.0)
            * np.log1p(lifts)
        )
        psi_relative = (total / habitual) ** (1.0 / m)
        out[site] = 1.0 + p["stimulus_gain"] * (psi_relative - 1.0)
    return out
