"""Scenario -> engine arrays -> batched solve -> Trajectory (the Python API behind ``simulate``).

``simulate(scenario)`` and ``simulate_batch(scenarios)`` accept Scenario models or the same
JSON-shaped dicts. A batch is integrated together (one compiled pass over all patients up to the
longest horizon); each Trajectory is cut to its own horizon. Months are calendar months of
365.25/12 days; month m of the input covers [m, m+1) and endocrine therapy is on in a month when
the month's midpoint lies between start_month and stop_month.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import ValidationError

from osteotwin.physiology import bone, drugs, engine, estrogen
from osteotwin.physiology.lifestyle import LifestyleDrives, lifestyle_drives
from osteotwin.physiology.options import EngineOptions, kernel_threads
from osteotwin.physiology.parameters import ParameterTable, registry
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

_PARAMETERS: ParameterTable | None = None


def default_parameters() -> ParameterTable:
    """The registry with the shipped (calibrated) values, built once per process."""
    global _PARAMETERS
    if _PARAMETERS is None:
        _PARAMETERS = registry()
    return _PARAMETERS


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


def _lifestyle(scenarios: Sequence[Scenario], options: EngineOptions, params: ParameterTable) -> LifestyleDrives:
    from osteotwin.lifestyle_inputs import lifestyle_inputs

    return lifestyle_drives(lifestyle_inputs(scenarios), options, params)


def build_arrays(scenarios: Sequence[Scenario], options: EngineOptions, params: ParameterTable) -> tuple[engine.PatientArrays, list[list[str]]]:
    """Engine arrays for a batch, and per-scenario notes (warnings) raised while building them."""
    months = max(horizon_months(s) for s in scenarios)
    codes, adherences, items, notes = [], [], [], []
    for scenario in scenarios:
        code, adherence, endocrine_notes = _endocrine_arrays(scenario, months)
        agent_items, agent_notes = _schedule_items(scenario, months, params)
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
            np.array([bone.bmd_from_t_score(p.lumbar_spine_t_score, 0, params) for p in patients]),
            np.array([bone.bmd_from_t_score(p.total_hip_t_score, 1, params) for p in patients]),
        ]),
        endocrine_code=np.array(codes).T.copy(),
        adherence=np.array(adherences).T.copy(),
        drives=_lifestyle(scenarios, options, params),
        schedule=engine.DoseSchedule.from_items(items),
    )
    return arrays, notes


def trajectory_arrays(arrays: engine.PatientArrays, raw: dict[str, np.ndarray], params: ParameterTable) -> dict[str, np.ndarray]:
    """Trajectory fields (patients, months + 1) from raw engine outputs."""
    fields: dict[str, np.ndarray] = {}
    for index, site in enumerate(bone.SITE_NAMES):
        relative = raw[f"{site}_bmd_relative"]
        bmd = arrays.baseline_bmd_g_cm2[index][:, None] * relative
        fields[f"{site}_bmd_pct_change"] = 100.0 * (relative - 1.0)
        fields[f"{site}_bmd_g_cm2"] = bmd
        fields[f"{site}_t_score"] = bone.t_score(bmd, index, params)
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


def simulate_batch(scenarios: Sequence[Scenario | Mapping], *, options: EngineOptions | None = None,
                   params: ParameterTable | None = None) -> list[Trajectory]:
    """One Trajectory per scenario, computed together in one batched engine pass."""
    validated = [as_scenario(s) for s in scenarios]
    if not validated:
        return []
    options = options or EngineOptions()
    params = params if params is not None else default_parameters()
    arrays, build_notes = build_arrays(validated, options, params)
    with_agents = any(s.bone_agents for s in validated)
    requested = ENGINE_OUTPUTS + (BONE_BOUND_OUTPUTS if with_agents else ())
    with kernel_threads(len(validated)):  # one scenario: no thread-pool wake-up (options.kernel_threads)
        raw = engine.run(arrays, params=params, options=options, outputs=requested)
    fields = trajectory_arrays(arrays, raw, params)
    month_grid = np.arange(arrays.months + 1, dtype=float)
    extra = _extra_outputs(validated, month_grid, {**fields, "estrogen_ratio": raw["estrogen_ratio"]}, options)
    notes_extra = _extra_notes(validated)
    trajectories = []
    for i, scenario in enumerate(validated):
        n = horizon_months(scenario) + 1
        record: dict[str, object] = {"months": month_grid[:n].tolist()}
        for name, values in fields.items():
            record[name] = _clean(values[i, :n])
        if scenario.bone_agents:
            record["denosumab_serum_ug_per_ml"] = _clean(raw["denosumab_serum_ug_per_ml"][i, :n])
            record["bisphosphonate_resorption_inhibition"] = _clean(raw["bisphosphonate_resorption_inhibition"][i, :n])
            for name in BONE_BOUND_OUTPUTS:
                record[name.removeprefix("drug_").replace("_surface_umol", "_bone_surface_umol").replace("_buried_umol", "_bone_buried_umol")] = _clean(raw[name][i, :n])
        for name, values in extra.items():
            record[name] = _clean(np.asarray(values)[i, :n])
        record.update(notes_extra)
        record["warnings"] = scenario_warnings(scenario) + build_notes[i] + engine_warnings(scenario)
        trajectories.append(Trajectory(**record))
    return trajectories


def simulate(scenario: Scenario | Mapping, *, options: EngineOptions | None = None, params: ParameterTable | None = None) -> Trajectory:
    """Simulate one scenario (a Scenario or its JSON-shaped dict) and return its Trajectory."""
    return simulate_batch([scenario], options=options, params=params)[0]


def _clean(values: np.ndarray) -> list[float]:
    """Plain floats rounded to 6 decimals (vectorised: this runs for every output of every patient)."""
    return np.round(np.asarray(values, dtype=float), 6).tolist()


def _extra_outputs(scenarios, months, outputs, options) -> dict[str, np.ndarray]:
    from osteotwin import outcomes

    return outcomes.extra_outputs(scenarios, months, outputs, options)


def _extra_notes(scenarios) -> dict[str, object]:
    from osteotwin import outcomes

    notes = getattr(outcomes, "extra_notes", None)
    return notes(scenarios) if notes is not None else {}


__all__ = ["simulate", "simulate_batch", "EngineOptions", "ValidationError"]
