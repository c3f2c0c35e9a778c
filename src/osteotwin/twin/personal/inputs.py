"""From an ``assess`` record (clinic/record.py) to what the personal fit needs: her DXA series per site
with its measurement error, her CTX and P1NP series (markers.py), and the Scenario blocks of her recorded
treatment.

Time runs in months from her first usable scan (the engine's month 0, the simulation start); the latest
scan is "now", month 0 of every projection (issue 15). Months are calendar months of 365.25/12 days
(twin/simulation.py).

Measurement error: the site's short-term precision as %CV from ``clinic.monitoring.dxa_changes``
(facility precision when recorded, else the published defaults ``monitoring.DEFAULT_CV_PCT``: Hologic
white paper, review of 57 studies). On the log scale a CV of c% is an SD of about c/100.
Scans on a device make other than the latest scan's are left out (g/cm2 differ across makes:
monitoring.py's module docstring), with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from osteotwin.catalog import default_years_since_menopause
from osteotwin.clinic.fracture_risk import scenario_risk_factors
from osteotwin.clinic.monitoring import dxa_changes
from osteotwin.clinic.projection import SCHEDULES
from osteotwin.clinic.record import AROMATASE_INHIBITORS, OVARIAN_SUPPRESSION, PatientRecord
from osteotwin.errors import InputError
from osteotwin.physiology import bone
from osteotwin.physiology.parameters import registry
from osteotwin.physiology.solve import DAYS_PER_MONTH
from osteotwin.twin.personal.markers import MarkerSeries, marker_series

SITES = ("lumbar_spine", "total_hip")
DENOSUMAB_INTERVAL_MONTHS = 6.0  # Prolia label: 60 mg every 6 months
ZOLEDRONIC_ACID_INTERVAL_MONTHS = 6.0  # adjuvant schedule of ABCSG-12 / AZURE as in clinic/projection.py SCHEDULES


@dataclass(frozen=True)
class SiteScans:
    """One site's usable scans: months from the first scan of the record, areal BMD and log-scale SD."""

    site: str
    dates: tuple[date, ...]
    months: np.ndarray
    bmd_g_cm2: np.ndarray
    log_sd: float
    precision_cv_pct: float
    precision_source: str
    engine_baseline_bmd_g_cm2: float  # engine-frame BMD of the site's first scan (its T-score on the engine reference)


@dataclass(frozen=True)
class PersonalInputs:
    """Everything the fit and the projections read from the record."""

    first_date: date
    latest_date: date
    latest_month: float
    age_at_first_years: float
    years_since_menopause_at_first: float
    weight_kg: float
    height_cm: float
    t_score_at_first: dict[str, float]
    sites: dict[str, SiteScans]
    history_endocrine: list[dict]
    future_endocrine: list[dict]
    past_agent_doses: dict[str, list[float]]  # drug -> dose months (< latest month)
    continuing_agents: list[dict]  # BoneAgent dicts from the latest scan on, as recorded
    on_denosumab: bool
    notes: list[str] = field(default_factory=list)
    # CTX and P1NP with two or more usable values (markers.py), fitted as her change from her first value.
    markers: dict[str, MarkerSeries] = field(default_factory=dict)
    # The record's fracture risk factors as the Scenario's block (clinic/fracture_risk.scenario_risk_factors), so
    # that the twin's fracture risk reads the same covariates as the assessment's (one path).
    risk_factors: dict | None = None

    @property
    def last_observation_month(self) -> float:
        """The month of her last scan or marker value (the fit simulates her history up to it)."""
        return max([self.latest_month, *(float(m.months[-1]) for m in self.markers.values())])

    def patient(self) -> dict:
        return {"age_years": self.age_at_first_years, "years_since_menopause": self.years_since_menopause_at_first,
                "weight_kg": self.weight_kg, "height_cm": self.height_cm,
                "lumbar_spine_t_score": self.t_score_at_first["lumbar_spine"],
                "total_hip_t_score": self.t_score_at_first["total_hip"],
                **({"risk_factors": self.risk_factors} if self.risk_factors is not None else {})}


def _month(day: date, first: date) -> float:
    return (day - first).days / DAYS_PER_MONTH


