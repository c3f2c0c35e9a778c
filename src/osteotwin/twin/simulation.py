"""Scenario -> engine arrays -> batched solve -> Trajectory (the Python API behind ``simulate``).

``simulate(scenario)`` and ``simulate_batch(scenarios)`` accept Scenario models or the same
JSON-shaped dicts. A batch is integrated together (one compiled pass over all patients up to the
longest horizon); each Trajectory is cut to its own horizon. Months are calendar months of
365.25/12 days; month m of the input covers [m, m+1) and endocrine therapy is on in a month when
the month's midpoint lies between start_month and stop_month.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import ValidationError

from osteotwin.physiology import bone, drugs, engine, estrogen
from osteotwin.physiology.lifestyle import LifestyleDrives, LifestyleInputs, lifestyle_drives
from osteotwin.physiology.options import EngineOptions
from osteotwin.physiology.parameters import ParameterTable, PatientParameters, registry
from osteotwin.physiology.solve import DAYS_PER_MONTH
from osteotwin.scenario import Scenario, Trajectory, scenario_warnings

SITE_INDEX = {"lumbar_spine": 0, "total_hip": 1}
CALIBRATED_HORIZON_MONTHS = 84  # longest horizon of the calibration targets (ATAC 5 y + 2 y off)
ENGINE_OUTPUTS = (
    "lumbar_spine_bmd_relative", "total_hip_bmd_relative",
    "lumbar_spine_resorption_relative", "total_hip_resorption_relative",
    "lumbar_spine_formation_relative", "total_hip_formation_relative",
    "rankl_opg_ratio_relative", "sclerostin_relative", "estradiol_pg_ml", "estrogen_ratio",
    "denosumab_serum_ug_per_ml", "bisphosphonate_resorption_inhibition",
)
BONE_BOUND_OUTPUTS = tuple(f"drug_{name}" for name in drugs.DRUG_STATE_NAMES if name.endswith(("_surface_umol", "_buried_umol")))

def default_parameters() -> ParameterTable:
    """The registry with the shipped (calibrated) values (parameters.registry, built once per process)."""
    return registry()


def as_scenario(scenario: Scenario | Mapping) -> Scenario:
    """A Scenario from a Scenario or its JSON-shaped dict (pydantic validation refuses bad input)."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.model_validate(dict(scenario))
    raise TypeError(f"expected a Scenario or a dict, got {type(scenario).__name__}")


def horizon_months(scenario: Scenario) -> int:
    return int(math.ceil(scenario.months - 1e-9))


