"""The batched engine entry: plain arrays in, monthly arrays out (patients x months).

This is the level that populations and benchmarks use; ``osteotwin.twin.simulation`` translates
Scenarios into these arrays. Patients are processed in chunks (``EngineOptions.chunk_patients``)
and only the requested outputs are kept, so 100,000 patients stay well under 2 GB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from osteotwin.catalog import DAYS_PER_MONTH
from osteotwin.physiology import background, bone, drugs, estrogen, lifestyle, solve
from osteotwin.physiology import drug_kernels as dk
from osteotwin.physiology import system as sy
from osteotwin.physiology.lifestyle import LifestyleDrives
from osteotwin.physiology.options import EngineOptions
from osteotwin.physiology.parameters import ParameterTable, PatientParameters, registry
from osteotwin.physiology.spec import U

NO_RULE = solve.NO_RULE
DRUG_CODES = {name: code for code, name in enumerate(drugs.DRUGS)}


def dose_rows_and_amounts(schedule: DoseSchedule, params: ParameterTable | PatientParameters) -> tuple[np.ndarray, np.ndarray]:
    """Drug-state row receiving each item's dose and the absorbed amount (drugs.absorbed_amount),
    with each item's patient's own parameters (bioavailability, molecular weight)."""
    if schedule.drug_code.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    values = params.values_dict()
    rows = np.empty(len(drugs.DRUGS), dtype=np.int64)
    per_mg = np.empty((len(drugs.DRUGS), *np.shape(values["denosumab_bioavailability_fraction"])))
    for name, code in DRUG_CODES.items():
        rows[code] = drugs.IDX_DMAB_DEPOT if name == "denosumab" else drugs.bisphosphonate_state_index(name, "plasma")
        per_mg[code] = drugs.absorbed_amount(name, 1.0, values)
    if per_mg.ndim == 1:
        return rows[schedule.drug_code], per_mg[schedule.drug_code] * schedule.dose_mg
    patient_of_item = np.repeat(np.arange(schedule.item_ptr.size - 1), np.diff(schedule.item_ptr))
    return rows[schedule.drug_code], per_mg[schedule.drug_code, patient_of_item] * schedule.dose_mg


@dataclass(frozen=True)
class DoseSchedule:
    """Bone-agent schedule items for all patients in CSR layout (items of patient i are
    ``item_ptr[i]:item_ptr[i+1]``). An item repeats every ``interval_days`` (0: a single dose)
    from ``start_day`` while before ``stop_day``; with ``rule_site`` >= 0 it instead starts at
    the first month end when that site's simulated T-score is below ``rule_t_score``."""

    item_ptr: np.ndarray
    drug_code: np.ndarray
    dose_mg: np.ndarray
    interval_days: np.ndarray
    start_day: np.ndarray
    stop_day: np.ndarray
    rule_site: np.ndarray
    rule_t_score: np.ndarray

    @staticmethod
    def empty(patients: int) -> DoseSchedule:
        return DoseSchedule.from_items([[] for _ in range(patients)])

    @staticmethod
    def from_items(items_per_patient: Sequence[Sequence[tuple]]) -> DoseSchedule:
        """Items are tuples (drug, dose_mg, interval_days, start_day, stop_day, rule_site, rule_t_score)."""
        flat = [item for items in items_per_patient for item in items]
        counts = [len(items) for items in items_per_patient]
        ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(counts)
        columns = list(zip(*flat, strict=True)) if flat else [()] * 7
        return DoseSchedule(
            item_ptr=ptr,
            drug_code=np.array([DRUG_CODES[d] for d in columns[0]], dtype=np.int64),
            dose_mg=np.array(columns[1], dtype=np.float64),
            interval_days=np.array(columns[2], dtype=np.float64),
            start_day=np.array(columns[3], dtype=np.float64),
            stop_day=np.array(columns[4], dtype=np.float64),
            rule_site=np.array(columns[5], dtype=np.int64),
            rule_t_score=np.array(columns[6], dtype=np.float64),
        )

    def select(self, start: int, stop: int) -> DoseSchedule:
        a, b = int(self.item_ptr[start]), int(self.item_ptr[stop])
        return DoseSchedule(self.item_ptr[start : stop + 1] - a, *(getattr(self, n)[a:b] for n in
                            ("drug_code", "dose_mg", "interval_days", "start_day", "stop_day", "rule_site", "rule_t_score")))


@dataclass(frozen=True)
class PatientArrays:
    """Everything the engine needs, per patient (last axis) and per month where it varies."""

    months: int
    age_years: np.ndarray  # (P,)
    years_since_menopause: np.ndarray  # (P,), may be negative (before the FMP) for calibration
    baseline_bmd_g_cm2: np.ndarray  # (2, P)
    endocrine_code: np.ndarray  # (months, P) ints of estrogen.ENDOCRINE_DRUG_CODES
    adherence: np.ndarray  # (months, P)
    drives: LifestyleDrives
    schedule: DoseSchedule = field(default=None)  # type: ignore[assignment]

    @property
    def patients(self) -> int:
        return int(self.age_years.shape[0])


