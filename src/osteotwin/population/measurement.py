"""What a trial measures: DXA scans with precision error, and the between-patient residual the engine lacks.

A trial's BMD endpoint is computed from scans, not from the true bone. The observation model
(NLME style: the engine's mechanistic between-patient variability, ``virtual.Variability``, plus a
statistical residual; Sheiner LB, Beal SL. J Pharmacokinet Biopharm 1980;8:553-71) puts three
independent terms on the log of each measured areal BMD at a scan month m, per site:

    log BMD_measured(m) = log BMD_engine(m) + e_m + w(m)

- ``e_m ~ N(0, cv_nominal^2 + cv_excess^2)``, new at every scan. ``cv_nominal`` is a DXA device's
  typical short-term precision (``clinic.monitoring.DEFAULT_CV_PCT``, Hologic white paper, review of
  57 studies [V]: lumbar spine 1.08%, total hip 1.3%); the ISCD counts at most 1.9% (spine) and
  1.8% (hip) as acceptable per technologist (ISCD Official Positions [R]). ``cv_excess`` is the
  error a multicentre trial adds beyond that nominal precision (scanners, technologists and
  analysis between sites and visits) [statistical, fitted].
- ``w(m)`` is a random walk from 0 at the first scan with variance ``drift^2 x years``: the
  woman's own change that the engine does not model (at the spine, degenerative change such as
  osteophytes and facet sclerosis raises measured BMD in some women and not in others) [statistical,
  fitted].

Neither residual term is biology the engine simulates: they make a virtual trial's spread of
measured change comparable with a published SD. Their values are fitted jointly with the
mechanistic variability by ``scripts/fit_population_variability.py`` to the calibration rows that
report an SD (docs/populations.md); each has a declared prior (``RESIDUAL_PRIORS``). Measured %
change between two scans a and b then has, to first order, the variance

    Var(%) = Var_engine(%) + 100^2 x [2 (cv_nominal^2 + cv_excess^2) + drift^2 x (t_b - t_a) / 12]

(``added_variance_pct2``), which the fit uses; trials sample the same terms per patient
(``MeasurementModel.measure``), seeded by the chunk's generator. A virtual woman's baseline T-score from
the trial's table stands for her baseline scan (inclusion criteria act on measured values, as in a
trial); later T-scores move with her measured % change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from osteotwin.catalog import SITES
from osteotwin.clinic.monitoring import DEFAULT_CV_PCT

#: Nominal DXA precision per scan, %CV per engine site: the Hologic column of the monitoring module's
#: published short-term precision (Hologic white paper, review of 57 studies [V]); the same device
#: the personal twin's virtual patients are scanned with (twin/personal/virtual.py).
NOMINAL_PRECISION_CV_PCT: dict[str, float] = {site: DEFAULT_CV_PCT[site]["hologic"] for site in SITES}

#: ISCD least acceptable precision per technologist, %CV (ISCD Official Positions [R]); the prior of the
#: excess per-scan error is centred on what brings the nominal precision up to it.
ISCD_LEAST_ACCEPTABLE_CV_PCT: dict[str, float] = {"lumbar_spine": 1.9, "total_hip": 1.8}


@dataclass(frozen=True)
class ResidualPrior:
    """Log-normal prior of one residual term: median and SD of its log, with where the median comes from."""

    median: float
    sd_log: float
    source: str


#: Declared priors of the statistical residual (ours [A]), used as penalty terms by the joint fit.
RESIDUAL_PRIORS: dict[str, ResidualPrior] = {
    **{f"{site}_excess_cv_pct": ResidualPrior(
        round(float(np.sqrt(ISCD_LEAST_ACCEPTABLE_CV_PCT[site] ** 2 - NOMINAL_PRECISION_CV_PCT[site] ** 2)), 3), 0.7,
        f"ours [A]: nominal {NOMINAL_PRECISION_CV_PCT[site]:g}% raised to the ISCD's least acceptable "
        f"{ISCD_LEAST_ACCEPTABLE_CV_PCT[site]:g}% [R]; SD of log 0.7") for site in SITES},
    "lumbar_spine_drift_pct_per_sqrt_year": ResidualPrior(
        1.0, 1.0, "ours [A]: about 1% per year's root, weakly held (SD of log 1.0)"),
    "total_hip_drift_pct_per_sqrt_year": ResidualPrior(
        1.0, 1.0, "ours [A]: about 1% per year's root, weakly held (SD of log 1.0)"),
}


@dataclass(frozen=True)
class SiteResidual:
    """The statistical residual at one site: excess per-scan error (%CV) and random-walk drift (% per sqrt(year))."""

    excess_cv_pct: float = 0.0
    drift_pct_per_sqrt_year: float = 0.0


@dataclass(frozen=True)
class MeasurementModel:
    """DXA precision per scan (%CV per site) and the residual per site (``SiteResidual``)."""

    precision_cv_pct: Mapping[str, float]
    residual: Mapping[str, SiteResidual]

    def per_scan_cv(self, site: str) -> float:
        """SD of the log of one scan's error, as a fraction (nominal and excess combined)."""
        excess = self.residual.get(site, SiteResidual()).excess_cv_pct
        return float(np.hypot(self.precision_cv_pct[site], excess)) / 100.0

    def added_variance_pct2(self, site: str, months_between: float) -> float:
        """What measurement adds to the variance of % change between two scans ``months_between`` apart (pp^2)."""
        drift = self.residual.get(site, SiteResidual()).drift_pct_per_sqrt_year / 100.0
        return 1e4 * (2.0 * self.per_scan_cv(site) ** 2 + drift**2 * months_between / 12.0)

    def measure(self, pct_change: np.ndarray, site: str, months: Sequence[int], rng: np.random.Generator) -> np.ndarray:
        """Measured % change from the first scan, for true % changes ``pct_change`` (patients x scans at ``months``).

        ``months`` must start at the baseline scan (month 0 of the trial's grid); every month is a scan.
        """
        months_array = np.asarray(months, dtype=float)
        if months_array.ndim != 1 or months_array.size != pct_change.shape[1] or np.any(np.diff(months_array) <= 0):
            raise ValueError(f"months = {list(months)}: must be increasing, one per column of pct_change")
        n, scans = pct_change.shape
        scan_error = rng.standard_normal((n, scans)) * self.per_scan_cv(site)
        drift = self.residual.get(site, SiteResidual()).drift_pct_per_sqrt_year / 100.0
        steps = rng.standard_normal((n, scans)) * drift * np.sqrt(np.diff(months_array, prepend=months_array[0]) / 12.0)
        log_error = scan_error + np.cumsum(steps, axis=1)
        relative = (1.0 + pct_change / 100.0) * np.exp(log_error - log_error[:, :1])
        return 100.0 * (relative - 1.0)


#: The statistical residual, fitted [C] by scripts/fit_population_variability.py jointly with the mechanistic
#: variability (virtual.FITTED_VARIABILITY) to the calibration rows that report an SD (docs/populations.md).
FITTED_RESIDUAL: dict[str, SiteResidual] = {
    "lumbar_spine": SiteResidual(excess_cv_pct=1.58, drift_pct_per_sqrt_year=1.48),
    "total_hip": SiteResidual(excess_cv_pct=1.18, drift_pct_per_sqrt_year=1.07),
}

#: Trials with fitted variability: nominal precision and the fitted residual.
FITTED_MEASUREMENT = MeasurementModel(NOMINAL_PRECISION_CV_PCT, FITTED_RESIDUAL)
#: Trials without between-patient variability still measure by DXA: nominal precision only.
PRECISION_ONLY = MeasurementModel(NOMINAL_PRECISION_CV_PCT, {})


def measurement_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent stream for scan errors, spawned from a chunk's generator (its other draws are unchanged)."""
    return rng.spawn(1)[0]
