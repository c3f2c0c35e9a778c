"""The contract between lifestyle inputs (diet, supplements, exercise, gut) and the bone-cell core.

The core (``system.py``) reads only :class:`LifestyleDrives`: relative multipliers that equal
exactly 1.0 for an untrained postmenopausal woman with habitual activity and a replete diet,
so the core can be calibrated with lifestyle at baseline and the lifestyle modules
(``mechanics.py``, ``minerals.py``, ``gut.py``) can be calibrated on top of it.

Arrays are per patient, shape ``(patients,)``, or ``(2, patients)`` for per-site quantities in
the order of :data:`SITES`.

The reference person (every drive exactly 1.0): an untrained postmenopausal woman with habitual
daily activity (about 5000 steps/day, no structured exercise), total calcium 800 mg/d, vitamin D
200 IU/d giving 25(OH)D 25 ng/mL, protein 1.0 g/kg/d, magnesium 280 mg/d, fibre 18 g/d, no
probiotic, no vitamin K2 supplement. These are the Scenario defaults for a Diet block; the
population defaults used for missing blocks (``osteotwin.twin.lifestyle_inputs``) are the same.

Switches (``EngineOptions``; any object with these boolean attributes, missing ones are on):
``mechanics`` (exercise), ``minerals`` (calcium/vitamin D/PTH), ``gut_axis`` (probiotic, fibre,
and the estrogen -> permeability -> TNF -> RANKL route), ``weak_evidence_nutrients`` (protein,
magnesium, vitamin K2 on formation; fibre and polyphenols on the gut barrier). A module switched
off returns 1.0.

NOTE FOR THE CORE: with ``gut_axis`` off, the right-hand side must use 1.0 instead of calling
:func:`inflammation_rankl_relative`, because the estrogen-driven part of the gut route does not
pass through any drive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from osteotwin.physiology import gut, mechanics, minerals, nutrients
from osteotwin.physiology.gut import inflammation_rankl_relative
from osteotwin.physiology.parameters import ParameterTable

SITES = ("lumbar_spine", "total_hip")
RESISTANCE_INTENSITY_CODES = {"low": 0, "moderate": 1, "high": 2}


@dataclass(frozen=True)
class LifestyleInputs:
    """Per-patient lifestyle inputs as plain arrays, built from the Regimen blocks."""

    walking_minutes_per_week: np.ndarray
    impact_sessions_per_week: np.ndarray
    resistance_sessions_per_week: np.ndarray
    resistance_intensity_code: np.ndarray  # 0 low, 1 moderate, 2 high
    balance_sessions_per_week: np.ndarray
    calcium_mg_per_day: np.ndarray  # diet plus supplements
    supplemental_calcium_mg_per_day: np.ndarray
    vitamin_d_iu_per_day: np.ndarray  # diet plus supplements
    protein_g_per_kg_per_day: np.ndarray
    fiber_g_per_day: np.ndarray
    probiotic: np.ndarray  # 0 or 1
    magnesium_mg_per_day: np.ndarray
    vitamin_k2_ug_per_day: np.ndarray
    polyphenols_mg_per_day: np.ndarray | None = field(default=None)  # None: reference 500 mg/d
    measured_25ohd_ng_ml: np.ndarray | None = field(default=None)  # NaN or None: not measured
    habitual_vitamin_d_iu_per_day: np.ndarray | None = field(default=None)  # diet only; None: total
    exercise_start_month: np.ndarray | None = field(default=None)  # None: the programme runs from month 0
    exercise_stop_month: np.ndarray | None = field(default=None)  # inf or None: until the end of the scenario

    @property
    def patients(self) -> int:
        return int(np.asarray(self.walking_minutes_per_week).size)

    def select(self, patients: np.ndarray) -> LifestyleInputs:
        """The inputs of some patients (an index array), in that order."""
        return LifestyleInputs(**{name: None if value is None else np.asarray(value)[patients]
                                  for name, value in self.__dict__.items()})

    @staticmethod
    def reference(patients: int) -> LifestyleInputs:
        """The reference person (all drives 1.0), repeated ``patients`` times."""
        def full(value: float) -> np.ndarray:
            return np.full(patients, float(value))

        return LifestyleInputs(
            walking_minutes_per_week=full(0.0),
            impact_sessions_per_week=full(0.0),
            resistance_sessions_per_week=full(0.0),
            resistance_intensity_code=np.ones(patients, dtype=int),
            balance_sessions_per_week=full(0.0),
            calcium_mg_per_day=full(minerals.PARAMETERS.value("reference_calcium_mg_per_day")),
            supplemental_calcium_mg_per_day=full(0.0),
            vitamin_d_iu_per_day=full(minerals.PARAMETERS.value("reference_vitamin_d_iu_per_day")),
            protein_g_per_kg_per_day=full(nutrients.PARAMETERS.value("reference_protein_g_per_kg_per_day")),
            fiber_g_per_day=full(gut.PARAMETERS.value("fiber_reference_g_per_day")),
            probiotic=full(0.0),
            magnesium_mg_per_day=full(nutrients.PARAMETERS.value("reference_magnesium_mg_per_day")),
            vitamin_k2_ug_per_day=full(0.0),
            polyphenols_mg_per_day=full(gut.POLYPHENOL_REFERENCE_MG_PER_DAY),
        )


@dataclass(frozen=True)
class LifestyleDrives:
    """What the lifestyle modules hand to the bone-cell core; 1.0 means baseline."""

    loading_stimulus_relative: np.ndarray  # (2, patients): mechanical stimulus per site / habitual
    pth_relative: np.ndarray  # (patients,): PTH / PTH of a replete woman
    gut_barrier_relative: np.ndarray  # (patients,): gut permeability / untreated; < 1 with probiotics, fibre
    formation_relative: np.ndarray  # (patients,): nutrient effects on osteoblast formation (protein etc.)
    # (patients,): the months between which the loading above applies; outside them loading is habitual (1.0) and
    # osteocyte accommodation counts from the start (engine.monthly_inputs; detraining: mechanostat.py).
    exercise_start_month: np.ndarray = field(default=None)  # type: ignore[assignment]
    exercise_stop_month: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        patients = np.shape(self.pth_relative)[0]
        if self.exercise_start_month is None:
            object.__setattr__(self, "exercise_start_month", np.zeros(patients))
        if self.exercise_stop_month is None:
            object.__setattr__(self, "exercise_stop_month", np.full(patients, np.inf))

    @staticmethod
    def baseline(patients: int) -> LifestyleDrives:
        ones = np.ones(patients)
        return LifestyleDrives(
            loading_stimulus_relative=np.ones((2, patients)),
            pth_relative=ones.copy(),
            gut_barrier_relative=ones.copy(),
            formation_relative=ones.copy(),
        )


def _option(options: object | None, name: str) -> bool:
    return bool(getattr(options, name, True)) if options is not None else True


def serum_25ohd_ng_ml(inputs: LifestyleInputs, parameters: ParameterTable | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(25(OH)D at month 0 on the habitual intake, steady state on the scenario's intake), ng/mL.

    A measured 25(OH)D (taken on the habitual diet) sets the person's endogenous part; without
    one, the reference person's endogenous part is used.
    """
    patients = inputs.patients
    habitual_d = (
        inputs.vitamin_d_iu_per_day if inputs.habitual_vitamin_d_iu_per_day is None else inputs.habitual_vitamin_d_iu_per_day
    )
    endogenous = np.full(patients, minerals.reference_endogenous_25ohd_ng_ml(parameters))
    if inputs.measured_25ohd_ng_ml is not None:
        measured = np.asarray(inputs.measured_25ohd_ng_ml, dtype=float)
        known = np.isfinite(measured)
        if np.any(known):
            endogenous[known] = minerals.endogenous_from_measured_ng_ml(
                measured[known], np.asarray(habitual_d)[known], parameters
            )
    start = minerals.serum_25ohd_steady_state_ng_ml(habitual_d, endogenous, parameters)
    steady = minerals.serum_25ohd_steady_state_ng_ml(inputs.vitamin_d_iu_per_day, endogenous, parameters)
    return start, steady


