"""PEtab v1 export of the core calibration problem (``osteotwin calibrate --petab DIR``; docs/interop.md).

One SBML model (interop/sbml.py ``build_model``) serves every condition: what differs between the
calibration cohorts is set by the condition table, not baked into the inputs as in the one-scenario export:

- the endocrine course: ``endocrine_start_day`` / ``endocrine_stop_day`` and the on-drug values ``on_drug_<input>``
  of the four estrogen-driven inputs (engine.monthly_inputs of the cohort: estrogen.exposure_multipliers of its
  drug and adherence, times the inflammation multiplier of gut.py, at the shipped values: numbers, so the
  estrogen parameters are not estimable here);
- ``age_at_start_years`` and ``years_since_menopause_at_start``: the age and menopausal drives and the set
  point's menopausal fall are written as formulas of them and of their registry parameters (background.py,
  evaluated at month midpoints as engine.monthly_inputs does; erfc by Abramowitz & Stegun 1964, 7.1.26,
  |error| < 1.5e-7, as SBML has no erfc), and the initial state is the cohort's burn-in state (engine);
- ``baseline_day``: the month a row's change is measured from. An event stores each site's mineral volume
  then (``{site}_mineral_volume_pct_baseline``), and the observables are the BMD % change from it.

Measurements: every core row the model can express (a % change of an untreated or single-endocrine cohort
without bone agents), the value from the active targets (targets.use_targets), noise sigma = tolerance /
precision_weight, the sigma fit.py divides the row's error by. The rest are listed with the reason
(``rows_left_out.tsv``). Parameters: the chosen ones that are constants of the SBML and not behind a derived
[D] number are estimated (prior range as bounds, shipped value as nominal; log10 scale when the range spans
100-fold or more, as fit.at_bound judges), every other registry parameter of the model is listed fixed.
Caveat: initial states and derived [D] numbers are those of the shipped values, so the PEtab objective is the
fit's objective at the nominal values and close to it nearby, not a re-equilibrated model far from them.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osteotwin.catalog import DAYS_PER_MONTH, DAYS_PER_YEAR
from osteotwin.errors import InputError
from osteotwin.interop import sbml

SITES = ("lumbar_spine", "total_hip")
ENDOCRINE_INPUTS = ("rankl_production_relative", "opg_production_relative", "osteoclast_apoptosis_relative", "sclerostin_relative")
MULTIPLIER_OF = {"rankl_production_relative": "rankl", "opg_production_relative": "opg",
                 "osteoclast_apoptosis_relative": "osteoclast_apoptosis", "sclerostin_relative": "sclerostin"}
# Registry parameters of the input side written into the formulas below (background.py, mechanostat.py).
INPUT_SIDE_PARAMETERS = ("menopause_rankl_drive", "estradiol_fall_centre_years_since_fmp", "estradiol_fall_width_years",
                         "menopause_drive_decay_years", "age_rankl_drive_per_decade", "age_drive_exponent", "age_drive_onset_years",
                         "exercise_accommodation_onset_days", "exercise_accommodation_time_days")
LOG_SCALE_SPAN = 100.0  # a prior range over 100-fold or more is estimated on log10 (fit.at_bound's rule)
# Abramowitz & Stegun (1964) 7.1.26: erfc(x) = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-x^2), t = 1 / (1 + p x), x >= 0
AS_P = 0.3275911
AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
FILES = {"sbml": "model.xml", "conditions": "conditions.tsv", "observables": "observables.tsv",
         "measurements": "measurements.tsv", "parameters": "parameters.tsv", "left_out": "rows_left_out.tsv", "yaml": "problem.yaml"}


def erfc_formula(x: str) -> str:
    """erfc of the infix expression ``x`` (A&S 7.1.26, both signs via erfc(-x) = 2 - erfc(x))."""
    a = f"abs({x})"
    t = f"(1 / (1 + {AS_P!r} * {a}))"
    poly = repr(AS_A[4])
    for coefficient in reversed(AS_A[:4]):
        poly = f"({coefficient!r} + {t} * {poly})"
    tail = f"({t} * {poly} * exp(-({a})^2))"
    return f"piecewise({tail}, {x} >= 0, 2 - {tail})"


def completed_fall_formula(y: str) -> str:
    """background.completed_estradiol_fall F(y)."""
    return (f"0.5 * {erfc_formula(f'-(({y}) - estradiol_fall_centre_years_since_fmp) / (estradiol_fall_width_years * {math.sqrt(2.0)!r})')}")


def unadapted_fall_formula(y: str) -> str:
    """background.unadapted_estradiol_fall x(y): the exponentially modified Gaussian."""
    c, w, tau = "estradiol_fall_centre_years_since_fmp", "estradiol_fall_width_years", "menopause_drive_decay_years"
    cdf = f"(0.5 * {erfc_formula(f'-((({y}) - {c}) / {w} - {w} / {tau}) / {math.sqrt(2.0)!r}')})"
    log_tail = f"(0.5 * ({w} / {tau})^2 - (({y}) - {c}) / {tau})"
    return f"piecewise(0, {cdf} <= 0, exp(piecewise({log_tail} + ln({cdf}), {log_tail} + ln({cdf}) <= 50, 50)))"


def input_formulas(constants: dict[str, float]) -> dict[str, str]:
    """The engine inputs as formulas of time and the condition parameters (engine.monthly_inputs);
    ``constants``: the inputs that are the same in every condition (baseline lifestyle drives)."""
    on = "time >= endocrine_start_day && time < endocrine_stop_day"
    elapsed = f"((floor(time / {DAYS_PER_MONTH!r}) + 0.5) / 12)"  # month midpoints, in years
    y = f"years_since_menopause_at_start + {elapsed}"
    formulas = {name: f"piecewise(on_drug_{name}, {on}, 1)" for name in ENDOCRINE_INPUTS}
    formulas["elapsed_years"] = elapsed
    formulas["background_rankl_drive"] = f"menopause_rankl_drive * {unadapted_fall_formula(y)}"
    formulas["menopause_fall_since_start"] = f"{completed_fall_formula(y)} - {completed_fall_formula('years_since_menopause_at_start')}"
    formulas["age_rankl_drive"] = (f"age_rankl_drive_per_decade * (piecewise(age_at_start_years + {elapsed} - age_drive_onset_years, "
                                   f"age_at_start_years + {elapsed} > age_drive_onset_years, 0) / 10)^age_drive_exponent")
    formulas["exercise_accommodation_relative"] = (f"exp(-piecewise({elapsed} * {DAYS_PER_YEAR!r} - exercise_accommodation_onset_days, "
                                                   f"{elapsed} * {DAYS_PER_YEAR!r} > exercise_accommodation_onset_days, 0)"
                                                   " / exercise_accommodation_time_days)")
    formulas.update({name: repr(value) for name, value in constants.items()})
    return formulas


@dataclass(frozen=True)
class Condition:
    """One simulated cohort with the month its rows' changes are measured from."""

    id: str
    cohort: str
    baseline_month: float
    values: dict[str, float]  # condition-table columns: condition parameters and initial states


