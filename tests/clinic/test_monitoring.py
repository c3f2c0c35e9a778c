"""DXA monitoring: LSC from facility precision or defaults, annualised change, device changes."""

from __future__ import annotations

import pytest

from osteotwin.clinic.monitoring import dxa_changes


def scan(day, site, bmd, device="hologic"):
    return {"date": day, "site": site, "bmd_g_cm2": bmd, "device": device}


def test_default_lsc_and_real_change() -> None:
    series = dxa_changes([scan("2024-01-01", "lumbar_spine", 1.000), scan("2025-01-01", "lumbar_spine", 0.960),
                          scan("2026-01-01", "lumbar_spine", 0.950)])
    (spine,) = series
    assert spine.precision_source == "default" and spine.precision_cv_pct == pytest.approx(1.08)
    first, second = spine.changes_since_previous
    assert first.lsc_pct == pytest.approx(2.77 * 1.08, abs=0.01)
    assert first.is_significant is True and first.change_pct == pytest.approx(-4.0)
    assert second.is_significant is False  # -0.010 g/cm2 < LSC 0.0299
    assert spine.latest_is_significant_loss is False
    assert spine.change_since_first.change_pct == pytest.approx(-5.0)
    assert spine.annual_loss_pct_per_year == pytest.approx(2.5, abs=0.01)


def test_facility_precision_in_g_cm2_and_cv() -> None:
    scans = [scan("2025-06-01", "total_hip", 0.900), scan("2026-01-01", "total_hip", 0.880)]
    default = dxa_changes(scans)[0].changes_since_previous[0]
    facility = dxa_changes(scans, {"total_hip": {"rms_sd_g_cm2": 0.006}})[0].changes_since_previous[0]
    assert default.is_significant is False  # LSC 2.77 x 1.3% x 0.9 = 0.0324
    assert facility.lsc_g_cm2 == pytest.approx(2.77 * 0.006, abs=1e-4)
    assert facility.is_significant is True
    cv = dxa_changes(scans, {"total_hip": {"cv_pct": 0.5}})[0]
    assert cv.precision_source == "facility" and cv.changes_since_previous[0].is_significant is True
    assert default.annualised_pct_per_year is None  # under 9 months: not annualised


def test_device_change_is_not_compared() -> None:
    (hip,) = dxa_changes([scan("2024-01-01", "total_hip", 0.900), scan("2025-01-01", "total_hip", 0.800, "ge_lunar")])
    change = hip.changes_since_previous[0]
    assert change.comparable is False and change.is_significant is None and "device changed" in change.note
    assert hip.annual_loss_pct_per_year is None


def test_lunar_default_precision_and_sites_sorted() -> None:
    result = dxa_changes([scan("2025-01-01", "femoral_neck", 0.7, "ge_lunar"), scan("2024-01-01", "lumbar_spine", 1.0),
                          scan("2026-01-01", "femoral_neck", 0.68, "ge_lunar")])
    assert [s.site for s in result] == ["lumbar_spine", "femoral_neck"]
    assert result[1].precision_cv_pct == pytest.approx(1.97)
