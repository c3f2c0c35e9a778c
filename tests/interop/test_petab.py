"""PEtab export (osteotwin.interop.petab, ``osteotwin calibrate --petab DIR``): petab's linter accepts it, every
calibration row is either a measurement with fit.py's sigma or listed as left out with a reason, and
libRoadRunner running a condition of the problem gives the engine's value of its rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

libsbml = pytest.importorskip("libsbml")

from osteotwin.catalog import DAYS_PER_MONTH  # noqa: E402
from osteotwin.cli import main  # noqa: E402
from osteotwin.population.calibration import core, drugs  # noqa: E402
from osteotwin.population.calibration.targets import precision_weight  # noqa: E402


def _table(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("petab") / "problem"
    code = main(["calibrate", "--suite", "all", "--petab", str(folder), "--json"])
    assert code == 0
    return folder


@pytest.fixture(scope="module")
def results():
    return {r.row_id: r for r in core.evaluate() + drugs.evaluate()}


def test_petab_lints_with_no_errors(exported):
    petab = pytest.importorskip("petab.v1")
    problem = petab.Problem.from_yaml(str(exported / "problem.yaml"))
    assert petab.lint_problem(problem) is False  # lint_problem returns True when it found errors
    assert len(problem.measurement_df) == 37 and len(problem.condition_df) == 12


def test_every_row_is_measured_with_fit_sigma_or_left_out_with_a_reason(exported, results):
    measured = {row["datasetId"]: row for row in _table(exported / "measurements.tsv")}
    left_out = {row["id"]: row["reason"] for row in _table(exported / "rows_left_out.tsv")}
    assert set(measured) | set(left_out) == set(results) | set(core.NOT_EVALUATED)
    assert not set(measured) & set(left_out)
    assert all(reason for reason in left_out.values())
    assert left_out["S2-015"].startswith("drug suite") and left_out["S1-069"].startswith("unit %/yr")
    for row_id, row in measured.items():
        result = results[row_id]
        assert float(row["measurement"]) == result.target
        assert float(row["noiseParameters"]) == pytest.approx(result.tolerance / precision_weight(result), rel=1e-12)
        assert float(row["time"]) == pytest.approx(result.months[1] * DAYS_PER_MONTH)


def test_parameter_table_estimates_the_live_chosen_parameters(exported):
    rows = {row["parameterId"]: row for row in _table(exported / "parameters.tsv")}
    estimated = {pid for pid, row in rows.items() if row["estimate"] == "1"}
    assert "total_hip_set_point_decline_per_year" in estimated and "age_drive_onset_years" in estimated
    assert "total_hip_turnover_scale" not in estimated  # the derived steady-state numbers depend on it
    assert "estrogen_rankl_exponent" not in rows  # acts through the condition table's on-drug inputs
    onset = rows["age_drive_onset_years"]
    assert (float(onset["lowerBound"]), float(onset["upperBound"]), onset["parameterScale"]) == (40.0, 80.0, "lin")


def test_every_condition_in_libroadrunner_matches_the_engine(exported, results):
    """Each condition set from the condition table (initial state, endocrine course, age, baseline event) gives
    every one of its rows within 0.1 pp of core.evaluate (measured: at most 0.002 pp)."""
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner((exported / "model.xml").read_text(encoding="utf-8"))
    integrator = rr.getIntegrator()
    integrator.setValue("stiff", True)
    integrator.setValue("relative_tolerance", 1e-10)
    integrator.setValue("absolute_tolerance", 1e-14)
    species = set(rr.model.getFloatingSpeciesIds())
    measurements = _table(exported / "measurements.tsv")
    checked = 0
    for condition in _table(exported / "conditions.tsv"):
        rr.resetAll()
        for key, value in condition.items():
            if key not in ("conditionId", "conditionName"):  # current values at time 0: setting init() recompiles the model
                rr.setValue(f"[{key}]" if key in species else key, float(value))
        rows = [row for row in measurements if row["simulationConditionId"] == condition["conditionId"]]
        months = max(round(float(row["time"]) / DAYS_PER_MONTH) for row in rows)
        run = np.asarray(rr.simulate(0, months * DAYS_PER_MONTH, months + 1, selections=[
            "time", "lumbar_spine_mineral_volume_pct", "lumbar_spine_mineral_volume_pct_baseline",
            "total_hip_mineral_volume_pct", "total_hip_mineral_volume_pct_baseline"]))
        for row in rows:
            month = round(float(row["time"]) / DAYS_PER_MONTH)
            column = 1 if row["observableId"].startswith("obs_lumbar_spine") else 3
            value = 100.0 * (run[month, column] / run[month, column + 1] - 1.0)
            assert abs(value - results[row["datasetId"]].model) < 0.1, (row["datasetId"], value)
            checked += 1
    assert checked == len(measurements) == 37


def test_drug_suite_alone_is_refused(tmp_path, capsys):
    assert main(["calibrate", "--suite", "drugs", "--petab", str(tmp_path / "p")]) == 2
    assert "--suite = 'drugs': a suite with rows the PEtab problem can express" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_petab_refuses_a_file_as_folder(tmp_path, capsys):
    path = tmp_path / "file.txt"
    path.write_text("x", encoding="utf-8")
    assert main(["calibrate", "--petab", str(path)]) == 2
    assert "--petab = " in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "x"


def test_json_summary_names_what_is_left_out(tmp_path, capsys):
    assert main(["calibrate", "--suite", "core", "--parameters", "estrogen_rankl_exponent,menopause_set_point_decline",
                 "--petab", str(tmp_path / "p"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["estimated"] == ["menopause_set_point_decline"]
    assert summary["parameters_left_out"][0]["name"] == "estrogen_rankl_exponent"


def test_a_targets_csv_sets_the_measurements(tmp_path, capsys):
    shipped = (Path(__file__).resolve().parents[2] / "src" / "osteotwin" / "data" / "calibration_targets.csv").read_text(encoding="utf-8")
    targets = tmp_path / "targets.csv"
    targets.write_text(shipped.replace(",12,LS,-2.6,", ",12,LS,-3.1,", 1), encoding="utf-8")
    assert main(["calibrate", str(targets), "--suite", "core", "--petab", str(tmp_path / "p")]) == 0
    measured = {row["datasetId"]: row for row in _table(tmp_path / "p" / "measurements.tsv")}
    assert float(measured["S1-001"]["measurement"]) == -3.1 and float(measured["S1-002"]["measurement"]) == -1.7
