"""Coverage study of the personal fit (issue 15, item 5; scripts/personal_twin_validation.py writes
docs/personal_twin.md from it).

Virtual patients: parameters drawn from the population the prior stands for: for the population prior
(prior.py ``population_prior``) the virtual population's own between-patient distribution (population/virtual.py
``Variability.sample``: the clipped log-normal, not its logit-normal match, so the study also tests the match),
for the calibration prior that prior itself; a calibrated fit covers the truth at the nominal rate. Scans at 0,
12 and 24 months simulated by the engine with the Hologic precision (virtual.py). Per patient and site:
- next scan: fitted to the scans at 0 and 12 months, is the 24-month scan inside the 80% and 95%
  posterior-predictive intervals (scan_checks.predictive_samples, measurement error included)?
- 5-year BMD: fitted to all three scans, is her true (noise-free) % change over the 5 years after the
  latest scan inside the 80% and 95% intervals of the ``continue`` projection (projections.project)?
- narrowing: the 80% widths of each fitted parameter and of that 5-year change, fitted to one, two and three
  scans of the same woman.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from osteotwin.clinic.record import PatientRecord
from osteotwin.population.virtual import FITTED_VARIABILITY
from osteotwin.twin.personal.fit import FITTED_PARAMETERS, fit_posterior
from osteotwin.twin.personal.inputs import SITES, personal_inputs
from osteotwin.twin.personal.prior import POPULATION_SOURCE, TransformedGaussianPrior, default_prior
from osteotwin.twin.personal.projections import project
from osteotwin.twin.personal.scan_checks import predictive_samples
from osteotwin.twin.personal.twin import latest_t_scores
from osteotwin.twin.personal.virtual import virtual_patient

SCAN_MONTHS = (0.0, 12.0, 24.0)
PROJECTION_MONTHS = 60
SAMPLES = 400  # posterior draws per interval (ours: the 2.5th percentile from 10 draws)
BANDS = (2.5, 10.0, 50.0, 90.0, 97.5)


@dataclass
class CoverageStudy:
    patients: int
    seed: int
    next_scan_inside: dict[str, list[bool]]  # "80"/"95" -> one entry per patient and site
    five_year_inside: dict[str, list[bool]]
    parameter_width: dict[int, dict[str, list[float]]]  # scans -> parameter -> widths
    five_year_width: dict[int, list[float]]  # scans -> widths (pp), both sites
    seconds: float
    prior_description: str = ""

    def rate(self, table: dict[str, list[bool]], level: str) -> float:
        return float(np.mean(table[level]))


def _subset(record: dict, count: int) -> dict:
    dates = sorted({scan["date"] for scan in record["dxa"]})
    return {**record, "dxa": [scan for scan in record["dxa"] if scan["date"] in dates[:count]]}


def _truth(prior: TransformedGaussianPrior, rng: np.random.Generator, from_population: bool = True) -> dict[str, float]:
    """One virtual woman's parameters: from the population for the parameters with a population prior (unless
    ``from_population`` is False), else from the prior itself."""
    truth = prior.overrides(rng.multivariate_normal(prior.mean_z, prior.cov_z))[0]
    covered = [name for name, source in zip(prior.names, prior.sources, strict=True) if source == POPULATION_SOURCE]
    if covered and from_population:
        drawn = FITTED_VARIABILITY.sample(rng, 1)
        truth |= {name: float(drawn[name][0]) for name in covered}
    return truth


def coverage_study(patients: int, seed: int = 2026, prior: TransformedGaussianPrior | None = None,
                   truth_from_population: bool = True) -> CoverageStudy:
    """The study on ``patients`` virtual women; ``truth_from_population=False`` draws a population prior's truths
    from its own logit-normal match instead (separates the sampler's accuracy from the match's)."""
    rng = np.random.default_rng(seed)
    prior = prior or default_prior(FITTED_PARAMETERS)
    next_scan = {"80": [], "95": []}
    five_year = {"80": [], "95": []}
    parameter_width: dict[int, dict[str, list[float]]] = {n: {p: [] for p in FITTED_PARAMETERS} for n in (1, 2, 3)}
    five_year_width: dict[int, list[float]] = {n: [] for n in (1, 2, 3)}
    started = time.perf_counter()
    for _ in range(patients):
        truth = _truth(prior, rng, truth_from_population)
        patient = virtual_patient(truth, SCAN_MONTHS, rng, months_after=PROJECTION_MONTHS)
        full = patient.record.model_dump(mode="json")
        inputs3 = personal_inputs(patient.record)
        last_date = max(inputs3.sites["lumbar_spine"].dates)
        predicted = predictive_samples(inputs3, prior, last_date, SAMPLES, rng)
        for site in SITES:
            observed = inputs3.sites[site].bmd_g_cm2[-1]
            lo95, lo80, _, hi80, hi95 = np.percentile(predicted[site][:, -1], BANDS)
            next_scan["80"].append(bool(lo80 <= observed <= hi80))
            next_scan["95"].append(bool(lo95 <= observed <= hi95))
        for count in (1, 2, 3):
            record = PatientRecord.model_validate(_subset(full, count))
            inputs = personal_inputs(record)
            posterior = fit_posterior(inputs, prior)
            projections, _ = project(inputs, posterior, PROJECTION_MONTHS, SAMPLES, rng,
                                     latest_t_scores(inputs, record), BANDS)
            draws = posterior.prior.to_value(posterior.sample_z(4000, rng))
            for i, name in enumerate(FITTED_PARAMETERS):
                lo, hi = np.percentile(draws[:, i], (10, 90))
                parameter_width[count][name].append(float(hi - lo))
            for site in SITES:
                bands = projections["continue"][f"{site}_bmd_pct_change"]
                five_year_width[count].append(bands["p90"][-1] - bands["p10"][-1])
                if count == 3:
                    # at the projections' 0.01-point resolution: a truth where the response saturates (a turnover
                    # scale at its bound) equals the interval's end up to rounding
                    true_change = round(float(patient.true_bmd_pct_change_from_latest[site][-1]), 2)
                    five_year["80"].append(bands["p10"][-1] <= true_change <= bands["p90"][-1])
                    five_year["95"].append(bands["p2.5"][-1] <= true_change <= bands["p97.5"][-1])
    return CoverageStudy(patients, seed, next_scan, five_year, parameter_width, five_year_width,
                         time.perf_counter() - started, prior.description)


#: CTX and P1NP draws in the marker study: at the start of the AI, 3, 6 and 12 months (the monitoring times of
#: the bone turnover marker literature, e.g. 3-6 months after a change of treatment; ours).
MARKER_MONTHS = (0.0, 3.0, 6.0, 12.0)


@dataclass
class MarkerStudy:
    """Mean posterior SD (Laplace, logit space) of each fitted parameter, without and with CTX and P1NP."""

    patients: int
    sd: dict[str, dict[str, float]]  # "1 scan", "1 scan + markers", ... -> parameter -> mean SD


def marker_study(patients: int, seed: int = 2026, prior: TransformedGaussianPrior | None = None) -> MarkerStudy:
    """Virtual women as in ``coverage_study`` with scans at 0 (and 12) months and CTX/P1NP at MARKER_MONTHS: how much
    her markers narrow the fit when scans are few."""
    rng = np.random.default_rng(seed)
    prior = prior or default_prior(FITTED_PARAMETERS)
    sds: dict[str, list[np.ndarray]] = {}
    for _ in range(patients):
        truth = _truth(prior, rng)
        patient = virtual_patient(truth, SCAN_MONTHS[:2], rng, months_after=PROJECTION_MONTHS, marker_months=MARKER_MONTHS)
        full = patient.record.model_dump(mode="json")
        for scans in (1, 2):
            for markers in (False, True):
                data = _subset(full, scans) | ({} if markers else {"labs": []})
                posterior = fit_posterior(personal_inputs(PatientRecord.model_validate(data)), prior)
                key = f"{scans} scan{'s' if scans > 1 else ''}" + (" + CTX and P1NP" if markers else "")
                sds.setdefault(key, []).append(np.sqrt(np.diag(posterior.cov_z)))
    return MarkerStudy(patients, {key: {name: float(np.mean([v[i] for v in values])) for i, name in enumerate(prior.names)}
                                  for key, values in sds.items()})


__all__ = ["MARKER_MONTHS", "CoverageStudy", "MarkerStudy", "coverage_study", "marker_study"]
