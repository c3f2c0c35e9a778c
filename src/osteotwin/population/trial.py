"""In-silico trials: a spec (population, arms, endpoints), the per-chunk run and the endpoint estimates.

A chunk of one arm is sampled (``virtual.sample_scenarios``, seeded by (seed, arm, chunk)), simulated
(``simulation.simulate_batch``) and reduced to one row per patient: BMD % change and T-score per site
on the month grid as the trial's DXA scans measure them (``measurement.py``: precision error per scan),
the month a bone agent started, and one sampled clinical fracture time per outcome.
Fracture events: each month's 10-year probability p (% , from the engine's
``*_fracture_10y_pct`` outputs, ``physiology/fracture.py``) becomes a monthly hazard
h = -ln(1 - p/100) / 120 (constant hazard over the 10 years, as FRAX's probabilities are read by
Kanis JA et al. Osteoporos Int 2008;19:385-97), and the event month is the first month at which the
cumulative hazard exceeds an Exp(1) draw (inverse-transform sampling of a piecewise-constant hazard).
Hazard ratios are Poisson rate ratios (events / patient-months per arm) with the Wald CI of the log
ratio, sqrt(1/d1 + 1/d0) (Rothman KJ, Greenland S. Modern Epidemiology, 3rd ed., ch. 14).
"""

from __future__ import annotations

import gc
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

from osteotwin.population.measurement import (
    FITTED_MEASUREMENT,
    PRECISION_ONLY,
    MeasurementModel,
    measurement_rng,
)
from osteotwin.population.virtual import (
    FITTED_VARIABILITY,
    NO_VARIABILITY,
    PopulationSpec,
    Variability,
    chunk_rng,
)
from osteotwin.scenario import Scenario

SITES = ("lumbar_spine", "total_hip")
OUTCOMES = ("any_clinical", "major_osteoporotic", "hip")
STATISTICS = ("mean", "median", "sd", "p10", "p90")


class Published(BaseModel):
    """The published result beside an endpoint, with its citation."""

    model_config = ConfigDict(extra="allow")
    value: float
    citation: str
    ci95: list[float] | None = None
    note: str | None = None


class _Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    month: int = Field(ge=0, le=600)
    published: Published | None = None
    arms: list[str] | None = None  # default: every arm


class BmdPctChange(_Endpoint):
    kind: Literal["bmd_pct_change"]
    site: Literal[SITES]  # type: ignore[valid-type]
    statistic: Literal[STATISTICS] = "mean"  # type: ignore[valid-type]
    baseline_month: int = Field(0, ge=0, le=600, description="% change from this month (e.g. off-treatment baseline)")


class ShareBelowTScore(_Endpoint):
    kind: Literal["share_below_t_score"]
    site: Literal[SITES]  # type: ignore[valid-type]
    t_score: float = Field(ge=-7, le=3)


class FractureIncidence(_Endpoint):
    kind: Literal["fracture_cumulative_incidence"]
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]


class FractureHazardRatio(_Endpoint):
    kind: Literal["fracture_hazard_ratio"]
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    arm: str
    reference: str
    start_month: int = Field(0, ge=0, le=600, description="count events and time from this month (e.g. after stopping a drug)")


class BmdPctChangeDifference(_Endpoint):
    """Mean % change in ``arm`` minus ``reference`` (Welch 95% CI), as trials report their primary BMD endpoint."""

    kind: Literal["bmd_pct_change_difference"]
    site: Literal[SITES]  # type: ignore[valid-type]
    arm: str
    reference: str


class ShareStartedBoneAgent(_Endpoint):
    kind: Literal["share_started_bone_agent"]


Endpoint = Annotated[BmdPctChange | BmdPctChangeDifference | ShareBelowTScore | FractureIncidence | FractureHazardRatio
                     | ShareStartedBoneAgent,
                     Field(discriminator="kind")]