def _endocrine_arrays(scenario: Scenario, months: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    code = np.zeros(months, dtype=np.int64)
    adherence = np.ones(months)
    notes: list[str] = []
    midpoints = np.arange(months) + 0.5
    covered = np.zeros(months, dtype=bool)
    for course in scenario.endocrine_therapy:
        stop = course.stop_month if course.stop_month is not None else np.inf
        on = (midpoints >= course.start_month) & (midpoints < stop)
        if course.drug == "none":
            continue
        if np.any(on & covered):
            notes.append(f"endocrine_therapy: {course.drug} overlaps another course; the later course is used in overlapping months")
        code[on] = estrogen.ENDOCRINE_DRUG_CODES[course.drug]
        adherence[on] = course.adherence
        covered |= on
    return code, adherence, notes


def _schedule_items(scenario: Scenario, months: int, params: ParameterTable) -> tuple[list[tuple], list[str]]:
    items: list[tuple] = []
    notes: list[str] = []
    values = params.values_dict()
    horizon_day = months * DAYS_PER_MONTH + 1.0
    for index, agent in enumerate(scenario.bone_agents):
        label = drugs.LABEL_DOSES[agent.drug][0]
        if agent.doses is not None:
            for dose in agent.doses:
                drugs.absorbed_amount(agent.drug, dose.dose_mg, values)  # refuses impossible doses
                warning = drugs.label_dose_warning(agent.drug, dose.dose_mg)
                if warning:
                    notes.append(f"bone_agents.{index}.doses: {warning}")
                items.append((agent.drug, dose.dose_mg, 0.0, dose.month * DAYS_PER_MONTH, np.inf, engine.NO_RULE, 0.0))
            continue
        dose_mg = agent.dose_mg if agent.dose_mg is not None else label.dose_mg
        drugs.absorbed_amount(agent.drug, dose_mg, values)
        warning = drugs.label_dose_warning(agent.drug, dose_mg)
        if warning:
            notes.append(f"bone_agents.{index}.dose_mg: {warning}")
        interval = agent.every_months * DAYS_PER_MONTH if agent.every_months is not None else float(agent.every_days)
        stop_day = agent.stop_month * DAYS_PER_MONTH if agent.stop_month is not None else horizon_day
        if agent.start_when is not None:
            items.append((agent.drug, dose_mg, interval, 0.0, stop_day, SITE_INDEX[agent.start_when.site], agent.start_when.t_score_below))
        else:
            start_day = (agent.start_month or 0.0) * DAYS_PER_MONTH
            items.append((agent.drug, dose_mg, interval, start_day, stop_day, engine.NO_RULE, 0.0))
    return items, notes


def patient_parameters(scenarios: Sequence[Scenario], params: ParameterTable) -> PatientParameters:
    """Each scenario's parameters: the table's values with the scenario's own ``parameters`` overrides."""
    return PatientParameters.from_overrides(params, [scenario.parameters for scenario in scenarios])


@functools.cache
def engine_only_parameters() -> frozenset[str]:
    """Parameters that only the vectorised engine reads, one value per patient (the core's packed vector,
    estrogen, background drives, the mechanostat's accommodation, drug PK/PD). Patients who differ only
    in these share one pass through the lifestyle and outcome modules, which run per parameter set
    (a virtual population varies these); tests/physiology/test_patient_parameters.py checks that none
    of them changes those modules' results."""
    from osteotwin.physiology import background, cells, drugs, estrogen, mechanostat, signalling, spec

    registry_names = set(registry())
    vector = {name for name in spec.VECTOR_NAMES if name in registry_names}
    modules = (background, cells, drugs, estrogen, mechanostat, signalling)
    return frozenset(vector.union(*(set(module.PARAMETERS) for module in modules)))


@functools.cache
def module_parameter_names() -> tuple[str, ...]:
    """The registry parameters that the lifestyle and outcome modules read (every name not in
    :func:`engine_only_parameters`); every table has the registry's names."""
    engine_only = engine_only_parameters()
    return tuple(name for name in registry() if name not in engine_only)


def module_groups(params: PatientParameters) -> list[tuple[ParameterTable, np.ndarray]]:
    """Patients grouped by the parameters the lifestyle and outcome modules read."""
    return params.groups(module_parameter_names())


def _lifestyle(inputs: LifestyleInputs, options: EngineOptions, groups: list[tuple[ParameterTable, np.ndarray]]) -> LifestyleDrives:
    """Lifestyle drives, computed once per group of patients that share the parameters they read."""
    drives = LifestyleDrives.baseline(inputs.patients)
    for table, members in groups:
        part = lifestyle_drives(inputs.select(members), options, table)
        for name in ("pth_relative", "gut_barrier_relative", "formation_relative", "exercise_start_month", "exercise_stop_month"):
            getattr(drives, name)[members] = getattr(part, name)
        drives.loading_stimulus_relative[:, members] = part.loading_stimulus_relative
    return drives


def build_arrays(scenarios: Sequence[Scenario], options: EngineOptions, params: PatientParameters,
                 inputs: LifestyleInputs | None = None,
                 groups: list[tuple[ParameterTable, np.ndarray]] | None = None) -> tuple[engine.PatientArrays, list[list[str]]]:
    """Engine arrays for a batch, and per-scenario notes (warnings) raised while building them.
    ``inputs``, ``groups``: the scenarios' lifestyle inputs and :func:`module_groups` when the caller has them."""
    from osteotwin.twin.lifestyle_inputs import lifestyle_inputs

    inputs = lifestyle_inputs(scenarios) if inputs is None else inputs
    groups = module_groups(params) if groups is None else groups
    months = max(horizon_months(s) for s in scenarios)
    codes, adherences, items, notes = [], [], [], []
    for scenario in scenarios:
        code, adherence, endocrine_notes = _endocrine_arrays(scenario, months)
        agent_items, agent_notes = _schedule_items(scenario, months, params.table)
        codes.append(code)
        adherences.append(adherence)
        items.append(agent_items)
        notes.append(endocrine_notes + agent_notes)
    patients = [s.patient for s in scenarios]
    arrays = engine.PatientArrays(
        months=months,
        age_years=np.array([p.age_years for p in patients], dtype=float),
        years_since_menopause=np.array([p.years_since_menopause for p in patients], dtype=float),
        baseline_bmd_g_cm2=np.vstack([
            bone.bmd_from_t_score(np.array([p.lumbar_spine_t_score for p in patients], dtype=float), 0, params),
            bone.bmd_from_t_score(np.array([p.total_hip_t_score for p in patients], dtype=float), 1, params),
        ]),
        endocrine_code=np.array(codes).T.copy(),
        adherence=np.array(adherences).T.copy(),
        drives=_lifestyle(inputs, options, groups),
        schedule=engine.DoseSchedule.from_items(items),
    )
    return arrays, notes


def trajectory_arrays(arrays: engine.PatientArrays, raw: dict[str, np.ndarray], params: PatientParameters) -> dict[str, np.ndarray]:
    """Trajectory fields (patients, months + 1) from raw engine outputs."""
    fields: dict[str, np.ndarray] = {}
    for index, site in enumerate(bone.SITE_NAMES):
        relative = raw[f"{site}_bmd_relative"]
        bmd = arrays.baseline_bmd_g_cm2[index][:, None] * relative
        fields[f"{site}_bmd_pct_change"] = 100.0 * (relative - 1.0)
        fields[f"{site}_bmd_g_cm2"] = bmd
        fields[f"{site}_t_score"] = bone.t_score(bmd.T, index, params).T  # (months, patients) broadcasts per patient
    fields["ctx_pct_change"] = 100.0 * (0.5 * (raw["lumbar_spine_resorption_relative"] + raw["total_hip_resorption_relative"]) - 1.0)
    fields["p1np_pct_change"] = 100.0 * (0.5 * (raw["lumbar_spine_formation_relative"] + raw["total_hip_formation_relative"]) - 1.0)
    fields["estradiol_pg_ml"] = raw["estradiol_pg_ml"]
    fields["rankl_opg_ratio_relative"] = raw["rankl_opg_ratio_relative"]
    fields["sclerostin_relative"] = raw["sclerostin_relative"]
    return fields


def _denosumab_stops_within(agent, months: float) -> bool:
    """Whether a denosumab course ends (last dose more than one interval before the end) inside the scenario."""
    if agent.drug != "denosumab":
        return False
    if agent.doses is not None:
        return bool(agent.doses) and max(dose.month for dose in agent.doses) + 6.0 < months
    return agent.stop_month is not None and agent.stop_month < months


def engine_warnings(scenario: Scenario) -> list[str]:
    """Our own warnings about where the engine is weak for this scenario."""
    notes: list[str] = []
    if scenario.months > CALIBRATED_HORIZON_MONTHS:
        notes.append(f"months = {scenario.months:g}: the engine is calibrated up to {CALIBRATED_HORIZON_MONTHS} months (ATAC 5 y on + 2 y off); later values are extrapolated")
    if any(course.drug == "exemestane" for course in scenario.endocrine_therapy):
        notes.append("exemestane: estradiol suppression is a recalled value (85-95%); no exemestane trial is in the calibration")
    if scenario.bone_agents:
        notes.append("bone agents: drug effects are calibrated to trial means (docs/calibration.md); individual responses vary")
    if any(_denosumab_stops_within(agent, scenario.months) for agent in scenario.bone_agents):
        notes.append(
            "denosumab stopped: turnover overshoots once the drug is cleared (osteomorphs re-fusing, a primed RANKL "
            "source; CTX up to about +100% without an AI and about twice that on one) and the gained BMD is given back within about a year, as in the phase-2 "
            "discontinuation cohort (no AI; docs/calibration.md rows S3-026/S3-027); in the model the overshoot starts "
            "about 12 months after the last dose, a few months later than in that trial, and the excess risk of multiple "
            "vertebral fractures after stopping is not modelled: the ECTS working group advises a follow-on antiresorptive 6 months after the last injection (J Clin Endocrinol Metab 2021;106:264, abstract read)"
        )
    return notes


def _drug_field(name: str) -> str:
    """Trajectory field of a bone-bound drug output: ``drug_zoledronic_acid_surface_umol`` -> ``zoledronic_acid_bone_surface_umol``."""
    return name.removeprefix("drug_").replace("_surface_umol", "_bone_surface_umol").replace("_buried_umol", "_bone_buried_umol")


class TrajectoryBatch(Sequence[Trajectory]):
    """The results of a batch, held as arrays; a :class:`Trajectory` is built when one is asked for.

    Series are stored once, shaped (patients, months + 1), in float32 (their 6-decimal output needs no
    more), so a batch costs about 8 KB per patient-decade instead of one pydantic object of Python
    floats per patient. BMD in g/cm2 and T-scores are derived on access from the percent change, the
    patient's baseline and her T-score references. ``series(name)`` gives a whole array (NaN after a
    patient's own horizon) for population work.
    """

    def __init__(self, scenarios: Sequence[Scenario], month_grid: np.ndarray, series: dict[str, np.ndarray],
                 drug_series: dict[str, np.ndarray], baseline_bmd_g_cm2: np.ndarray, t_score_references: np.ndarray,
                 notes: dict[str, object], warnings: list[list[str]]) -> None:
        self._horizons = np.array([horizon_months(s) + 1 for s in scenarios])
        self._with_agents = np.array([bool(s.bone_agents) for s in scenarios])
        self._months = month_grid
        self._series = {name: values.astype(np.float32, copy=False) for name, values in series.items()}
        self._drug_series = {name: values.astype(np.float32, copy=False) for name, values in drug_series.items()}
        self._baseline = baseline_bmd_g_cm2  # (sites, patients)
        self._references = t_score_references  # (patients, 2 * sites): mean, sd per site
        self._notes = notes
        self._warnings = warnings

    def __len__(self) -> int:
        return int(self._horizons.size)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        n = int(self._horizons[i])
        rows: dict[str, np.ndarray] = {}
        for name, values in self._series.items():
            rows[name] = values[i, :n]
            if name.endswith("_bmd_pct_change"):
                site = name.removesuffix("_bmd_pct_change")
                s = SITE_INDEX[site]
                bmd = self._baseline[s, i] * (1.0 + values[i, :n].astype(float) / 100.0)
                rows[f"{site}_bmd_g_cm2"] = bmd
                rows[f"{site}_t_score"] = (bmd - self._references[i, 2 * s]) / self._references[i, 2 * s + 1]
        if self._with_agents[i]:
            rows |= {name: values[i, :n] for name, values in self._drug_series.items()}
        # One rounding pass for every series (6 decimals, plain floats): this runs for every patient.
        record: dict[str, object] = dict(zip(rows, np.round(np.array(list(rows.values()), dtype=float), 6).tolist(), strict=True))
        record["months"] = self._months[:n].tolist()
        record.update(self._notes)
        record["warnings"] = self._warnings[i]
        # Built from the engine's own arrays (lists of plain floats, strings): nothing to validate, and
        # validation cost more than the rest of a one-patient simulate() outside the kernel.
        return Trajectory.model_construct(**record)

    @property
    def baseline_bmd_g_cm2(self) -> np.ndarray:
        """Each patient's month-0 BMD per site, (sites, patients)."""
        return self._baseline

    @property
    def t_score_references(self) -> np.ndarray:
        """Each patient's T-score references, (patients, 2 x sites): mean and SD (g/cm2) per site."""
        return self._references

    def series(self, name: str) -> np.ndarray:
        """One series for every patient, (patients, months + 1), NaN beyond each patient's horizon; BMD in
        g/cm2 and T-scores are derived from the percent change as for one Trajectory."""
        site = name.removesuffix("_bmd_g_cm2").removesuffix("_t_score")
        if site in SITE_INDEX and name != site:
            s = SITE_INDEX[site]
            bmd = self._baseline[s][:, None] * (1.0 + self.series(f"{site}_bmd_pct_change") / 100.0)
            if name.endswith("_bmd_g_cm2"):
                return bmd
            return (bmd - self._references[:, 2 * s, None]) / self._references[:, 2 * s + 1, None]
        values = (self._series | self._drug_series)[name].astype(float)
        values[np.arange(values.shape[1])[None, :] >= self._horizons[:, None]] = np.nan
        return values


# Scenarios per pass through the pipeline: bounds the working arrays (inputs, raw outputs, outcome
# intermediates) of a big batch; results are kept in float32 (TrajectoryBatch).
BATCH_CHUNK_SCENARIOS = 2_000


def simulate_batch(scenarios: Sequence[Scenario | Mapping], *, options: EngineOptions | None = None,
                   params: ParameterTable | None = None) -> TrajectoryBatch:
    """One Trajectory per scenario, computed together in batched engine passes (a sequence of them)."""
    validated = [as_scenario(s) for s in scenarios]
    options = options or EngineOptions()
    table = params if params is not None else default_parameters()
    months = max((horizon_months(s) for s in validated), default=0)
    parts = [_simulate_chunk(validated[start:start + BATCH_CHUNK_SCENARIOS], months, options, table)
             for start in range(0, len(validated), BATCH_CHUNK_SCENARIOS)]
    names = {key: dict.fromkeys(k for part in parts for k in part[key]) for key in ("series", "drug_series")}

    def joined(key: str, name: str) -> np.ndarray:
        if len(parts) == 1 and name in parts[0][key]:
            return parts[0][key][name]
        return np.concatenate([part[key].get(name, np.full((len(part["warnings"]), months + 1), np.nan, np.float32))
                               for part in parts]) if parts else np.zeros((0, months + 1), np.float32)

    return TrajectoryBatch(
        validated, np.arange(months + 1, dtype=float),
        {name: joined("series", name) for name in names["series"]},
        {name: joined("drug_series", name) for name in names["drug_series"]},
        np.concatenate([part["baseline"] for part in parts], axis=1) if parts else np.zeros((2, 0)),
        np.concatenate([part["references"] for part in parts]) if parts else np.zeros((0, 4)),
        _extra_notes(validated), [w for part in parts for w in part["warnings"]])


def _simulate_chunk(validated: Sequence[Scenario], months: int, options: EngineOptions, table: ParameterTable) -> dict:
    """Engine, trajectory fields and outcome modules for some scenarios, padded to ``months``; float32 series."""
    from osteotwin.twin.lifestyle_inputs import lifestyle_inputs

    per_patient = patient_parameters(validated, table)
    inputs = lifestyle_inputs(validated)  # built once: the engine's drives and the outcome modules read them
    groups = module_groups(per_patient)
    arrays, build_notes = build_arrays(validated, options, per_patient, inputs, groups)
    with_agents = any(s.bone_agents for s in validated)
    requested = ENGINE_OUTPUTS + (BONE_BOUND_OUTPUTS if with_agents else ())
    raw = engine.run(arrays, params=per_patient, options=options, outputs=requested)
    fields = trajectory_arrays(arrays, raw, per_patient)
    month_grid = np.arange(arrays.months + 1, dtype=float)
    barrier = arrays.drives.gut_barrier_relative if options.gut_axis else None
    extra = _extra_outputs(validated, month_grid, {**fields, "estrogen_ratio": raw["estrogen_ratio"]}, options, groups,
                           inputs, barrier)

    def padded(values) -> np.ndarray:
        out = np.full((len(validated), months + 1), np.nan, dtype=np.float32)
        out[:, : arrays.months + 1] = np.asarray(values)
        return out

    series = {name: padded(values) for name, values in fields.items() if not name.endswith(("_bmd_g_cm2", "_t_score"))}
    series |= {name: padded(values) for name, values in extra.items()}
    drug_series = {}
    if with_agents:
        drug_series = {name: padded(raw[name]) for name in ("denosumab_serum_ug_per_ml", "bisphosphonate_resorption_inhibition")}
        drug_series |= {_drug_field(name): padded(raw[name]) for name in BONE_BOUND_OUTPUTS}
    return {"series": series, "drug_series": drug_series, "baseline": arrays.baseline_bmd_g_cm2,
            "references": engine.t_score_references(per_patient),
            "warnings": [scenario_warnings(s) + build_notes[i] + engine_warnings(s) for i, s in enumerate(validated)]}


def simulate(scenario: Scenario | Mapping, *, options: EngineOptions | None = None, params: ParameterTable | None = None,
             intervals: bool | int = False) -> Trajectory:
    """Simulate one scenario (a Scenario or its JSON-shaped dict) and return its Trajectory.

    ``intervals``: True (or a number of draws) adds ``intervals``, each BMD, T-score and fracture series as
    10th/50th/90th percentiles over the calibration's parameter uncertainty (twin/intervals.py)."""
    trajectory = simulate_batch([scenario], options=options, params=params)[0]
    if intervals:
        from osteotwin.twin import intervals as uncertainty

        draws = uncertainty.DEFAULT_DRAWS if intervals is True else int(intervals)
        if draws < 10:
            raise ValueError(f"intervals = {intervals}: allowed: True or a number of draws >= 10")
        trajectory = trajectory.model_copy(update={
            "intervals": uncertainty.series_intervals(scenario, draws, params=params),
            "intervals_method": f"10th/50th/90th percentiles over {draws} draws of the calibration's parameter "
                                f"uncertainty ({uncertainty.ParameterUncertainty.shipped().method}); not the spread between women"})
    return trajectory


def _extra_outputs(scenarios, months, outputs, options, groups: list[tuple[ParameterTable, np.ndarray]],
                   inputs: LifestyleInputs, gut_barrier_relative: np.ndarray | None) -> dict[str, np.ndarray]:
    """Outcome modules (muscle, falls, fracture risk, 25(OH)D, PTH), once per group of patients that
    share the parameters they read (:func:`module_groups`); each group's rows are put back in order."""
    from osteotwin.twin import outcomes

    if len(groups) == 1:
        return outcomes.extra_outputs(scenarios, months, outputs, options, groups[0][0], inputs, gut_barrier_relative)
    result: dict[str, np.ndarray] = {}
    for table, members in groups:
        barrier = None if gut_barrier_relative is None else gut_barrier_relative[members]
        part = outcomes.extra_outputs([scenarios[i] for i in members], months,
                                      {name: values[members] for name, values in outputs.items()}, options, table,
                                      inputs.select(members), barrier)
        for name, values in part.items():
            values = np.asarray(values)
            if name not in result:
                result[name] = np.empty((len(scenarios), *values.shape[1:]), dtype=values.dtype)
            result[name][members] = values
    return result


def _extra_notes(scenarios) -> dict[str, object]:
    from osteotwin.twin import outcomes

    notes = getattr(outcomes, "extra_notes", None)
    return notes(scenarios) if notes is not None else {}


__all__ = ["simulate", "simulate_batch", "EngineOptions", "ValidationError"]
