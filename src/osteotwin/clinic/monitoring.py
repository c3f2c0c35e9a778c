"""DXA monitoring: is the change since the last scan real?

Per site, the series of scans is compared scan to scan and against the first scan. A change is
real (at 95% confidence) when its size reaches the least significant change, LSC = 2.77 x precision
error (ISCD [V]). Precision comes from the facility (``facility_precision``) or, failing that, from
typical published short-term precision (Hologic white paper, review of 57 studies [V]), which the
output labels as a default. Scans from different device makes are not compared: their g/cm2 differ
systematically (J Clin Densitom 2003; Eur J Radiol 2007 [V]).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Literal

from pydantic import BaseModel

from osteotwin.clinic.record import DxaMeasurement, SitePrecision

#: LSC multiplier for 95% confidence (ISCD precision calculator [V]).
LSC_FACTOR = 2.77
#: Typical short-term precision, %CV, by site and make (Hologic white paper [V]). Total hip "about 1.3%"
#: across makes; for makes not in the review we use the larger (GE Lunar) value: ours.
DEFAULT_CV_PCT: dict[str, dict[str, float]] = {
    "lumbar_spine": {"hologic": 1.08, "ge_lunar": 1.22},
    "femoral_neck": {"hologic": 1.50, "ge_lunar": 1.97},
    "total_hip": {"hologic": 1.3, "ge_lunar": 1.3},
}
#: Shortest interval over which a change is annualised (ours: shorter intervals mostly annualise noise).
MIN_YEARS_FOR_ANNUAL_RATE = 0.75
DAYS_PER_YEAR = 365.25


class Change(BaseModel):
    """A change between two scans at one site."""

    from_date: date
    to_date: date
    years: float
    change_g_cm2: float
    change_pct: float
    annualised_pct_per_year: float | None
    lsc_g_cm2: float
    lsc_pct: float
    is_significant: bool | None
    comparable: bool
    note: str | None = None


class SiteSeries(BaseModel):
    """The series at one site, with changes scan-to-scan and since the first scan."""

    site: str
    dates: list[date]
    bmd_g_cm2: list[float | None]
    t_scores: list[float | None]
    devices: list[str]
    precision_source: Literal["facility", "default"]
    precision_cv_pct: float
    changes_since_previous: list[Change]
    change_since_first: Change | None
    latest_is_significant_loss: bool
    annual_loss_pct_per_year: float | None


def _cv_pct(site: str, device: str, bmd: float, facility: Mapping[str, SitePrecision]) -> tuple[float, str]:
    precision = facility.get(site)
    if precision is not None:
        if precision.rms_sd_g_cm2 is not None:
            return 100.0 * precision.rms_sd_g_cm2 / bmd, "facility"
        assert precision.cv_pct is not None
        return precision.cv_pct, "facility"
    by_make = DEFAULT_CV_PCT[site]
    return by_make.get(device, max(by_make.values())), "default"


def _change(
    first: DxaMeasurement, second: DxaMeasurement, cv_pct: float
) -> Change | None:
    if first.bmd_g_cm2 is None or second.bmd_g_cm2 is None:
        return None
    years = (second.date - first.date).days / DAYS_PER_YEAR
    delta = second.bmd_g_cm2 - first.bmd_g_cm2
    pct = 100.0 * delta / first.bmd_g_cm2
    lsc_pct = LSC_FACTOR * cv_pct
    lsc_g = lsc_pct / 100.0 * first.bmd_g_cm2
    comparable = first.device == second.device or "unknown" in (first.device, second.device)
    note = None
    if not comparable:
        note = f"device changed ({first.device} -> {second.device}): g/cm2 not comparable across makes"
    elif "unknown" in (first.device, second.device):
        note = "device make unknown for one scan: comparison assumes the same scanner"
    annual = pct / years if years >= MIN_YEARS_FOR_ANNUAL_RATE else None
    return Change(
        from_date=first.date, to_date=second.date, years=round(years, 3),
        change_g_cm2=round(delta, 4), change_pct=round(pct, 2),
        annualised_pct_per_year=None if annual is None else round(annual, 2),
        lsc_g_cm2=round(lsc_g, 4), lsc_pct=round(lsc_pct, 2),
        is_significant=(abs(delta) >= lsc_g) if comparable else None,
        comparable=comparable, note=note,
    )


def dxa_changes(
    dxa: Iterable[DxaMeasurement | dict],
    facility_precision: Mapping[str, SitePrecision | dict] | None = None,
) -> list[SiteSeries]:
    """Per-site DXA series with LSC, annualised change and whether each change is real."""
    scans = [item if isinstance(item, DxaMeasurement) else DxaMeasurement.model_validate(item) for item in dxa]
    facility = {
        site: p if isinstance(p, SitePrecision) else SitePrecision.model_validate(p)
        for site, p in (facility_precision or {}).items()
    }
    result: list[SiteSeries] = []
    for site in ("lumbar_spine", "total_hip", "femoral_neck"):
        series = sorted((s for s in scans if s.site == site), key=lambda s: s.date)
        if not series:
            continue
        with_bmd = [s for s in series if s.bmd_g_cm2 is not None]
        reference = with_bmd[0] if with_bmd else series[0]
        cv_pct, precision_source = _cv_pct(site, reference.device, reference.bmd_g_cm2 or 1.0, facility)
        steps = [c for a, b in zip(with_bmd, with_bmd[1:], strict=False) if (c := _change(a, b, cv_pct))]
        since_first = _change(with_bmd[0], with_bmd[-1], cv_pct) if len(with_bmd) >= 2 else None
        latest = steps[-1] if steps else None
        latest_loss = bool(latest and latest.is_significant and latest.change_g_cm2 < 0)
        annual_loss = None
        # Annual loss: the first scan on the latest scan's device to the latest scan, if long enough.
        if with_bmd:
            last = with_bmd[-1]
            same_device = [s for s in with_bmd if s.device == last.device]
            if len(same_device) >= 2:
                long_change = _change(same_device[0], last, cv_pct)
                if long_change and long_change.annualised_pct_per_year is not None:
                    annual_loss = round(-long_change.annualised_pct_per_year, 2)
        result.append(SiteSeries(
            site=site, dates=[s.date for s in series], bmd_g_cm2=[s.bmd_g_cm2 for s in series],
            t_scores=[s.t_score for s in series], devices=[s.device for s in series],
            precision_source=precision_source, precision_cv_pct=round(cv_pct, 3),
            changes_since_previous=steps, change_since_first=since_first,
            latest_is_significant_loss=latest_loss, annual_loss_pct_per_year=annual_loss,
        ))
    return result