class Arm(Scenario):
    """An arm: every Scenario field (its ``patient`` is replaced by the virtual population) and a name."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.+-]+$")
    months: float = Field(60, ge=1, le=600)


class TrialSpec(BaseModel):
    """``osteotwin trial SPEC.json``: a virtual trial (examples/trials/*.json)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    patients_per_arm: int = Field(ge=1, le=10_000_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    chunk_size: int = Field(250, ge=1, le=100_000, description="patients per task (one Parquet row group)")
    variability: Literal["fitted", "none"] = "fitted"
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    arms: list[Arm] = Field(min_length=1, max_length=20)
    endpoints: list[Endpoint] = Field(default_factory=list, max_length=200)
    citation: str | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _references(self) -> TrialSpec:
        names = [arm.name for arm in self.arms]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"arms.{i}.name = {name!r}: arm names must be unique")
        ids = [e.id for e in self.endpoints]
        for i, endpoint in enumerate(self.endpoints):
            if endpoint.id in ids[:i]:
                raise ValueError(f"endpoints.{i}.id = {endpoint.id!r}: endpoint ids must be unique")
            for field in ("arm", "reference"):
                value = getattr(endpoint, field, None)
                if value is not None and value not in names:
                    raise ValueError(f"endpoints.{i}.{field} = {value!r}: allowed: an arm name ({', '.join(names)})")
            for value in endpoint.arms or []:
                if value not in names:
                    raise ValueError(f"endpoints.{i}.arms = {value!r}: allowed: an arm name ({', '.join(names)})")
            for arm in self.arms:
                if endpoint.month > arm.months and (endpoint.arms is None or arm.name in endpoint.arms):
                    raise ValueError(f"endpoints.{i}.month = {endpoint.month}: after arm {arm.name!r}'s horizon "
                                     f"({arm.months:g} months); allowed 0-{int(arm.months)}")
        return self

    def variability_model(self) -> Variability:
        return FITTED_VARIABILITY if self.variability == "fitted" else NO_VARIABILITY

    def measurement_model(self) -> MeasurementModel:
        """Scans carry DXA precision error; with fitted variability also the fitted residual (population/measurement.py)."""
        return FITTED_MEASUREMENT if self.variability == "fitted" else PRECISION_ONLY

    def chunks(self) -> list[tuple[int, int, int, int]]:
        """Tasks: (arm index, chunk index, first patient, patients)."""
        return [(a, c, start, min(self.chunk_size, self.patients_per_arm - start))
                for a in range(len(self.arms))
                for c, start in enumerate(range(0, self.patients_per_arm, self.chunk_size))]


def month_grid(spec: TrialSpec, arm: Arm) -> list[int]:
    """Months stored per patient: every 3 months, the horizon and every endpoint month (for fan charts and endpoints)."""
    horizon = int(math.ceil(arm.months - 1e-9))
    months = set(range(0, horizon + 1, 3)) | {horizon}
    for e in spec.endpoints:
        months |= {e.month, getattr(e, "baseline_month", 0)}
    return sorted(m for m in months if m <= horizon)


def _freeze_long_lived_objects() -> None:
    """Move every object alive now (modules, compiled kernels, schemas, the registry) out of the cyclic
    garbage collector's view, once per process (``gc.freeze``, Python 3.7+).

    A chunk allocates many short-lived objects (a Scenario per patient); each full collection they trigger
    walked the whole heap of long-lived objects the engine loads, which cost about a quarter of an
    anastrozole chunk's CPU time (benchmarks/POPULATION.md). Objects are still freed by reference counting;
    only the frozen ones are never scanned for cycles again."""
    if not gc.get_freeze_count():
        gc.collect()
        gc.freeze()


def run_chunk(spec_json: dict, arm_index: int, chunk_index: int, first: int, size: int) -> dict[str, np.ndarray]:
    """Simulate one chunk of one arm; returns per-patient columns (numpy arrays, one row per patient).

    A pure function of its arguments: the same (seed, arm, chunk) gives the same rows on any worker.
    """
    from osteotwin.population.virtual import sample_patients, scenario_dicts
    from osteotwin.twin.simulation import simulate_batch

    spec = TrialSpec.model_validate(spec_json)
    arm = spec.arms[arm_index]
    rng = chunk_rng(spec.seed, arm_index, chunk_index)
    covariates = sample_patients(spec.population, rng, size)
    parameters = spec.variability_model().sample(rng, size)
    regimen = arm.model_dump(exclude={"patient", "name"}, exclude_none=True)
    batch = simulate_batch(scenario_dicts(regimen, covariates, parameters))
    horizon = int(math.ceil(arm.months - 1e-9))
    grid = month_grid(spec, arm)
    columns: dict[str, np.ndarray] = {
        "arm": np.full(size, arm.name, dtype=object),
        "patient": np.arange(first, first + size, dtype=np.int64),
        "chunk": np.full(size, chunk_index, dtype=np.int64),
        "age_years": covariates["age_years"], "years_since_menopause": covariates["years_since_menopause"],
        "bmi_kg_m2": covariates["bmi_kg_m2"],
    }
    scans, scan_rng = spec.measurement_model(), measurement_rng(rng)  # own stream: the fracture draws are unchanged
    for site in SITES:
        # what the trial's scans at the grid months measure (DXA precision and the residual; population/measurement.py)
        pct = scans.measure(batch.series(f"{site}_bmd_pct_change")[:, grid], site, grid, scan_rng)
        baseline_t = covariates[f"{site}_t_score"]
        # T-score moves with BMD: T(m) = (BMD0 (1 + pct/100) - mean) / sd; from T0 this is T0 + (BMD0/sd) pct/100.
        bmd0 = batch.baseline_bmd_g_cm2[SITES.index(site)]
        ref_sd = batch.t_score_references[:, 2 * SITES.index(site) + 1]
        for j, m in enumerate(grid):
            columns[f"{site}_pct_m{m}"] = pct[:, j]
            columns[f"{site}_t_m{m}"] = baseline_t + bmd0 / ref_sd * pct[:, j] / 100.0
    columns["bone_agent_start_month"] = _start_month(batch, size, horizon)
    exp_draws = rng.exponential(size=(len(OUTCOMES), size))
    for k, outcome in enumerate(OUTCOMES):
        p = np.clip(batch.series(f"{outcome}_fracture_10y_pct")[:, :horizon], 0.0, 99.999)
        hazard = -np.log1p(-p / 100.0) / 120.0  # per month, month m covers [m, m+1)
        cumulative = np.cumsum(hazard, axis=1)
        hit = cumulative >= exp_draws[k][:, None]
        first_hit = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        # event time within the month by linear interpolation of the cumulative hazard
        before = np.where(first_hit > 0, cumulative[np.arange(size), np.maximum(first_hit - 1, 0)], 0.0)
        within = (exp_draws[k] - before) / np.maximum(hazard[np.arange(size), np.maximum(first_hit, 0)], 1e-300)
        columns[f"{outcome}_fracture_month"] = np.where(first_hit >= 0, first_hit + np.clip(within, 0, 1), np.nan)
    columns["horizon_months"] = np.full(size, float(horizon))
    _freeze_long_lived_objects()  # after the first chunk: the engine's kernels and tables are loaded by now
    return columns


def _start_month(batch, size: int, horizon: int) -> np.ndarray:
    """First month with a bisphosphonate effect or serum denosumab above zero (NaN: never started)."""
    try:
        on = (np.nan_to_num(batch.series("bisphosphonate_resorption_inhibition")) > 0) | \
             (np.nan_to_num(batch.series("denosumab_serum_ug_per_ml")) > 0)
    except KeyError:
        return np.full(size, np.nan)
    on = on[:, : horizon + 1]
    return np.where(on.any(axis=1), on.argmax(axis=1).astype(float), np.nan)


# ---------------------------------------------------------------------------------------------
# Endpoint estimates from per-patient columns (read column by column from the Parquet file).


def _proportion(k: int, n: int) -> dict[str, Any]:
    """A share with its Wilson score 95% CI (Wilson EB. J Am Stat Assoc 1927;22:209-12)."""
    if n == 0:
        return {"value": None, "ci95": [None, None], "n": 0}
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"value": p, "ci95": [max(0.0, centre - half), min(1.0, centre + half)], "n": n}


def summary_statistic(values: np.ndarray, statistic: str) -> dict[str, Any]:
    """mean (t interval), sd (chi-square interval), median/p10/p90 (order-statistic binomial interval)."""
    x = np.sort(values[np.isfinite(values)])
    n = int(x.size)
    if n < 2:
        return {"value": float(x[0]) if n else None, "ci95": [None, None], "n": n}
    if statistic == "mean":
        m, s = float(x.mean()), float(x.std(ddof=1))
        half = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)
        return {"value": m, "ci95": [m - half, m + half], "n": n}
    if statistic == "sd":
        s = float(x.std(ddof=1))
        return {"value": s, "ci95": [s * math.sqrt((n - 1) / stats.chi2.ppf(0.975, n - 1)),
                                     s * math.sqrt((n - 1) / stats.chi2.ppf(0.025, n - 1))], "n": n}
    q = {"median": 0.5, "p10": 0.1, "p90": 0.9}[statistic]
    lo_rank = int(max(stats.binom.ppf(0.025, n, q) - 1, 0))
    hi_rank = int(min(stats.binom.ppf(0.975, n, q), n - 1))
    return {"value": float(np.quantile(x, q)), "ci95": [float(x[lo_rank]), float(x[hi_rank])], "n": n}


def endpoint_estimate(endpoint, columns: dict[str, np.ndarray]) -> dict[str, Any]:
    """One arm's estimate of a (non-ratio) endpoint from its per-patient columns."""
    m = endpoint.month
    if endpoint.kind == "bmd_pct_change":
        pct = columns[f"{endpoint.site}_pct_m{m}"]
        if endpoint.baseline_month:
            base = columns[f"{endpoint.site}_pct_m{endpoint.baseline_month}"]
            pct = 100.0 * ((1 + pct / 100.0) / (1 + base / 100.0) - 1.0)
        return summary_statistic(pct, endpoint.statistic)
    if endpoint.kind == "share_below_t_score":
        t = columns[f"{endpoint.site}_t_m{m}"]
        return _proportion(int(np.sum(t < endpoint.t_score)), int(np.isfinite(t).sum()))
    if endpoint.kind == "fracture_cumulative_incidence":
        times = columns[f"{endpoint.outcome}_fracture_month"]
        return _proportion(int(np.sum(times < m)), int(times.size))
    if endpoint.kind == "share_started_bone_agent":
        start = columns["bone_agent_start_month"]
        return _proportion(int(np.sum(start <= m)), int(start.size))
    raise ValueError(endpoint.kind)


def mean_difference(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Difference of means x - y with the Welch 95% CI (Welch BL. Biometrika 1947;34:28-35)."""
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < 2 or y.size < 2:
        return {"value": None, "ci95": [None, None], "n": [int(x.size), int(y.size)]}
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1)) if se > 0 else 1.0
    diff = float(x.mean() - y.mean())
    half = float(stats.t.ppf(0.975, df)) * se
    return {"value": diff, "ci95": [diff - half, diff + half], "n": [int(x.size), int(y.size)]}


def events_and_time(times: np.ndarray, start: float, stop: float) -> tuple[int, float]:
    """Events in [start, stop) and patient-months at risk (a patient stops at her first event)."""
    t = np.where(np.isfinite(times), times, np.inf)
    at_risk = t >= start
    end = np.minimum(t[at_risk], stop)
    return int(np.sum(t[at_risk] < stop)), float(np.sum(end - start))


def rate_ratio(d1: int, t1: float, d0: int, t0: float) -> dict[str, Any]:
    """Poisson rate ratio (d1/t1)/(d0/t0) with the Wald 95% CI of its log; 0.5 added to both counts when one is zero."""
    if t1 <= 0 or t0 <= 0:
        return {"value": None, "ci95": [None, None], "events": [d1, d0]}
    a, b = (d1, d0) if d1 and d0 else (d1 + 0.5, d0 + 0.5)
    ratio = (a / t1) / (b / t0)
    half = 1.959964 * math.sqrt(1 / a + 1 / b)
    return {"value": ratio, "ci95": [ratio * math.exp(-half), ratio * math.exp(half)], "events": [d1, d0],
            "patient_years": [t1 / 12.0, t0 / 12.0], "method": "Poisson rate ratio, Wald CI of log ratio"}
