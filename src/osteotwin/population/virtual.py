"""Virtual populations: covariates from a trial's baseline table and inter-individual variability.

Covariates (age, years since menopause, BMI, baseline T-scores, calcium/vitamin D intake,
adherence) are drawn from truncated normals given as (mean, sd, min, max), the way trials report
their baseline table (e.g. ZO-FAST, Bundred NJ et al. Cancer 2008;112:1001-10, Table 1); the
bounds are the inclusion criteria. Between-patient variability of the calibrated engine is a
correlated log-normal on a few parameters (population PK/PD convention: theta_i = theta *
exp(eta_i), eta ~ N(0, Omega); Sheiner LB, Beal SL. J Pharmacokinet Biopharm 1980;8:553-71), clipped
to each parameter's prior range (``physiology/parameters.py``: the engine refuses values outside
it). Its SDs were fitted by ``scripts/fit_population_variability.py`` to the calibration rows that
report an SD of BMD change (``data/calibration_targets.csv``), jointly with the statistical residual
that trials add to what their scans measure (``measurement.py``); the fit is in docs/populations.md.

Sampling is seeded per chunk (``numpy.random.SeedSequence``), so a chunk's patients depend only
on (seed, arm, chunk index), never on which worker draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.special import ndtr, ndtri

from osteotwin.physiology.parameters import ParameterTable, registry


class Covariate(BaseModel):
    """One baseline covariate: a normal (mean, sd) truncated to [min, max] (the inclusion criteria)."""

    model_config = ConfigDict(extra="forbid")
    mean: float
    sd: float = Field(0.0, ge=0)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Covariate:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min = {self.min:g}: must be below max = {self.max:g}")
        low = -np.inf if self.min is None else self.min
        high = np.inf if self.max is None else self.max
        if self.sd == 0 and not low <= self.mean <= high:
            raise ValueError(f"mean = {self.mean:g}: with sd 0 it must lie within [min, max]")
        if self.sd > 0 and ndtr((high - self.mean) / self.sd) - ndtr((low - self.mean) / self.sd) < 1e-6:
            raise ValueError(f"min/max = [{low:g}, {high:g}]: excludes almost all of the normal ({self.mean:g}, sd {self.sd:g})")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Inverse-CDF draws from the truncated normal (vectorised)."""
        if self.sd == 0:
            return np.full(n, self.mean)
        lo = ndtr(((-np.inf if self.min is None else self.min) - self.mean) / self.sd)
        hi = ndtr(((np.inf if self.max is None else self.max) - self.mean) / self.sd)
        u = lo + (hi - lo) * rng.random(n)
        values = self.mean + self.sd * ndtri(np.clip(u, 1e-15, 1 - 1e-15))
        return np.clip(values, self.min if self.min is not None else -np.inf, self.max if self.max is not None else np.inf)


# Defaults when a trial's table omits a covariate: the engine's Patient defaults (scenario.py),
# ZO-FAST's inclusion (T-score >= -2.0; Bundred 2008) and NHANES 2015-16 mean BMI of US women 60+
# (about 29-30 kg/m2; Hales CM et al. NCHS Data Brief 2017;288) rounded down to 28 with sd 5.
DEFAULT_COVARIATES: dict[str, dict[str, float]] = {
    "age_years": {"mean": 64, "sd": 8, "min": 45, "max": 90},
    "years_since_menopause": {"mean": 12, "sd": 8, "min": 1, "max": 45},
    "bmi_kg_m2": {"mean": 28, "sd": 5, "min": 17, "max": 45},
    "height_cm": {"mean": 162, "sd": 6.5, "min": 140, "max": 190},
    "lumbar_spine_t_score": {"mean": -1.0, "sd": 1.2, "min": -4.5, "max": 3},
    "total_hip_t_score": {"mean": -0.8, "sd": 1.0, "min": -4.0, "max": 3},
    "calcium_mg_per_day": {"mean": 800, "sd": 300, "min": 200, "max": 2000},
    "vitamin_d_iu_per_day": {"mean": 200, "sd": 100, "min": 0, "max": 1000},
    "adherence": {"mean": 1.0, "sd": 0.0, "min": 0, "max": 1},
}


class PopulationSpec(BaseModel):
    """A trial's baseline table: each covariate as (mean, sd, min, max); omitted ones use DEFAULT_COVARIATES."""

    model_config = ConfigDict(extra="forbid")
    age_years: Covariate | None = None
    years_since_menopause: Covariate | None = None
    bmi_kg_m2: Covariate | None = None
    height_cm: Covariate | None = None
    lumbar_spine_t_score: Covariate | None = None
    total_hip_t_score: Covariate | None = None
    calcium_mg_per_day: Covariate | None = None
    vitamin_d_iu_per_day: Covariate | None = None
    adherence: Covariate | None = None

    def covariate(self, name: str) -> Covariate:
        given = getattr(self, name)
        if given is not None:
            return given
        return Covariate(**DEFAULT_COVARIATES[name])


