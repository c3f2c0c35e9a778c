"""In-silico trials: endpoint estimators, spec validation (exit 2 naming the field), and identical
results in process, on a 2-worker pool and on a Dask LocalCluster(n_workers=2, processes=True)."""

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from osteotwin.cli import main
from osteotwin.population.backends import run_trial
from osteotwin.population.trial import (
    TrialSpec,
    events_and_time,
    mean_difference,
    rate_ratio,
    run_chunk,
    summary_statistic,
)

SMALL = {
    "name": "small", "patients_per_arm": 24, "seed": 5, "chunk_size": 8,
    "population": {"age_years": {"mean": 62, "sd": 6, "min": 50, "max": 75},
                   "lumbar_spine_t_score": {"mean": -1.5, "sd": 0.6, "min": -2.4}},
    "arms": [{"name": "dmab", "months": 12, "endocrine_therapy": [{"drug": "anastrozole"}],
              "bone_agents": [{"drug": "denosumab", "every_months": 6, "start_month": 0}]},
             {"name": "rule", "months": 12, "endocrine_therapy": [{"drug": "anastrozole"}],
              "bone_agents": [{"drug": "zoledronic_acid", "every_months": 6,
                               "start_when": {"site": "lumbar_spine", "t_score_below": -1.8}}]}],
    "endpoints": [
        {"id": "ls12", "kind": "bmd_pct_change", "site": "lumbar_spine", "month": 12},
        {"id": "ls12p90", "kind": "bmd_pct_change", "site": "lumbar_spine", "month": 12, "statistic": "p90"},
        {"id": "op", "kind": "share_below_t_score", "site": "lumbar_spine", "t_score": -2.0, "month": 12},
        {"id": "fx", "kind": "fracture_cumulative_incidence", "outcome": "any_clinical", "month": 12},
        {"id": "hr", "kind": "fracture_hazard_ratio", "outcome": "any_clinical", "arm": "dmab", "reference": "rule", "month": 12},
        {"id": "started", "kind": "share_started_bone_agent", "month": 12},
        {"id": "diff", "kind": "bmd_pct_change_difference", "site": "lumbar_spine", "month": 12, "arm": "dmab", "reference": "rule"}],
}


def _write(tmp_path, spec):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_rate_ratio_and_events():
    times = np.array([1.0, np.nan, 5.0, 13.0])
    assert events_and_time(times, 0, 12) == (2, 1.0 + 12 + 5 + 12)
    result = rate_ratio(10, 100.0, 20, 100.0)
    assert result["value"] == pytest.approx(0.5)
    assert result["ci95"][0] == pytest.approx(0.5 * math.exp(-1.959964 * math.sqrt(0.15)))


def test_welch_difference_covers_the_truth_95_percent_of_the_time():
    rng = np.random.default_rng(2)
    covered = []
    for _ in range(1000):
        lo, hi = mean_difference(rng.normal(5, 2, 60), rng.normal(1, 3, 90))["ci95"]
        covered.append(lo < 4.0 < hi)
    assert 0.93 < np.mean(covered) < 0.97  # binomial sd of the coverage over 1000 trials: 0.007


def test_summary_statistics_cover_truth():
    x = np.random.default_rng(0).normal(2.0, 3.0, 4000)
    assert summary_statistic(x, "mean")["ci95"][0] < 2.0 < summary_statistic(x, "mean")["ci95"][1]
    sd = summary_statistic(x, "sd")
    assert sd["ci95"][0] < 3.0 < sd["ci95"][1]
    p90 = summary_statistic(x, "p90")
    assert p90["ci95"][0] < 2.0 + 3.0 * 1.2816 < p90["ci95"][1]


