"""A batch gives exactly what each scenario gives alone."""

from __future__ import annotations

import numpy as np

from osteotwin import simulate, simulate_batch

SCENARIOS = [
    {"patient": {"age_years": 64, "years_since_menopause": 12}, "months": 24,
     "endocrine_therapy": [{"drug": "anastrozole", "adherence": 0.8}]},
    {"patient": {"age_years": 58, "years_since_menopause": 6, "lumbar_spine_t_score": -2.0}, "months": 36,
     "endocrine_therapy": [{"drug": "letrozole", "stop_month": 24}],
     "bone_agents": [{"drug": "denosumab", "dose_mg": 60, "every_months": 6}]},
    {"patient": {"age_years": 70, "years_since_menopause": 20}, "months": 12,
     "bone_agents": [{"drug": "alendronate", "every_days": 7}]},
]


def test_batch_equals_single():
    batch = simulate_batch(SCENARIOS)
    for scenario, together in zip(SCENARIOS, batch, strict=True):
        alone = simulate(scenario)
        assert alone.months == together.months
        for field in ("lumbar_spine_bmd_g_cm2", "total_hip_bmd_pct_change", "ctx_pct_change", "estradiol_pg_ml"):
            np.testing.assert_allclose(getattr(together, field), getattr(alone, field), rtol=0, atol=1e-9)


def test_each_trajectory_has_its_own_horizon():
    batch = simulate_batch(SCENARIOS)
    assert [len(t.months) for t in batch] == [25, 37, 13]
