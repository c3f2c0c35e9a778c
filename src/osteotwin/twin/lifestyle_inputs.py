"""Scenario blocks (diet, supplements, exercise, gut) -> the engine's LifestyleInputs arrays.

Missing blocks take documented population defaults, chosen to be the reference person of the
engine (``physiology/lifestyle.py``), so that a Scenario without lifestyle blocks runs with every
lifestyle drive at 1.0:

| block | default | source |
|---|---|---|
| diet | calcium 800 mg/d, vitamin D 200 IU/d, protein 1.0 g/kg/d, fibre 18 g/d | Scenario ``Diet`` defaults |
| diet.magnesium_mg_per_day | 280 mg/d | typical US women's intake [R] (nutrients.py) |
| diet.polyphenols_mg_per_day | 500 mg/d | typical Western intake [R] (gut.py) |
| supplements | none | "missing means none" (ours) |
| exercise | habitual daily activity only (no structured exercise); a given programme runs from its ``start_month`` (0) to its ``stop_month`` (the horizon) | ours |
| gut | no probiotic; fibre from the diet | ours |

``gut.fiber_g_per_day``, when given, is the total daily fibre (it replaces ``diet.fiber_g_per_day``).
Supplements are taken to start at month 0 (25(OH)D then rises from its habitual level).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteotwin.physiology import gut, nutrients
from osteotwin.physiology.lifestyle import RESISTANCE_INTENSITY_CODES, LifestyleInputs
from osteotwin.scenario import Diet, Exercise, Scenario, Supplements

DEFAULT_MAGNESIUM_MG_PER_DAY = nutrients.PARAMETERS.value("reference_magnesium_mg_per_day")
DEFAULT_POLYPHENOLS_MG_PER_DAY = gut.POLYPHENOL_REFERENCE_MG_PER_DAY


def lifestyle_inputs(scenarios: Sequence[Scenario]) -> LifestyleInputs:
    """One LifestyleInputs with arrays of length ``len(scenarios)``."""
    rows = [_row(scenario) for scenario in scenarios]
    columns = {name: np.array([row[name] for row in rows], dtype=float) for name in rows[0]} if rows else {}
    if not rows:
        return LifestyleInputs.reference(0)
    columns["resistance_intensity_code"] = columns["resistance_intensity_code"].astype(int)
    return LifestyleInputs(**columns)


def _row(scenario: Scenario) -> dict[str, float]:
    diet = scenario.diet or Diet()
    supplements = scenario.supplements or Supplements()
    exercise = scenario.exercise or Exercise()
    fiber = diet.fiber_g_per_day
    probiotic = 0.0
    if scenario.gut is not None:
        probiotic = 1.0 if scenario.gut.probiotic else 0.0
        if scenario.gut.fiber_g_per_day is not None:
            fiber = scenario.gut.fiber_g_per_day
    magnesium_diet = diet.magnesium_mg_per_day if diet.magnesium_mg_per_day is not None else DEFAULT_MAGNESIUM_MG_PER_DAY
    polyphenols = diet.polyphenols_mg_per_day if diet.polyphenols_mg_per_day is not None else DEFAULT_POLYPHENOLS_MG_PER_DAY
    measured = scenario.patient.serum_25ohd_ng_ml
    return {
        "walking_minutes_per_week": exercise.walking_minutes_per_week,
        "impact_sessions_per_week": exercise.impact_sessions_per_week,
        "resistance_sessions_per_week": exercise.resistance_sessions_per_week,
        "resistance_intensity_code": RESISTANCE_INTENSITY_CODES[exercise.resistance_intensity],
        "balance_sessions_per_week": exercise.balance_sessions_per_week,
        "calcium_mg_per_day": diet.calcium_mg_per_day + supplements.calcium_mg_per_day,
        "supplemental_calcium_mg_per_day": supplements.calcium_mg_per_day,
        "vitamin_d_iu_per_day": diet.vitamin_d_iu_per_day + supplements.vitamin_d_iu_per_day,
        "protein_g_per_kg_per_day": diet.protein_g_per_kg_per_day,
        "fiber_g_per_day": fiber,
        "probiotic": probiotic,
        "magnesium_mg_per_day": magnesium_diet + supplements.magnesium_mg_per_day,
        "vitamin_k2_ug_per_day": supplements.vitamin_k2_ug_per_day,
        "polyphenols_mg_per_day": polyphenols,
        "measured_25ohd_ng_ml": float("nan") if measured is None else measured,
        "habitual_vitamin_d_iu_per_day": diet.vitamin_d_iu_per_day,
        "exercise_start_month": exercise.start_month,
        "exercise_stop_month": float("inf") if exercise.stop_month is None else exercise.stop_month,
    }
