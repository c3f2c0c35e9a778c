"""The individual fit: a Bayesian fit of her own turnover per site to her DXA series (issue 15).

Parameters fitted (``FITTED_PARAMETERS``), chosen from docs/calibration.md "Calibrated parameters":

- ``lumbar_spine_turnover_scale`` and ``total_hip_turnover_scale`` (physiology/bone.py, theta_LS and
  theta_TH): they scale every cell rate at one site, so they set how fast that site loses bone on an AI;
  each is informed by that site's scans alone (varying one moves the other site's BMD by < 0.01
  percentage points in 7 years), their shipped values lie inside their prior ranges, and between women they
  are what makes "the same T-score, different rates" (issue 15).
- not ``estrogen_rankl_exponent``: its shipped value sits on its prior bound (0.3; docs/calibration.md),
  so a prior centred on it is degenerate, and with both sites' scans it acts on both rates together, which
  the two per-site scales already span for DXA data.

Likelihood: her scan at a site is y_j = B * r_j(theta) * exp(e_j), e_j ~ N(0, s^2), where r_j is the
engine's BMD relative to the simulation start at the scan month, B her unknown true BMD at the start and
s the device's precision on the log scale (inputs.py: monitoring.py's %CV, ISCD). With a flat prior on
log B, B integrates out and leaves sum_j (d_j - mean d)^2 / (2 s^2) with d_j = log y_j - log r_j: a single
scan at a site carries no information on the rate (her fit then falls back to the prior, and says so).
CTX and P1NP, when she has two or more values of one, enter the same way: her change from her own first value
against the engine's relative change, with the marker's within-subject variability as s (markers.py). They are
systemic (the engine's marker is the mean of both sites), so they inform the two turnover scales together.

Posterior: maximum a posteriori in the prior's logit space by Newton steps, each step's gradient and
Hessian by central finite differences on a stencil that the engine evaluates as one batch
(``simulate_batch`` with per-scenario ``parameters``), then the Laplace approximation N(z_MAP, (-H)^-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from osteotwin.twin.personal.inputs import PersonalInputs
from osteotwin.twin.personal.prior import TransformedGaussianPrior, default_prior
from osteotwin.twin.simulation import simulate_batch

FITTED_PARAMETERS: tuple[str, ...] = ("lumbar_spine_turnover_scale", "total_hip_turnover_scale")
SITE_PARAMETER = {"lumbar_spine": "lumbar_spine_turnover_scale", "total_hip": "total_hip_turnover_scale"}
#: Finite-difference step in logit space (ours: the engine's BMD is smooth at this scale; 0.1 in z is ~2% of theta).
STEP_Z = 0.1
#: Newton stops when no coordinate moves more than this in z (ours), or after MAX_NEWTON_STEPS.
TOLERANCE_Z = 0.01
MAX_NEWTON_STEPS = 15
#: Largest Newton step per coordinate in z (ours: keeps the first steps from jumping to a bound).
MAX_STEP_Z = 1.5


def history_scenario(inputs: PersonalInputs, months: int, parameters: dict[str, float]) -> dict:
    """Her recorded treatment from the first scan for ``months`` months, with her parameter values."""
    agents: list[dict] = [{"drug": drug, "doses": [{"month": m, "dose_mg": _label_dose(drug)} for m in doses]}
                          for drug, doses in inputs.past_agent_doses.items() if doses]
    agents += inputs.continuing_agents
    return {"patient": inputs.patient(), "months": months, "endocrine_therapy": inputs.history_endocrine,
            "bone_agents": agents, "parameters": parameters}


def _label_dose(drug: str) -> float:
    from osteotwin.clinic.projection import SCHEDULES

    return float(SCHEDULES[drug]["dose_mg"])


def history_months(inputs: PersonalInputs) -> int:
    """Months of her history the fit simulates: up to her last scan or marker value."""
    return max(1, int(math.ceil(inputs.last_observation_month)) + 1)


def relative_at(series: np.ndarray, months: np.ndarray) -> np.ndarray:
    """BMD relative to the start, (patients, scans), from a % change series (patients, months + 1), linear in time."""
    grid = np.arange(series.shape[1], dtype=float)
    return np.stack([1.0 + np.interp(months, grid, row) / 100.0 for row in series])


def _normal_log_density(z: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    d = np.asarray(z, dtype=float) - mean
    _, logdet = np.linalg.slogdet(2.0 * np.pi * cov)
    return -0.5 * np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d) - 0.5 * logdet


@dataclass(frozen=True)
class Posterior:
    """The Laplace posterior in the prior's logit space, and what it was fitted to."""

    prior: TransformedGaussianPrior
    z_map: np.ndarray
    cov_z: np.ndarray
    scans_used: dict[str, int]
    fell_back_to_prior: bool
    engine_evaluations: int
    markers_used: dict[str, int]

    def sample_z(self, count: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """Draws from N(z_MAP, scale^2 cov_z)."""
        chol = np.linalg.cholesky(self.cov_z) * scale
        return self.z_map + rng.standard_normal((count, self.z_map.size)) @ chol.T

    def proposal_log_density(self, z: np.ndarray, scale: float) -> np.ndarray:
        """log N(z; z_MAP, scale^2 cov_z), normalised."""
        return _normal_log_density(z, self.z_map, self.cov_z * scale ** 2)

    def summary(self, rng: np.random.Generator, count: int = 4000) -> dict[str, dict[str, float]]:
        """Median (the MAP mapped back: the logit map is monotone) and 10th/90th percentiles per parameter."""
        values = self.prior.to_value(self.sample_z(count, rng))
        centre = self.prior.to_value(self.z_map)
        return {name: {"median": round(float(centre[i]), 4), "p10": round(float(np.percentile(values[:, i], 10)), 4),
                       "p90": round(float(np.percentile(values[:, i], 90)), 4)} for i, name in enumerate(self.prior.names)}


def _series_log_likelihood(dates: tuple[date, ...], values: np.ndarray, log_sd: float, relative: np.ndarray,
                           before: date | None) -> np.ndarray | float:
    """log y_j = log L + log r_j + e_j with her level L integrated out (flat prior on log L): the spread of
    d_j = log y_j - log r_j about their mean, per parameter set (relative: sets, values); 0 with fewer than 2 values."""
    use = np.array([before is None or d < before for d in dates])
    if use.sum() < 2:
        return 0.0
    d = np.log(values[use])[None, :] - np.log(relative[:, use])
    return -0.5 * np.sum((d - d.mean(axis=1, keepdims=True)) ** 2, axis=1) / log_sd ** 2


def log_likelihood(inputs: PersonalInputs, relative: dict[str, np.ndarray], before: date | None) -> np.ndarray:
    """Marginal log-likelihood per parameter set of her scans (per site) and markers dated before ``before``,
    from the engine's relative value at each observation (``relative``: site or marker -> (sets, observations))."""
    total: np.ndarray | float = 0.0
    for site, scans in inputs.sites.items():
        total = total + _series_log_likelihood(scans.dates, scans.bmd_g_cm2, scans.log_sd, relative[site], before)
    for test, marker in inputs.markers.items():
        if test in relative:
            total = total + _series_log_likelihood(marker.dates, marker.values, marker.log_sd, relative[test], before)
    return np.asarray(total)


def marker_relative(inputs: PersonalInputs, batch) -> dict[str, np.ndarray]:
    """Each fitted marker's engine value relative to the untreated state at her marker dates, (sets, values)."""
    return {test: relative_at(batch.series(marker.field), marker.months) for test, marker in inputs.markers.items()}


def simulated_markers(inputs: PersonalInputs, prior: TransformedGaussianPrior, z: np.ndarray) -> dict[str, np.ndarray]:
    """The markers' relative values for each row of z, by direct simulation of her history (one batch)."""
    if not inputs.markers:
        return {}
    return marker_relative(inputs, simulate_batch([history_scenario(inputs, history_months(inputs), p)
                                                   for p in prior.overrides(z)]))


def _relative_at_observations(inputs: PersonalInputs, prior: TransformedGaussianPrior, z: np.ndarray) -> dict[str, np.ndarray]:
    batch = simulate_batch([history_scenario(inputs, history_months(inputs), p) for p in prior.overrides(z)])
    relative = {site: relative_at(batch.series(f"{site}_bmd_pct_change"), scans.months) for site, scans in inputs.sites.items()}
    return relative | marker_relative(inputs, batch)


def _used(dates: tuple[date, ...], before: date | None) -> int:
    return int(sum(before is None or d < before for d in dates))


def _stencil(dimensions: int) -> np.ndarray:
    """0, +-e_i, and +(e_i+e_j), -(e_i+e_j) for i < j: gradient and Hessian by central differences."""
    points = [np.zeros(dimensions)]
    for i in range(dimensions):
        for sign in (1.0, -1.0):
            e = np.zeros(dimensions)
            e[i] = sign
            points.append(e)
    for i in range(dimensions):
        for j in range(i + 1, dimensions):
            for sign in (1.0, -1.0):
                e = np.zeros(dimensions)
                e[i] = e[j] = sign
                points.append(e)
    return np.array(points)


def _derivatives(values: np.ndarray, dimensions: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    f0 = values[0]
    plus, minus = values[1:2 * dimensions + 1:2], values[2:2 * dimensions + 1:2]
    gradient = (plus - minus) / (2.0 * h)
    hessian = np.diag((plus - 2.0 * f0 + minus) / h ** 2)
    k = 2 * dimensions + 1
    for i in range(dimensions):
        for j in range(i + 1, dimensions):
            fpp, fmm = values[k], values[k + 1]
            k += 2
            hessian[i, j] = hessian[j, i] = (fpp + fmm - plus[i] - minus[i] - plus[j] - minus[j] + 2.0 * f0) / (2.0 * h ** 2)
    return gradient, hessian


def fit_posterior(inputs: PersonalInputs, prior: TransformedGaussianPrior | None = None,
                  before: date | None = None) -> Posterior:
    """MAP + Laplace on the scans dated before ``before`` (all scans if None)."""
    prior = prior or default_prior(FITTED_PARAMETERS)
    used = {site: _used(scans.dates, before) for site, scans in inputs.sites.items()}
    markers_used = {test: _used(marker.dates, before) for test, marker in inputs.markers.items()}
    if all(n < 2 for n in (*used.values(), *markers_used.values())):
        return Posterior(prior, prior.mean_z.copy(), prior.cov_z.copy(), used, True, 0, markers_used)
    dims = prior.mean_z.size
    offsets = _stencil(dims) * STEP_Z
    z = prior.mean_z.copy()
    evaluations = 0
    previous_value = -np.inf
    gradient = hessian = None
    step = np.zeros(dims)
    for _ in range(MAX_NEWTON_STEPS):
        points = z + offsets
        values = log_likelihood(inputs, _relative_at_observations(inputs, prior, points), before) + prior.log_density_z(points)
        evaluations += len(points)
        if values[0] < previous_value - 1e-6:  # the last step went downhill: go back half of it
            step = 0.5 * step
            z = z - step
            continue
        previous_value = values[0]
        gradient, hessian = _derivatives(values, dims, STEP_Z)
        eigenvalues = np.linalg.eigvalsh(hessian)
        if np.all(eigenvalues < 0):
            step = -np.linalg.solve(hessian, gradient)
        else:
            step = gradient / max(1.0, float(np.max(np.abs(eigenvalues))))
        step = np.clip(step, -MAX_STEP_Z, MAX_STEP_Z)
        if np.max(np.abs(step)) < TOLERANCE_Z:
            break
        z = z + step
    assert hessian is not None
    negative = -0.5 * (hessian + hessian.T)
    eigenvalues, vectors = np.linalg.eigh(negative)
    prior_floor = 1.0 / np.max(np.linalg.eigvalsh(prior.cov_z))  # curvature never below the prior's (ours)
    eigenvalues = np.maximum(eigenvalues, 0.5 * prior_floor)
    cov = vectors @ np.diag(1.0 / eigenvalues) @ vectors.T
    return Posterior(prior, z, cov, used, False, evaluations, markers_used)


def baseline_log_bmd(inputs: PersonalInputs, site: str, relative: np.ndarray, before: date | None,
                     rng: np.random.Generator) -> np.ndarray | None:
    """Samples of log B (her true BMD at the simulation start) given each parameter set's relative BMD at the
    site's scans (sets, scans): N(mean_j d_j, s^2 / n) from the flat-prior likelihood; None without a scan."""
    scans = inputs.sites[site]
    use = np.array([before is None or d < before for d in scans.dates])
    if not use.any():
        return None
    d = np.log(scans.bmd_g_cm2[use])[None, :] - np.log(relative[:, use])
    return d.mean(axis=1) + rng.standard_normal(d.shape[0]) * scans.log_sd / math.sqrt(use.sum())




#: Posterior draws are pushed through the engine by a node emulator (ours): the engine runs once per node,
#: nodes z_MAP + u_k * SD (every parameter at the same u_k, u_k evenly spaced over +-EMULATOR_SPAN_SD), and a
#: draw's series at a site is interpolated linearly in u between the nodes along that site's own parameter.
#: Valid because each site's BMD depends on its own turnover scale only (the other site's scale moves it by
#: < 0.01 pp over 7 years) and fracture risk on the hip (< 0.1 pp from the whole spine prior range, on
#: denosumab): tests/twin/test_personal_fit.py checks the emulator against direct simulation of draws.
EMULATOR_NODES = 21
EMULATOR_SPAN_SD = 5.0
#: Draws are proposed from the Laplace normal widened by this factor and resampled with importance weights
#: (exact posterior / proposal, the exact posterior through the emulator): sampling-importance-resampling
#: (Rubin DB, J Am Stat Assoc 1987;82:543-6), so the draws follow the posterior's real shape where the
#: Laplace normal is too narrow (a flat likelihood near a prior bound). Factor ours.
PROPOSAL_SCALE = 1.5
#: Share of the proposals drawn from the prior itself: a defensive mixture (Hesterberg T, Technometrics
#: 1995;37:185-94), so the draws reach a posterior tail the Laplace normal misses (a likelihood that flattens
#: where the spine's response to turnover saturates, with a wide prior). Share ours.
DEFENSIVE_FRACTION = 0.2


def posterior_draws(inputs: PersonalInputs, posterior: Posterior, history_at_nodes: dict[str, np.ndarray],
                    count: int, rng: np.random.Generator, before: date | None = None) -> np.ndarray:
    """``count`` draws of z from the exact posterior (given the scans before ``before``), by
    sampling-importance-resampling from the widened Laplace normal; ``history_at_nodes`` holds each site's
    BMD relative to the start at its scans for the emulator nodes (nodes, scans). Her markers depend on both
    parameters, so the proposals' marker values are simulated directly (one batch of her history)."""
    if posterior.fell_back_to_prior:
        return posterior.sample_z(count, rng)
    prior = posterior.prior
    from_prior = int(round(DEFENSIVE_FRACTION * count))
    z = np.vstack([posterior.sample_z(count - from_prior, rng, PROPOSAL_SCALE),
                   rng.multivariate_normal(prior.mean_z, prior.cov_z, from_prior)])
    log_proposal = np.logaddexp(math.log(1.0 - DEFENSIVE_FRACTION) + posterior.proposal_log_density(z, PROPOSAL_SCALE),
                                math.log(DEFENSIVE_FRACTION) + _normal_log_density(z, prior.mean_z, prior.cov_z))
    relative = {site: emulate(values, posterior, z, SITE_PARAMETER[site]) for site, values in history_at_nodes.items()}
    relative |= simulated_markers(inputs, posterior.prior, z)
    log_weight = (log_likelihood(inputs, relative, before) + posterior.prior.log_density_z(z)
                  - log_proposal)
    weight = np.exp(log_weight - np.max(log_weight))
    return z[rng.choice(count, size=count, p=weight / weight.sum())]


def emulator_nodes(posterior: Posterior) -> np.ndarray:
    """Node parameter sets in z, (EMULATOR_NODES, parameters)."""
    u = np.linspace(-EMULATOR_SPAN_SD, EMULATOR_SPAN_SD, EMULATOR_NODES)
    return posterior.z_map[None, :] + u[:, None] * np.sqrt(np.diag(posterior.cov_z))[None, :]


def emulate(node_series: np.ndarray, posterior: Posterior, z: np.ndarray, parameter: str) -> np.ndarray:
    """Series of each draw (draws, months) from the series at the nodes (nodes, months), along ``parameter``."""
    i = posterior.prior.names.index(parameter)
    u = (z[:, i] - posterior.z_map[i]) / math.sqrt(posterior.cov_z[i, i])
    position = (np.clip(u, -EMULATOR_SPAN_SD, EMULATOR_SPAN_SD) + EMULATOR_SPAN_SD) / (2 * EMULATOR_SPAN_SD) * (EMULATOR_NODES - 1)
    low = np.minimum(np.floor(position).astype(int), EMULATOR_NODES - 2)
    weight = (position - low)[:, None]
    return (1.0 - weight) * node_series[low] + weight * node_series[low + 1]


__all__ = ["EMULATOR_NODES", "FITTED_PARAMETERS", "SITE_PARAMETER", "Posterior", "baseline_log_bmd", "emulate", "posterior_draws",
           "emulator_nodes", "fit_posterior", "history_months", "history_scenario", "log_likelihood", "marker_relative",
           "relative_at", "simulated_markers"]
