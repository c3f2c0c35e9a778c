"""make_plan and the CLI: the regimen goes into `simulate` unchanged; bad input exits 2."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from osteotwin.cli import main
from osteotwin.lifestyle import Plan, make_plan
from osteotwin.scenario import Diet, Exercise, Gut, Scenario, Supplements

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
DESIGN_PROFILE = {
    "patient": {"age_years": 62, "weight_kg": 60, "height_cm": 160, "total_hip_t_score": -1.4, "lumbar_spine_t_score": -2.6},
    "diet_pattern": "vegan", "energy_kcal_per_day": 1800, "dislikes": ["tofu"],
    "food_log": [{"date": "2026-03-01", "food_id": "09210", "grams": 248}],
    "conditions": {"vertebral_fracture": False, "bone_metastases": False, "lymphedema": False, "falls_last_12_months": 0},
    "medications": ["anastrozole", "warfarin"],
}


def test_design_profile_plan_json_regimen_is_accepted_by_simulate(capsys, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(DESIGN_PROFILE))
    assert main(["plan", str(path), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    regimen = output["regimen"]
    assert set(regimen) == {"diet", "supplements", "exercise", "gut"}
    Diet.model_validate(regimen["diet"])
    Supplements.model_validate(regimen["supplements"])
    Exercise.model_validate(regimen["exercise"])
    Gut.model_validate(regimen["gut"])
    scenario = Scenario.model_validate({**regimen, "patient": DESIGN_PROFILE["patient"], "months": 60})
    assert scenario.exercise.walking_minutes_per_week >= 150
    assert all(food["food_id"] and food["grams"] > 0 for food in output["suggested_foods"])
    assert all(target["source"] for target in output["targets"])
    assert any("warfarin" in warning for warning in output["warnings"])
    assert output["exercise"]["safety_notes"]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_example_profiles_plan_and_simulate_input(path):
    profile = json.loads(path.read_text(encoding="utf-8"))
    plan = make_plan(profile)
    assert isinstance(plan, Plan)
    dumped = plan.model_dump(mode="json")
    Scenario.model_validate({**dumped["regimen"], "patient": profile["patient"], "months": 60})
    if dumped["regimen_current"]:
        Scenario.model_validate({**dumped["regimen_current"], "patient": profile["patient"], "months": 60})
    total_calcium = dumped["regimen"]["diet"]["calcium_mg_per_day"] + dumped["regimen"]["supplements"]["calcium_mg_per_day"]
    target = {t["nutrient"]: t["amount"] for t in dumped["targets"]}["calcium_mg"]
    assert total_calcium >= target - 1e-6  # food plus supplement closes the calcium gap
    assert total_calcium <= 2000


def test_supplements_fill_what_food_cannot_and_respect_dose_limits():
    profile = {
        "patient": {"age_years": 70, "years_since_menopause": 20, "weight_kg": 60, "height_cm": 160},
        "diet_pattern": "vegan", "energy_kcal_per_day": 1180,
        "food_log": [{"date": "2026-03-01", "food_id": "20038", "grams": 300}],  # oats: 1,167 kcal, 162 mg Ca
        "conditions": {"kidney_stones": True},
        "medications": ["letrozole", "omeprazole"],
    }
    plan = make_plan(profile)
    items = {item.nutrient: item for item in plan.supplements}
    gaps = {gap.nutrient: gap for gap in plan.gaps}
    assert "calcium_mg" in items and "citrate" in items["calcium_mg"].product  # acid suppressant -> citrate
    assert items["calcium_mg"].amount_per_day / items["calcium_mg"].doses_per_day <= 500
    assert items["calcium_mg"].amount_per_day >= gaps["calcium_mg"].gap_after_foods
    assert any("kidney stones" in warning for warning in plan.warnings)
    assert plan.regimen.supplements.calcium_mg_per_day == items["calcium_mg"].amount_per_day


def test_carbonate_with_meals_without_acid_suppressant():
    profile = {
        "patient": {"age_years": 66, "weight_kg": 70, "height_cm": 165},
        "diet_pattern": "vegan", "energy_kcal_per_day": 1000,
        "food_log": [{"date": "2026-03-01", "food_id": "20038", "grams": 250}],  # 973 kcal
    }
    items = {item.nutrient: item for item in make_plan(profile).supplements}
    assert "carbonate" in items["calcium_mg"].product and "meal" in items["calcium_mg"].how_to_take


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"energy_kcal_per_day": 30000}, "energy_kcal_per_day"),
        ({"diet_pattern": "carnivore"}, "diet_pattern"),
        ({"food_log": [{"date": "2026-03-01", "food_id": "09210", "grams": -248}]}, "grams"),
        ({"food_log": [{"date": "2026-03-01", "food_id": "00000", "grams": 100}]}, "food_id"),
        ({"patient": {"age_years": 62, "weight_kg": -60, "height_cm": 160}}, "weight_kg"),
    ],
)
def test_cli_plan_refuses_bad_input_with_exit_2(tmp_path, capsys, change, needle):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({**DESIGN_PROFILE, **change}))
    assert main(["plan", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_make_plan_refuses_unknown_profile_field():
    with pytest.raises(ValidationError):
        make_plan({**DESIGN_PROFILE, "favourite_colour": "blue"})


def test_cli_foods_search_json(capsys):
    assert main(["foods", "search", "greek", "yogurt", "--json", "--limit", "3"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results[0]["food_id"] == "01256" and results[0]["name"].startswith("Yogurt, Greek")
    assert set(results[0]["per_100g"]) == {"calcium_mg", "vitamin_d_iu", "magnesium_mg", "vitamin_k_ug", "protein_g",
                                           "energy_kcal", "fiber_g"}
    assert results[0]["per_100g"]["calcium_mg"] == 110


def test_cli_human_output(capsys):
    assert main(["plan", str(EXAMPLES / "omnivore_osteopenia_liftmor.json")]) == 0
    out = capsys.readouterr().out
    assert "Targets" in out and "LIFTMOR" in out and "Suggested foods" in out

FOOD_IDS = ["01117", "09210", "11233", "20038", "12061", "01079", "15088", "16139", "11457", "01009", "09040"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    age=st.integers(45, 90),
    weight=st.integers(42, 110),
    lumbar=st.floats(-4, 1),
    hip=st.floats(-4, 1),
    pattern=st.sampled_from(["omnivore", "vegetarian", "vegan", "lactose_free", "mediterranean"]),
    budget=st.integers(1200, 2800),
    log=st.lists(st.tuples(st.sampled_from(FOOD_IDS), st.integers(0, 400), st.integers(1, 3)), max_size=6),
    flags=st.fixed_dictionaries({
        "vertebral_fracture": st.booleans(), "bone_metastases": st.booleans(), "lymphedema": st.booleans(),
        "falls_last_12_months": st.integers(0, 3), "kidney_stones": st.booleans(),
    }),
    meds=st.lists(st.sampled_from(["anastrozole", "letrozole", "warfarin", "omeprazole"]), unique=True),
)
def test_random_profiles_give_a_safe_plan_that_simulate_accepts(age, weight, lumbar, hip, pattern, budget, log, flags, meds):
    patient = {"age_years": age, "weight_kg": weight, "height_cm": 162,
               "lumbar_spine_t_score": lumbar, "total_hip_t_score": hip}
    profile = {
        "patient": patient, "diet_pattern": pattern, "energy_kcal_per_day": budget, "conditions": flags,
        "medications": meds,
        "food_log": [{"date": f"2026-03-0{day}", "food_id": food, "grams": grams} for food, grams, day in log],
    }
    plan = make_plan(profile)
    dumped = plan.model_dump(mode="json")
    Scenario.model_validate({**dumped["regimen"], "patient": patient, "months": 60})
    by_key = {t.nutrient: t for t in plan.targets}
    for gap in plan.gaps:
        assert gap.met_by_food or gap.reason
    for item in plan.supplements:
        assert item.amount_per_day > 0
        if item.nutrient == "calcium_mg":
            assert item.amount_per_day / item.doses_per_day <= 500
    food_calcium = plan.regimen.diet.calcium_mg_per_day
    if food_calcium <= 2000:
        assert food_calcium + plan.regimen.supplements.calcium_mg_per_day <= by_key["calcium_mg"].upper_limit
    assert plan.regimen.supplements.vitamin_d_iu_per_day + plan.regimen.diet.vitamin_d_iu_per_day <= 4000 or (
        plan.regimen.supplements.vitamin_d_iu_per_day == 0)
    prescription = plan.exercise
    if flags["vertebral_fracture"] or flags["bone_metastases"]:
        assert not prescription.qualifies_for_high_intensity
        assert plan.regimen.exercise.impact_sessions_per_week == 0
    if flags["vertebral_fracture"] or min(lumbar, hip) <= -2.5:
        assert any("lifting from the floor" in r.action for r in prescription.restrictions)
        assert prescription.option is None and plan.regimen.exercise.impact_sessions_per_week == 0
    ids = {e.exercise_id for session in prescription.sessions for e in session.exercises}
    assert all(prescription.limits.allows(i)[0] for i in ids)
    if flags["lymphedema"]:
        assert any("PAL trial" in r.source for r in prescription.restrictions)
    if flags["falls_last_12_months"]:
        assert plan.regimen.exercise.balance_sessions_per_week >= 3
    assert all(r.source for r in prescription.restrictions)
    if "warfarin" in meds:
        assert all(food.food_id != "16113" for food in plan.suggested_foods)



def test_log_already_over_the_energy_budget_adds_no_food_and_says_why():
    profile = {
        "patient": {"age_years": 60, "weight_kg": 65, "height_cm": 165},
        "diet_pattern": "omnivore", "energy_kcal_per_day": 1200,
        "food_log": [{"date": "2026-03-01", "food_id": "12061", "grams": 250}],  # almonds: 1,448 kcal
    }
    plan = make_plan(profile)
    assert plan.suggested_foods == []
    assert plan.energy_kcal_after_foods == pytest.approx(plan.intake.average["energy_kcal"], abs=1)
    assert any("exceeds the budget" in warning for warning in plan.warnings)
    calcium = {gap.nutrient: gap for gap in plan.gaps}["calcium_mg"]
    assert not calcium.met_by_food and "cannot be met from food" in calcium.reason
    assert plan.regimen.supplements.calcium_mg_per_day >= calcium.gap_after_foods


@pytest.mark.parametrize(("level", "needle", "source"), [
    (8, "deficient", "IOM 2011"), (15, "inadequate", "IOM 2011"), (25, "below the 30", "BHOF 2022"),
    (30, None, None), (70, "above 50", "IOM 2011")])
def test_serum_vitamin_d_is_read_against_the_shared_cut_offs(level, needle, source):
    profile = {"patient": {"age_years": 66, "weight_kg": 70, "height_cm": 165}, "diet_pattern": "vegan",
               "energy_kcal_per_day": 1000, "food_log": [{"date": "2026-03-01", "food_id": "20038", "grams": 250}],
               "vitamin_d_25_oh_ng_ml": level}
    plan = make_plan(profile)
    matching = [w for w in plan.warnings if "25(OH)D" in w]
    if level > 50:
        assert plan.regimen.supplements.vitamin_d_iu_per_day == 0  # above 50 ng/mL: no supplement
    else:
        assert plan.regimen.supplements.vitamin_d_iu_per_day >= 800
    if needle is None:
        assert matching == []
    else:
        assert len(matching) == 1 and needle in matching[0] and source in matching[0]


def test_low_serum_vitamin_d_gets_a_supplement_even_when_food_meets_the_target():
    """25(OH)D 18 ng/mL: the assessment says supplement (IOM 2011 / BHOF 2022); so does the plan."""
    salmon = [{"date": "2026-03-01", "food_id": "15086", "grams": 200}]  # sockeye salmon, cooked: > 800 IU
    base = {"patient": {"age_years": 64, "weight_kg": 65, "height_cm": 163}, "food_log": salmon,
            "medications": ["anastrozole"]}
    without_lab = make_plan(base)
    assert without_lab.regimen.diet.vitamin_d_iu_per_day >= 800
    assert without_lab.regimen.supplements.vitamin_d_iu_per_day == 0
    low = make_plan({**base, "vitamin_d_25_oh_ng_ml": 18})
    assert low.vitamin_d_status == "inadequate"
    assert low.regimen.supplements.vitamin_d_iu_per_day == 800
    item = next(s for s in low.supplements if s.nutrient == "vitamin_d_iu")
    assert "18 ng/mL" in item.reason and item.unit == "IU/day"


def test_plan_reports_absorbable_calcium_from_log_and_suggestions():
    from osteotwin.lifestyle.absorption import calcium_absorption

    profile = json.loads((EXAMPLES / "omnivore_osteopenia_liftmor.json").read_text(encoding="utf-8"))
    plan = make_plan(profile)
    expected = plan.intake.average_absorbable_calcium_mg + sum(
        food.adds["calcium_mg"] * calcium_absorption(food.name)[0] for food in plan.suggested_foods)
    assert plan.absorbable_calcium_mg_after_foods == pytest.approx(expected, abs=0.06)
    assert 0 < plan.absorbable_calcium_mg_after_foods < plan.regimen.diet.calcium_mg_per_day
