"""Unit tests of the lifestyle modules (arrays in, arrays out; no core needed)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from osteotwin.physiology import fracture, gut, mechanics, minerals, muscle, nutrients, qfracture
from osteotwin.physiology.lifestyle import (
    LifestyleDrives,
    LifestyleInputs,
    inflammation_rankl_relative,
    lifestyle_drives,
    serum_25ohd_ng_ml,
)
from osteotwin.physiology.options import EngineOptions
from osteotwin.physiology.parameters import registry


def test_reference_person_has_every_drive_exactly_one():
    drives = lifestyle_drives(LifestyleInputs.reference(4), EngineOptions())
    for name in ("loading_stimulus_relative", "pth_relative", "gut_barrier_relative", "formation_relative"):
        np.testing.assert_array_equal(getattr(drives, name), getattr(LifestyleDrives.baseline(4), name))
    assert inflammation_rankl_relative(1.0, 1.0) == 1.0


def test_switched_off_modules_return_one():
    inputs = LifestyleInputs.reference(2)
    busy = LifestyleInputs(**{**inputs.__dict__, "resistance_sessions_per_week": np.array([3.0, 3.0]),
                              "calcium_mg_per_day": np.array([300.0, 2000.0]), "probiotic": np.array([1.0, 1.0]),
                              "protein_g_per_kg_per_day": np.array([1.5, 0.6])})
    on = lifestyle_drives(busy, EngineOptions())
    assert np.all(on.loading_stimulus_relative > 1.0)
    assert not np.allclose(on.pth_relative, 1.0)
    assert np.all(on.gut_barrier_relative < 1.0)
    assert not np.allclose(on.formation_relative, 1.0)
    off = lifestyle_drives(busy, EngineOptions(mechanics=False, minerals=False, gut_axis=False, weak_evidence_nutrients=False))
    for name in ("loading_stimulus_relative", "pth_relative", "gut_barrier_relative", "formation_relative"):
        assert np.all(getattr(off, name) == 1.0), name


def test_registry_holds_the_lifestyle_parameters_with_sources():
    table = registry()
    for name in ("stimulus_gain", "pth_absorbed_calcium_exponent", "probiotic_permeability_reduction",
                 "protein_formation_slope", "training_lean_gain_max", "hip_gradient_of_risk_per_sd"):
        assert table[name].source and table[name].evidence in {"V", "S", "R", "D", "C", "A"}


def test_loading_is_monotone_and_resistance_loads_the_spine_walking_mostly_the_hip():
    walk = mechanics.loading_stimulus_relative([0, 150, 300], [0, 0, 0], [0, 0, 0], [1, 1, 1])
    assert np.all(np.diff(walk, axis=1) > 0)
    hip_gain, spine_gain = walk[1, 2] - 1, walk[0, 2] - 1
    assert hip_gain > 3 * spine_gain  # walking: mostly the hip
    lift = mechanics.loading_stimulus_relative([0, 0, 0], [0, 0, 0], [2, 2, 2], [0, 1, 2])
    assert np.all(np.diff(lift, axis=1) > 0)  # intensity raises the stimulus
    assert lift[0, 2] - 1 > 5 * spine_gain  # heavy lifting loads the spine far more than walking


def test_loading_refuses_negative_doses():
    with pytest.raises(ValueError):
        mechanics.loading_stimulus_relative([-1], [0], [0], [1])


def test_vitamin_d_dose_response_matches_ekwaru_slopes():
    low = minerals.serum_25ohd_steady_state_ng_ml(np.array([0.0, 1000.0]), 0.0)
    slope_low = (low[1] - low[0]) * minerals.NMOL_PER_NG  # nmol/L per 1000 IU
    assert slope_low == pytest.approx(12.0, abs=0.5)
    high = minerals.serum_25ohd_steady_state_ng_ml(np.array([15000.0, 20000.0]), 0.0)
    slope_high = (high[1] - high[0]) * minerals.NMOL_PER_NG / 5.0
    assert slope_high == pytest.approx(1.1, abs=0.25)


def test_pth_falls_with_vitamin_d_and_calcium_and_repletion_helps_the_deficient_more():
    d = np.array([8.0, 15.0, 25.0, 40.0])
    pth = minerals.pth_relative(np.full(4, 800.0), d)
    assert np.all(np.diff(pth) < 0)
    assert minerals.pth_relative(np.array(800.0), np.array(25.0)) == pytest.approx(1.0)
    # secondary hyperparathyroidism at < 10 ng/mL: clearly raised
    assert pth[0] > 1.25
    calcium = minerals.pth_relative(np.array([400.0, 800.0, 1800.0]), np.full(3, 25.0))
    assert calcium[0] > 1.0 > calcium[2]
    deficient_drop = minerals.pth_relative(np.array(400.0), np.array(10.0)) - minerals.pth_relative(np.array(1400.0), np.array(20.0))
    replete_drop = minerals.pth_relative(np.array(1000.0), np.array(30.0)) - minerals.pth_relative(np.array(2000.0), np.array(35.0))
    assert deficient_drop > 2 * replete_drop > 0


def test_measured_25ohd_sets_the_endogenous_part():
    inputs = LifestyleInputs(**{**LifestyleInputs.reference(2).__dict__,
                                "measured_25ohd_ng_ml": np.array([10.0, np.nan]),
                                "vitamin_d_iu_per_day": np.array([1200.0, 1200.0]),
                                "habitual_vitamin_d_iu_per_day": np.array([200.0, 200.0])})
    start, steady = serum_25ohd_ng_ml(inputs)
    assert start[0] == pytest.approx(10.0)
    assert start[1] == pytest.approx(25.0)
    assert steady[0] - start[0] == pytest.approx(steady[1] - start[1])


def test_gut_inflammation_rises_with_estrogen_deficiency_and_falls_with_probiotics():
    e = np.array([1.0, 0.5, 0.13, 0.03])
    values = inflammation_rankl_relative(e, np.ones(4))
    assert values[0] == 1.0 and np.all(np.diff(values) > 0)
    assert inflammation_rankl_relative(1.0, 0.5) < 1.0
    compiled = numba.njit(inflammation_rankl_relative)
    assert compiled(0.13, 0.8) == pytest.approx(inflammation_rankl_relative(0.13, 0.8))
    barrier = gut.gut_barrier_relative(np.array([0.0, 1.0, 0.0]), np.array([18.0, 18.0, 40.0]), np.array([500.0] * 3))
    assert barrier[0] == 1.0 and barrier[1] < barrier[2] < 1.0
    weak_off = gut.gut_barrier_relative(np.array([0.0]), np.array([40.0]), np.array([3000.0]), weak_evidence=False)
    assert weak_off[0] == 1.0


def test_nutrient_effects_are_small():
    f = nutrients.formation_relative(np.array([0.4, 1.0, 2.5]), np.array([50.0, 280.0, 500.0]), np.array([0.0, 0.0, 500.0]))
    assert f[1] == 1.0
    assert f[0] < 1.0 < f[2]
    assert np.all(np.abs(f - 1.0) < 0.05)


def test_muscle_declines_with_age_and_estrogen_loss_and_rises_with_training_and_protein():
    months = np.arange(0, 25.0)
    ones = np.ones((4, months.size))
    e = np.vstack([ones[0], 0.13 * ones[1], ones[2], ones[3]])
    out = muscle.muscle_trajectories(np.full(4, 65.0), months, e, np.ones((4, months.size)),
                                     np.array([0, 0, 2, 2]), np.array([1, 1, 2, 2]), np.array([1.0, 1.0, 1.0, 1.6]))
    lean = out["lean_mass_relative"][:, -1]
    assert lean[1] < lean[0] < 1.0  # age loss, faster on AI
    assert lean[3] > lean[2] > lean[0]  # training, more with protein
    strength = out["strength_relative"][:, -1]
    assert strength[2] > 1.1  # +~25% plateau minus age loss
    falls = muscle.falls_per_year(np.full(4, 65.0), months, np.array([0, 0, 0, 4]), out["strength_relative"],
                                  out["strength_reference_relative"])
    assert falls[3, -1] < falls[2, -1] < falls[0, -1] < falls[1, -1]
    assert muscle.balance_rate_ratio(np.array([2.0]))[0] == pytest.approx(0.76)
    assert muscle.balance_rate_ratio(np.array([6.0]))[0] == pytest.approx(0.58)


def test_qfracture_baseline_reproduces_the_documented_test_vectors():
    # the engine's baseline (risk factors absent, average BMD for age, no falls, no AI) is QFracture-2009 as published
    for age, bmi, mof_pct, hip_pct in ((65.0, 25.0, 4.29, 1.14), (75.0, 22.0, 9.59, 4.98)):
        r = fracture.ten_year_fracture_probability(age, bmi, 0.0, 0.0, 0.0, 1.0)
        assert float(r["major_osteoporotic_fracture_10y_pct"]) == pytest.approx(mof_pct, abs=0.01)
        assert float(r["hip_fracture_10y_pct"]) == pytest.approx(hip_pct, abs=0.01)
        assert qfracture.published_risk_pct(age, bmi) == (pytest.approx(mof_pct, abs=0.01), pytest.approx(hip_pct, abs=0.01))
    assert qfracture.published_risk_pct(65.0, 25.0, flags={"falls": True}) == (
        pytest.approx(7.67, abs=0.01), pytest.approx(2.30, abs=0.01))


def test_fracture_risk_rises_with_lower_bmd_falls_and_ai_and_falls_with_turnover_suppression():
    z = np.array([0.5, 0.0, -1.0, -2.0])
    r = fracture.ten_year_fracture_probability(65.0, 25.0, z, 0.0, 0.0, 1.0)
    for field in ("hip_fracture_10y_pct", "major_osteoporotic_fracture_10y_pct", "any_clinical_fracture_10y_pct"):
        assert np.all(np.diff(r[field]) > 0), field
    # gradient of risk per SD at the hip is exactly Johnell 2005's 2.88 (hazard ratio)
    hr = fracture.hazard_ratio_from_probabilities(r["hip_fracture_10y_pct"][2], r["hip_fracture_10y_pct"][1])
    assert hr == pytest.approx(2.88, rel=1e-9)
    falls = fracture.ten_year_fracture_probability(65.0, 25.0, 0.0, np.array([0.0, 0.5, 2.0]), 0.0, 1.0)
    assert np.all(np.diff(falls["hip_fracture_10y_pct"]) > 0)
    params = fracture.PARAMETERS.with_values(ai_residual_multiplier=1.1)
    ai = fracture.ten_year_fracture_probability(65.0, 25.0, 0.0, 0.0, np.array([0.0, 1.0]), 1.0, params)
    assert ai["major_osteoporotic_fracture_10y_pct"][1] > ai["major_osteoporotic_fracture_10y_pct"][0]
    drug = fracture.ten_year_fracture_probability(65.0, 25.0, 0.0, 0.0, 0.0, np.array([1.0, 0.3, 1.5]))
    mof = drug["major_osteoporotic_fracture_10y_pct"]
    assert mof[1] < mof[0] == mof[2]


def test_expected_t_score_falls_with_age():
    t = fracture.expected_t_score(np.array([50.0, 65.0, 80.0]), 1, 0.942, 0.122)
    assert np.all(np.diff(t) < 0)
    assert -1.5 < t[1] < -0.5
