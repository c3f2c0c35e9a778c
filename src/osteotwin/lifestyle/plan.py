"""``make_plan(profile) -> Plan``: targets, gaps, foods, supplements, exercise, and the Regimen blocks.

The plan's ``regimen`` holds the scenario blocks ``diet``, ``supplements``, ``exercise`` and ``gut``
(the pydantic models of ``osteotwin.scenario``), so ``osteotwin simulate`` accepts them unchanged:
``Scenario.model_validate({**plan.regimen.model_dump(), "patient": ..., "months": 60})``.
The diet block is the intake after the suggested foods (logged average + suggestions).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from osteotwin.catalog import (
    AROMATASE_INHIBITORS,
    VITAMIN_D_DEFICIENT_BELOW_NG_ML,
    VITAMIN_D_INADEQUATE_BELOW_NG_ML,
    VITAMIN_D_TARGET_FROM_AGE_YEARS,
    VITAMIN_D_TARGET_NG_ML,
    VITAMIN_D_UPPER_NG_ML,
)
from osteotwin.lifestyle.absorption import calcium_absorption
from osteotwin.lifestyle.exercise import ExercisePrescription, ScreeningInput, prescribe
from osteotwin.lifestyle.intake import IntakeReport, nutrient_totals
from osteotwin.lifestyle.names import check_dislikes, check_medications
from osteotwin.lifestyle.optimise import NutrientGap, SuggestedFood, suggest_foods
from osteotwin.lifestyle.patterns import DietPattern
from osteotwin.lifestyle.progression import NextWeek, next_week
from osteotwin.lifestyle.supplements import (
    ANTICOAGULANTS_VITAMIN_K,
    SupplementAdvice,
    VitaminDStatus,
    plan_supplements,
    vitamin_d_status,
)
from osteotwin.lifestyle.targets import Target, targets_for, upper_limit_warnings
from osteotwin.scenario import Diet, Exercise, Gut, Patient, Supplements


class Conditions(BaseModel):
    """Conditions that change the plan (safety screening and supplement warnings)."""

    model_config = ConfigDict(extra="forbid")

    vertebral_fracture: bool = False
    bone_metastases: bool = False
    bone_metastases_sites: list[str] = Field(default_factory=list)
    lymphedema: bool = False
    axillary_surgery: bool = False
    falls_last_12_months: int = Field(0, ge=0, le=100)
    poor_balance: bool = False
    osteoarthritis_or_frailty: bool = False
    kidney_stones: bool = False


class Profile(BaseModel):
    """The planner's input (e.g. examples/profiles/vegan_low_spine.json): patient, pattern, energy budget,
    dislikes, logs, conditions."""

    model_config = ConfigDict(extra="forbid")

    patient: Patient
    diet_pattern: DietPattern = "omnivore"
    energy_kcal_per_day: float = Field(1800, description="Daily energy budget (accepted: 800-5,000 kcal; ours).")
    dislikes: list[str] = Field(default_factory=list)
    food_log: list[dict] = Field(default_factory=list)
    exercise_log: list[dict] = Field(default_factory=list)
    conditions: Conditions = Field(default_factory=Conditions)
    medications: list[str] = Field(default_factory=list)
    probiotic: bool = Field(False, description="Takes a probiotic supplement now.")
    vitamin_d_25_oh_ng_ml: float | None = Field(
        None, gt=0, le=300, description="Latest serum 25(OH)D in ng/mL (1 ng/mL = 2.5 nmol/L), if measured."
    )
    femoral_neck_t_score: float | None = Field(
        None, ge=-7, le=7, description="Latest femoral neck T-score, if measured: the exercise safety rules use the "
                                       "lowest T-score of any site (the patient block holds spine and hip).")


class PlanRegimen(BaseModel):
    """The Regimen blocks for ``osteotwin simulate``."""

    diet: Diet
    supplements: Supplements
    exercise: Exercise
    gut: Gut


class Plan(BaseModel):
    """The lifestyle plan. ``model_dump(mode="json")`` is the ``osteotwin plan --json`` output."""

    targets: list[Target]
    intake: IntakeReport | None
    gaps: list[NutrientGap]
    suggested_foods: list[SuggestedFood]
    energy_kcal_budget: float
    energy_kcal_after_foods: float
    absorbable_calcium_mg_after_foods: float = Field(
        description="Logged plus suggested calcium x fractional absorption (Weaver et al. 1999 AJCN), mg/day."
    )
    optimiser: dict
    supplements: list[SupplementAdvice]
    vitamin_d_status: VitaminDStatus | None = Field(
        None, description="Latest serum 25(OH)D against the catalog's cut-points (supplements.vitamin_d_status).")
    exercise: ExercisePrescription
    exercise_progression: NextWeek | None
    warnings: list[str]
    notes: list[str]
    regimen: PlanRegimen
    regimen_current: PlanRegimen | None = Field(
        None, description="The same blocks for the logged intake and exercise, before the plan (for comparison)."
    )


def make_plan(profile: Profile | dict) -> Plan:
    """Build the whole plan for one person."""
    if not isinstance(profile, Profile):
        profile = Profile.model_validate(profile)
    patient = profile.patient
    medications = check_medications(profile.medications)
    dislikes = check_dislikes(profile.dislikes)
    on_ai = bool(set(AROMATASE_INHIBITORS) & set(medications))
    warfarin = bool(set(ANTICOAGULANTS_VITAMIN_K) & set(medications))
    targets = targets_for(patient.age_years, patient.weight_kg, on_aromatase_inhibitor=on_ai)
    warnings: list[str] = []
    notes: list[str] = []
    intake = nutrient_totals(profile.food_log) if profile.food_log else None
    if intake is None:
        notes.append("No food log: the suggested foods cover the targets from scratch; the rest of the energy budget is free.")
    if profile.energy_kcal_per_day < 1200:
        warnings.append(f"energy_kcal_per_day = {profile.energy_kcal_per_day:g}: below 1,200 kcal is a low-energy diet; "
                        "check with a dietitian (ours)")
    baseline = intake.average if intake else None
    meals = suggest_foods(
        targets, baseline, profile.energy_kcal_per_day, profile.diet_pattern, dislikes, warfarin=warfarin,
    )
    food_after = {gap.nutrient: gap.after_foods for gap in meals.gaps}
    food_after["energy_kcal"] = meals.energy_kcal_total
    supplements = plan_supplements(
        targets, food_after, medications, kidney_stones=profile.conditions.kidney_stones,
        vitamin_d_25_oh_ng_ml=profile.vitamin_d_25_oh_ng_ml, age_years=patient.age_years,
    )
    status = vitamin_d_status(profile.vitamin_d_25_oh_ng_ml, patient.age_years)
    warnings += supplements.warnings + meals.notes
    warnings += _vitamin_d_status_warnings(profile.vitamin_d_25_oh_ng_ml, status)
    warnings += upper_limit_warnings(
        targets, food_after,
        {"calcium_mg": supplements.calcium_mg_per_day, "vitamin_d_iu": supplements.vitamin_d_iu_per_day,
         "magnesium_mg": supplements.magnesium_mg_per_day},
    )
    if any("natto" in f.name.lower() for f in meals.foods):
        notes.append("natto: rich in menaquinone-7 (vitamin K2), not counted in USDA's vitamin K (K1 only; recalled, not verified)")
    if intake:
        notes += intake.notes
    for gap in meals.gaps:
        supplied = {"calcium_mg": supplements.calcium_mg_per_day, "vitamin_d_iu": supplements.vitamin_d_iu_per_day,
                    "magnesium_mg": supplements.magnesium_mg_per_day}.get(gap.nutrient, 0.0)
        if not gap.met_by_food and supplied < gap.gap_after_foods and gap.reason:
            notes.append(f"{gap.nutrient}: {gap.reason}")
    t_scores = [t for t in (patient.lumbar_spine_t_score, patient.total_hip_t_score, profile.femoral_neck_t_score)
                if t is not None]
    conditions = profile.conditions
    screening = ScreeningInput(
        min_t_score=min(t_scores) if t_scores else None,
        vertebral_fracture=conditions.vertebral_fracture, bone_metastases=conditions.bone_metastases,
        bone_metastases_sites=conditions.bone_metastases_sites, lymphedema=conditions.lymphedema,
        axillary_surgery=conditions.axillary_surgery, falls_last_12_months=conditions.falls_last_12_months,
        poor_balance=conditions.poor_balance, osteoarthritis_or_frailty=conditions.osteoarthritis_or_frailty,
    )
    exercise = prescribe(screening)
    progression = (
        next_week(profile.exercise_log, limits=exercise.limits)
        if profile.exercise_log else None
    )
    fiber_after = food_after.get("fiber_g", 0.0)
    diet = _diet_block(food_after, patient.weight_kg)
    regimen = PlanRegimen(
        diet=diet,
        supplements=Supplements(
            calcium_mg_per_day=supplements.calcium_mg_per_day, vitamin_d_iu_per_day=supplements.vitamin_d_iu_per_day,
            magnesium_mg_per_day=supplements.magnesium_mg_per_day, vitamin_k2_ug_per_day=0.0,
        ),
        exercise=exercise.weekly_dose,
        gut=Gut(probiotic=profile.probiotic, fiber_g_per_day=round(min(fiber_after, 150.0), 1)),
    )
    current = None
    if intake is not None or progression is not None:
        logged = intake.average if intake else {}
        current = PlanRegimen(
            diet=_diet_block(logged, patient.weight_kg) if intake else Diet(),
            supplements=Supplements(),
            exercise=progression.weekly_dose if progression else Exercise(),
            gut=Gut(probiotic=profile.probiotic, fiber_g_per_day=round(min(logged.get("fiber_g", 18.0), 150.0), 1)
                    if intake else None),
        )
    notes.append("gut: a probiotic is not prescribed; one RCT (Jansson 2019, Lancet Rheumatol) found less spine loss "
                 "with a Lactobacillus mix over 12 months; fermented and prebiotic foods are favoured in the suggestions")
    return Plan(
        targets=targets, intake=intake, gaps=meals.gaps, suggested_foods=meals.foods,
        energy_kcal_budget=profile.energy_kcal_per_day, energy_kcal_after_foods=meals.energy_kcal_total,
        absorbable_calcium_mg_after_foods=round(
            (intake.average_absorbable_calcium_mg if intake else 0.0)
            + sum(food.adds["calcium_mg"] * calcium_absorption(food.name)[0] for food in meals.foods), 1),
        optimiser={"solver": meals.solver, "status": meals.status, "runtime_s": meals.runtime_s,
                   "pool_size": meals.pool_size, "pattern": profile.diet_pattern},
        supplements=supplements.items, vitamin_d_status=status, exercise=exercise, exercise_progression=progression,
        warnings=warnings, notes=notes, regimen=regimen, regimen_current=current,
    )


_VITAMIN_D_MEANING: dict[str, str] = {
    "deficient": f"deficient (below {VITAMIN_D_DEFICIENT_BELOW_NG_ML:g} ng/mL, IOM 2011); the daily dose here is "
                 "maintenance, not repletion: the clinician should decide on a repletion course and recheck",
    "inadequate": f"inadequate ({VITAMIN_D_DEFICIENT_BELOW_NG_ML:g}-{VITAMIN_D_INADEQUATE_BELOW_NG_ML:g} ng/mL, "
                  "IOM 2011); vitamin D supplement advised; recheck after about 3 months on it (interval ours)",
    "below_target": f"below the {VITAMIN_D_TARGET_NG_ML:g} ng/mL aimed at from age "
                    f"{VITAMIN_D_TARGET_FROM_AGE_YEARS:g} (BHOF 2022); vitamin D supplement advised; recheck after "
                    "about 3 months on it (interval ours)",
    "high": f"above {VITAMIN_D_UPPER_NG_ML:g} ng/mL, where IOM 2011 sees possible harm; no vitamin D supplement is "
            "advised; discuss with the clinician",
}


def _vitamin_d_status_warnings(level_ng_ml: float | None, status: VitaminDStatus | None) -> list[str]:
    """What the clinician should know about the serum 25(OH)D (cut-points: ``supplements.vitamin_d_status``)."""
    meaning = _VITAMIN_D_MEANING.get(status or "")
    return [f"25(OH)D {level_ng_ml:g} ng/mL: {meaning}"] if meaning else []


def _diet_block(per_day: dict[str, float], weight_kg: float) -> Diet:
    """The scenario Diet block from per-day nutrient amounts (clipped to the block's accepted ranges)."""
    return Diet(
        calcium_mg_per_day=round(min(per_day.get("calcium_mg", 0.0), 5000.0), 1),
        vitamin_d_iu_per_day=round(min(per_day.get("vitamin_d_iu", 0.0), 50000.0), 1),
        protein_g_per_kg_per_day=round(min(per_day.get("protein_g", 0.0) / weight_kg, 5.0), 3),
        fiber_g_per_day=round(min(per_day.get("fiber_g", 0.0), 150.0), 1),
        magnesium_mg_per_day=round(min(per_day.get("magnesium_mg", 0.0), 3000.0), 1),
        vitamin_k_ug_per_day=round(min(per_day.get("vitamin_k_ug", 0.0), 5000.0), 1),
    )
