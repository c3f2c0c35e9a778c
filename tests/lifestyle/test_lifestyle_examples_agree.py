"""The shipped profiles and patient records: the plan and its prescription agree with the assessment and
with the one set of exercise safety rules (``exercise_limits``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from osteotwin.clinic import PatientRecord, assess
from osteotwin.lifestyle import make_plan
from osteotwin.lifestyle.exercise import OSTEOPOROSIS_T_SCORE, guideline_programme
from osteotwin.lifestyle.names import MEDICATIONS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROFILES = sorted((EXAMPLES / "profiles").glob("*.json"))
RECORDS = [p for p in sorted((EXAMPLES / "patients").glob("*.json")) if not p.name.startswith("fhir_")]
EXCLUDED_AT_LOW_BMD = {"deadlift", "back_squat", "overhead_press", "jumps", "jumping_chin_up_drop_landing",
                       "heel_drops", "sit_up", "jogging"}
VITAMIN_D_RULES = {"bhof2022_vitamin_d_target_30", "correct_vitamin_d_before_antiresorptive"}


def _check_safety(plan, lowest_t: float | None, vertebral: bool, metastases: bool) -> None:
    exercise = plan.exercise
    prescribed = {e.exercise_id for s in exercise.sessions for e in s.exercises}
    assert all(exercise.limits.allows(i)[0] for i in prescribed), prescribed
    if exercise.option is not None:
        assert all(exercise.limits.allows(e.exercise_id, supervised_option=True)[0] for e in exercise.option.exercises)
        assert exercise.option.supervised and lowest_t is not None and OSTEOPOROSIS_T_SCORE < lowest_t < -1.0
    restricted = vertebral or metastases or (lowest_t is not None and lowest_t <= OSTEOPOROSIS_T_SCORE)
    if restricted:
        assert not prescribed & EXCLUDED_AT_LOW_BMD and exercise.option is None
        assert plan.regimen.exercise.impact_sessions_per_week == 0
        assert plan.regimen.exercise.resistance_intensity == "moderate"
    for load in plan.exercise_progression.loads if plan.exercise_progression else []:
        if not exercise.limits.allows(load.exercise, supervised_option=True)[0]:
            assert load.next_load_kg is None and load.rule.startswith("stop:")


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profiles_follow_the_safety_rules(path):
    profile = json.loads(path.read_text(encoding="utf-8"))
    plan = make_plan(profile)
    patient, conditions = profile["patient"], profile.get("conditions", {})
    lowest = min(patient["lumbar_spine_t_score"], patient["total_hip_t_score"])
    vertebral, metastases = conditions.get("vertebral_fracture", False), conditions.get("bone_metastases", False)
    _check_safety(plan, lowest, vertebral, metastases)
    programme = guideline_programme(patient["lumbar_spine_t_score"], patient["total_hip_t_score"],
                                    vertebral_fracture=vertebral, bone_metastases=metastases)
    assert plan.regimen.exercise.impact_sessions_per_week == programme.impact_sessions_per_week
    assert plan.regimen.exercise.resistance_intensity == programme.resistance_intensity


def test_the_t_minus_2_6_profile_of_the_issue_gets_no_deadlifts_and_no_jumps():
    plan = make_plan(json.loads((EXAMPLES / "profiles" / "vegan_low_spine.json").read_text(encoding="utf-8")))
    prescribed = {e.exercise_id for s in plan.exercise.sessions for e in s.exercises}
    assert "deadlift" not in prescribed and "jumping_chin_up_drop_landing" not in prescribed
    assert any("lifting from the floor" in a for a in plan.exercise.avoid)


def _profile_from_record(record: PatientRecord) -> tuple[dict, float | None, bool, bool]:
    latest: dict[str, tuple[dt.date, float]] = {}
    for scan in record.dxa:
        if scan.t_score is not None and (scan.site not in latest or scan.date >= latest[scan.site][0]):
            latest[scan.site] = (scan.date, scan.t_score)
    t = {site: value for site, (_, value) in latest.items()}
    vitamin_d = [lab for lab in record.labs if lab.test == "vitamin_d_25_oh"]
    vertebral = "vertebra" in record.risk_factors.fragility_fracture_sites
    metastases = bool(record.cancer.bone_metastases)
    profile = {
        "patient": {"age_years": record.patient.age_years, "weight_kg": record.patient.weight_kg,
                    "height_cm": record.patient.height_cm,
                    **{f"{site}_t_score": t[site] for site in ("lumbar_spine", "total_hip") if site in t}},
        "conditions": {"vertebral_fracture": vertebral, "bone_metastases": metastases,
                       "falls_last_12_months": record.risk_factors.falls_last_12_months},
        "medications": sorted({m.drug for m in record.medications} & set(MEDICATIONS)),
    }
    if "femoral_neck" in t:
        profile["femoral_neck_t_score"] = t["femoral_neck"]
    if vitamin_d:
        profile["vitamin_d_25_oh_ng_ml"] = round(max(vitamin_d, key=lambda lab: lab.date).value_in_standard_unit(), 1)
    return profile, min(t.values()) if t else None, vertebral, metastases


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_shipped_patient_records_plan_agrees_with_their_assessment(path):
    record = PatientRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    today = dt.date(2026, 6, 1)
    assessment = assess(record, today=today, project=False)
    profile, lowest, vertebral, metastases = _profile_from_record(record)
    plan = make_plan(profile)
    vitamin_d = plan.regimen.supplements.vitamin_d_iu_per_day
    if set(assessment.fired_rules) & VITAMIN_D_RULES:
        assert vitamin_d >= 800, (path.stem, profile.get("vitamin_d_25_oh_ng_ml"))
        assert plan.vitamin_d_status in ("deficient", "inadequate", "below_target")
    elif profile.get("vitamin_d_25_oh_ng_ml") is not None:
        assert plan.vitamin_d_status in ("adequate", "high")
    _check_safety(plan, lowest, vertebral, metastases)
