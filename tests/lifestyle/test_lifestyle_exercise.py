"""Safety screening changes the plan for each precaution, and every restriction names its source."""

import datetime as dt

import pytest
from pydantic import ValidationError

from osteotwin.errors import InputError
from osteotwin.lifestyle import next_week
from osteotwin.lifestyle.exercise import EXERCISE_LIBRARY, LIBRARY, ScreeningInput, prescribe


def _all_exercise_ids(prescription):
    return {e.exercise_id for s in prescription.sessions for e in s.exercises}


def test_library_lists_sites_and_loading_class():
    assert len(EXERCISE_LIBRARY) >= 15
    assert LIBRARY["deadlift"].sites == ["hip", "lumbar_spine"] and LIBRARY["deadlift"].loading_class == "high"
    assert LIBRARY["brisk_walking"].loading_class == "low"
    assert LIBRARY["sit_up"].loaded_spinal_flexion
    assert all(e.loading_basis for e in EXERCISE_LIBRARY)


def test_low_bone_mass_is_offered_liftmor_as_a_supervised_option_not_the_default():
    plan = prescribe(ScreeningInput(min_t_score=-1.8))
    assert plan.qualifies_for_high_intensity and plan.limits.high_intensity_option
    assert not {"deadlift", "back_squat", "overhead_press"} & _all_exercise_ids(plan)
    assert plan.weekly_dose.resistance_intensity == "moderate" and plan.weekly_dose.impact_sessions_per_week == 4
    assert plan.option is not None and plan.option.supervised and "LIFTMOR" in plan.option.name
    assert {e.exercise_id for e in plan.option.exercises} >= {"deadlift", "back_squat", "overhead_press"}
    assert plan.option_weekly_dose.resistance_intensity == "high"
    assert plan.weekly_dose.walking_minutes_per_week >= 150
    assert plan.restrictions == []


def test_normal_bone_gets_moderate_to_high_resistance_and_impact():
    plan = prescribe(ScreeningInput(min_t_score=0.2))
    assert not plan.qualifies_for_high_intensity  # LIFTMOR enrolled T < -1.0
    assert "jumps" in _all_exercise_ids(plan)
    assert plan.weekly_dose.resistance_sessions_per_week >= 2 and plan.weekly_dose.impact_sessions_per_week == 4


def test_vertebral_fracture():
    plan = prescribe(ScreeningInput(min_t_score=-1.5, vertebral_fracture=True))
    ids = _all_exercise_ids(plan)
    assert not plan.qualifies_for_high_intensity
    assert not ids & {"deadlift", "back_squat", "jumps", "jumping_chin_up_drop_landing", "sit_up"}
    assert plan.weekly_dose.impact_sessions_per_week == 0
    assert plan.weekly_dose.resistance_intensity == "moderate"
    assert any(s.supervised for s in plan.sessions if s.name == "progressive resistance")
    assert any("bending" in r.action and "Too Fit To Fracture 2015" in r.source for r in plan.restrictions)
    assert "Sit-up / crunch" in plan.avoid


def test_t_score_at_or_below_minus_2_5_moderate_resistance_no_impact_no_floor_lifts():
    plan = prescribe(ScreeningInput(min_t_score=-2.5))
    assert any("lifting from the floor" in r.action for r in plan.restrictions)
    assert all(s.supervised for s in plan.sessions if "resistance" in s.name)
    ids = _all_exercise_ids(plan)
    assert not ids & {"deadlift", "back_squat", "overhead_press", "jumps", "jumping_chin_up_drop_landing", "heel_drops"}
    assert plan.option is None and not plan.qualifies_for_high_intensity
    assert plan.weekly_dose.impact_sessions_per_week == 0 and plan.weekly_dose.resistance_intensity == "moderate"
    assert all(plan.limits.allows(i)[0] for i in ids)


def test_bone_metastases():
    plan = prescribe(ScreeningInput(min_t_score=-1.8, bone_metastases=True, bone_metastases_sites=["T10"]))
    assert not plan.qualifies_for_high_intensity
    assert plan.weekly_dose.impact_sessions_per_week == 0
    restriction = [r for r in plan.restrictions if "metastases" in r.condition][0]
    assert "oncology team" in restriction.action and "IBMEWG" in restriction.source and "T10" in restriction.condition
    assert any("unsupervised loading" in a for a in plan.avoid)
    assert plan.option is None


