"""Item 6: the projection calls the engine with two Scenarios that follow the shared vocabulary.

The engine is replaced by a recorder here so that the wiring (scenario construction, read-out at 1, 3
and 5 years, fracture risk from the simulated change) is tested on its own; test_projection_with_engine
runs the real engine when it is installed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from osteotwin.clinic import assess
from osteotwin.clinic import projection as projection_module
from osteotwin.scenario import Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
TODAY = date(2026, 3, 1)


def fake_engine(calls: list):
    def simulate_batch(scenarios):
        calls.extend(scenarios)
        out = []
        for scenario in scenarios:
            model = Scenario.model_validate(scenario)  # the Scenario contract (osteotwin schema)
            months = list(range(int(model.months) + 1))
            slope = 0.01 if model.bone_agents else -0.02  # T-score per month
            ls0, th0 = model.patient.lumbar_spine_t_score, model.patient.total_hip_t_score
            hip_risk = [max(0.5, 2.0 - 100 * slope * m * 0.01) for m in months]
            out.append(SimpleNamespace(
                months=months, hip_fracture_10y_pct=hip_risk,
                major_osteoporotic_fracture_10y_pct=[3 * r for r in hip_risk],
                lumbar_spine_t_score=[ls0 + slope * m for m in months],
                total_hip_t_score=[th0 + slope * m for m in months],
                lumbar_spine_bmd_pct_change=[100 * slope * m * 0.11 for m in months],
                total_hip_bmd_pct_change=[100 * slope * m * 0.12 for m in months],
                warnings=[],
            ))
        return out
    return simulate_batch


def test_projection_builds_two_valid_scenarios_and_reads_1_3_5_years(monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(projection_module, "_engine", lambda: fake_engine(calls))
    record = json.loads((EXAMPLES / "design_example.json").read_text(encoding="utf-8"))
    a = assess(record, today=TODAY)
    assert a.projection is not None and a.projection_note is None
    without, with_agent = calls
    assert without["bone_agents"] == []
    assert with_agent["bone_agents"][0]["drug"] == "denosumab"  # already on denosumab
    assert with_agent["bone_agents"][0]["dose_mg"] == 60 and with_agent["bone_agents"][0]["every_months"] == 6
    assert without["endocrine_therapy"][0]["drug"] == "anastrozole"
    assert without["endocrine_therapy"][0]["stop_month"] == 59  # 5-year plan started 2026-01-15: 58.5 months left
    assert without["patient"]["lumbar_spine_t_score"] == -1.7 and without["patient"]["years_since_menopause"] == 16
    p = a.projection
    assert [pt.months for pt in p.with_bone_agent] == [0, 12, 36, 60]
    assert p.without_bone_agent[3].lumbar_spine_t_score == pytest.approx(-1.7 - 1.2)
    assert p.with_bone_agent[3].total_hip_t_score == pytest.approx(-1.2 + 0.6)
    # the fracture risk is read from the engine's trajectory, not re-derived here
    assert p.with_bone_agent[0].hip_fracture_10y_pct == 2.0 and p.without_bone_agent[0].hip_fracture_10y_pct == 2.0
    for w, wo in zip(p.with_bone_agent[1:], p.without_bone_agent[1:], strict=True):
        assert w.hip_fracture_10y_pct < wo.hip_fracture_10y_pct
    # the Scenario carries the record's risk factors (the assessment's inputs)
    assert without["patient"]["risk_factors"] == with_agent["patient"]["risk_factors"]
    assert any("ours" in c for c in p.caveats)
    assert any("doses before today are not simulated" in c for c in p.caveats)


def test_zoledronic_acid_projected_for_adjuvant_indication(monkeypatch) -> None:
    calls: list = []
    monkeypatch.setattr(projection_module, "_engine", lambda: fake_engine(calls))
    record = json.loads((EXAMPLES / "premenopausal_ovarian_suppression.json").read_text(encoding="utf-8"))
    a = assess(record, today=TODAY)
    assert a.projection.bone_agent == "zoledronic_acid"
    assert calls[1]["bone_agents"][0]["every_months"] == 6


def test_projection_says_why_it_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(projection_module, "_engine", lambda: None)
    a = assess(json.loads((EXAMPLES / "design_example.json").read_text(encoding="utf-8")), today=TODAY)
    assert a.projection is None and "not available" in a.projection_note
    monkeypatch.setattr(projection_module, "_engine", lambda: fake_engine([]))
    no_hip = {"patient": {"age_years": 60, "weight_kg": 60, "height_cm": 160},
              "dxa": [{"date": "2026-01-01", "site": "lumbar_spine", "t_score": -2.0}]}
    a = assess(no_hip, today=TODAY)
    assert a.projection is None and "total-hip T-scores" in a.projection_note


def test_non_finite_engine_output_is_refused(monkeypatch) -> None:
    def nan_engine(scenarios):
        good = fake_engine([])(scenarios)
        good[1].total_hip_t_score[12] = float("nan")
        return good

    monkeypatch.setattr(projection_module, "_engine", lambda: nan_engine)
    a = assess(json.loads((EXAMPLES / "design_example.json").read_text(encoding="utf-8")), today=TODAY)
    assert a.projection is None and "non-finite" in a.projection_note


@pytest.mark.slow
def test_projection_with_engine() -> None:
    a = assess(json.loads((EXAMPLES / "design_example.json").read_text(encoding="utf-8")), today=TODAY)
    p = a.projection
    assert p is not None, a.projection_note
    # On an AI, the bone agent keeps the spine T-score above the no-agent course at 5 years.
    assert p.with_bone_agent[-1].lumbar_spine_t_score > p.without_bone_agent[-1].lumbar_spine_t_score
