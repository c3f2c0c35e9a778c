"""The fracture-risk module reproduces its published inputs: the gradient of risk (Johnell 2005),
the all-site clinical fracture incidence it is derived from (van Geel 2006), and the bounds of an
independent cohort (GLOW)."""

from __future__ import annotations

import numpy as np
import pytest

from osteotwin.clinic import fracture_risk as clinic
from osteotwin.physiology import bone, fracture
from osteotwin.physiology.parameters import registry as fracture_registry


def _hazard_ratio_per_sd(field: str, age: float = 65.0) -> float:
    risk = fracture.ten_year_fracture_probability(age, 25.0, np.array([0.0, -1.0]), 0.0, 0.0, 1.0)
    return float(fracture.hazard_ratio_from_probabilities(risk[field][1], risk[field][0]))


def test_the_engine_reproduces_johnell_2005_gradients_per_sd_of_hip_bmd():
    # Johnell et al. JBMR 2005: women at 65, per SD of femoral-neck BMD: hip 2.88, osteoporotic fracture 1.38
    assert _hazard_ratio_per_sd("hip_fracture_10y_pct") == pytest.approx(2.88, rel=1e-9)
    assert _hazard_ratio_per_sd("major_osteoporotic_fracture_10y_pct") == pytest.approx(1.38, rel=1e-9)
    # the all-site outcome shares the osteoporotic gradient (same hazard, times a constant)
    assert _hazard_ratio_per_sd("any_clinical_fracture_10y_pct") == pytest.approx(1.38, rel=1e-9)
    # at another age the gradient is the same (constant proportional hazard)
    assert _hazard_ratio_per_sd("hip_fracture_10y_pct", age=75.0) == pytest.approx(2.88, rel=1e-9)


def test_one_gradient_definition_for_engine_and_clinic():
    table = fracture.PARAMETERS
    assert table.value("hip_gradient_of_risk_per_sd") == fracture.GRADIENT_HIP_PER_SD
    assert table.value("osteoporotic_fracture_gradient_of_risk_per_sd") == fracture.GRADIENT_OSTEOPOROTIC_PER_SD
    # the clinic holds no gradient or multiplier of its own: it maps a record to the engine's inputs
    assert not any(name.startswith(("GRADIENT_", "AI_FRACTURE")) for name in vars(clinic))


def test_the_state_form_is_the_z_form_at_the_age_matched_z_score():
    registry = fracture_registry()
    expected = fracture.expected_t_score(70.0, 1, registry.value("total_hip_reference_mean_g_cm2"),
                                         registry.value("total_hip_reference_sd_g_cm2"))
    state = fracture.ten_year_fracture_risk(70.0, 24.0, -1.5, 0.5, 1.0, 0.6, (0.2, 0.3), registry)
    z_form = fracture.ten_year_fracture_probability(70.0, 24.0, -1.5 - expected, 0.5, 1.0, 0.6, registry,
                                                    risk_factor_offsets=(0.2, 0.3))
    for field in ("major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct", "any_clinical_fracture_10y_pct"):
        assert float(state[field]) == pytest.approx(float(z_form[field]), rel=1e-12)


def test_any_clinical_ratio_is_the_van_geel_derivation():
    derivation = fracture.any_clinical_ratio_from_van_geel()
    assert fracture.PARAMETERS.value("any_clinical_to_osteoporotic_hazard_ratio") == pytest.approx(
        round(derivation["geometric mean"], 2), abs=1e-12)
    # the two BMD strata imply similar ratios (the BMD gradient is consistent with the cohort's)
    assert 0.8 < derivation["normal BMD"] / derivation["T < -1"] < 1.25


@pytest.mark.parametrize("stratum", list(fracture.VAN_GEEL_5Y_RISK_PCT))
def test_any_clinical_fracture_reproduces_van_geel_5_year_risk_within_its_ci(stratum):
    risk_pct, low, high = fracture.VAN_GEEL_5Y_RISK_PCT[stratum]
    emulation = fracture.VAN_GEEL_EMULATION
    expected_t = fracture.expected_t_score(emulation["age_years"], 1, bone.PARAMETERS.value("total_hip_reference_mean_g_cm2"),
                                           bone.PARAMETERS.value("total_hip_reference_sd_g_cm2"))
    z = emulation["total_hip_t_score"][stratum] - float(expected_t)
    p10 = fracture.ten_year_fracture_probability(emulation["age_years"], emulation["bmi_kg_m2"], z, 0.0, 0.0, 1.0)
    five_year_pct = 100.0 * -np.expm1(0.5 * np.log1p(-float(p10["any_clinical_fracture_10y_pct"]) / 100.0))
    assert low <= five_year_pct <= high


def test_any_clinical_ratio_respects_the_glow_site_mix():
    # GLOW (Costa 2013): hip 6% and clinical vertebral 8% of all incident fractures; QFracture's osteoporotic
    # outcome (hip, wrist, spine) includes both, so all fractures / osteoporotic fractures <= 1 / 0.14
    ratio = fracture.PARAMETERS.value("any_clinical_to_osteoporotic_hazard_ratio")
    assert 1.0 < ratio <= 1.0 / (0.06 + 0.08)


def test_any_clinical_fracture_moves_with_every_multiplier_like_the_osteoporotic_outcome():
    ctx = np.array([1.0, 0.4])
    risk = fracture.ten_year_fracture_probability(70.0, 24.0, -1.5, 0.5, 1.0, ctx)
    hr_any = fracture.hazard_ratio_from_probabilities(risk["any_clinical_fracture_10y_pct"][1],
                                                      risk["any_clinical_fracture_10y_pct"][0])
    hr_mof = fracture.hazard_ratio_from_probabilities(risk["major_osteoporotic_fracture_10y_pct"][1],
                                                      risk["major_osteoporotic_fracture_10y_pct"][0])
    assert hr_any == pytest.approx(float(hr_mof), rel=1e-9)
    assert np.all(risk["any_clinical_fracture_10y_pct"] > risk["major_osteoporotic_fracture_10y_pct"])