def test_lymphoedema_slow_upper_body_progression():
    plan = prescribe(ScreeningInput(min_t_score=-1.8, lymphedema=True))
    assert not plan.qualifies_for_high_intensity
    assert any("PAL trial" in r.source and "smallest step" in r.action for r in plan.restrictions)
    upper = [e for s in plan.sessions for e in s.exercises if e.exercise_id in {"seated_row", "wall_push_up"}]
    assert upper and all("PAL" in e.intensity for e in upper)
    assert "PAL" in plan.progression_rule


def test_falls_get_daily_balance_and_low_impact_only():
    plan = prescribe(ScreeningInput(min_t_score=-0.5, falls_last_12_months=2))
    assert plan.weekly_dose.balance_sessions_per_week == 7
    assert "heel_drops" in _all_exercise_ids(plan) and "jumps" not in _all_exercise_ids(plan)
    assert any("WHO 2020" in r.source for r in plan.restrictions)


def test_progression_too_fit_to_fracture_window():
    log = [
        {"date": "2026-03-02", "exercise": "goblet_squat", "sets": 2, "reps": 12, "load_kg": 10},
        {"date": "2026-03-02", "exercise": "seated_row", "sets": 2, "reps": 7, "load_kg": 20},
        {"date": "2026-03-04", "exercise": "lunge", "sets": 2, "reps": 10, "load_kg": 8},
        {"date": "2026-03-04", "exercise": "brisk_walking", "minutes": 40},
        {"date": "2026-03-05", "exercise": "brisk_walking", "minutes": 35},
        {"date": "2026-03-05", "exercise": "heel_drops", "sets": 1, "reps": 50},
        {"date": "2026-03-06", "exercise": "static_balance", "minutes": 10},
    ]
    result = next_week(log)
    loads = {load.exercise: load for load in result.loads}
    assert loads["goblet_squat"].next_load_kg == pytest.approx(12.5)
    assert loads["seated_row"].next_load_kg == pytest.approx(18.0)
    assert loads["lunge"].next_load_kg == pytest.approx(8.0)
    assert result.week_start == dt.date(2026, 3, 2)
    dose = result.weekly_dose
    assert dose.walking_minutes_per_week == 75 and dose.resistance_sessions_per_week == 2
    assert dose.impact_sessions_per_week == 1 and dose.balance_sessions_per_week == 1
    assert dose.resistance_intensity == "moderate"


def test_progression_liftmor_and_pal():
    liftmor = next_week([{"date": "2026-03-02", "exercise": "deadlift", "sets": 5, "reps": 5, "load_kg": 40}],
                        high_intensity=True)
    assert liftmor.loads[0].next_load_kg == pytest.approx(42.5)
    assert liftmor.weekly_dose.resistance_intensity == "high"
    first = {"date": "2026-03-02", "exercise": "seated_row", "sets": 2, "reps": 12, "load_kg": 5}
    hold = next_week([first], arm_caution=True)
    assert hold.loads[0].next_load_kg == pytest.approx(5.0) and "hold" in hold.loads[0].rule
    ok = next_week([first, {**first, "date": "2026-03-09"}], arm_caution=True)
    assert ok.loads[0].next_load_kg == pytest.approx(5.5) and "PAL" in ok.loads[0].source
    without_caution = next_week([first])
    assert without_caution.loads[0].next_load_kg == pytest.approx(6.0)  # TTF: +1 kg upper body
    symptoms = next_week([{"date": "2026-03-02", "exercise": "seated_row", "sets": 2, "reps": 12, "load_kg": 5,
                           "arm_symptoms": True}], arm_caution=True)
    assert symptoms.loads[0].next_load_kg < 5


def test_progression_refuses_bad_log():
    with pytest.raises(InputError):
        next_week([{"date": "2026-03-02", "exercise": "zumba_on_ice", "sets": 1, "reps": 1}])
    with pytest.raises(ValidationError):
        next_week([{"date": "2026-03-02", "exercise": "deadlift", "sets": 5, "reps": 5, "load_kg": -10}])
    with pytest.raises(InputError):
        next_week([])


