"""``simulate --intervals``: a patient's series over the calibration's parameter uncertainty (twin/intervals.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from osteotwin import simulate
from osteotwin.cli import main
from osteotwin.physiology.parameters import registry
from osteotwin.twin.intervals import SERIES, ParameterUncertainty, series_intervals

ROOT = Path(__file__).resolve().parents[2]
AI_5Y = json.loads((ROOT / "examples/anastrozole_5y.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ai_intervals():
    return simulate(AI_5Y, intervals=100)


def test_intervals_contain_the_median_and_widen_with_horizon(ai_intervals):
    ranges = ai_intervals.model_extra["intervals"]
    assert set(ranges) == set(SERIES)
    for name in SERIES:
        p10, p50, p90 = (np.array(ranges[name][k]) for k in ("p10", "p50", "p90"))
        assert len(p50) == len(ai_intervals.months)
        assert np.all(p10 <= p50 + 1e-9) and np.all(p50 <= p90 + 1e-9)
    for site in ("lumbar_spine", "total_hip"):
        width = np.subtract(ranges[f"{site}_bmd_pct_change"]["p90"], ranges[f"{site}_bmd_pct_change"]["p10"])
        assert width[0] == pytest.approx(0.0, abs=1e-6)  # month 0 is her measured baseline
        assert width[12] < width[36] < width[60] and width[60] > 0.2
    assert "parameter uncertainty" in ai_intervals.model_extra["intervals_method"]


def test_the_median_follows_the_shipped_model(ai_intervals):
    """Draws centre on the shipped values: the median run is close to the point estimate."""
    ranges = ai_intervals.model_extra["intervals"]
    for site in ("lumbar_spine", "total_hip"):
        point = getattr(ai_intervals, f"{site}_bmd_pct_change")[60]
        lo, hi = ranges[f"{site}_bmd_pct_change"]["p10"][60], ranges[f"{site}_bmd_pct_change"]["p90"][60]
        assert lo <= point <= hi


def test_same_seed_same_intervals_and_own_parameters_kept():
    first = series_intervals(AI_5Y | {"months": 24}, draws=20, seed=4)
    assert first == series_intervals(AI_5Y | {"months": 24}, draws=20, seed=4)
    name = ParameterUncertainty.shipped().names[0]
    mine = series_intervals(AI_5Y | {"months": 24, "parameters": {name: registry().value(name)}}, draws=20, seed=4)
    assert mine != first  # her own value is held: that parameter no longer spreads the runs


def test_draws_stay_inside_the_prior_ranges():
    uncertainty = ParameterUncertainty.shipped()
    values = uncertainty.draws(500, 1, registry())
    for j, name in enumerate(uncertainty.names):
        low, high = registry()[name].prior_range
        assert np.all((values[:, j] > low) & (values[:, j] < high)), name
    assert not set(uncertainty.names) & set(uncertainty.held_at_bound)


def test_cli_intervals_json_and_table(tmp_path, capsys):
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps(AI_5Y | {"months": 24}), encoding="utf-8")
    assert main(["simulate", str(scenario), "--json", "--intervals"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["intervals"]["hip_fracture_10y_pct"]) == {"p10", "p50", "p90"}
    assert len(out["intervals"]["total_hip_t_score"]["p90"]) == len(out["months"])
    assert main(["simulate", str(scenario), "--intervals"]) == 0
    assert "10th to 90th percentile" in capsys.readouterr().out
    assert main(["simulate", str(scenario), "--intervals", "--compare"]) == 2