DEFAULT_OUTPUTS = (
    "lumbar_spine_bmd_relative", "total_hip_bmd_relative", "lumbar_spine_resorption_relative",
    "total_hip_resorption_relative", "lumbar_spine_formation_relative", "total_hip_formation_relative",
)


def monthly_inputs(arrays: PatientArrays, params: ParameterTable | PatientParameters, options: EngineOptions, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inputs (N_INPUTS, months, chunk); burn-in inputs (N_INPUTS, chunk): untreated, baseline
    lifestyle, background drive of month 0; serum estradiol and bone E2 ratio (months, chunk).
    ``params`` holds the chunk's patients (``PatientParameters.select(start, stop)``)."""
    code = arrays.endocrine_code[:, start:stop]
    adherence = arrays.adherence[:, start:stop]
    serum = estrogen.serum_estradiol_pg_ml(code, adherence, params)
    ratio = estrogen.estrogen_ratio(estrogen.bone_estradiol_pg_ml(code, adherence, params), params)
    multipliers = estrogen.exposure_multipliers(code, adherence, params)  # adherence as days on drug
    drives = arrays.drives
    gut = drives.gut_barrier_relative[start:stop]
    months = arrays.months
    month_midpoints = np.arange(months)[:, None] + 0.5  # gut interventions start at month 0 (gut.py)
    inflammation = lifestyle.inflammation_rankl_relative(ratio, gut[None, :], month_midpoints) if options.gut_axis else np.ones_like(ratio)
    month_years = (np.arange(months) + 0.5) / 12.0
    bg = background.menopausal_rankl_drive(arrays.years_since_menopause[start:stop][None, :] + month_years[:, None], params)
    bg_age = background.age_rankl_drive(arrays.age_years[start:stop][None, :] + month_years[:, None], params)
    u = np.empty((sy.N_INPUTS, months, stop - start))
    burn = np.ones((sy.N_INPUTS, stop - start))
    burn[U.background_rankl_drive] = bg[0]
    burn[U.age_rankl_drive] = bg_age[0]
    # The mechanostat's set point declines from the start: with age and with the menopausal estradiol fall (background.py).
    burn[U.elapsed_years] = 0.0
    u[U.elapsed_years] = month_years[:, None]
    fall = background.completed_estradiol_fall(arrays.years_since_menopause[start:stop][None, :] + np.concatenate([[0.0], month_years])[:, None], params)
    burn[U.menopause_fall_since_start] = 0.0
    u[U.menopause_fall_since_start] = fall[1:] - fall[0]
    u[U.rankl_production_relative] = multipliers["rankl"] * inflammation
    u[U.opg_production_relative] = multipliers["opg"]
    u[U.osteoclast_apoptosis_relative] = multipliers["osteoclast_apoptosis"]
    u[U.sclerostin_relative] = multipliers["sclerostin"]
    u[U.background_rankl_drive] = bg
    u[U.age_rankl_drive] = bg_age
    u[U.pth_relative] = drives.pth_relative[start:stop][None, :]
    u[U.formation_relative] = drives.formation_relative[start:stop][None, :]
    # Exercise loads the sites from its start to its stop month (habitual loading outside: detraining after the stop,
    # mechanostat.py); osteocyte accommodation fades the exercise route after an onset counted from the programme's
    # start (the burn-in holds habitual loading). Month midpoints.
    exercising = ((month_midpoints >= drives.exercise_start_month[None, start:stop])
                  & (month_midpoints < drives.exercise_stop_month[None, start:stop]))
    stopped = month_midpoints >= drives.exercise_stop_month[None, start:stop]
    for s in range(len(sy.SITES)):
        programme = drives.loading_stimulus_relative[s, start:stop][None, :]
        u[U.loading_lumbar_spine_relative + s] = np.where(exercising, programme, 1.0)
        u[U.withdrawn_loading_lumbar_spine_relative + s] = np.where(stopped, programme, 1.0)
    # After the stop the input repeats the programme's course from its start, for as long as the programme lasted, so
    # the detraining route mirrors the route that built the gain (mechanostat.py); 0 after that.
    first = drives.exercise_start_month[None, start:stop]
    duration = drives.exercise_stop_month[None, start:stop] - first
    months_on = np.maximum(month_midpoints - first, 0.0)
    months_on = np.where(stopped, months_on - duration, months_on)
    since_onset = np.maximum(months_on * DAYS_PER_MONTH - params.value("exercise_accommodation_onset_days"), 0.0)
    u[U.exercise_accommodation_relative] = np.where(stopped & (months_on >= duration), 0.0,
                                                    np.exp(-since_onset / params.value("exercise_accommodation_time_days")))
    return u, burn, serum, ratio


def patient_parameters(params: ParameterTable | PatientParameters | None, patients: int) -> PatientParameters:
    """Per-patient parameters: as given, or every patient with the table's (default: shipped) values."""
    if isinstance(params, PatientParameters):
        if params.patients != patients:
            raise ValueError(f"parameters for {params.patients} patients given for {patients}")
        return params
    return PatientParameters.uniform(params if params is not None else registry(), patients)


def drug_parameters(params: PatientParameters) -> np.ndarray:
    """(patients, N_DRUG_VECTOR): each patient's drug rate constants (drug_kernels.pack_drug_parameters),
    derived once per table when every patient has the table's values."""
    table = params.shared_table()
    if table is None:
        return dk.pack_drug_parameters(params.values_dict())
    if "packed_drug_vector" not in table.derived:
        table.derived["packed_drug_vector"] = dk.pack_drug_parameters(table.values_dict())
    return np.ascontiguousarray(np.broadcast_to(table.derived["packed_drug_vector"], (params.patients, dk.N_DRUG_VECTOR)))


def t_score_references(params: PatientParameters) -> np.ndarray:
    """(patients, 4): spine mean, spine SD, hip mean, hip SD (g/cm2), read by rule-triggered starts."""
    return np.ascontiguousarray(np.stack([params.value(f"{site}_reference_{stat}_g_cm2")
                                          for site in sy.SITES for stat in ("mean", "sd")], axis=1))


def run(arrays: PatientArrays, *, params: ParameterTable | PatientParameters | None = None, options: EngineOptions | None = None,
        outputs: Sequence[str] = DEFAULT_OUTPUTS, dtype=np.float64) -> dict[str, np.ndarray]:
    """Simulate all patients; returns the requested outputs, each shaped (patients, months + 1).

    ``params``: one table for every patient (default: the shipped, calibrated registry) or
    :class:`PatientParameters`, one value per parameter and patient; the steady-state-balancing
    values are derived per patient (system.pack_parameters).
    Output names: those of ``solve.OUTPUT_NAMES`` plus ``estradiol_pg_ml`` and
    ``estrogen_ratio`` (bone-effective E2 relative to untreated postmenopausal).
    """
    options = options or EngineOptions()
    unknown = set(outputs) - set(solve.OUTPUT_NAMES) - {"estradiol_pg_ml", "estrogen_ratio"}
    if unknown:
        raise KeyError(f"unknown outputs: {sorted(unknown)}")
    patients, months = arrays.patients, arrays.months
    shared = None if isinstance(params, PatientParameters) else (params if params is not None else registry())
    schedule = arrays.schedule if arrays.schedule is not None else DoseSchedule.empty(patients)
    result = {name: np.empty((patients, months + 1), dtype=dtype) for name in outputs}
    for start in range(0, patients, options.chunk_patients):
        stop = min(start + options.chunk_patients, patients)
        chunk_params = PatientParameters.uniform(shared, stop - start) if shared is not None else params.select(start, stop)
        vector = sy.pack_parameters(chunk_params)
        drug_vector = drug_parameters(chunk_params)
        y0 = np.ascontiguousarray(np.concatenate([sy.reference_state(vector), np.zeros((stop - start, dk.N_DRUG_STATES))], axis=1))
        u, burn, serum, ratio = monthly_inputs(arrays, chunk_params, options, start, stop)
        chunk = schedule.select(start, stop)
        rows, amounts = dose_rows_and_amounts(chunk, chunk_params)
        out = solve.integrate_batch(y0, vector, drug_vector, u, burn, chunk.item_ptr, rows, amounts,
                                    chunk.interval_days, chunk.start_day, chunk.stop_day, chunk.rule_site,
                                    chunk.rule_t_score, np.ascontiguousarray(arrays.baseline_bmd_g_cm2[:, start:stop]),
                                    t_score_references(chunk_params), months, options.rtol, options.max_step_days,
                                    options.step_after_dose_days)
        for name in outputs:
            if name == "estradiol_pg_ml":
                result[name][start:stop] = np.vstack([serum[:1], serum]).T
            elif name == "estrogen_ratio":
                result[name][start:stop] = np.vstack([ratio[:1], ratio]).T
            else:
                result[name][start:stop] = out[solve.OUTPUT_NAMES.index(name)].T
        del out, u
    return result


def untreated_arrays(patients: int, months: int, *, age_years: float = 64.0, years_since_menopause: float = 15.0,
                     endocrine_code: int = 0, adherence: float = 1.0) -> PatientArrays:
    """A homogeneous batch (benchmarks, tests): same patient, same endocrine therapy throughout."""
    params = registry()
    return PatientArrays(
        months=months,
        age_years=np.full(patients, age_years),
        years_since_menopause=np.full(patients, years_since_menopause),
        baseline_bmd_g_cm2=np.vstack([np.full(patients, bone.bmd_from_t_score(-1.0, 0, params)),
                                      np.full(patients, bone.bmd_from_t_score(-1.0, 1, params))]),
        endocrine_code=np.full((months, patients), endocrine_code, dtype=np.int64),
        adherence=np.full((months, patients), adherence),
        drives=LifestyleDrives.baseline(patients),
        schedule=DoseSchedule.empty(patients),
    )
