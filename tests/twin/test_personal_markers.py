"""CTX and P1NP in the personal twin (issue 15): fitted as her change from her own first value, only with two
or more values; they narrow the turnover posterior when scans are few; ``osteotwin fit`` reports them."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from osteotwin.cli import main
from osteotwin.twin.personal import FITTED_PARAMETERS, default_prior, fit_posterior, personal_inputs
from osteotwin.twin.personal.markers import MARKER_ERROR
from osteotwin.twin.personal.virtual import virtual_patient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patients" / "anastrozole_bone_markers.json"
FAST = {"lumbar_spine_turnover_scale": 0.9, "total_hip_turnover_scale": 0.9}
MARKER_MONTHS = (0.0, 3.0, 6.0, 12.0)


def _cov(record) -> np.ndarray:
    return fit_posterior(personal_inputs(record), default_prior(FITTED_PARAMETERS)).cov_z


def test_markers_narrow_the_turnover_posterior_when_scans_are_few() -> None:
    """One scan per site says nothing about her rate; four CTX and P1NP values over her first year of anastrozole
    narrow each turnover scale's posterior (Laplace SD in logit space), and the area of its credible region
    (sqrt det of the covariance) by at least 10% (measured 13% with the calibration prior: SD 1.87 -> 1.80 spine,
    1.87 -> 1.69 hip; 31% with the population prior). The engine's relative CTX and P1NP change on an AI depends
    little on the turnover scales (about 4 points between the slowest and fastest), so markers inform weakly."""
    rng = np.random.default_rng(3)
    with_markers = virtual_patient(FAST, (0.0,), rng, months_after=24, marker_months=MARKER_MONTHS).record
    without = with_markers.model_copy(update={"labs": []})
    prior_cov, marker_cov = _cov(without), _cov(with_markers)
    assert np.allclose(prior_cov, default_prior(FITTED_PARAMETERS).cov_z)
    assert np.all(np.diag(marker_cov) < np.diag(prior_cov)), (marker_cov, prior_cov)
    assert np.sqrt(np.linalg.det(marker_cov)) < 0.9 * np.sqrt(np.linalg.det(prior_cov))


def test_one_marker_value_is_not_fitted_and_says_why() -> None:
    record = virtual_patient(FAST, (0.0, 12.0), np.random.default_rng(4), months_after=24, marker_months=(0.0,)).record
    inputs = personal_inputs(record)
    assert inputs.markers == {}
    assert any("CTX: 1 usable value(s); one value says nothing about her change" in note for note in inputs.notes)
    same = fit_posterior(inputs)
    bare = fit_posterior(personal_inputs(record.model_copy(update={"labs": []})))
    assert np.allclose(same.cov_z, bare.cov_z) and np.allclose(same.z_map, bare.z_map)


def test_marker_likelihood_uses_change_not_level() -> None:
    """Her marker level (assay, person) does not matter: all values x 3 give the same posterior."""
    record = virtual_patient(FAST, (0.0,), np.random.default_rng(5), months_after=24, marker_months=MARKER_MONTHS).record
    tripled = record.model_copy(update={"labs": [lab.model_copy(update={"value": 3 * lab.value}) for lab in record.labs]})
    a, b = fit_posterior(personal_inputs(record)), fit_posterior(personal_inputs(tripled))
    assert np.allclose(a.z_map, b.z_map, atol=1e-6) and np.allclose(a.cov_z, b.cov_z, atol=1e-6)


def test_marker_errors_come_from_their_critical_differences() -> None:
    assert MARKER_ERROR["ctx"].cv_pct == pytest.approx(30.0 / 2.772, rel=1e-3)
    assert MARKER_ERROR["p1np"].cv_pct == pytest.approx(38.0 / 2.772, rel=1e-3)


def test_fit_reports_markers_expected_against_observed() -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fit", str(EXAMPLE), "--json", "--months", "12"])
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    record = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for test in ("ctx", "p1np"):
        checks = [c for c in result["marker_checks"] if c["test"] == test]
        values = sorted((lab for lab in record["labs"] if lab["test"] == test), key=lambda lab: lab["date"])
        assert [c["date"] for c in checks] == [lab["date"] for lab in values[1:]]
        for check in checks:
            assert check["expected_p10"] <= check["expected_p50"] <= check["expected_p90"]
            assert check["outside"] == (not check["expected_p10"] <= check["observed_pct_change_from_first"] <= check["expected_p90"])
    # CTX 380 ng/L, then 0.52 ng/mL (= 520 ng/L): +36.8% from her first value, whatever unit the lab used
    assert result["marker_checks"][0]["observed_pct_change_from_first"] == pytest.approx(36.8, abs=0.05)
    assert any(note.startswith("CTX: 3 values fitted as her change from her first value") for note in result["notes"])
    assert any(note.startswith("prior: ") for note in result["notes"])
