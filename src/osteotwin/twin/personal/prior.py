"""The prior of the personal fit: one swappable object, a Gaussian in a transformed (logit) space.

Each individual parameter theta with prior range (low, high) (physiology/parameters.py, the ranges
calibration uses, docs/calibration.md "Calibrated parameters") is mapped to
z = logit((theta - low) / (high - low)), so every z is a value the engine accepts (Scenario refuses values
outside the prior range). Two priors are built here:

- ``calibration_prior``: z ~ N(logit of the shipped value, SD_Z^2), independent across parameters, i.e. "the
  prior range is about the 95% interval";
- ``population_prior``: for the parameters the virtual population's between-patient variability covers
  (population/virtual.py ``FITTED_VARIABILITY``: a correlated log-normal about the shipped values, clipped to
  the prior ranges; docs/populations.md), its distribution mapped into z by sampling and moment matching
  (mean and full covariance of the draws' z, draws clipped to EDGE_FRACTION inside the range); the calibration
  prior for any other parameter (independent of the covered ones).

``default_prior`` is the one the validation (docs/personal_twin.md) supports. Anything with ``names``,
``lower``, ``upper``, ``mean_z``, ``cov_z`` (a full covariance) and ``description`` is accepted by the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from osteotwin.physiology.parameters import ParameterTable, registry
from osteotwin.population.virtual import FITTED_VARIABILITY, Variability

#: SD in logit space: (logit(0.975) - logit(0.025)) / (2 x 1.96) = 1.869. With the shipped value at the middle
#: of its range the central 95% of the prior then spans the range's inner 95% (from 2.5% to 97.5% of its width),
#: i.e. "the prior range is about the 95% interval" (issue 15); off-centre the mass leans to the nearer bound (ours).
SD_Z = (math.log(0.975 / 0.025) - math.log(0.025 / 0.975)) / (2.0 * 1.96)
#: Shipped values closer than this fraction of the range to a bound are moved inside it (logit(0) is -inf; ours).
EDGE_FRACTION = 0.01
#: Draws of the population distribution for moment matching (ours: the standard error of the matched mean is
#: below 0.02 in z) and their fixed seed (the prior is the same in every run).
POPULATION_DRAWS = 20000
POPULATION_SEED = 2026
CALIBRATION_SOURCE = "calibration prior range (logit-normal about the shipped value; twin/personal/prior.py)"
POPULATION_SOURCE = "between-patient variability of the virtual population (population/virtual.py; docs/populations.md)"


@dataclass(frozen=True)
class TransformedGaussianPrior:
    """theta_i = low_i + (high_i - low_i) * sigmoid(z_i), z ~ N(mean_z, cov_z)."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    mean_z: np.ndarray
    cov_z: np.ndarray
    sources: tuple[str, ...] = ()  # where each parameter's prior comes from

    @property
    def description(self) -> str:
        """One line for her fit's notes: which prior each parameter has."""
        groups: dict[str, list[str]] = {}
        for name, source in zip(self.names, self.sources or (CALIBRATION_SOURCE,) * len(self.names), strict=True):
            groups.setdefault(source, []).append(name)
        return "prior: " + "; ".join(f"{', '.join(names)} from the {source}" for source, names in groups.items())

    def to_value(self, z: np.ndarray) -> np.ndarray:
        """Parameter values from z (..., parameters); strictly inside the prior range."""
        u = 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
        u = np.clip(u, 1e-9, 1.0 - 1e-9)
        return self.lower + (self.upper - self.lower) * u

    def to_z(self, value: np.ndarray) -> np.ndarray:
        u = (np.asarray(value, dtype=float) - self.lower) / (self.upper - self.lower)
        u = np.clip(u, 1e-9, 1.0 - 1e-9)
        return np.log(u / (1.0 - u))

    def log_density_z(self, z: np.ndarray) -> np.ndarray:
        """log N(z; mean_z, cov_z) up to a constant, for z shaped (..., parameters)."""
        d = np.asarray(z, dtype=float) - self.mean_z
        precision = np.linalg.inv(self.cov_z)
        return -0.5 * np.einsum("...i,ij,...j->...", d, precision, d)

    def overrides(self, z: np.ndarray) -> list[dict[str, float]]:
        """Scenario ``parameters`` dicts for each row of z (rows, parameters)."""
        values = self.to_value(np.atleast_2d(z))
        return [{name: float(v) for name, v in zip(self.names, row, strict=True)} for row in values]


def calibration_prior(names: tuple[str, ...], table: ParameterTable | None = None) -> TransformedGaussianPrior:
    """Logit-normal priors centred on the shipped values with SD_Z (see module docstring)."""
    table = table or registry()
    lower, upper, centre = [], [], []
    for name in names:
        parameter = table[name]
        if parameter.prior_range is None:
            raise ValueError(f"{name} has no prior range and cannot be fitted")
        low, high = parameter.prior_range
        edge = EDGE_FRACTION * (high - low)
        lower.append(low)
        upper.append(high)
        centre.append(min(max(parameter.value, low + edge), high - edge))
    prior = TransformedGaussianPrior(tuple(names), np.array(lower), np.array(upper), np.zeros(len(names)),
                                     np.eye(len(names)) * SD_Z ** 2)
    return TransformedGaussianPrior(prior.names, prior.lower, prior.upper, prior.to_z(np.array(centre)), prior.cov_z,
                                    (CALIBRATION_SOURCE,) * len(names))


def population_prior(names: tuple[str, ...], variability: Variability = FITTED_VARIABILITY,
                     table: ParameterTable | None = None) -> TransformedGaussianPrior:
    """The population's between-patient distribution in the fit's logit space for the parameters it covers (draws
    through ``Variability.sample``, clipped EDGE_FRACTION inside the prior range, then the mean and covariance of
    their z); the calibration prior for the others."""
    base = calibration_prior(names, table)
    covered = [i for i, name in enumerate(names) if name in variability.sd_log]
    if not covered:
        return base
    draws = variability.sample(np.random.default_rng(POPULATION_SEED), POPULATION_DRAWS, table)
    edge = EDGE_FRACTION * (base.upper - base.lower)
    values = np.column_stack([np.clip(draws[names[i]], base.lower[i] + edge[i], base.upper[i] - edge[i])
                              for i in covered])
    z = TransformedGaussianPrior(tuple(names[i] for i in covered), base.lower[covered], base.upper[covered],
                                 np.zeros(len(covered)), np.eye(len(covered))).to_z(values)
    mean_z, cov_z = base.mean_z.copy(), base.cov_z.copy()
    mean_z[covered] = z.mean(axis=0)
    cov_z[np.ix_(covered, covered)] = np.atleast_2d(np.cov(z, rowvar=False))
    sources = tuple(POPULATION_SOURCE if i in covered else CALIBRATION_SOURCE for i in range(len(names)))
    return TransformedGaussianPrior(base.names, base.lower, base.upper, mean_z, cov_z, sources)


def default_prior(names: tuple[str, ...], table: ParameterTable | None = None) -> TransformedGaussianPrior:
    """The prior ``fit_record`` uses: the calibration prior, the one whose intervals the validation supports
    (docs/personal_twin.md compares both)."""
    return calibration_prior(names, table)


__all__ = ["SD_Z", "TransformedGaussianPrior", "calibration_prior", "default_prior", "population_prior"]
