"""Property tests of the lifestyle modules (issue 13), over patients and inputs drawn by hypothesis:

* no lifestyle input alone (diet, supplements, exercise, gut) turns the 5-year loss on an aromatase inhibitor into a
  gain at either site;
* every effect of diet, exercise and the gut stays within the 95% interval of its calibration rows at their
  durations (the trial programmes, for patients like the trials' ones);
* no effect grows beyond the longest trial without a stated mechanism: the gut's and exercise's effects at 5 years
  are at most what they are at the end of the longest trial, plus, for exercise at the hip, the secondary
  mineralisation of the bone laid down in the trial period (bone.py: new bone enters at the primary mineral
  fraction and fills in over years), bounded below by MINERALISATION_ALLOWANCE.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osteotwin import simulate_batch
from osteotwin.population.calibration import lifestyle as suite
from osteotwin.scenario import Scenario

AI = [{"drug": "anastrozole", "start_month": 0, "stop_month": 60}]
SITES = {"LS": "lumbar_spine_bmd_pct_change", "TH": "total_hip_bmd_pct_change"}
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Secondary mineralisation: the bone formed while the route acts keeps gaining mineral after it (bone.py); its
# whole course at most doubles the BMD of new bone from the primary mineral fraction [docs/model.md]; ours: the
# 5-year effect may exceed the longest-trial effect by at most this factor at the hip.
MINERALISATION_ALLOWANCE = 2.0

patients = st.fixed_dictionaries({
    "age_years": st.integers(50, 80),
    "years_since_menopause": st.integers(1, 25),
    "lumbar_spine_t_score": st.floats(-2.4, 0.5),
    "total_hip_t_score": st.floats(-2.4, 0.5),
}).filter(lambda p: p["age_years"] - p["years_since_menopause"] >= 40)

lifestyle_blocks = st.one_of(
    st.fixed_dictionaries({"diet": st.fixed_dictionaries({
        "calcium_mg_per_day": st.floats(0, 3000), "vitamin_d_iu_per_day": st.floats(0, 4000),
        "protein_g_per_kg_per_day": st.floats(0.5, 2.5), "fiber_g_per_day": st.floats(0, 60)})}),
    st.fixed_dictionaries({"supplements": st.fixed_dictionaries({
        "calcium_mg_per_day": st.floats(0, 1500), "vitamin_d_iu_per_day": st.floats(0, 4000),
        "vitamin_k2_ug_per_day": st.floats(0, 500)})}),
    st.fixed_dictionaries({"exercise": st.fixed_dictionaries({
        "walking_minutes_per_week": st.floats(0, 900), "impact_sessions_per_week": st.floats(0, 7),
        "resistance_sessions_per_week": st.floats(0, 5),
        "resistance_intensity": st.sampled_from(["low", "moderate", "high"]),
        "balance_sessions_per_week": st.floats(0, 7)})}),
    st.fixed_dictionaries({"gut": st.fixed_dictionaries({"probiotic": st.booleans(), "fiber_g_per_day": st.floats(0, 60)})}),
)


def _run(patient: dict, months: int, *blocks: dict) -> list:
    return simulate_batch([Scenario.model_validate({"patient": patient, "months": months, **b}) for b in blocks])


@SETTINGS
@given(patients, lifestyle_blocks)
def test_no_lifestyle_input_alone_turns_ai_loss_into_a_gain(patient, block):
    alone, with_block = _run(patient, 60, {"endocrine_therapy": AI}, {"endocrine_therapy": AI, **block})
    for field in SITES.values():
        if getattr(alone, field)[60] < 0:
            assert getattr(with_block, field)[60] < 0, (field, block)


def _within(row_id: str, value: float) -> bool:
    half = suite.Z_95 * suite.standard_error(row_id)
    return abs(value - suite.target_value(row_id)) <= half


TRIAL_EFFECTS = (
    # (row, the suite's emulated trial patient, blocks of the trial arm, control blocks, months, site)
    ("S4-101-S4-102", suite.EFOPS_PATIENT, {"exercise": suite.EFOPS_PROGRAMME}, {}, 14, "LS"),
    ("S4-103-S4-104", suite.EFOPS_PATIENT, {"exercise": suite.EFOPS_PROGRAMME}, {}, 14, "TH"),
    ("S4-045", suite.JANSSON_PATIENT, {"gut": {"probiotic": True}}, {}, 12, "LS"),
    ("S4-027", suite.TANG_PATIENT, {"supplements": suite.TANG_SUPPLEMENT}, {}, 42, "LS"),
    ("S4-026", suite.TANG_PATIENT, {"supplements": suite.TANG_SUPPLEMENT}, {}, 42, "TH"),
)
# The calibration miss of the same row (tests/physiology_lifestyle/test_lifestyle_calibration.py KNOWN_MISSES).
OUTSIDE = {"S4-103-S4-104": "EFOPS hip +0.5 (95% CI about -0.5 to 1.5) at 14 months: the model gives ~2.2 for the "
                            "EFOPS-like programme (it cannot give LIFTMOR's femoral-neck gain and EFOPS's small hip gain together)"}


@pytest.mark.parametrize("effect", [pytest.param(e, id=e[0], marks=pytest.mark.xfail(reason=OUTSIDE[e[0]], strict=True))
                                    if e[0] in OUTSIDE else pytest.param(e, id=e[0]) for e in TRIAL_EFFECTS])
@SETTINGS
@given(shift=st.fixed_dictionaries({"years": st.integers(-4, 4), "t_score": st.floats(-0.5, 0.5)}))
def test_effects_stay_within_the_95_percent_interval_of_their_rows(effect, shift):
    """Women like the trial's: its emulated patient (the suite's) up to 4 years older or younger (menopause at the same
    age) and 0.5 T-score units either way."""
    row_id, trial_patient, arm, control, months, site = effect
    patient = {**trial_patient, "age_years": trial_patient["age_years"] + shift["years"],
               "years_since_menopause": max(trial_patient["years_since_menopause"] + shift["years"], 1),
               "lumbar_spine_t_score": trial_patient["lumbar_spine_t_score"] + shift["t_score"],
               "total_hip_t_score": trial_patient["total_hip_t_score"] + shift["t_score"]}
    treated, untreated = _run(patient, months, arm, control)
    value = getattr(treated, SITES[site])[months] - getattr(untreated, SITES[site])[months]
    assert _within(row_id, value), (row_id, value, patient)


@SETTINGS
@given(patients, st.sampled_from([suite.EFOPS_PROGRAMME, suite.LIFTMOR_HIRIT, suite.TYPICAL_PROGRAMME]))
def test_effects_do_not_grow_beyond_the_longest_trial(patient, programme):
    """Exercise: the longest trial with rows at both sites is EFOPS (14 months); gut: Jansson (12 months)."""
    control, exercise, probiotic = _run(patient, 60, {}, {"exercise": programme}, {"gut": {"probiotic": True}})
    for site, field in SITES.items():
        effect = np.asarray(getattr(exercise, field)) - np.asarray(getattr(control, field))
        allowance = MINERALISATION_ALLOWANCE if site == "TH" else 1.0
        assert effect[60] <= allowance * max(effect[:15].max(), 0.0) + 0.05, (site, effect[14], effect[60])
        gut = np.asarray(getattr(probiotic, field)) - np.asarray(getattr(control, field))
        assert gut[60] <= max(gut[:13].max(), 0.0) + 0.05, (site, gut[12], gut[60])


@SETTINGS
@given(patients, st.sampled_from([suite.EFOPS_PROGRAMME, suite.LIFTMOR_HIRIT, suite.TYPICAL_PROGRAMME]),
       st.integers(6, 36), st.booleans())
def test_after_exercise_stops_its_advantage_never_grows_and_shrinks(patient, programme, stop_month, on_ai):
    """Detraining (issue 13): after ``exercise.stop_month`` the exercise arm's BMD advantage over the same woman without
    exercise never grows (month to month, within 0.02 points of solver noise) and is smaller a year and two years on, on
    an AI or not. The advantage is its positive part: the mirrored give-back may take the hip a few tenths below the
    untrained course before the mechanostat returns it (docs/calibration.md, known weaknesses), which is not a gain."""
    months = stop_month + 36
    course = {"endocrine_therapy": [{"drug": "anastrozole", "start_month": 0, "stop_month": months}]} if on_ai else {}
    control, stopped = _run(patient, months, course, {**course, "exercise": {**programme, "stop_month": stop_month}})
    for site, field in SITES.items():
        advantage = np.asarray(getattr(stopped, field))[stop_month:] - np.asarray(getattr(control, field))[stop_month:]
        gain = np.maximum(advantage, 0.0)
        assert np.all(np.diff(gain) <= 0.02), (site, advantage.round(2))
        if advantage[0] > 0.1:
            assert advantage[12] < advantage[0] and advantage[24] < advantage[0], (site, advantage.round(2))