def _row_reason(result, suite: str) -> str:
    """Why a core or drug row is not a measurement of the PEtab problem ('' when it is one)."""
    from osteotwin.population.calibration.core import COHORT_BY_KEY, SWITCH_TO
    from osteotwin.population.calibration.targets import load_targets

    if result.row_id not in load_targets():
        return "a check that is not a row of the targets CSV"
    if suite == "drugs":
        return "drug suite: the conditions do not set dosing events yet (the one-scenario SBML export carries them)"
    if result.unit != "%":
        return f"unit {result.unit}: the observables are BMD % change"
    if not result.cohort:
        return "a % change read off its cohort outside core.py's percent-change rows (not tagged with its cohort)"
    cohort = COHORT_BY_KEY[result.cohort]
    if cohort.key in SWITCH_TO:
        return f"switches from {cohort.endocrine} to {SWITCH_TO[cohort.key]}: a PEtab condition carries one endocrine course"
    return ""


def _conditions(keys: list[tuple[str, float]], data_of) -> list[Condition]:
    from osteotwin.population.calibration.core import COHORT_BY_KEY

    conditions = []
    for key, baseline in keys:
        cohort = COHORT_BY_KEY[key]
        data = data_of[key]
        stop = min(cohort.endocrine_stop_month, cohort.months + 1)
        values = {"age_at_start_years": cohort.age_years, "years_since_menopause_at_start": cohort.years_since_menopause,
                  "endocrine_start_day": cohort.endocrine_start_month * DAYS_PER_MONTH, "endocrine_stop_day": stop * DAYS_PER_MONTH,
                  "baseline_day": baseline * DAYS_PER_MONTH}
        on = (np.arange(data.months) >= cohort.endocrine_start_month) & (np.arange(data.months) < stop)
        for name in ENDOCRINE_INPUTS:  # the engine's own monthly values: estrogen multipliers x inflammation (gut.py)
            series = data.inputs[data.input_names.index(name)]
            on_value = float(series[on][0]) if on.any() else 1.0
            if not (np.all(series[on] == on_value) and np.all(series[~on] == 1.0)):
                raise RuntimeError(f"engine input {name} of cohort {key} is not one value on the drug and 1 off it")
            values[f"on_drug_{name}"] = on_value
        n_site = len(data.state_names)
        for s, site in enumerate(data.sites):
            for k, state in enumerate(data.state_names):
                values[sbml.state_id(site, state)] = float(data.initial_state[s * n_site + k])
            for k in (3, 5):
                values[f"{sbml.state_id(site, data.state_names[k])}_month0"] = float(data.initial_state[s * n_site + k])
            values[f"{site}_mineral_volume_pct_baseline"] = float(data.initial_state[s * n_site + 5])
        conditions.append(Condition(f"{key}_from_month_{baseline:g}", key, baseline, values))
    return conditions


