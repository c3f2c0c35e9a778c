"""Supplement advice for what food cannot reasonably close, with the warnings that go with it.

Facts (checked only against secondary pages [S]; docs/lifestyle.md, "Supplements"):
- calcium carbonate is 40% elemental calcium, needs gastric acid, take with food [S];
- calcium citrate is 21% elemental calcium, with or without food, better with low acid or PPI use [S];
- absorption is best at <= 500 mg elemental calcium per dose: split larger amounts [S];
- supplemental (not dietary) calcium raises kidney-stone risk [S];
- upper limits: calcium 2,000 mg/day total from 51, vitamin D 4,000 IU/day, supplemental magnesium
  350 mg/day (IOM) [S].
- serum 25(OH)D decides as well as food: below the target of ``vitamin_d_status`` (the catalog's
  cut-points, the same the clinic rules use) a vitamin D supplement of at least the daily target
  (800 IU from 50 or on an AI: BHOF 2022 "800-1,000 IU/day as needed" [V]) is advised even when food
  meets the target; above 50 ng/mL none is advised.
Rounding doses to 250 mg calcium and 400 IU vitamin D steps (common tablet sizes) is ours.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel

from osteotwin.catalog import (
    VITAMIN_D_DEFICIENT_BELOW_NG_ML,
    VITAMIN_D_INADEQUATE_BELOW_NG_ML,
    VITAMIN_D_TARGET_FROM_AGE_YEARS,
    VITAMIN_D_TARGET_NG_ML,
    VITAMIN_D_UPPER_NG_ML,
)
from osteotwin.lifestyle.targets import Target

CALCIUM_MAX_PER_DOSE_MG = 500.0
CALCIUM_STEP_MG = 250.0
VITAMIN_D_STEP_IU = 400.0
MIN_CALCIUM_GAP_MG = 100.0
"""Calcium gaps below this are left to food (ours: one extra serving of a calcium food closes them)."""
ACID_SUPPRESSANTS = {
    "omeprazole", "esomeprazole", "lansoprazole", "pantoprazole", "rabeprazole", "dexlansoprazole",
    "ppi", "proton_pump_inhibitor", "famotidine", "ranitidine", "cimetidine", "nizatidine",
}
ANTICOAGULANTS_VITAMIN_K = ("warfarin", "acenocoumarol", "phenprocoumon")
"""Vitamin K antagonists: dietary vitamin K should stay steady (their labels; recalled [R])."""
THIAZIDES = ("thiazide", "hydrochlorothiazide", "chlorthalidone", "indapamide")
"""Thiazide and thiazide-like diuretics: less urinary calcium, so calcium supplements add to hypercalcaemia risk [R]."""


VitaminDStatus = Literal["deficient", "inadequate", "below_target", "adequate", "high"]


def vitamin_d_status(level_ng_ml: float | None, age_years: float) -> VitaminDStatus | None:
    """Serum 25(OH)D against the catalog's cut-points: IOM 2011 (12, 20, 50 ng/mL) and BHOF 2022 (30 from age 50)."""
    if level_ng_ml is None:
        return None
    if level_ng_ml < VITAMIN_D_DEFICIENT_BELOW_NG_ML:
        return "deficient"
    if level_ng_ml < VITAMIN_D_INADEQUATE_BELOW_NG_ML:
        return "inadequate"
    if level_ng_ml < VITAMIN_D_TARGET_NG_ML and age_years >= VITAMIN_D_TARGET_FROM_AGE_YEARS:
        return "below_target"
    if level_ng_ml > VITAMIN_D_UPPER_NG_ML:
        return "high"
    return "adequate"


class SupplementAdvice(BaseModel):
    """One supplement: what, how much a day, in how many doses, why, and the source."""

    nutrient: str
    product: str
    amount_per_day: float
    unit: str
    doses_per_day: int
    how_to_take: str
    reason: str
    source: str


class SupplementPlan(BaseModel):
    """Supplements, their daily totals under the engine's names, and warnings."""

    items: list[SupplementAdvice]
    calcium_mg_per_day: float
    vitamin_d_iu_per_day: float
    magnesium_mg_per_day: float
    vitamin_k2_ug_per_day: float
    warnings: list[str]


