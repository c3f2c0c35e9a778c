"""Global sensitivity of the engine's outputs to its parameters: ``osteotwin sensitivity SPEC.json``.

Method (variance-based, Sobol 2001): the chosen parameters vary together, each uniformly over its
prior range (the range that calibration and per-patient overrides use; ``osteotwin parameters``
lists them), every other parameter at its shipped value. Saltelli's sampling scheme (Saltelli 2002;
Saltelli et al. 2010, Comput Phys Commun 181:259) draws ``samples`` x (parameters + 2) parameter
sets from a scrambled Sobol sequence (SALib, Herman & Usher 2017, JOSS 2:97; second-order indices
off). Each set is one patient: the spec's scenario with those ``parameters`` overrides. For each
output (a Trajectory series read at a month), SALib's estimator gives the first-order index S1 (the
share of the output's variance explained by the parameter alone) and the total index ST (alone and
in every interaction), each with a bootstrap 95% interval (1,000 resamples, SALib's default).

Reading it: ST near 0 means the output does not depend on the parameter over its prior range (it
could be fixed without loss); ST well above S1 means the parameter acts through interactions. The
indices describe the model over the prior ranges, not the evidence behind them.

The runs are chunks of parameter sets on the same back-ends as ``osteotwin trial``
(population/backends.py): in this process, a local process pool, or a Dask cluster; the result does
not depend on the back-end (the samples are drawn once, in order, from the seed).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from osteotwin.physiology.parameters import registry
from osteotwin.scenario import Scenario

# The Trajectory series an output may read (per-month arrays of every scenario).
SERIES = (
    "lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "lumbar_spine_t_score", "total_hip_t_score",
    "ctx_pct_change", "p1np_pct_change", "major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct",
    "falls_per_year",
)
CONFIDENCE_LEVEL = 0.95  # of the bootstrap intervals
BOOTSTRAP_RESAMPLES = 1000  # SALib's default


class Output(BaseModel):
    """One output: a Trajectory series read at one month."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    series: Literal[SERIES]  # type: ignore[valid-type]
    month: int = Field(ge=0, le=600, description="whole months from the scenario's start")


class SensitivitySpec(BaseModel):
    """``osteotwin sensitivity SPEC.json`` (examples/sensitivity/*.json)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    scenario: Scenario
    parameters: list[str] = Field(min_length=1, max_length=40, description="registry names with a prior range")
    outputs: list[Output] = Field(min_length=1, max_length=50)
    samples: int = Field(256, ge=8, le=65_536, description="Saltelli base sample N (a power of 2); runs = N x (parameters + 2)")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    chunk_size: int = Field(512, ge=1, le=100_000, description="parameter sets per task")

    @model_validator(mode="after")
    def _checks(self) -> SensitivitySpec:
        table = registry()
        for i, name in enumerate(self.parameters):
            if name not in table:
                raise ValueError(f"parameters.{i} = {name!r}: allowed: a parameter name listed by `osteotwin parameters`")
            if table[name].prior_range is None:
                raise ValueError(f"parameters.{i} = {name!r}: this parameter has no prior range (derived or fixed by "
                                 "definition); allowed: a parameter with a prior range")
            if name in self.parameters[:i]:
                raise ValueError(f"parameters.{i} = {name!r}: each parameter once")
        if self.samples & (self.samples - 1):
            raise ValueError(f"samples = {self.samples}: allowed: a power of 2 (Sobol sequences balance at powers of 2), e.g. 256")
        ids = [output.id for output in self.outputs]
        for i, output in enumerate(self.outputs):
            if output.id in ids[:i]:
                raise ValueError(f"outputs.{i}.id = {output.id!r}: output ids must be unique")
            if output.month > self.scenario.months:
                raise ValueError(f"outputs.{i}.month = {output.month}: allowed: 0 to the scenario's months ({self.scenario.months:g})")
        return self

    def problem(self) -> dict:
        """The SALib problem: names and prior-range bounds."""
        table = registry()
        return {"num_vars": len(self.parameters), "names": list(self.parameters),
                "bounds": [list(table[name].prior_range) for name in self.parameters]}

    def runs(self) -> int:
        return self.samples * (len(self.parameters) + 2)


def parameter_sets(spec: SensitivitySpec) -> np.ndarray:
    """The Saltelli sample, (runs, parameters), from the spec's seed."""
    from SALib.sample import sobol

    return sobol.sample(spec.problem(), spec.samples, calc_second_order=False, scramble=True, seed=spec.seed)


def evaluate_chunk(spec_json: dict, sets: np.ndarray) -> np.ndarray:
    """The outputs, (len(sets), outputs), of the spec's scenario run once per parameter set (one batch)."""
    from osteotwin import simulate_batch

    spec = SensitivitySpec.model_validate(spec_json)
    base = spec.scenario.model_dump(mode="json")
    scenarios = [{**base, "parameters": {**base.get("parameters", {}), **dict(zip(spec.parameters, map(float, row), strict=True))}}
                 for row in sets]
    batch = simulate_batch(scenarios)
    return np.column_stack([batch.series(output.series)[:, output.month] for output in spec.outputs])


