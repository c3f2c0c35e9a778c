"""The gut route bounded by the human trials (issue 13): the probiotic effect is the one fitted in untreated
women (Jansson 2019, S4-045), not amplified by an aromatase inhibitor, acts for gut_intervention_effect_months
and does not accumulate after."""

from __future__ import annotations

import numpy as np
import pytest

from osteotwin import simulate_batch
from osteotwin.physiology import gut
from osteotwin.population.calibration import lifestyle as suite
from osteotwin.scenario import Scenario

PATIENT = {"age_years": 64, "years_since_menopause": 12, "lumbar_spine_t_score": -1.2, "total_hip_t_score": -0.8}
AI = [{"drug": "anastrozole", "start_month": 0, "stop_month": 60}]
SITES = ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change")


def test_probiotic_rankl_effect_does_not_depend_on_estradiol():
    """Same absolute RANKL reduction at untreated estradiol and at an AI's ~8% of it."""
    for estradiol in (1.0, 0.3, 0.08):
        effect = gut.inflammation_rankl_relative(estradiol, 0.5) - gut.inflammation_rankl_relative(estradiol, 1.0)
        assert effect == pytest.approx(-gut.PHI_TNF * 0.5)


def test_intervention_acts_only_within_its_months():
    months = np.array([0.5, 11.5, 12.5, 59.5])
    with_probiotic = gut.inflammation_rankl_relative(0.08, 0.5, months)
    without = gut.inflammation_rankl_relative(0.08, 1.0, months)
    assert np.all(with_probiotic[:2] < without[:2])
    np.testing.assert_array_equal(with_probiotic[2:], without[2:])


def _effects(blocks: dict) -> dict[str, np.ndarray]:
    """Probiotic minus no probiotic at every month, per site, for the blocks (untreated or on an AI)."""
    scenarios = [Scenario.model_validate({"patient": PATIENT, "months": 60, **blocks, **extra})
                 for extra in ({}, {"gut": {"probiotic": True}})]
    control, probiotic = simulate_batch(scenarios)
    return {site: np.asarray(getattr(probiotic, site)) - np.asarray(getattr(control, site)) for site in SITES}


@pytest.mark.parametrize("blocks", [{}, {"endocrine_therapy": AI}], ids=["untreated", "anastrozole"])
def test_probiotic_effect_stays_within_jansson_and_does_not_grow(blocks):
    """At most the upper 95% limit of Jansson's 12-month difference (1.35 pp) at any time, and the 5-year effect
    no larger than the 12-month one (no accumulation beyond the longest trial)."""
    low, high = suite._interval(suite.targets_by_id()["S4-045"]["pct_change_sd_or_ci"])
    for site, effect in _effects(blocks).items():
        assert np.all(effect <= high), site
        assert effect[60] <= effect[12] + 0.05, (site, effect[12], effect[60])