def plan_supplements(
    targets: list[Target],
    food_per_day: dict[str, float],
    medications: list[str] = (),
    kidney_stones: bool = False,
    vitamin_d_25_oh_ng_ml: float | None = None,
    age_years: float = 60.0,
) -> SupplementPlan:
    """Close the gaps left after food with calcium, vitamin D and magnesium; never vitamin K.

    Vitamin D also follows the latest serum 25(OH)D (``vitamin_d_status``): below target, at least the
    daily target as a supplement; above 50 ng/mL, none."""
    by_key = {t.nutrient: t for t in targets}
    meds = {m.strip().lower() for m in medications}
    items: list[SupplementAdvice] = []
    warnings: list[str] = []

    calcium = 0.0
    calcium_gap = by_key["calcium_mg"].amount - food_per_day.get("calcium_mg", 0.0) if "calcium_mg" in by_key else 0.0
    if calcium_gap >= MIN_CALCIUM_GAP_MG:
        calcium = CALCIUM_STEP_MG * math.ceil(calcium_gap / CALCIUM_STEP_MG)
        ul = by_key["calcium_mg"].upper_limit or math.inf
        calcium = min(calcium, max(CALCIUM_STEP_MG * math.floor((ul - food_per_day.get("calcium_mg", 0.0)) / CALCIUM_STEP_MG), 0))
    if calcium > 0:
        doses = math.ceil(calcium / CALCIUM_MAX_PER_DOSE_MG)
        citrate = bool(meds & ACID_SUPPRESSANTS)
        if citrate:
            product = "calcium citrate (21% elemental calcium)"
            how = f"{doses} dose(s) of at most {CALCIUM_MAX_PER_DOSE_MG:g} mg elemental calcium, with or without food"
        else:
            product = "calcium carbonate (40% elemental calcium)"
            how = f"{doses} dose(s) of at most {CALCIUM_MAX_PER_DOSE_MG:g} mg elemental calcium, each with a meal"
        items.append(SupplementAdvice(
            nutrient="calcium_mg", product=product, amount_per_day=calcium, unit="mg elemental calcium/day",
            doses_per_day=doses, how_to_take=how,
            reason=f"food leaves {calcium_gap:.0f} mg/day of the {by_key['calcium_mg'].amount:g} mg target"
            + ("; citrate because an acid suppressant is taken" if citrate else ""),
            source="supplement facts from secondary pages: carbonate 40% with food, citrate 21% with or without "
                   "food, <= 500 mg per dose [S]",
        ))
        if kidney_stones:
            warnings.append(
                "kidney stones: supplemental (not dietary) calcium raises stone risk [S]; prefer closing the calcium "
                "gap with food and discuss any calcium supplement with the clinician"
            )

    vitamin_d = 0.0
    status = vitamin_d_status(vitamin_d_25_oh_ng_ml, age_years)
    low_status = status in ("deficient", "inadequate", "below_target")
    if "vitamin_d_iu" in by_key and status != "high":
        target = by_key["vitamin_d_iu"]
        food_d = food_per_day.get("vitamin_d_iu", 0.0)
        gap = target.amount - food_d
        if gap > 0 or low_status:
            vitamin_d = VITAMIN_D_STEP_IU * math.ceil(max(gap, 0.0) / VITAMIN_D_STEP_IU)
            if low_status:
                vitamin_d = max(vitamin_d, target.amount)
            vitamin_d = max(min(vitamin_d, target.upper_limit - food_d), 0.0) if target.upper_limit else vitamin_d
            reason = f"food gives {food_d:.0f} of the {target.amount:g} IU/day target"
            if low_status:
                reason = (f"blood 25(OH)D {vitamin_d_25_oh_ng_ml:g} ng/mL is {status.replace('_', ' ')} (below "
                          f"{VITAMIN_D_TARGET_NG_ML:g} ng/mL, BHOF 2022; below {VITAMIN_D_INADEQUATE_BELOW_NG_ML:g} "
                          f"inadequate, IOM 2011): a supplement whatever the food; {reason}")
        if vitamin_d > 0:
                items.append(SupplementAdvice(
                    nutrient="vitamin_d_iu", product="vitamin D3 (cholecalciferol)", amount_per_day=vitamin_d,
                    unit="IU/day", doses_per_day=1, how_to_take="once a day, with a meal",
                    reason=reason, source=target.source + "; rounded up to 400 IU steps (ours)",
                ))

    magnesium = 0.0
    if "magnesium_mg" in by_key:
        gap = by_key["magnesium_mg"].amount - food_per_day.get("magnesium_mg", 0.0)
        if gap >= 50:
            magnesium = min(50.0 * math.ceil(gap / 50.0), 350.0)
            items.append(SupplementAdvice(
                nutrient="magnesium_mg", product="magnesium (e.g. citrate or glycinate)", amount_per_day=magnesium,
                unit="mg/day", doses_per_day=1, how_to_take="once a day",
                reason=f"food leaves {gap:.0f} mg/day of the {by_key['magnesium_mg'].amount:g} mg target",
                source="IOM 1997: RDA; supplemental UL 350 mg/day [S]",
            ))

    for drug in sorted(meds & set(ANTICOAGULANTS_VITAMIN_K)):
        warnings.append(
            f"{drug}: keep dietary vitamin K steady from day to day (sudden increases, e.g. kale, spinach or natto, "
            f"weaken {drug}); take no vitamin K supplement without the anticoagulation clinic"
        )
    if meds & set(THIAZIDES):
        warnings.append("thiazide diuretic: calcium supplements add to the risk of high blood calcium; check with the clinician (recalled, unverified)")
    return SupplementPlan(
        items=items,
        calcium_mg_per_day=calcium,
        vitamin_d_iu_per_day=vitamin_d,
        magnesium_mg_per_day=magnesium,
        vitamin_k2_ug_per_day=0.0,
        warnings=warnings,
    )
