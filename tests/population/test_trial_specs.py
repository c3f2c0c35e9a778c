"""The shipped trial specs (examples/trials/): each runs with --report, its report puts every published value beside
the model's estimate with its CI, and the README lists it; a spec's baseline table sets every covariate the issue names."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from osteotwin.cli import main
from osteotwin.population.calibration.lifestyle import LIFTMOR_CONTROL, LIFTMOR_HIRIT
from osteotwin.population.calibration.targets import target
from osteotwin.population.trial import TrialSpec
from osteotwin.population.virtual import (
    DEFAULT_COVARIATES,
    PopulationSpec,
    chunk_rng,
    sample_patients,
    scenario_dicts,
)

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "examples" / "trials").glob("*.json"))


def test_the_issue_s_trials_are_shipped_and_listed_in_the_readme():
    names = {json.loads(path.read_text(encoding="utf-8"))["name"] for path in SPECS}
    assert {"ATAC bone substudy", "ABCSG-18", "ZO-FAST", "FREEDOM with discontinuation", "LIFTMOR",
            "IBIS-II bone substudy"} <= names
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in SPECS:
        assert f"examples/trials/{path.name}" in readme, f"README does not list {path.name}"


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_runs_and_reports_published_values(tmp_path, capsys, path):
    spec = TrialSpec.model_validate_json(path.read_text(encoding="utf-8"))
    published = [e for e in spec.endpoints if e.published is not None]
    assert published, f"{path.name}: no endpoint carries a published value"
    assert main(["trial", str(path), "--patients", "12", "--json", "--report", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert (tmp_path / "bmd_fan.png").stat().st_size > 1000 and (tmp_path / "fracture_incidence.png").stat().st_size > 1000
    for endpoint in published:
        rows = [line for line in report.splitlines() if re.search(rf"\| {re.escape(endpoint.id)}[ |]", line)]
        assert rows, f"{path.name}: {endpoint.id} missing from the report"
        cells = rows[0].split("|")
        assert f"{endpoint.published.value:g}" in cells[5], f"{endpoint.id}: published value not beside the model's"
        assert re.search(r"\(.+ to .+\)", cells[3]), f"{endpoint.id}: the model's value has no 95% CI"
    assert set(result["arms"]) == {arm.name for arm in spec.arms}


def test_liftmor_spec_is_the_calibration_s_trial():
    """The LIFTMOR spec's arms are the lifestyle suite's programmes and its published values the targets CSV rows."""
    spec = json.loads((ROOT / "examples" / "trials" / "liftmor.json").read_text(encoding="utf-8"))
    arms = {arm["name"]: arm for arm in spec["arms"]}
    assert arms["hirit"]["exercise"] == LIFTMOR_HIRIT and arms["control"]["exercise"] == LIFTMOR_CONTROL
    for endpoint in spec["endpoints"]:
        if endpoint["kind"] != "bmd_pct_change":
            continue
        row = target(re.search(r"S4-0\d\d", endpoint["published"]["citation"]).group())
        expected = float(row.dispersion.split()[1]) if endpoint["statistic"] == "sd" else row.value
        assert endpoint["published"]["value"] == expected and endpoint["month"] == row.timepoint_months


def test_every_covariate_is_drawn_from_the_spec_and_applied():
    """Age, years since menopause, BMI, baseline T-scores per site, calcium/vitamin D intake and adherence: a spec's
    table sets each (sd 0 pins it), and the scenario of every virtual patient carries it."""
    table = {"age_years": 61.0, "years_since_menopause": 9.0, "bmi_kg_m2": 31.0, "height_cm": 160.0,
             "lumbar_spine_t_score": -1.7, "total_hip_t_score": -1.1, "calcium_mg_per_day": 650.0,
             "vitamin_d_iu_per_day": 300.0, "adherence": 0.8}
    assert set(table) == set(DEFAULT_COVARIATES)
    population = PopulationSpec.model_validate({name: {"mean": value, "sd": 0.0} for name, value in table.items()})
    covariates = sample_patients(population, chunk_rng(0, 0, 0), 3)
    scenarios = scenario_dicts({"months": 12, "endocrine_therapy": [{"drug": "letrozole"}]}, covariates, {})
    for scenario in scenarios:
        patient = scenario["patient"]
        assert patient["age_years"] == 61 and patient["years_since_menopause"] == 9
        assert patient["lumbar_spine_t_score"] == -1.7 and patient["total_hip_t_score"] == -1.1
        assert patient["weight_kg"] / (patient["height_cm"] / 100) ** 2 == pytest.approx(31.0, abs=1e-3)
        assert scenario["diet"]["calcium_mg_per_day"] == 650 and scenario["diet"]["vitamin_d_iu_per_day"] == 300
        assert scenario["endocrine_therapy"][0]["adherence"] == 0.8
    spread = sample_patients(PopulationSpec.model_validate({"adherence": {"mean": 0.8, "sd": 0.2, "min": 0, "max": 1}}),
                             chunk_rng(0, 0, 0), 500)["adherence"]
    assert spread.min() >= 0 and spread.max() <= 1 and np.std(spread) > 0.1