def lifestyle_drives(
    inputs: LifestyleInputs, options: object | None = None, parameters: ParameterTable | None = None
) -> LifestyleDrives:
    """The drives of the bone-cell core from the lifestyle inputs; 1.0 for a module switched off.

    ``parameters``: a table holding the lifestyle parameters (e.g. ``parameters.registry()`` with
    calibration values); ``None`` uses each module's defaults.
    """
    patients = inputs.patients
    drives = LifestyleDrives.baseline(patients)
    loading = drives.loading_stimulus_relative
    pth = drives.pth_relative
    barrier = drives.gut_barrier_relative
    formation = drives.formation_relative
    weak = _option(options, "weak_evidence_nutrients")
    if _option(options, "mechanics"):
        loading = mechanics.loading_stimulus_relative(
            inputs.walking_minutes_per_week,
            inputs.impact_sessions_per_week,
            inputs.resistance_sessions_per_week,
            inputs.resistance_intensity_code,
            parameters,
        )
    if _option(options, "minerals"):
        _, steady_25ohd = serum_25ohd_ng_ml(inputs, parameters)
        pth = minerals.pth_relative(inputs.calcium_mg_per_day, steady_25ohd, parameters)
    if _option(options, "gut_axis"):
        polyphenols = (
            np.full(patients, gut.POLYPHENOL_REFERENCE_MG_PER_DAY)
            if inputs.polyphenols_mg_per_day is None
            else inputs.polyphenols_mg_per_day
        )
        barrier = gut.gut_barrier_relative(
            inputs.probiotic, inputs.fiber_g_per_day, polyphenols, weak_evidence=weak, parameters=parameters
        )
    if weak:
        formation = nutrients.formation_relative(
            inputs.protein_g_per_kg_per_day, inputs.magnesium_mg_per_day, inputs.vitamin_k2_ug_per_day, parameters
        )
    return LifestyleDrives(
        loading_stimulus_relative=np.asarray(loading, dtype=float).reshape(2, patients),
        pth_relative=np.asarray(pth, dtype=float).reshape(patients),
        gut_barrier_relative=np.asarray(barrier, dtype=float).reshape(patients),
        formation_relative=np.asarray(formation, dtype=float).reshape(patients),
        exercise_start_month=None if inputs.exercise_start_month is None else np.asarray(inputs.exercise_start_month, dtype=float),
        exercise_stop_month=None if inputs.exercise_stop_month is None else np.asarray(inputs.exercise_stop_month, dtype=float),
    )


__all__ = [
    "SITES",
    "RESISTANCE_INTENSITY_CODES",
    "LifestyleInputs",
    "LifestyleDrives",
    "inflammation_rankl_relative",
    "lifestyle_drives",
    "serum_25ohd_ng_ml",
]
