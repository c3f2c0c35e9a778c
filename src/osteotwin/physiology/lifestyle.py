"""The contract between lifestyle inputs (diet, supplements, exercise, gut) and the bone-cell core.

The core (``system.py``) reads only :class:`LifestyleDrives`: relative multipliers that equal
exactly 1.0 for an untrained postmenopausal woman with habitual activity and a replete diet,
so the core can be calibrated with lifestyle at baseline and the lifestyle modules
(``mechanics.py``, ``minerals.py``, ``gut.py``) can be calibrated on top of it.

Arrays are per patient, shape ``(patients,)``, or ``(2, patients)`` for per-site quantities in
the order of :data:`SITES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


@dataclass(frozen=True)
class LifestyleDrives:
    """What the lifestyle modules hand to the bone-cell core; 1.0 means baseline."""

    loading_stimulus_relative: np.ndarray  # (2, patients): mechanical stimulus per site / habitual
    pth_relative: np.ndarray  # (patients,): PTH / PTH of a replete woman
    gut_barrier_relative: np.ndarray  # (patients,): gut permeability / untreated; < 1 with probiotics, fibre
    formation_relative: np.ndarray  # (patients,): nutrient effects on osteoblast formation (protein etc.)

    @staticmethod
    def baseline(patients: int) -> LifestyleDrives:
        ones = np.ones(patients)
        return LifestyleDrives(
            loading_stimulus_relative=np.ones((2, patients)),
            pth_relative=ones.copy(),
            gut_barrier_relative=ones.copy(),
            formation_relative=ones.copy(),
        )


def inflammation_rankl_relative(estradiol_relative: np.ndarray, gut_barrier_relative: np.ndarray) -> np.ndarray:
    """Relative RANKL (and precursor) drive from gut-derived inflammation (TNF-alpha).

    Called inside the right-hand side, elementwise; 1.0 at the untreated postmenopausal baseline
    with no gut intervention. Implemented by the gut-bone-axis module (gut.py).
    """
    return np.ones_like(estradiol_relative * gut_barrier_relative)
