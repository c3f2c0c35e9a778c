"""Expected against observed (issue 15, item 3): for each scan after the first, what the twin expected
before it, fitted to the earlier scans (and markers) only, and whether the scan falls outside that expectation;
and each later CTX or P1NP value against the twin fitted to all her data (``marker_checks``).

The expected measurement is posterior predictive: parameter sets from the posterior of the earlier
scans and markers (fit.py, through its node emulator), her true baseline given those scans (fit.baseline_log_bmd), and the device's measurement
error (the precision of inputs.py / monitoring.py); its median and 80% range (10th-90th percentiles) are
reported, and the scan is ``outside`` when it lies beyond that range. A scan at a site with no earlier scan
at that site has no expectation in g/cm2 and is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from osteotwin.twin.personal.fit import (
    SITE_PARAMETER,
    Posterior,
    baseline_log_bmd,
    emulate,
    emulator_nodes,
    fit_posterior,
    history_months,
    history_scenario,
    posterior_draws,
    relative_at,
    simulated_markers,
)
from osteotwin.twin.personal.inputs import PersonalInputs
from osteotwin.twin.personal.prior import TransformedGaussianPrior
from osteotwin.twin.simulation import simulate_batch

LOWER_PERCENTILE, UPPER_PERCENTILE = 10, 90  # the 80% range
FASTER_LOSS = "faster loss than expected: check adherence (AI and calcium/vitamin D, bone agent doses) and secondary causes (vitamin D deficiency, hyperparathyroidism, thyroid excess, glucocorticoids, malabsorption)"
SLOWER_LOSS = "less loss than expected: check the scan (same device and positioning, spinal degenerative change or fracture raising lumbar BMD) before reading it as a better response"


@dataclass(frozen=True)
class ScanCheck:
    date: date
    site: str
    observed_bmd_g_cm2: float
    expected_p50: float
    expected_p10: float
    expected_p90: float
    outside: bool
    earlier_scans: int
    sentence: str | None

    def as_json(self) -> dict:
        return {"date": self.date.isoformat(), "site": self.site, "observed_bmd_g_cm2": round(self.observed_bmd_g_cm2, 4),
                "expected_p50": round(self.expected_p50, 4), "expected_p10": round(self.expected_p10, 4),
                "expected_p90": round(self.expected_p90, 4), "outside": self.outside,
                "earlier_scans": self.earlier_scans, "sentence": self.sentence}


def predictive_samples(inputs: PersonalInputs, prior: TransformedGaussianPrior, before: date, samples: int,
                       rng: np.random.Generator, noise: bool = True) -> dict[str, np.ndarray]:
    """Predicted measurements (samples, scans) per site, every scan of the site, from the scans before ``before``."""
    posterior = fit_posterior(inputs, prior, before)
    nodes = prior.overrides(emulator_nodes(posterior))
    batch = simulate_batch([history_scenario(inputs, history_months(inputs), p) for p in nodes])
    at_nodes = {site: relative_at(batch.series(f"{site}_bmd_pct_change"), scans.months) for site, scans in inputs.sites.items()}
    z = posterior_draws(inputs, posterior, at_nodes, samples, rng, before)
    out: dict[str, np.ndarray] = {}
    for site, scans in inputs.sites.items():
        relative = emulate(at_nodes[site], posterior, z, SITE_PARAMETER[site])
        log_b = baseline_log_bmd(inputs, site, relative, before, rng)
        if log_b is None:
            continue
        log_y = log_b[:, None] + np.log(relative)
        if noise:
            log_y = log_y + rng.standard_normal(log_y.shape) * scans.log_sd
        out[site] = np.exp(log_y)
    return out


def scan_checks(inputs: PersonalInputs, prior: TransformedGaussianPrior, samples: int,
                rng: np.random.Generator) -> list[ScanCheck]:
    first = inputs.first_date
    dates = sorted({d for scans in inputs.sites.values() for d in scans.dates if d > first})
    checks: list[ScanCheck] = []
    for when in dates:
        predicted = predictive_samples(inputs, prior, when, samples, rng)
        for site, scans in inputs.sites.items():
            if when not in scans.dates or site not in predicted:
                continue
            j = scans.dates.index(when)
            earlier = sum(d < when for d in scans.dates)
            if earlier == 0:
                continue
            p10, p50, p90 = np.percentile(predicted[site][:, j], (LOWER_PERCENTILE, 50, UPPER_PERCENTILE))
            observed = float(scans.bmd_g_cm2[j])
            sentence = FASTER_LOSS if observed < p10 else SLOWER_LOSS if observed > p90 else None
            checks.append(ScanCheck(when, site, observed, float(p50), float(p10), float(p90), sentence is not None,
                                    earlier, sentence))
    return checks


@dataclass(frozen=True)
class MarkerCheck:
    """A marker value against the fitted twin: her % change from her first value and the twin's (median, 80%)."""

    date: date
    test: str
    observed_pct_change: float
    expected_p50: float
    expected_p10: float
    expected_p90: float
    outside: bool

    def as_json(self) -> dict:
        return {"date": self.date.isoformat(), "test": self.test,
                "observed_pct_change_from_first": round(self.observed_pct_change, 1),
                "expected_p50": round(self.expected_p50, 1), "expected_p10": round(self.expected_p10, 1),
                "expected_p90": round(self.expected_p90, 1), "outside": self.outside}


def marker_checks(inputs: PersonalInputs, posterior: Posterior, samples: int, rng: np.random.Generator) -> list[MarkerCheck]:
    """Each fitted marker's later values as % change from her first value, against the twin fitted to all her data
    (Laplace draws simulated directly, with the marker's within-subject variability on both values): this shows how
    well the fit reproduces her markers, it is not a prediction made before the value."""
    if not inputs.markers:
        return []
    z = posterior.sample_z(samples, rng)
    relative = simulated_markers(inputs, posterior.prior, z)
    checks: list[MarkerCheck] = []
    for test, marker in inputs.markers.items():
        r = relative[test]
        noise = rng.standard_normal(r.shape) * marker.log_sd
        predicted = 100.0 * (np.exp(np.log(r / r[:, :1]) + noise - noise[:, :1]) - 1.0)
        for k in range(1, len(marker.dates)):
            p10, p50, p90 = np.percentile(predicted[:, k], (LOWER_PERCENTILE, 50, UPPER_PERCENTILE))
            observed = 100.0 * (marker.values[k] / marker.values[0] - 1.0)
            checks.append(MarkerCheck(marker.dates[k], test, float(observed), float(p50), float(p10), float(p90),
                                      not p10 <= observed <= p90))
    return checks


__all__ = ["FASTER_LOSS", "SLOWER_LOSS", "MarkerCheck", "ScanCheck", "marker_checks", "predictive_samples", "scan_checks"]
