"""Properties over many valid scenarios (hypothesis; small example counts to stay fast)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osteotwin import simulate
from osteotwin.physiology import engine, estrogen

ENDOCRINE = st.sampled_from(["anastrozole", "letrozole", "exemestane", "tamoxifen", "none"])
AGENT = st.sampled_from(["denosumab", "zoledronic_acid", "alendronate", "risedronate", "ibandronate"])


@st.composite
def scenarios(draw):
    age = draw(st.floats(40, 95))
    patient = {
        "age_years": age,
        "years_since_menopause": draw(st.floats(0, min(40.0, age - 12))),
        "lumbar_spine_t_score": draw(st.floats(-4.5, 2.0)),
        "total_hip_t_score": draw(st.floats(-4.5, 2.0)),
    }
    months = draw(st.integers(1, 120))
    start = draw(st.floats(0, months))
    scenario = {"patient": patient, "months": months,
                "endocrine_therapy": [{"drug": draw(ENDOCRINE), "start_month": start,
                                       "stop_month": draw(st.floats(start, 600)), "adherence": draw(st.floats(0, 1))}]}
    if draw(st.booleans()):
        drug = draw(AGENT)
        if draw(st.booleans()):
            scenario["bone_agents"] = [{"drug": drug, "doses": [{"month": draw(st.floats(0, months)), "dose_mg": draw(st.floats(1, 60))}]}]
        else:
            scenario["bone_agents"] = [{"drug": drug, "every_months": draw(st.floats(0.25, 12)), "start_month": draw(st.floats(0, months))}]
    return scenario


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_bmd_stays_positive_and_finite(scenario):
    trajectory = simulate(scenario)
    for field in ("lumbar_spine_bmd_g_cm2", "total_hip_bmd_g_cm2", "ctx_pct_change", "p1np_pct_change"):
        values = np.asarray(getattr(trajectory, field))
        assert np.all(np.isfinite(values)), field
    assert min(trajectory.lumbar_spine_bmd_g_cm2) > 0 and min(trajectory.total_hip_bmd_g_cm2) > 0


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["anastrozole", "letrozole", "exemestane"]), st.floats(0, 1), st.floats(0, 1),
       st.floats(45, 85), st.integers(6, 84))
def test_more_adherence_never_gives_less_loss(drug, adherence_a, adherence_b, age, months):
    low, high = sorted((adherence_a, adherence_b))
    arrays = engine.untreated_arrays(2, months, age_years=age, years_since_menopause=min(15.0, age - 45))
    arrays.endocrine_code[:] = estrogen.ENDOCRINE_DRUG_CODES[drug]
    arrays.adherence[:, 0] = low
    arrays.adherence[:, 1] = high
    out = engine.run(arrays)
    for site in ("lumbar_spine", "total_hip"):
        bmd = out[f"{site}_bmd_relative"]
        assert np.all(bmd[1] <= bmd[0] + 1e-12)
