"""``fit_record``: her personal twin from an ``assess`` record (clinic/record.py), the result behind
``osteotwin fit`` (commands/fit.py): fitted parameters (fit.py; prior.py, markers.py), projections per regimen
(projections.py), expected-against-observed scan checks and her markers against the fitted twin
(scan_checks.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from osteotwin.clinic.record import PatientRecord
from osteotwin.twin.personal.fit import FITTED_PARAMETERS, SITE_PARAMETER, Posterior, fit_posterior
from osteotwin.twin.personal.inputs import SITES, PersonalInputs, personal_inputs
from osteotwin.twin.personal.markers import MARKER_LABEL
from osteotwin.twin.personal.prior import TransformedGaussianPrior, default_prior
from osteotwin.twin.personal.projections import project
from osteotwin.twin.personal.scan_checks import MarkerCheck, ScanCheck, marker_checks, scan_checks

#: Parameter sets drawn from the posterior for projections and scan checks (issue 15: "e.g. 200").
DEFAULT_SAMPLES = 200
DEFAULT_MONTHS = 60
SITE_LABEL = {"lumbar_spine": "lumbar spine", "total_hip": "total hip"}


@dataclass
class PersonalTwin:
    inputs: PersonalInputs
    posterior: Posterior
    fitted: dict[str, dict[str, float]]
    projections: dict[str, dict]
    crossing: dict[str, dict[str, float]]
    scan_checks: list[ScanCheck]
    notes: list[str] = field(default_factory=list)
    marker_checks: list[MarkerCheck] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {"fitted": self.fitted, "projections": self.projections,
                "scan_checks": [c.as_json() for c in self.scan_checks],
                "marker_checks": [c.as_json() for c in self.marker_checks], "notes": self.notes,
                "month_0_date": self.inputs.latest_date.isoformat(), "first_scan_date": self.inputs.first_date.isoformat(),
                "method": "MAP + Laplace in logit space of the fitted parameters (osteotwin.twin.personal.fit); "
                          "percentiles over posterior draws"}

    def text(self) -> str:
        p = self.projections["continue"]
        last = len(p["months"]) - 1
        lines = [f"osteotwin fit: personal twin from {self.inputs.first_date} to {self.inputs.latest_date} "
                 f"(month 0 = latest scan); {len(self.posterior.prior.names)} parameters; fit in {self.seconds:.1f} s"]
        lines += [f"note: {n}" for n in self.notes]
        for name, q in self.fitted.items():
            lines.append(f"  {name}: median {q['median']:.3f} (80% {q['p10']:.3f}-{q['p90']:.3f})")
        for check in self.scan_checks:
            verdict = check.sentence or "as expected"
            lines.append(f"  scan {check.date} {SITE_LABEL[check.site]}: {check.observed_bmd_g_cm2:.3f} g/cm2, expected "
                         f"{check.expected_p50:.3f} (80% {check.expected_p10:.3f}-{check.expected_p90:.3f}): {verdict}")
        for m in self.marker_checks:
            lines.append(f"  {MARKER_LABEL[m.test]} {m.date}: {m.observed_pct_change:+.0f}% from her first value; fitted twin "
                         f"{m.expected_p50:+.0f}% (80% {m.expected_p10:+.0f} to {m.expected_p90:+.0f})"
                         + (": outside" if m.outside else ""))
        lines.append(f"  at month {last} (median, 80% range); P(T < -2.5 within 5 y):")
        for name, proj in self.projections.items():
            parts = []
            for site in SITES:
                b = proj[f"{site}_bmd_pct_change"]
                parts.append(f"{SITE_LABEL[site]} {b['p50'][last]:+.1f}% ({b['p10'][last]:+.1f} to {b['p90'][last]:+.1f}), "
                             f"P {self.crossing[name][site]:.2f}")
            f = proj["osteoporotic_fracture_10y_pct"]
            parts.append(f"MOF 10y {f['p50'][last]:.1f}% ({f['p10'][last]:.1f}-{f['p90'][last]:.1f})")
            lines.append(f"  {name:16s} " + "; ".join(parts))
        return "\n".join(lines)


def latest_t_scores(inputs: PersonalInputs, record: PatientRecord) -> dict[str, float]:
    """Her latest reported T-score per site (the first scan's when none is reported): chooses the exercise plan."""
    latest: dict[str, float] = {}
    for site in SITES:
        scans = sorted((s for s in record.dxa if s.site == site and s.t_score is not None), key=lambda s: s.date)
        latest[site] = scans[-1].t_score if scans else inputs.t_score_at_first[site]
    return latest


def fit_record(record: PatientRecord | dict, months: int = DEFAULT_MONTHS, samples: int = DEFAULT_SAMPLES,
               prior: TransformedGaussianPrior | None = None, seed: int = 0) -> PersonalTwin:
    """Fit, project and check one record. InputError when it has no lumbar-spine or total-hip scan."""
    started = time.perf_counter()
    if not isinstance(record, PatientRecord):
        record = PatientRecord.model_validate(record)
    rng = np.random.default_rng(seed)
    prior = prior or default_prior(FITTED_PARAMETERS)
    inputs = personal_inputs(record)
    posterior = fit_posterior(inputs, prior)
    notes = list(inputs.notes)
    fitted_markers = [MARKER_LABEL[t] for t, n in posterior.markers_used.items() if n >= 2]
    for site in SITES:
        if posterior.scans_used.get(site, 0) < 2:
            source = (f"is learned from her {' and '.join(fitted_markers)} and the prior only" if fitted_markers
                      else "falls back to the prior")
            notes.append(f"{site}: one scan or none, so {SITE_PARAMETER[site]} {source} "
                         "(a follow-up scan is needed to learn her own rate)")
    notes.append(prior.description)
    projections, crossing = project(inputs, posterior, months, samples, rng, latest_t_scores(inputs, record))
    checks = scan_checks(inputs, prior, samples, rng)
    markers = marker_checks(inputs, posterior, samples, rng)
    return PersonalTwin(inputs, posterior, posterior.summary(rng), projections, crossing, checks, notes, markers,
                        time.perf_counter() - started)


__all__ = ["DEFAULT_MONTHS", "DEFAULT_SAMPLES", "PersonalTwin", "fit_record", "latest_t_scores"]