def test_fracture_times_follow_the_hazard():
    """Sampled incidence by month 12 matches 1 - exp(-sum of monthly hazards) averaged over patients."""
    spec = TrialSpec.model_validate(SMALL | {"patients_per_arm": 400, "chunk_size": 400, "endpoints": []})
    from osteotwin.population.virtual import chunk_rng, sample_patients, scenario_dicts
    from osteotwin.twin.simulation import simulate_batch

    columns = run_chunk(spec.model_dump(mode="json"), 0, 0, 0, 400)
    rng = chunk_rng(spec.seed, 0, 0)
    covariates = sample_patients(spec.population, rng, 400)
    parameters = spec.variability_model().sample(rng, 400)
    batch = simulate_batch(scenario_dicts(spec.arms[0].model_dump(exclude={"patient", "name"}, exclude_none=True), covariates, parameters))
    p = batch.series("hip_fracture_10y_pct")[:, :12]
    expected = np.mean(1 - np.exp(-np.sum(-np.log1p(-p / 100) / 120, axis=1)))
    times = columns["any_clinical_fracture_month"]
    p_any = batch.series("any_clinical_fracture_10y_pct")[:, :12]
    expected_any = np.mean(1 - np.exp(-np.sum(-np.log1p(-p_any / 100) / 120, axis=1)))
    observed = np.mean(times < 12)
    assert abs(observed - expected_any) < 4 * math.sqrt(expected_any * (1 - expected_any) / 400) + 1e-9
    assert expected < expected_any


def test_same_seed_same_rows_on_every_backend(tmp_path):
    from distributed import Client, LocalCluster

    spec = TrialSpec.model_validate(SMALL)
    tables = []
    run_trial(spec, tmp_path / "one.parquet", workers=1)
    run_trial(spec, tmp_path / "two.parquet", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        facts = run_trial(spec, tmp_path / "dask.parquet", scheduler=client)
    assert facts["backend"] == "dask"
    for name in ("one", "two", "dask"):
        tables.append(pq.read_table(tmp_path / f"{name}.parquet"))
    assert tables[0].num_rows == 48
    assert pq.ParquetFile(tmp_path / "one.parquet").num_row_groups == 6  # one per chunk
    assert _same(tables[0], tables[1]) and _same(tables[0], tables[2])
    other = TrialSpec.model_validate(SMALL | {"seed": 6})
    run_trial(other, tmp_path / "other.parquet")
    assert not _same(pq.read_table(tmp_path / "other.parquet"), tables[0])


def _same(a, b) -> bool:
    """Bit-identical columns (NaN equals NaN: the fracture month of a patient without a fracture)."""
    if a.column_names != b.column_names:
        return False
    for name in a.column_names:
        x, y = a.column(name).to_numpy(zero_copy_only=False), b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype == object:
            if list(x) != list(y):
                return False
        elif not np.array_equal(x, y, equal_nan=True):
            return False
    return True


def test_cli_json_contract(tmp_path, capsys):
    spec = _write(tmp_path, SMALL)
    out = tmp_path / "rows.parquet"
    assert main(["trial", spec, "--json", "--out", str(out), "--report", str(tmp_path / "rep")]) == 0
    result = json.loads(capsys.readouterr().out)
    dmab, rule = result["arms"]["dmab"], result["arms"]["rule"]
    assert dmab["ls12"]["n"] == 24 and dmab["ls12"]["value"] > rule["ls12"]["value"]  # denosumab gains, AI loses
    assert dmab["started"]["value"] == 1.0 and 0 <= rule["started"]["value"] <= 1
    lo, hi = dmab["ls12"]["ci95"]
    assert lo < dmab["ls12"]["value"] < hi
    assert set(result["hazard_ratios"]["hr"]) >= {"value", "ci95", "events"}
    assert result["differences"]["diff"]["value"] == pytest.approx(dmab["ls12"]["value"] - rule["ls12"]["value"], abs=1e-5)
    assert out.exists() and (tmp_path / "rep" / "bmd_fan.png").stat().st_size > 1000
    assert "ls12" in (tmp_path / "rep" / "report.md").read_text()


@pytest.mark.parametrize(("change", "field"), [
    ({"endpoints": [{"id": "x", "kind": "bmd_slope", "month": 12}]}, "endpoints.0"),
    ({"endpoints": [{"id": "x", "kind": "bmd_pct_change", "site": "wrist", "month": 12}]}, "site"),
    ({"endpoints": [{"id": "x", "kind": "fracture_hazard_ratio", "outcome": "hip", "arm": "dmab", "reference": "nope", "month": 12}]}, "reference"),
    ({"endpoints": [{"id": "x", "kind": "bmd_pct_change", "site": "total_hip", "month": 24}]}, "month"),
    ({"patients_per_arm": 0}, "patients_per_arm"),
])
def test_bad_spec_exits_2_naming_the_field(tmp_path, capsys, change, field):
    assert main(["trial", _write(tmp_path, SMALL | change)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and field in err
