"""Invariants over generated records: the evaluator never crashes on valid input, classifies by the
lowest T-score, treats at T <= -2.5 (ASCO, BHOF), and never emits a line without a source."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from osteotwin.clinic import assess

TODAY = date(2026, 3, 1)
t_scores = st.floats(min_value=-5, max_value=3, allow_nan=False).map(lambda x: round(x, 1))


@st.composite
def records(draw):
    sites = draw(st.lists(st.sampled_from(["lumbar_spine", "total_hip", "femoral_neck"]), unique=True, max_size=3))
    dxa = [{"date": "2026-01-10", "site": s, "t_score": draw(t_scores), "device": "hologic"} for s in sites]
    meds = []
    if draw(st.booleans()):
        meds.append({"drug": draw(st.sampled_from(["anastrozole", "letrozole", "exemestane"])), "start_date": "2025-01-01"})
    if draw(st.booleans()):
        meds.append({"drug": "denosumab", "dose_mg": 60,
                     "dates": [draw(st.sampled_from(["2024-06-01", "2025-06-01", "2026-01-01"]))]})
    labs = []
    if draw(st.booleans()):
        labs.append({"date": "2026-02-01", "test": "creatinine_clearance",
                     "value": draw(st.integers(10, 120)), "unit": "mL/min"})
    if draw(st.booleans()):
        labs.append({"date": "2026-02-01", "test": "vitamin_d_25_oh", "value": draw(st.integers(5, 60)), "unit": "ng/mL"})
    fracture = draw(st.booleans())
    return {
        "patient": {"age_years": draw(st.integers(50, 90)), "weight_kg": draw(st.integers(40, 110)), "height_cm": 160},
        "risk_factors": {"current_smoker": draw(st.booleans()), "prior_fragility_fracture": fracture,
                         "family_history_hip_fracture": draw(st.booleans()),
                         "oral_glucocorticoid_months": draw(st.sampled_from([0, 3, 12])),
                         "falls_last_12_months": draw(st.integers(0, 3))},
        "cancer": {"adjuvant_systemic_therapy_candidate": draw(st.booleans()),
                   "recurrence_risk": draw(st.sampled_from([None, "low", "high"]))},
        "dxa": dxa, "labs": labs, "medications": meds,
    }


@settings(max_examples=60, deadline=None)
@given(records())
def test_invariants(record) -> None:
    a = assess(record, today=TODAY, project=False)
    t = [d["t_score"] for d in record["dxa"]]
    if t:
        lowest = min(t)
        expected = "osteoporosis" if lowest <= -2.5 else "low_bone_mass" if lowest < -1.0 else "normal"
        assert a.who_category == expected
        if lowest <= -2.5:
            assert a.bone_agent_indicated and "asco2019_t_le_minus_2_5" in a.because
    else:
        assert a.who_category == "unknown" and a.next_dxa_months in (0, None)
    if record["risk_factors"]["prior_fragility_fracture"]:
        assert "aus2019_fragility_fracture" in a.because
    assert a.bone_agent_indicated == bool(a.because)
    for rec in a.recommendations:
        assert rec.source and rec.strength and rec.citation
    for alert in a.alerts:
        assert alert.source
    crcl = [lab["value"] for lab in record["labs"] if lab["test"] == "creatinine_clearance"]
    alert_ids = {x.id for x in a.alerts}
    if crcl and crcl[0] >= 35:
        assert "renal_contraindication_bisphosphonate" not in alert_ids
    if crcl and crcl[0] < 35 and a.bone_agent_indicated:
        assert "renal_contraindication_bisphosphonate" in alert_ids
