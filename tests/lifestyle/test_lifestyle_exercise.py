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


def test_healthy_low_bone_mass_qualifies_for_liftmor():
    plan = prescribe(ScreeningInput(min_t_score=-1.8))
    assert plan.qualifies_for_high_intensity
    assert {"deadlift", "back_squat", "overhead_press"} <= _all_exercise_ids(plan)
    assert plan.weekly_dose.resistance_intensity == "high"
    assert any(s.supervised for s in plan.sessions if "LIFTMOR" in s.name)
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
    assert any("flexion" in r.action and "X3b" in r.source for r in plan.restrictions)
    assert "Sit-up / crunch" in plan.avoid


def test_t_score_at_or_below_minus_2_5():
    plan = prescribe(ScreeningInput(min_t_score=-2.5))
    assert any("flexion" in r.action for r in plan.restrictions)
    assert any("supervised" in r.action and "X2" in r.source for r in plan.restrictions)
    assert all(s.supervised for s in plan.sessions if "resistance" in s.name)
    assert "jumps" not in _all_exercise_ids(plan)


def test_bone_metastases():
    plan = prescribe(ScreeningInput(min_t_score=-1.8, bone_metastases=True, bone_metastases_sites=["T10"]))
    assert not plan.qualifies_for_high_intensity
    assert plan.weekly_dose.impact_sessions_per_week == 0
    restriction = [r for r in plan.restrictions if "metastases" in r.condition][0]
    assert "refer" in restriction.action and "X8" in restriction.source and "T10" in restriction.condition
    assert any("unsupervised loading" in a for a in plan.avoid)


def test_lymphoedema_slow_upper_body_progression():
    plan = prescribe(ScreeningInput(min_t_score=-1.8, lymphedema=True))
    assert not plan.qualifies_for_high_intensity
    assert any("X7" in r.source and "smallest increment" in r.action for r in plan.restrictions)
    upper = [e for s in plan.sessions for e in s.exercises if e.exercise_id in {"seated_row", "wall_push_up"}]
    assert upper and all("PAL" in e.intensity for e in upper)
    assert "PAL" in plan.progression_rule


def test_falls_get_daily_balance_and_low_impact_only():
    plan = prescribe(ScreeningInput(min_t_score=-0.5, falls_last_12_months=2))
    assert plan.weekly_dose.balance_sessions_per_week == 7
    assert "heel_drops" in _all_exercise_ids(plan) and "jumps" not in _all_exercise_ids(plan)
    assert any("X4" in r.source for r in plan.restrictions)


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