@dataclass(frozen=True)
class Variability:
    """Log-normal between-patient variability: SD of log(parameter) per name and one correlation
    between every pair (``rho``). Values are clipped to the parameter's prior range."""

    sd_log: Mapping[str, float]
    rho: float = 0.0

    def covariance(self) -> np.ndarray:
        sd = np.array(list(self.sd_log.values()), dtype=float)
        corr = np.full((sd.size, sd.size), self.rho)
        np.fill_diagonal(corr, 1.0)
        return corr * np.outer(sd, sd)

    def sample(self, rng: np.random.Generator, n: int, table: ParameterTable | None = None) -> dict[str, np.ndarray]:
        table = table or registry()
        names = list(self.sd_log)
        if not names:
            return {}
        sd = np.array([self.sd_log[name] for name in names], dtype=float)
        corr = np.full((sd.size, sd.size), self.rho)
        np.fill_diagonal(corr, 1.0)
        eta = (rng.standard_normal((n, sd.size)) @ np.linalg.cholesky(corr).T) * sd  # works for an SD of 0 too
        out = {}
        for j, name in enumerate(names):
            parameter = table[name]
            low, high = parameter.prior_range or (parameter.value, parameter.value)
            out[name] = np.clip(parameter.value * np.exp(eta[:, j]), low, high)
        return out


# The SD of log shared by the per-site turnover scales (omega) is fitted by scripts/fit_population_variability.py
# (docs/populations.md) jointly with the statistical residual of population/measurement.py, against the
# calibration rows that report an SD of % BMD change and their means [C]; the RANKL exponent's SD and the
# correlation are ours [A], kept modest.
FITTED_VARIABILITY = Variability(
    sd_log={"lumbar_spine_turnover_scale": 1.0, "total_hip_turnover_scale": 1.0, "estrogen_rankl_exponent": 0.2},
    rho=0.5,
)
NO_VARIABILITY = Variability(sd_log={})


def chunk_rng(seed: int, arm_index: int, chunk_index: int) -> np.random.Generator:
    """The generator of one chunk: SeedSequence(seed, spawn_key=(arm, chunk)), independent of scheduling."""
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(int(arm_index), int(chunk_index))))


def sample_patients(population: PopulationSpec, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Covariate arrays for n patients (vectorised); years since menopause capped at age - 12 (scenario.py's rule)."""
    values = {name: population.covariate(name).sample(rng, n) for name in DEFAULT_COVARIATES}
    values["years_since_menopause"] = np.minimum(values["years_since_menopause"], values["age_years"] - 12.0)
    return values


def scenario_dicts(regimen: Mapping, covariates: Mapping[str, np.ndarray], parameters: Mapping[str, np.ndarray]) -> list[dict]:
    """Scenario dicts (JSON-shaped) for each patient: the regimen with her covariates and parameter overrides.

    The covariates' diet and adherence replace the regimen's diet intake and every endocrine course's
    adherence; supplements stay as the arm gives them.
    """
    n = len(next(iter(covariates.values())))
    height = covariates["height_cm"]
    weight = covariates["bmi_kg_m2"] * (height / 100.0) ** 2
    out = []
    base_diet = dict(regimen.get("diet") or {})
    for i in range(n):
        scenario = {k: v for k, v in regimen.items() if k not in ("name",)}
        scenario["patient"] = {
            "age_years": round(float(covariates["age_years"][i]), 3),
            "years_since_menopause": round(float(max(covariates["years_since_menopause"][i], 0.0)), 3),
            "weight_kg": round(float(np.clip(weight[i], 25, 300)), 3),
            "height_cm": round(float(height[i]), 3),
            "lumbar_spine_t_score": round(float(covariates["lumbar_spine_t_score"][i]), 4),
            "total_hip_t_score": round(float(covariates["total_hip_t_score"][i]), 4),
        }
        scenario["diet"] = base_diet | {"calcium_mg_per_day": round(float(covariates["calcium_mg_per_day"][i]), 2),
                                        "vitamin_d_iu_per_day": round(float(covariates["vitamin_d_iu_per_day"][i]), 2)}
        courses = [dict(c) for c in regimen.get("endocrine_therapy", [])]
        for course in courses:
            course["adherence"] = round(float(covariates["adherence"][i]), 4)
        scenario["endocrine_therapy"] = courses
        scenario["parameters"] = dict(regimen.get("parameters") or {}) | {name: float(v[i]) for name, v in parameters.items()}
        out.append(scenario)
    return out


def sample_scenarios(population: PopulationSpec, regimen: Mapping, n: int, *, seed: int = 0, arm_index: int = 0,
                     chunk_index: int = 0, variability: Variability = FITTED_VARIABILITY) -> list[dict]:
    """One chunk of a virtual population: n Scenario dicts with ``parameters`` overrides, seeded by (seed, arm, chunk)."""
    rng = chunk_rng(seed, arm_index, chunk_index)
    covariates = sample_patients(population, rng, n)
    parameters = variability.sample(rng, n)
    return scenario_dicts(regimen, covariates, parameters)


def iter_population(population: PopulationSpec, regimen: Mapping, n: int, *, chunk_size: int = 500, seed: int = 0,
                    arm_index: int = 0, variability: Variability = FITTED_VARIABILITY):
    """The population in chunks of ``chunk_size`` scenario dicts (the same patients however it is split across workers)."""
    for chunk_index, start in enumerate(range(0, n, chunk_size)):
        yield sample_scenarios(population, regimen, min(chunk_size, n - start), seed=seed, arm_index=arm_index,
                               chunk_index=chunk_index, variability=variability)


def variability_samples(n: int, *, seed: int = 0, variability: Variability = FITTED_VARIABILITY) -> list[dict[str, float]]:
    """n parameter-override dicts ({registry name: value}) drawn from the between-patient variability (not the
    calibration's parameter uncertainty: twin/intervals.py), for a Scenario's ``parameters``."""
    values = variability.sample(chunk_rng(seed, 0, 0), n)
    return [{name: float(v[i]) for name, v in values.items()} for i in range(n)]