def test_cli_exercise_next_week_and_library(tmp_path, capsys):
    import json

    from osteotwin.cli import main

    path = tmp_path / "log.csv"
    path.write_text("date,exercise,sets,reps,load_kg,minutes,arm_symptoms\n"
                    "2026-03-02,goblet_squat,2,12,10,,\n2026-03-02,seated_row,2,12,5,,yes\n2026-03-03,brisk_walking,,,,50,\n")
    assert main(["exercise", "next-week", str(path), "--arm-caution", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    loads = {load["exercise"]: load["next_load_kg"] for load in out["loads"]}
    assert loads == {"goblet_squat": 12.5, "seated_row": 4.5}
    assert out["weekly_dose"]["walking_minutes_per_week"] == 50
    assert main(["exercise", "library", "--json"]) == 0
    assert any(item["id"] == "deadlift" for item in json.loads(capsys.readouterr().out))
    path.write_text("date,exercise,sets,reps,load_kg\n2026-03-02,goblet_squat,2,12,-10\n")
    assert main(["exercise", "next-week", str(path)]) == 2
    assert "load_kg" in capsys.readouterr().err


def test_progression_stops_what_the_safety_rules_exclude_and_names_the_alternative():
    from osteotwin.lifestyle.exercise import exercise_limits

    log = [{"date": "2026-03-02", "exercise": "deadlift", "sets": 5, "reps": 5, "load_kg": 40},
           {"date": "2026-03-02", "exercise": "goblet_squat", "sets": 2, "reps": 12, "load_kg": 10}]
    osteoporosis = exercise_limits(ScreeningInput(min_t_score=-2.6))
    loads = {load.exercise: load for load in next_week(log, limits=osteoporosis).loads}
    assert loads["deadlift"].next_load_kg is None
    assert loads["deadlift"].rule.startswith("stop:") and "Hip hinge with dumbbells" in loads["deadlift"].rule
    assert loads["goblet_squat"].next_load_kg == pytest.approx(12.5)
    with pytest.raises(InputError) as error:
        next_week(log, high_intensity=True, limits=osteoporosis)
    assert error.value.field == "high_intensity" and "-2.6" in error.value.allowed
    # Low bone mass without restrictions: the supervised option is offered, so the 5 x 5 lift progresses (LIFTMOR)
    osteopenia = exercise_limits(ScreeningInput(min_t_score=-1.8))
    loads = {load.exercise: load for load in next_week(log, limits=osteopenia).loads}
    assert loads["deadlift"].next_load_kg == pytest.approx(42.5) and "LIFTMOR" in loads["deadlift"].source
    assert loads["goblet_squat"].reps == "8-12"


def test_one_rule_set_for_prescription_progression_and_the_compare_programme():
    from osteotwin.lifestyle.exercise import LIBRARY, exercise_limits, guideline_programme

    for t in (-3.4, -2.6, -2.5):
        dose = guideline_programme(lumbar_spine_t_score=t, total_hip_t_score=-1.0)
        assert dose.impact_sessions_per_week == 0 and dose.resistance_intensity == "moderate"
        limits = exercise_limits(ScreeningInput(min_t_score=t))
        refused = {i for i in LIBRARY if not limits.allows(i, supervised_option=True)[0]}
        assert {"deadlift", "back_squat", "overhead_press", "jumps", "jumping_chin_up_drop_landing", "sit_up"} <= refused
    assert guideline_programme(-1.8, -1.2).impact_sessions_per_week == 4
    assert guideline_programme(-1.8, -1.2, vertebral_fracture=True).impact_sessions_per_week == 0
    assert guideline_programme(-0.5, 0.1, bone_metastases=True).impact_sessions_per_week == 0
    assert guideline_programme(-1.0, -1.2, femoral_neck_t_score=-2.7).impact_sessions_per_week == 0
    for t in (-2.6, -1.8, 0.5):
        assert guideline_programme(t, 0.0) == prescribe(ScreeningInput(min_t_score=t)).weekly_dose


def test_cli_next_week_applies_the_same_safety_rules(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "log.csv"
    log.write_text("date,exercise,sets,reps,load_kg\n2026-03-02,deadlift,5,5,40\n2026-03-02,goblet_squat,2,12,10\n",
                   encoding="utf-8")
    command = [sys.executable, "-m", "osteotwin.cli", "exercise", "next-week", str(log)]
    plain = subprocess.run(command, capture_output=True, text=True)
    assert plain.returncode == 0 and "stop" not in plain.stdout
    safe = subprocess.run([*command, "--lowest-t-score", "-2.6"], capture_output=True, text=True)
    assert safe.returncode == 0
    deadlift = next(line for line in safe.stdout.splitlines() if line.strip().startswith("deadlift"))
    assert "stop" in deadlift and "Hip hinge with dumbbells" in deadlift
    refused = subprocess.run([*command, "--lowest-t-score", "-2.6", "--high-intensity"], capture_output=True, text=True)
    assert refused.returncode == 2 and "LIFTMOR option is not offered" in refused.stderr and not refused.stdout