def _derived_depend_on(name: str, table) -> bool:
    """The derived [D] numbers of system.pack_parameters change with ``name`` (fixed numbers in the SBML)."""
    from osteotwin.physiology import system as sy
    from osteotwin.physiology.parameters import PatientParameters

    low, high = table[name].prior_range
    value = table.value(name)
    moved = value + 0.01 * (high - low) * (1 if value + 0.01 * (high - low) <= high else -1)
    a = sy.pack_parameters(PatientParameters.uniform(table, 1))[0]
    b = sy.pack_parameters(PatientParameters.uniform(table.with_values(**{name: moved}), 1))[0]
    derived = [k for k, vid in enumerate(sy.VECTOR_NAMES) if sbml.registry_name(vid) not in table]
    return not np.allclose(a[derived], b[derived], rtol=1e-12, atol=0.0)


def _tsv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _number(value: float) -> str:
    return repr(float(value))


def build_problem(chosen: tuple[str, ...], suite: str = "core") -> tuple[dict[str, str], dict]:
    """The PEtab files' text by file name, and a summary (counts, estimated, left out), for the rows of the
    calibration suite (fit.SUITES) and the ``chosen`` parameters; InputError when no row of it can be expressed."""
    import libsbml

    from osteotwin.physiology.engine import patient_parameters
    from osteotwin.physiology.parameters import registry
    from osteotwin.population.calibration import core, drugs, fit
    from osteotwin.population.calibration.targets import in_fit, precision_weight

    table = registry()
    measured, left_out = [], []
    for module in fit.SUITES[suite][0]:
        for result in module.evaluate(table):
            if in_fit(result):
                reason = _row_reason(result, "drugs" if module is drugs else "core")
                (left_out.append((result, reason)) if reason else measured.append(result))
    if not measured:
        raise InputError("--suite", suite, "a suite with rows the PEtab problem can express: core or all (the drug rows need "
                         "per-condition dosing events, which the problem does not set yet)")
    left_rows = [[r.row_id, r.trial, r.arm, reason] for r, reason in left_out]
    if core in fit.SUITES[suite][0]:
        left_rows += [[row_id, "", "", f"not evaluated by the core suite: {why}"] for row_id, why in core.NOT_EVALUATED.items()]

    keys = sorted({(r.cohort, r.months[0]) for r in measured})
    data_of = {}
    for key in sorted({k for k, _ in keys}):
        arrays = core.cohort_arrays([core.COHORT_BY_KEY[key]], table)
        data_of[key] = sbml.engine_data_of_arrays(arrays, patient_parameters(table, 1))
    conditions = _conditions(keys, data_of)
    first = data_of[keys[0][0]]

    # Inputs that no condition changes: the baseline lifestyle drives of every cohort (LifestyleDrives.baseline).
    varying = set(ENDOCRINE_INPUTS) | {"elapsed_years", "background_rankl_drive", "menopause_fall_since_start", "age_rankl_drive",
                                       "exercise_accommodation_relative"}
    constants = {}
    for k, name in enumerate(first.input_names):
        if name in varying:
            continue
        values = np.concatenate([d.inputs[k] for d in data_of.values()])
        if not np.all(values == values[0]):
            raise RuntimeError(f"engine input {name} differs between calibration cohorts: the PEtab export holds it constant")
        constants[name] = float(values[0])

    notes = ("osteotwin bone-cell core for the PEtab calibration problem (osteotwin.interop.petab): the engine inputs are "
             "formulas of time and of condition parameters (endocrine course, age and years since menopause at the start); "
             "initial values are set per condition (the cohort's burn-in state); an event stores each site's mineral volume at "
             "baseline_day, from which the observables measure BMD % change. No condition sets a dose (drug states stay 0).")
    b = sbml.build_model(first, table, notes, input_formulas(constants))
    model_ids = {b.model.getParameter(i).getId() for i in range(b.model.getNumParameters())}
    for name in INPUT_SIDE_PARAMETERS:
        if name not in model_ids:
            entry = table[name]
            b.parameter(name, entry.value, constant=True, units=None,
                        notes=f"{entry.description} [{entry.unit}; evidence {entry.evidence}] source: {entry.source}",
                        annotation=sbml._annotation("parameter", registry_name=name, unit=entry.unit, description=entry.description,
                                                    source=entry.source, evidence=entry.evidence))
    defaults = conditions[0].values
    condition_parameters = [c for c in defaults if b.model.getElementBySId(c) is None]
    for pid in condition_parameters:
        b.parameter(pid, defaults[pid], constant=not pid.endswith("_baseline"), units=None,
                    notes=f"{pid}: set per condition by the PEtab condition table")
    for site in SITES:
        mineral = sbml.state_id(site, "mineral_volume_pct")
        event = sbml._check(b.model.createEvent(), f"create the baseline event of {site}")
        sbml._check(event.setId(f"{site}_baseline_event"), "set event id")
        sbml._check(event.setUseValuesFromTriggerTime(True), "set useValuesFromTriggerTime")
        trigger = sbml._check(event.createTrigger(), "create trigger")
        sbml._check(trigger.setInitialValue(True), "set trigger initialValue")
        sbml._check(trigger.setPersistent(True), "set trigger persistent")
        sbml._check(trigger.setMath(sbml._math("time >= baseline_day")), "set trigger math")
        assignment = sbml._check(event.createEventAssignment(), "create event assignment")
        sbml._check(assignment.setVariable(f"{site}_mineral_volume_pct_baseline"), "set event variable")
        sbml._check(assignment.setMath(sbml._math(mineral)), "set event math")
    errors = [line for line in sbml.consistency_errors(b.doc)[0] if "unit" not in line.lower()]
    if errors:
        raise sbml.SbmlExportError("the PEtab SBML is not consistent:\n" + "\n".join(errors))

    # Parameters: chosen and estimable, or fixed.
    constant_ids = {b.model.getParameter(i).getId() for i in range(b.model.getNumParameters())
                    if b.model.getParameter(i).getConstant()} - set(defaults)
    registry_ids = sorted(pid for pid in constant_ids if sbml.registry_name(pid) in table)
    estimated, parameters_left_out = [], []
    for name in chosen:
        if name not in constant_ids:
            parameters_left_out.append({"name": name, "reason": "not in the SBML's equations: it acts through the estrogen multipliers "
                                        "the condition table holds as numbers"})
        elif _derived_depend_on(name, table):
            parameters_left_out.append({"name": name, "reason": "the derived [D] steady-state numbers depend on it (fixed in the SBML)"})
        else:
            estimated.append(name)
    parameter_rows = []
    for pid in registry_ids:
        entry = table[sbml.registry_name(pid)]
        value = float(b.model.getParameter(pid).getValue())
        low, high = entry.prior_range if entry.prior_range is not None else (value, value)
        scale = "log10" if low > 0 and high / low >= LOG_SCALE_SPAN else "lin"
        parameter_rows.append([pid, entry.description, scale, _number(low), _number(high), _number(value),
                               1 if pid in estimated else 0])

    observables = [[f"obs_{site}_bmd_pct_change", f"{site.replace('_', ' ')} BMD % change from the condition's baseline_day",
                    f"100 * ({sbml.state_id(site, 'mineral_volume_pct')} / {site}_mineral_volume_pct_baseline - 1)", "lin",
                    f"noiseParameter1_obs_{site}_bmd_pct_change", "normal"] for site in SITES]
    condition_of = {(c.cohort, c.baseline_month): c.id for c in conditions}
    measurement_rows = []
    for r in measured:
        site = core.SITE_OF[r.site.split()[0]]
        measurement_rows.append([f"obs_{site}_bmd_pct_change", condition_of[(r.cohort, r.months[0])], _number(r.target),
                                 _number(r.months[1] * DAYS_PER_MONTH), _number(r.tolerance / precision_weight(r)), r.row_id])
    columns = list(defaults)
    texts = {
        FILES["sbml"]: libsbml.writeSBMLToString(b.doc),
        FILES["conditions"]: _tsv(["conditionId", "conditionName", *columns],
                                  [[c.id, core.COHORT_BY_KEY[c.cohort].description[:200], *(_number(c.values[k]) for k in columns)]
                                   for c in conditions]),
        FILES["observables"]: _tsv(["observableId", "observableName", "observableFormula", "observableTransformation",
                                    "noiseFormula", "noiseDistribution"], observables),
        FILES["measurements"]: _tsv(["observableId", "simulationConditionId", "measurement", "time", "noiseParameters", "datasetId"],
                                    measurement_rows),
        FILES["parameters"]: _tsv(["parameterId", "parameterName", "parameterScale", "lowerBound", "upperBound", "nominalValue",
                                   "estimate"], parameter_rows),
        FILES["left_out"]: _tsv(["id", "trial", "arm", "reason"], left_rows),
        FILES["yaml"]: (f"format_version: 1\nparameter_file: {FILES['parameters']}\nproblems:\n"
                        f"- sbml_files: [{FILES['sbml']}]\n  condition_files: [{FILES['conditions']}]\n"
                        f"  measurement_files: [{FILES['measurements']}]\n  observable_files: [{FILES['observables']}]\n"),
    }
    summary = {"conditions": len(conditions), "measurements": len(measurement_rows), "estimated": estimated,
               "parameters_left_out": parameters_left_out, "rows_left_out": [{"id": row[0], "reason": row[3]} for row in left_rows],
               "files": sorted(texts)}
    return texts, summary


def write_problem(folder: str | Path, chosen: tuple[str, ...], suite: str = "core") -> dict:
    """Build the problem, then write its files into ``folder`` (created; its parent must exist); the summary."""
    texts, summary = build_problem(chosen, suite)
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return summary
