"""QFracture-2009 against the 2009 code's test vectors; the assessment's risk is the engine's one path; Garvan; FRAX."""

from __future__ import annotations

import math
from datetime import date

import pytest

from osteotwin.clinic.fracture_risk import assess_fracture_risk, garvan_points, garvan_risk_text
from osteotwin.clinic.record import PatientRecord
from osteotwin.physiology.qfracture import alcohol_category, smoking_category
from osteotwin.physiology.qfracture import published_risk_pct as qfracture_2009

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(
    ("age", "bmi", "flags", "osteoporotic", "hip"),
    [
        (65, 25, {}, 4.29, 1.14),
        (65, 25, {"falls": True}, 7.67, 2.30),
        (75, 22, {}, 9.59, 4.98),
        (75, 22, {"falls": True, "family_history_osteoporosis": True}, 27.9, 10.4),
    ],
)
def test_qfracture_2009_matches_research_vectors(age, bmi, flags, osteoporotic, hip) -> None:
    op, hp = qfracture_2009(age, bmi, flags=flags)
    assert op == pytest.approx(osteoporotic, abs=0.01 if osteoporotic < 10 else 0.05)
    assert hp == pytest.approx(hip, abs=0.01 if hip < 10 else 0.05)


def test_qfracture_risk_rises_with_age_and_time() -> None:
    assert qfracture_2009(60, 25)[0] < qfracture_2009(70, 25)[0] < qfracture_2009(80, 25)[0]
    assert qfracture_2009(70, 25, years=1)[1] < qfracture_2009(70, 25, years=5)[1] < qfracture_2009(70, 25)[1]


def test_categories() -> None:
    assert smoking_category(False, False, None) == 0
    assert smoking_category(False, True, None) == 1
    assert smoking_category(True, False, 5) == 2
    assert smoking_category(True, False, 25) == 4
    assert [alcohol_category(u) for u in (0, 0.5, 2, 4, 8, 12)] == [0, 1, 2, 3, 4, 5]


def test_garvan_worked_example() -> None:
    points = garvan_points(65, -2.5, 1, 0)
    assert points == pytest.approx(87)
    five, ten = garvan_risk_text(points)
    assert five == "16.1%" and ten == "30.5%"
    assert garvan_risk_text(10)[1] == "< 5%"


def _record(**extra) -> PatientRecord:
    base = {"patient": {"age_years": 68, "weight_kg": 62, "height_cm": 160},
            "medications": [{"drug": "letrozole", "start_date": "2025-03-01"}]}
    return PatientRecord.model_validate({**base, **extra})


def test_headline_risk_has_bmd_and_ai_and_the_published_qfracture_is_the_reference() -> None:
    low = assess_fracture_risk(_record(dxa=[{"date": "2026-01-10", "site": "total_hip", "t_score": -2.6}]), TODAY)
    high = assess_fracture_risk(_record(dxa=[{"date": "2026-01-10", "site": "total_hip", "t_score": 0.5}]), TODAY)
    assert low.has_bmd_input and low.ten_year_hip_fracture_pct > high.ten_year_hip_fracture_pct
    published_low, published_high = low.estimates[0], high.estimates[0]
    assert not published_low.our_extension
    assert published_low.hip_fracture_10y_pct == published_high.hip_fracture_10y_pct  # QFracture has no BMD input
    # total hip T 3.1 SD apart: the hazard ratio is the Johnell 2005 gradient 2.88 ** 3.1
    h_low = -math.log(1 - low.ten_year_hip_fracture_pct / 100)
    h_high = -math.log(1 - high.ten_year_hip_fracture_pct / 100)
    # the percentages are rounded to 0.01: the ratio is known to the two roundings' relative errors
    rounding = 0.005 / low.ten_year_hip_fracture_pct + 0.005 / high.ten_year_hip_fracture_pct
    assert h_low / h_high == pytest.approx(2.88 ** 3.1, rel=rounding)
    headline = low.estimates[-1]
    assert headline.our_extension and "AI (on)" in headline.label
    assert headline.hip_fracture_10y_pct == low.ten_year_hip_fracture_pct
    assert any("not built" in c or "No model" in c for c in low.caveats)


def test_garvan_from_the_femoral_neck_and_femoral_neck_stands_in_for_the_hip() -> None:
    low = assess_fracture_risk(_record(dxa=[{"date": "2026-01-10", "site": "femoral_neck", "t_score": -2.6,
                                             "z_score": -1.5}]), TODAY)
    assert low.has_bmd_input and any("femoral-neck T-score stands in" in c for c in low.caveats)
    assert low.garvan is not None and low.garvan.points == pytest.approx(0.8 * 68 - 44 + 26 + 40)


def test_no_ai_no_multiplier_and_frax_thresholds() -> None:
    record = PatientRecord.model_validate({
        "patient": {"age_years": 70, "weight_kg": 60, "height_cm": 160},
        "frax": {"major_osteoporotic_10y_pct": 19.9, "hip_10y_pct": 3.0, "country": "UK"},
    })
    risk = assess_fracture_risk(record, TODAY)
    assert "AI (off)" in risk.estimates[-1].label and not risk.has_bmd_input
    assert risk.frax is not None and risk.frax.over_us_threshold
    assert any("UK model" in c for c in risk.frax.caveats)
    below = PatientRecord.model_validate({**record.model_dump(mode="json"),
                                          "frax": {"major_osteoporotic_10y_pct": 19.9, "hip_10y_pct": 2.9}})
    assert not assess_fracture_risk(below, TODAY).frax.over_us_threshold


def test_out_of_range_age_is_clamped_and_said() -> None:
    record = PatientRecord.model_validate({"patient": {"age_years": 90, "weight_kg": 60, "height_cm": 160}})
    risk = assess_fracture_risk(record, TODAY)
    assert any("outside QFracture-2009's range" in c for c in risk.caveats)
    assert risk.estimates[0].hip_fracture_10y_pct == pytest.approx(qfracture_2009(84, 60 / 1.6 ** 2)[1], abs=0.01)
