"""The shared vocabulary: contract JSON parses, impossible input is refused with the field named."""

import json

import pytest
from pydantic import ValidationError

from osteotwin.cli import main
from osteotwin.scenario import Scenario, format_validation_error, scenario_warnings

DESIGN_EXAMPLE = {
    "patient": {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162,
                "lumbar_spine_t_score": -1.2, "total_hip_t_score": -0.8},
    "months": 60,
    "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0, "stop_month": 60, "adherence": 1.0}],
    "bone_agents": [{"drug": "zoledronic_acid", "dose_mg": 4, "every_months": 6, "start_month": 0, "stop_month": 36}],
    "diet": {"calcium_mg_per_day": 900, "vitamin_d_iu_per_day": 400, "protein_g_per_kg_per_day": 1.0},
    "supplements": {"calcium_mg_per_day": 500, "vitamin_d_iu_per_day": 800},
    "exercise": {"walking_minutes_per_week": 150, "impact_sessions_per_week": 0,
                 "resistance_sessions_per_week": 2, "resistance_intensity": "moderate",
                 "balance_sessions_per_week": 2},
    "gut": {"probiotic": False, "fiber_g_per_day": 20},
}


def test_design_example_parses():
    scenario = Scenario.model_validate(DESIGN_EXAMPLE)
    assert scenario.patient.age_years == 64
    assert scenario.bone_agents[0].every_months == 6
    assert scenario.regimen.diet.calcium_mg_per_day == 900


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"patient": {"age_years": 250}}, "patient.age_years"),
        ({"endocrine_therapy": [{"drug": "aspirin"}]}, "endocrine_therapy.0.drug"),
        ({"endocrine_therapy": [{"drug": "letrozole", "start_month": 20, "stop_month": 10}]}, "stop_month"),
        ({"bone_agents": [{"drug": "denosumab", "dose_mg": -60, "every_months": 6}]}, "bone_agents.0.dose_mg"),
    ],
)
def test_impossible_input_names_the_field(patch, field):
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate({**DESIGN_EXAMPLE, **patch})
    assert field in format_validation_error(caught.value)


def test_unusual_input_warns():
    scenario = Scenario.model_validate({**DESIGN_EXAMPLE, "supplements": {"calcium_mg_per_day": 1500}})
    assert any("2,000 mg" in warning for warning in scenario_warnings(scenario))


def test_schema_command_prints_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "patient" in schema["properties"]
