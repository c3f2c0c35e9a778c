"""How sure is the model about this patient? Her series as 10th/50th/90th percentiles over the
calibration's parameter uncertainty (``simulate --intervals``; ``simulate(scenario, intervals=True)``).

Model: the calibration's posterior is approximated by a Gaussian (Laplace) on each fitted parameter's
logit position inside its prior range, z = logit((x - low) / (high - low)), centred on the shipped
value, with the covariance that ``scripts/parameter_uncertainty.py`` derives from the calibration's
residuals (Gauss-Newton: (J^T J)^-1 with residuals in units of each row's standard error) and ships in
``data/parameter_uncertainty.json`` with its method. ``draws`` parameter sets (default 200, seeded, so
the same scenario gives the same intervals) are drawn from it and mapped back into the prior ranges;
each is one run of the scenario with those overrides, all in one batch; the percentiles are taken per
month. Parameters the scenario sets itself (``parameters``) keep her value.

What the range is not: it leaves out the spread between women (population/virtual.py: a trial's
virtual patients), her own measurements (the personal twin, ``osteotwin fit``, narrows her range with
her scans) and the model's structural error (docs/calibration.md lists the rows it misses).
Parameters that sit at a prior bound are held there (the Laplace approximation is undefined at a
bound); the file lists them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np

from osteotwin.physiology.parameters import ParameterTable, registry
from osteotwin.scenario import Scenario

SERIES = (
    "lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "lumbar_spine_bmd_g_cm2", "total_hip_bmd_g_cm2",
    "lumbar_spine_t_score", "total_hip_t_score", "major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct",
)
PERCENTILES = (10, 50, 90)
DEFAULT_DRAWS = 200  # ours: the 10th and 90th percentiles of 200 draws move by about 0.1 SD between seeds
UNCERTAINTY_FILE = "parameter_uncertainty.json"


@dataclass(frozen=True)
class ParameterUncertainty:
    """A Gaussian on the logit scale of the named parameters' positions inside their prior ranges."""

    names: tuple[str, ...]
    covariance: np.ndarray  # (len(names), len(names)), logit scale
    held_at_bound: tuple[str, ...] = ()
    method: str = ""

    def __post_init__(self) -> None:
        n = len(self.names)
        if self.covariance.shape != (n, n):
            raise ValueError(f"covariance must be {n} x {n}, got {self.covariance.shape}")
        if not np.allclose(self.covariance, self.covariance.T) or np.any(np.linalg.eigvalsh(self.covariance) < -1e-12):
            raise ValueError("covariance must be symmetric positive semi-definite")

    @staticmethod
    @functools.cache
    def shipped() -> ParameterUncertainty:
        """The calibration's uncertainty, as shipped in osteotwin/data/parameter_uncertainty.json."""
        data = json.loads(resources.files("osteotwin.data").joinpath(UNCERTAINTY_FILE).read_text(encoding="utf-8"))
        return ParameterUncertainty(tuple(data["parameters"]), np.array(data["covariance_logit"], dtype=float),
                                    tuple(data.get("held_at_bound", ())), data.get("method", ""))

    def draws(self, count: int, seed: int, table: ParameterTable) -> np.ndarray:
        """(count, parameters) values inside the prior ranges, centred on the table's values."""
        low = np.array([table[name].prior_range[0] for name in self.names])
        high = np.array([table[name].prior_range[1] for name in self.names])
        centre = np.array([table.value(name) for name in self.names])
        position = np.clip((centre - low) / (high - low), 1e-9, 1 - 1e-9)
        z = np.log(position / (1 - position))
        rng = np.random.default_rng(seed)
        sampled = rng.multivariate_normal(z, self.covariance, size=count, method="eigh")
        return low + (high - low) / (1.0 + np.exp(-sampled))


def series_intervals(scenario: Scenario | Mapping, draws: int = DEFAULT_DRAWS, seed: int = 0,
                     uncertainty: ParameterUncertainty | None = None,
                     params: ParameterTable | None = None) -> dict[str, dict[str, list[float]]]:
    """``{SERIES: {"p10": [...], "p50": [...], "p90": [...]}}`` per month of the scenario."""
    from osteotwin.twin.simulation import as_scenario, simulate_batch

    scenario = as_scenario(scenario)
    uncertainty = uncertainty or ParameterUncertainty.shipped()
    table = params if params is not None else registry()
    own = scenario.parameters
    free = [i for i, name in enumerate(uncertainty.names) if name not in own]
    values = uncertainty.draws(draws, seed, table)
    base = scenario.model_dump(mode="json")
    runs = [{**base, "parameters": {**own, **{uncertainty.names[i]: float(row[i]) for i in free}}} for row in values]
    batch = simulate_batch(runs, params=params)
    months = int(np.ceil(scenario.months - 1e-9)) + 1
    result: dict[str, dict[str, list[float]]] = {}
    for name in SERIES:
        percentiles = np.percentile(batch.series(name)[:, :months], PERCENTILES, axis=0)
        result[name] = {f"p{p}": np.round(row, 6).tolist() for p, row in zip(PERCENTILES, percentiles, strict=True)}
    return result
