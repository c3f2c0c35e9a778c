"""``osteotwin sensitivity``: Sobol indices over prior ranges (population/sensitivity.py), on the trial back-ends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from osteotwin import simulate
from osteotwin.cli import main
from osteotwin.population.sensitivity import SensitivitySpec, evaluate_chunk, parameter_sets, run_sensitivity

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = {"patient": {"age_years": 64, "years_since_menopause": 13, "lumbar_spine_t_score": -1.2, "total_hip_t_score": -0.9},
            "months": 36, "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0}]}
SMALL = {"name": "small", "scenario": SCENARIO, "samples": 32, "seed": 3, "chunk_size": 50,
         "parameters": ["lumbar_spine_turnover_scale", "total_hip_turnover_scale", "anastrozole_residual_fraction"],
         "outputs": [{"id": "spine", "series": "lumbar_spine_bmd_pct_change", "month": 36},
                     {"id": "hip", "series": "total_hip_bmd_pct_change", "month": 36},
                     {"id": "hip_t", "series": "total_hip_t_score", "month": 36}]}


def _write(tmp_path, spec: dict) -> str:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return str(path)


def test_each_site_turnover_drives_its_own_site_only():
    """The spine's turnover scale cannot move the hip and the reverse (each is read by its own site's
    compartment only), while each explains a real share of its own site's AI loss."""
    result = run_sensitivity(SensitivitySpec.model_validate(SMALL))
    assert result["runs"] == 32 * 5
    ix = result["indices"]
    assert ix["hip"]["lumbar_spine_turnover_scale"]["ST"] < 0.01
    assert ix["spine"]["total_hip_turnover_scale"]["ST"] < 0.01
    assert ix["spine"]["lumbar_spine_turnover_scale"]["ST"] > 0.05
    assert ix["hip"]["total_hip_turnover_scale"]["ST"] > 0.05
    for output in ix.values():  # S1 <= ST up to the estimators' noise; intervals bracket the estimate
        for index in output.values():
            assert index["S1"] <= index["ST"] + 0.15
            assert index["ST_ci95"][0] <= index["ST"] <= index["ST_ci95"][1]
    assert result["outputs"]["hip"]["sd"] > 0


def test_each_run_is_the_scenario_with_those_parameters():
    """A chunk's outputs equal simulate() of the scenario with the set's overrides (batch equals single),
    T-scores included."""
    spec = SensitivitySpec.model_validate(SMALL)
    sets = parameter_sets(spec)[:3]
    values = evaluate_chunk(spec.model_dump(mode="json"), sets)
    for row, overrides in zip(values, sets, strict=True):
        alone = simulate({**SCENARIO, "parameters": dict(zip(spec.parameters, map(float, overrides), strict=True))})
        assert row == pytest.approx([alone.lumbar_spine_bmd_pct_change[36], alone.total_hip_bmd_pct_change[36],
                                     alone.total_hip_t_score[36]], abs=1e-4)
    assert np.all((sets >= [0.2, 0.05, 0.05]) & (sets <= [1.0, 1.0, 0.2]))  # inside the prior ranges


def test_same_result_in_process_and_on_a_pool():
    spec = SensitivitySpec.model_validate(SMALL | {"samples": 8})
    one, two = run_sensitivity(spec), run_sensitivity(spec, workers=2)
    assert one["indices"] == two["indices"] and two["run"]["backend"].startswith("process pool")


def test_cli_json_and_report(tmp_path, capsys):
    assert main(["sensitivity", _write(tmp_path, SMALL | {"samples": 8}), "--json", "--report", str(tmp_path / "rep")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["indices"]) == {"spine", "hip", "hip_t"}
    assert set(result["indices"]["spine"]["anastrozole_residual_fraction"]) == {"S1", "S1_ci95", "ST", "ST_ci95"}
    assert result["parameters"]["total_hip_turnover_scale"]["prior_range"] == [0.05, 1.0]
    assert (tmp_path / "rep" / "sensitivity.png").stat().st_size > 1000
    assert "total_hip_turnover_scale" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")


def test_shipped_example_is_valid():
    spec = json.loads((ROOT / "examples/sensitivity/anastrozole_5y.json").read_text(encoding="utf-8"))
    assert SensitivitySpec.model_validate(spec).runs() == 128 * 7


@pytest.mark.parametrize(("change", "field"), [
    ({"parameters": ["no_such_parameter"]}, "parameters.0"),
    ({"parameters": ["lumbar_spine_turnover_scale", "lumbar_spine_turnover_scale"]}, "parameters.1"),
    ({"samples": 100}, "samples"),
    ({"outputs": [{"id": "x", "series": "lumbar_spine_bmd_pct_change", "month": 48}]}, "outputs.0.month"),
    ({"outputs": [{"id": "x", "series": "wrist_bmd", "month": 12}]}, "series"),
])
def test_bad_spec_exits_2_naming_the_field(tmp_path, capsys, change, field):
    assert main(["sensitivity", _write(tmp_path, SMALL | change)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and field in err