def personal_inputs(record: PatientRecord) -> PersonalInputs:
    """The fit's inputs; InputError when the record has no lumbar-spine or total-hip scan."""
    table = registry()
    notes: list[str] = []
    scans = [s for s in record.dxa if s.site in SITES and (s.bmd_g_cm2 is not None or s.t_score is not None)]
    if not scans:
        raise InputError("dxa", [f"{s.site} {s.date}" for s in record.dxa],
                         "at least one lumbar_spine or total_hip scan with bmd_g_cm2 or t_score (the personal fit needs her DXA series)")
    precision = {series.site: series for series in dxa_changes(record.dxa, record.facility_precision)}
    kept: dict[str, list] = {}
    for site in SITES:
        series = sorted((s for s in scans if s.site == site), key=lambda s: s.date)
        if not series:
            continue
        device = series[-1].device
        same = [s for s in series if s.device in (device, "unknown") or device == "unknown"]
        if len(same) < len(series):
            notes.append(f"{site}: {len(series) - len(same)} scan(s) on another device make than the latest ({device}) left out")
        kept[site] = same
    first = min(s.date for series in kept.values() for s in series)
    latest = max(s.date for series in kept.values() for s in series)
    site_scans: dict[str, SiteScans] = {}
    t_first: dict[str, float] = {}
    for index, site in enumerate(SITES):
        if site not in kept:
            continue
        series = kept[site]
        values = []
        for s in series:
            values.append(s.bmd_g_cm2 if s.bmd_g_cm2 is not None else float(bone.bmd_from_t_score(s.t_score, index, table)))
        head = series[0]
        t0 = head.t_score if head.t_score is not None else float(bone.t_score(head.bmd_g_cm2, index, table))
        t_first[site] = float(t0)
        cv = precision[site].precision_cv_pct
        site_scans[site] = SiteScans(
            site=site, dates=tuple(s.date for s in series), months=np.array([_month(s.date, first) for s in series]),
            bmd_g_cm2=np.array(values, dtype=float), log_sd=cv / 100.0, precision_cv_pct=cv,
            precision_source=precision[site].precision_source,
            engine_baseline_bmd_g_cm2=float(bone.bmd_from_t_score(t0, index, table)))
    for site in SITES:
        if site not in t_first:
            other = next(iter(t_first))
            t_first[site] = t_first[other]
            notes.append(f"{site}: no scan; the simulation starts it at the {other} T-score and its projection is the prior's")
    latest_month = _month(latest, first)
    years_between = latest_month / 12.0
    age_first = record.patient.age_years - years_between  # age_years is read as her age at the latest scan (ours)
    ysm = record.patient.years_since_menopause
    if ysm is None:
        ysm_first = default_years_since_menopause(age_first)
        notes.append("years since menopause not recorded: menopause at 51 assumed (clinic/projection.py)")
    else:
        ysm_first = max(0.0, min(ysm - years_between, age_first - 12.0))
    history_endocrine, future_endocrine = _endocrine(record, first, latest_month)
    suppression = sorted({m.drug for m in record.medications if m.drug in OVARIAN_SUPPRESSION})
    if suppression:
        notes.append(f"{', '.join(suppression)}: ovarian suppression is not in the engine; she is simulated as postmenopausal")
    past_doses, continuing, on_denosumab = _bone_agents(record, first, latest, latest_month, notes)
    markers = marker_series(record, first, notes)
    return PersonalInputs(
        first_date=first, latest_date=latest, latest_month=latest_month, age_at_first_years=age_first,
        years_since_menopause_at_first=ysm_first, weight_kg=record.patient.weight_kg, height_cm=record.patient.height_cm,
        t_score_at_first=t_first, sites=site_scans, history_endocrine=history_endocrine,
        future_endocrine=future_endocrine, past_agent_doses=past_doses, continuing_agents=continuing,
        on_denosumab=on_denosumab, notes=notes, markers=markers,
        risk_factors=scenario_risk_factors(record).model_dump(mode="json"))


def _endocrine(record: PatientRecord, first: date, latest_month: float) -> tuple[list[dict], list[dict]]:
    """AI courses as recorded (stop: stop_date, else start + planned_ai_years); the same list serves the history
    and the projection (a course is one block over the whole simulated span)."""
    courses = []
    for m in record.medications:
        if m.drug not in AROMATASE_INHIBITORS and m.drug != "tamoxifen":
            continue
        start = max(0.0, _month(m.first_date, first))
        if m.stop_date is not None:
            stop = _month(m.stop_date, first)
        elif m.drug in AROMATASE_INHIBITORS:
            stop = _month(m.first_date, first) + 12.0 * record.planned_ai_years
        else:
            stop = None
        if stop is not None and stop <= 0:
            continue
        courses.append({"drug": m.drug, "start_month": round(start, 3),
                        "stop_month": None if stop is None else round(max(stop, start), 3)})
    return courses, courses


def _bone_agents(record: PatientRecord, first: date, latest: date, latest_month: float,
                 notes: list[str]) -> tuple[dict[str, list[float]], list[dict], bool]:
    past: dict[str, list[float]] = {}
    continuing: list[dict] = []
    on_denosumab = False
    for m in record.medications:
        if m.drug not in SCHEDULES:
            continue
        if m.dates:
            months = [_month(d, first) for d in sorted(m.dates)]  # doses after her latest scan are recorded treatment too
            dropped = [mo for mo in months if mo < 0]
            if dropped:
                notes.append(f"{m.drug}: {len(dropped)} dose(s) before the first scan are not simulated")
            past.setdefault(m.drug, []).extend(round(mo, 3) for mo in months if mo >= 0)
            stopped = m.stop_date is not None and m.stop_date <= latest
            if months and not stopped:
                interval = DENOSUMAB_INTERVAL_MONTHS if m.drug == "denosumab" else ZOLEDRONIC_ACID_INTERVAL_MONTHS
                next_month = max(months[-1] + interval, latest_month)
                continuing.append({"drug": m.drug, **SCHEDULES[m.drug], "start_month": round(next_month, 3)})
                on_denosumab = on_denosumab or m.drug == "denosumab"
        else:
            start = max(0.0, _month(m.first_date, first))
            stop = None if m.stop_date is None else _month(m.stop_date, first)
            if stop is not None and stop <= 0:
                continue
            block = {"drug": m.drug, **SCHEDULES[m.drug], "start_month": round(start, 3)}
            if stop is not None:
                block["stop_month"] = round(stop, 3)
            continuing.append(block)
            on_denosumab = on_denosumab or (m.drug == "denosumab" and (stop is None or stop > latest_month))
    return past, continuing, on_denosumab


__all__ = ["PersonalInputs", "SiteScans", "personal_inputs"]
