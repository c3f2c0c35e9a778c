"""The prior of the personal fit: one swappable object, a Gaussian in a transformed (logit) space.

Each individual parameter theta with prior range (low, high) (physiology/parameters.py, the ranges
calibration uses, docs/calibration.md "Calibrated parameters") is mapped to
z = logit((theta - low) / (high - low)), so every z is a value the engine accepts (Scenario refuses values
outside the prior range). The default prior is z ~ N(logit of the shipped value, SD_Z^2), independent
across parameters. The virtual-population issue will replace it by a population distribution: anything
with ``names``, ``lower``, ``upper``, ``mean_z`` and ``cov_z`` (a full covariance) is accepted by the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from osteotwin.physiology.parameters import ParameterTable, registry

#: SD in logit space: (logit(0.975) - logit(0.025)) / (2 x 1.96) = 1.869. With the shipped value at the middle
#: of its range the central 95% of the prior then spans the range's inner 95% (from 2.5% to 97.5% of its width),
#: i.e. "the prior range is about the 95% interval" (issue 15); off-centre the mass leans to the nearer bound (ours).
SD_Z = (math.log(0.975 / 0.025) - math.log(0.025 / 0.975)) / (2.0 * 1.96)
#: Shipped values closer than this fraction of the range to a bound are moved inside it (logit(0) is -inf; ours).
EDGE_FRACTION = 0.01


@dataclass(frozen=True)
class TransformedGaussianPrior:
    """theta_i = low_i + (high_i - low_i) * sigmoid(z_i), z ~ N(mean_z, cov_z)."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    mean_z: np.ndarray
    cov_z: np.ndarray

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


def default_prior(names: tuple[str, ...], table: ParameterTable | None = None) -> TransformedGaussianPrior:
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
    return TransformedGaussianPrior(prior.names, prior.lower, prior.upper, prior.to_z(np.array(centre)), prior.cov_z)


__all__ = ["SD_Z", "TransformedGaussianPrior", "default_prior"]
