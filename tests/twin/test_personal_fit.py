"""The personal twin (issue 15): ``osteotwin fit`` on the shipped records, refusals, narrowing with more
scans, a fast loser below the population projection, scan checks, the emulator against direct simulation."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from osteotwin.cli import main
from osteotwin.twin.personal import (
    FITTED_PARAMETERS,
    default_prior,
    fit_posterior,
    fit_record,
    personal_inputs,
)
from osteotwin.twin.personal.fit import emulate, emulator_nodes, history_months, history_scenario, relative_at
from osteotwin.twin.personal.scan_checks import FASTER_LOSS
from osteotwin.twin.personal.virtual import virtual_patient
from osteotwin.twin.simulation import simulate_batch

ROOT = Path(__file__).resolve().parents[2]
RECORDS = sorted((ROOT / "examples" / "patients").glob("*.json"))
FAST = {"lumbar_spine_turnover_scale": 0.9, "total_hip_turnover_scale": 0.9}
SITES = ("lumbar_spine", "total_hip")


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_fit_json_on_every_shipped_record(path: Path) -> None:
    code, out, err = run(["fit", str(path), "--json", "--months", "24", "--today", "2026-06-01"])
    assert code == 0, err
    result = json.loads(out)
    assert set(result["fitted"]) == set(FITTED_PARAMETERS)
    for q in result["fitted"].values():
        assert q["p10"] <= q["median"] <= q["p90"]
    assert {"continue", "lifestyle_plan", "denosumab", "zoledronic_acid"} <= set(result["projections"])
    for projection in result["projections"].values():
        assert projection["months"] == list(range(25))
        for name in ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "lumbar_spine_t_score",
                     "total_hip_t_score", "osteoporotic_fracture_10y_pct"):
            bands = projection[name]
            assert len(bands["p50"]) == 25
            assert all(a <= b <= c for a, b, c in zip(bands["p10"], bands["p50"], bands["p90"], strict=True))
        assert projection["lumbar_spine_bmd_pct_change"]["p50"][0] == 0.0
    record = json.loads(path.read_text(encoding="utf-8"))
    on_denosumab = "denosumab" in json.dumps(record.get("medications", record))
    assert ("stop_denosumab" in result["projections"]) == on_denosumab
    for check in result["scan_checks"]:
        assert check["expected_p10"] <= check["expected_p50"] <= check["expected_p90"]
        assert check["outside"] == (not check["expected_p10"] <= check["observed_bmd_g_cm2"] <= check["expected_p90"])


def test_single_scan_falls_back_to_prior_and_says_so() -> None:
    code, out, _ = run(["fit", str(ROOT / "examples/patients/design_example.json")])
    assert code == 0
    assert "falls back to the prior" in out
    code, out, _ = run(["fit", str(ROOT / "examples/patients/design_example.json"), "--json"])
    result = json.loads(out)
    assert any("falls back to the prior" in note for note in result["notes"])
    assert result["scan_checks"] == []
    prior = default_prior(FITTED_PARAMETERS)
    assert result["fitted"]["total_hip_turnover_scale"]["median"] == pytest.approx(float(prior.to_value(prior.mean_z)[1]), abs=1e-3)


def test_record_without_dxa_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "no_dxa.json"
    path.write_text(json.dumps({"patient": {"age_years": 60, "weight_kg": 60, "height_cm": 160}}))
    code, out, err = run(["fit", str(path)])
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: dxa = []:") and "lumbar_spine or total_hip" in lines[0]


def test_months_out_of_range_is_refused() -> None:
    code, _, err = run(["fit", str(ROOT / "examples/patients/design_example.json"), "--months", "500"])
    assert code == 2 and "--months = '500'" in err


def _width_5y(twin, site: str) -> float:
    bands = twin.projections["continue"][f"{site}_bmd_pct_change"]
    return bands["p90"][-1] - bands["p10"][-1]


def _posterior_sds(patient) -> dict[int, dict[str, float]]:
    """The posterior SD of each fitted parameter (Laplace, logit scale: deterministic, unlike the sampled p10-p90)
    fitted on her first one, two and three scan dates."""
    data = patient.record.model_dump(mode="json")
    dates = sorted({scan["date"] for scan in data["dxa"]})
    sds = {}
    for count in (1, 2, 3):
        subset = {**data, "dxa": [scan for scan in data["dxa"] if scan["date"] in dates[:count]]}
        twin = fit_record(subset, months=24, samples=400)
        sds[count] = dict(zip(twin.posterior.prior.names, np.sqrt(np.diag(twin.posterior.cov_z)), strict=True))
    return sds


@pytest.fixture(scope="module")
def fast_loser_sds():
    return _posterior_sds(virtual_patient(FAST, (0.0, 12.0, 24.0), np.random.default_rng(3), months_after=60))


def test_intervals_narrow_with_follow_up_scans(fast_loser_sds) -> None:
    """The same woman's scans at 0, 12 and 24 months: every follow-up scan leaves each fitted parameter's
    posterior narrower than the prior-only fit on one scan."""
    sds = fast_loser_sds
    for name in FITTED_PARAMETERS:
        assert sds[2][name] < sds[1][name] and sds[3][name] < sds[1][name], (name, sds)
    assert sds[3]["lumbar_spine_turnover_scale"] < 0.8 * sds[1]["lumbar_spine_turnover_scale"], sds


@pytest.mark.xfail(strict=True, reason=(
    "structural: the spine's response to turnover flattens above about 0.55 in the recalibrated core (issue 13), so for "
    "this fast loser (0.9) a third scan barely moves the curvature of the spine's posterior at its MAP: logit SD 0.95 "
    "with two scans, 0.97 with three under the calibration prior (the default); 1.438 and 1.437 under the population "
    "prior; CTX and P1NP at 0, 3, 6, 12 and 24 months do not change that under the calibration prior (1.00, 1.03). "
    "Over 100 virtual patients the 60-month BMD range still narrows with one, two and three scans "
    "(docs/personal_twin.md)"))
def test_each_further_scan_narrows_the_intervals(fast_loser_sds) -> None:
    sds = fast_loser_sds
    for name in FITTED_PARAMETERS:
        assert sds[3][name] < sds[2][name] < sds[1][name], (name, sds)


def test_fast_loser_projects_below_the_population() -> None:
    patient = virtual_patient(FAST, (0.0, 12.0, 24.0), np.random.default_rng(5), months_after=24)
    twin = fit_record(patient.record, months=24)
    inputs = personal_inputs(patient.record)
    start = int(round(inputs.latest_month))
    population = simulate_batch([history_scenario(inputs, start + 24, {})])
    for site in SITES:
        r = 1.0 + population.series(f"{site}_bmd_pct_change")[0] / 100.0
        population_change = 100.0 * (r[start + 24] / r[start] - 1.0)
        fitted = twin.projections["continue"][f"{site}_bmd_pct_change"]["p50"][24]
        assert fitted < population_change, (site, fitted, population_change)
        assert twin.fitted[f"{site}_turnover_scale"]["median"] > 0.5


def test_a_scan_far_below_expectation_is_flagged() -> None:
    patient = virtual_patient({"lumbar_spine_turnover_scale": 0.3, "total_hip_turnover_scale": 0.3}, (0.0, 12.0, 24.0),
                              np.random.default_rng(7))
    data = patient.record.model_dump(mode="json")
    last = max(scan["date"] for scan in data["dxa"])
    for scan in data["dxa"]:
        if scan["date"] == last and scan["site"] == "lumbar_spine":
            scan["bmd_g_cm2"] = round(scan["bmd_g_cm2"] * 0.93, 4)  # 7% lower: about 6 x the spine's 1.08% CV
    twin = fit_record(data)
    flagged = [c for c in twin.scan_checks if c.outside]
    assert [(c.site, c.date.isoformat()) for c in flagged] == [("lumbar_spine", last)]
    assert flagged[0].sentence == FASTER_LOSS and flagged[0].observed_bmd_g_cm2 < flagged[0].expected_p10


def test_emulator_matches_direct_simulation_of_draws() -> None:
    patient = virtual_patient(FAST, (0.0, 12.0, 24.0), np.random.default_rng(11))
    inputs = personal_inputs(patient.record)
    posterior = fit_posterior(inputs)
    z = posterior.sample_z(6, np.random.default_rng(0))
    months = history_months(inputs) + 24
    prior = posterior.prior
    nodes = simulate_batch([history_scenario(inputs, months, p) for p in prior.overrides(emulator_nodes(posterior))])
    direct = simulate_batch([history_scenario(inputs, months, p) for p in prior.overrides(z)])
    for site in SITES:
        emulated = emulate(nodes.series(f"{site}_bmd_pct_change"), posterior, z, f"{site}_turnover_scale")
        assert np.max(np.abs(emulated - direct.series(f"{site}_bmd_pct_change"))) < 0.1  # percentage points
    assert relative_at(direct.series("lumbar_spine_bmd_pct_change"), np.array([0.0]))[:, 0] == pytest.approx(1.0)


def test_prior_maps_inside_the_prior_range_and_back() -> None:
    prior = default_prior(FITTED_PARAMETERS)
    z = np.array([[-30.0, 30.0], [0.0, 0.0], [1.0, -2.0]])
    values = prior.to_value(z)
    assert np.all(values > prior.lower) and np.all(values < prior.upper)
    assert np.allclose(prior.to_z(values[1:]), z[1:])
    assert prior.log_density_z(prior.mean_z) == pytest.approx(0.0)


def test_fit_takes_at_most_two_seconds_per_patient() -> None:
    import time

    patient = virtual_patient(FAST, (0.0, 12.0, 24.0), np.random.default_rng(13))
    fit_record(patient.record)  # compiled and cached
    seconds = []
    for _ in range(2):  # the best of two: the machine is shared, the budget is the fit's own cost
        started = time.perf_counter()
        fit_record(patient.record)
        seconds.append(time.perf_counter() - started)
    assert min(seconds) < 2.0, seconds