def sobol_indices(spec: SensitivitySpec, values: np.ndarray) -> dict[str, dict[str, dict[str, object]]]:
    """Per output id and parameter: S1 and ST with their bootstrap 95% intervals."""
    from SALib.analyze import sobol

    result: dict[str, dict[str, dict[str, object]]] = {}
    for column, output in enumerate(spec.outputs):
        y = values[:, column]
        if np.ptp(y) == 0.0:  # the output does not move over these ranges: no variance to apportion
            result[output.id] = {name: {"S1": 0.0, "S1_ci95": [0.0, 0.0], "ST": 0.0, "ST_ci95": [0.0, 0.0]}
                                 for name in spec.parameters}
            continue
        indices = sobol.analyze(spec.problem(), y, calc_second_order=False, num_resamples=BOOTSTRAP_RESAMPLES,
                                conf_level=CONFIDENCE_LEVEL, seed=spec.seed)
        result[output.id] = {
            name: {"S1": round(float(indices["S1"][i]), 4),
                   "S1_ci95": _interval(indices["S1"][i], indices["S1_conf"][i]),
                   "ST": round(float(indices["ST"][i]), 4),
                   "ST_ci95": _interval(indices["ST"][i], indices["ST_conf"][i])}
            for i, name in enumerate(spec.parameters)
        }
    return result


def _interval(estimate: float, half_width: float) -> list[float]:
    return [round(float(estimate - half_width), 4), round(float(estimate + half_width), 4)]


def run_sensitivity(spec: SensitivitySpec, *, workers: int = 1, scheduler=None) -> dict:
    """Sample, run every chunk on the chosen back-end, and analyse; returns the JSON-shaped result."""
    from osteotwin.population.backends import ordered_map

    sets = parameter_sets(spec)
    spec_json = spec.model_dump(mode="json")
    tasks = [(spec_json, sets[start:start + spec.chunk_size]) for start in range(0, len(sets), spec.chunk_size)]
    values = np.empty((len(sets), len(spec.outputs)))
    facts = ordered_map(evaluate_chunk, tasks, workers=workers, scheduler=scheduler, label=spec.name,
                        units=[len(task[1]) for task in tasks],
                        on_result=lambda index, part: values.__setitem__(
                            slice(index * spec.chunk_size, index * spec.chunk_size + len(part)), part))
    table = registry()
    return {
        "name": spec.name,
        "method": "Sobol indices (Saltelli sampling, SALib), parameters uniform over their prior ranges",
        "runs": len(sets),
        "parameters": {name: {"prior_range": list(table[name].prior_range), "shipped_value": table.value(name),
                              "unit": table[name].unit} for name in spec.parameters},
        "outputs": {output.id: {"series": output.series, "month": output.month,
                                "mean": round(float(values[:, i].mean()), 4), "sd": round(float(values[:, i].std(ddof=1)), 4)}
                    for i, output in enumerate(spec.outputs)},
        "indices": sobol_indices(spec, values),
        "run": {"backend": facts["backend"], "tasks": len(tasks), "seconds": round(facts["seconds"], 2)},
    }


def text_summary(result: dict) -> str:
    """One table per output, parameters by total index, largest first."""
    lines = [f"{result['name']}: {result['method']}; {result['runs']} runs"]
    for output_id, per_parameter in result["indices"].items():
        output = result["outputs"][output_id]
        lines.append("")
        lines.append(f"{output_id}: {output['series']} at month {output['month']} (mean {output['mean']:g}, SD {output['sd']:g})")
        lines.append(f"  {'parameter':45s} {'S1 (95% CI)':>24s} {'ST (95% CI)':>24s}")
        for name, ix in sorted(per_parameter.items(), key=lambda item: -item[1]["ST"]):
            s1 = f"{ix['S1']:.3f} ({ix['S1_ci95'][0]:.3f} to {ix['S1_ci95'][1]:.3f})"
            st = f"{ix['ST']:.3f} ({ix['ST_ci95'][0]:.3f} to {ix['ST_ci95'][1]:.3f})"
            lines.append(f"  {name:45s} {s1:>24s} {st:>24s}")
    return "\n".join(lines)


def write_report(result: dict, folder) -> list:
    """report.md with the tables and sensitivity.png (S1 and ST bars per output) in ``folder``."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    outputs = list(result["indices"])
    names = list(result["parameters"])
    fig, axes = plt.subplots(len(outputs), 1, figsize=(8, 1.2 + 0.45 * len(names) * len(outputs)), squeeze=False)
    for ax, output_id in zip(axes[:, 0], outputs, strict=True):
        ix = result["indices"][output_id]
        y = np.arange(len(names))
        ax.barh(y + 0.2, [ix[n]["ST"] for n in names], height=0.4, label="total (ST)")
        ax.barh(y - 0.2, [ix[n]["S1"] for n in names], height=0.4, label="first order (S1)")
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlim(0, 1.05)
        output = result["outputs"][output_id]
        ax.set_title(f"{output_id}: {output['series']} at month {output['month']}", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    png = folder / "sensitivity.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    markdown = folder / "report.md"
    body = [f"# Sensitivity: {result['name']}", "", result["method"] + f"; {result['runs']} runs "
            f"({result['run']['backend']}, {result['run']['seconds']} s).", "",
            "| parameter | unit | prior range | shipped value |", "|---|---|---|---|"]
    body += [f"| {n} | {p['unit']} | {p['prior_range'][0]:g} to {p['prior_range'][1]:g} | {p['shipped_value']:g} |"
             for n, p in result["parameters"].items()]
    body += ["", "```", text_summary(result), "```", "", "![S1 and ST per output](sensitivity.png)", ""]
    markdown.write_text("\n".join(body), encoding="utf-8")
    return [markdown, png]
