"""The shared vocabulary of osteotwin: Patient, Regimen blocks, Scenario and Trajectory.

Every part of the system speaks these models (the JSON Schema: ``osteotwin schema``). Field names carry
their units. Validation refuses physiologically impossible input with a message naming the
field, the value and the allowed range; unusual but possible input is accepted and reported
through :func:`scenario_warnings`.

Ranges marked "ours" are our own plausibility bounds, not published limits.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from osteotwin.catalog import BONE_AGENTS, ENDOCRINE_DRUGS, SITES

EndocrineDrug = Literal[(*ENDOCRINE_DRUGS, "none")]  # type: ignore[valid-type]
BoneAgentDrug = Literal[BONE_AGENTS]  # type: ignore[valid-type]
BoneSite = Literal[SITES]  # type: ignore[valid-type]
Intensity = Literal["low", "moderate", "high"]


class _Model(BaseModel):
    """Immutable, strict-about-unknown-fields base for every contract model."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class QFractureConditions(_Model):
    """The QFracture-2009 comorbidity booleans (Hippisley-Cox & Coupland, BMJ 2009;339:b4229), shared by
    the Scenario's risk factors and the clinic record's conditions."""

    asthma: bool = False
    cardiovascular_disease: bool = False
    endocrine_disorder: bool = False
    chronic_liver_disease: bool = False
    malabsorption: bool = False
    menopausal_symptoms: bool = False
    rheumatoid_arthritis: bool = False
    tricyclic_antidepressants: bool = False
    type_2_diabetes: bool = False


class FractureRiskFactors(QFractureConditions):
    """Clinical fracture risk factors: the QFracture-2009 covariates (Hippisley-Cox & Coupland, BMJ
    2009;339:b4229; coefficients in physiology/qfracture.py) and the falls recorded in the last 12 months.

    Optional on the Patient: without it the engine's fracture risk uses population defaults (no risk
    factor; falls from the muscle model). ``osteotwin.clinic.fracture_risk.scenario_risk_factors``
    fills it from a clinic record, so that the assessment and the projection compute the same risk.
    """

    current_smoker: bool = False
    former_smoker: bool = False
    cigarettes_per_day: float | None = Field(None, ge=0, le=100, description="Current smokers (ours: 0-100).")
    alcohol_units_per_day: float = Field(0, ge=0, le=60, description="UK units per day (ours: 0-60).")
    falls_last_12_months: int = Field(0, ge=0, le=365, description="Falls recorded in the last 12 months (ours: 0-365).")
    corticosteroids: bool = Field(False, description="Oral glucocorticoids (QFracture: current use).")
    family_history_osteoporosis: bool = Field(False, description="Includes a parental hip fracture (clinic mapping, ours).")


class Patient(_Model):
    """Who the simulation is about. Baseline T-scores set the starting areal BMD per site."""

    age_years: float = Field(64, ge=18, le=110, description="Age at the start of the scenario (ours: 18-110).")
    years_since_menopause: float = Field(
        12, ge=0, le=70, description="Years since the final menstrual period (ours: 0-70)."
    )
    weight_kg: float = Field(68, ge=25, le=300, description="Body weight (ours: 25-300 kg).")
    height_cm: float = Field(162, ge=100, le=230, description="Standing height (ours: 100-230 cm).")
    lumbar_spine_t_score: float = Field(
        -1.0, ge=-7, le=7, description="Baseline lumbar spine (L1-L4) T-score (ours: -7 to 7)."
    )
    total_hip_t_score: float = Field(-0.8, ge=-7, le=7, description="Baseline total hip T-score (ours: -7 to 7).")
    serum_25ohd_ng_ml: float | None = Field(
        None, ge=1, le=200, description="Measured serum 25(OH)D on the habitual diet, ng/mL (optional)."
    )
    risk_factors: FractureRiskFactors | None = Field(
        None, description="QFracture-2009 risk factors and recorded falls for the fracture risk (optional; "
                          "absent: population defaults).")

    @model_validator(mode="after")
    def _menopause_after_adulthood(self) -> Patient:
        if self.age_years - self.years_since_menopause < 12:
            raise ValueError(
                f"years_since_menopause = {self.years_since_menopause}: menopause would be before age 12; "
                f"allowed: at most age_years - 12 = {self.age_years - 12:g}"
            )
        return self

    @property
    def bmi_kg_m2(self) -> float:
        return self.weight_kg / (self.height_cm / 100.0) ** 2


class EndocrineTherapy(_Model):
    """One course of endocrine therapy between two months of the scenario."""

    drug: EndocrineDrug
    start_month: float = Field(0, ge=0, le=600)
    stop_month: float | None = Field(None, ge=0, le=600, description="None: until the end of the scenario.")
    adherence: float = Field(1.0, ge=0, le=1, description="Fraction of prescribed doses taken (0-1).")

    @model_validator(mode="after")
    def _stop_after_start(self) -> EndocrineTherapy:
        if self.stop_month is not None and self.stop_month < self.start_month:
            raise ValueError(
                f"stop_month = {self.stop_month}: must not be before start_month = {self.start_month}"
            )
        return self


class Dose(_Model):
    """One explicit dose of a bone agent."""

    month: float = Field(ge=0, le=600)
    dose_mg: float = Field(gt=0, le=1000)


class StartRule(_Model):
    """Start a bone agent when a simulated T-score first falls below a threshold."""

    site: BoneSite
    t_score_below: float = Field(ge=-7, le=3)


MIN_DOSING_INTERVAL_DAYS = 1.0
"""Shortest dosing interval accepted: one day (ours). No bone agent is given more than once a day (the
most frequent labelled schedules are daily tablets: alendronate 10 mg, risedronate 5 mg); a shorter
interval is a typing error, and every dose is an event the engine integrates, so an interval of 1e-9
days would make it run for hours."""
MIN_DOSING_INTERVAL_MONTHS = 0.0329
"""One day in months (1 / 30.44, rounded up): the same bound for ``every_months``."""
MAX_EXPLICIT_DOSES = 20_000
"""Most explicit doses accepted (ours: more than one a day over the 50-year horizon of ``months``)."""


class BoneAgent(_Model):
    """A bone agent given on a schedule (every_months or every_days) or as explicit doses."""

    drug: BoneAgentDrug
    dose_mg: float | None = Field(None, gt=0, le=1000, description="Dose per administration; default: label dose.")
    every_months: float | None = Field(
        None, json_schema_extra={"minimum": MIN_DOSING_INTERVAL_MONTHS, "maximum": 120},
        description="Dosing interval in months (ours: one day, 0.0329, to 120; no agent is given more than daily).",
    )
    every_days: float | None = Field(
        None, json_schema_extra={"minimum": MIN_DOSING_INTERVAL_DAYS, "maximum": 3650},
        description="Dosing interval in days (ours: 1 to 3650; no agent is given more than daily).",
    )
    start_month: float | None = Field(None, ge=0, le=600)
    stop_month: float | None = Field(None, ge=0, le=600)
    start_when: StartRule | None = None
    doses: list[Dose] | None = Field(None, max_length=MAX_EXPLICIT_DOSES)

    @model_validator(mode="after")
    def _one_schedule(self) -> BoneAgent:
        for name, low, high, unit in (("every_months", MIN_DOSING_INTERVAL_MONTHS, 120, "months"),
                                      ("every_days", MIN_DOSING_INTERVAL_DAYS, 3650, "days")):
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name} = {value:g}: allowed {low:g} to {high:g} {unit} "
                                 "(one day to ten years; no bone agent is given more than once a day)")
        if self.doses is not None:
            if self.every_months is not None or self.every_days is not None:
                raise ValueError("doses: give either explicit doses or every_months/every_days, not both")
            return self
        if self.every_months is None and self.every_days is None:
            raise ValueError("every_months: a schedule needs every_months, every_days or explicit doses")
        if self.every_months is not None and self.every_days is not None:
            raise ValueError("every_days: give every_months or every_days, not both")
        if self.start_month is not None and self.start_when is not None:
            raise ValueError("start_when: give start_month or start_when, not both")
        start = self.start_month or 0.0
        if self.stop_month is not None and self.stop_month < start:
            raise ValueError(f"stop_month = {self.stop_month}: must not be before start_month = {start}")
        return self


class Diet(_Model):
    """Habitual daily intake from food (supplements are separate)."""

    calcium_mg_per_day: float = Field(800, ge=0, le=5000)
    vitamin_d_iu_per_day: float = Field(200, ge=0, le=50000)
    protein_g_per_kg_per_day: float = Field(1.0, ge=0, le=5)
    fiber_g_per_day: float = Field(18, ge=0, le=150)
    magnesium_mg_per_day: float | None = Field(None, ge=0, le=3000)
    vitamin_k_ug_per_day: float | None = Field(None, ge=0, le=5000)
    polyphenols_mg_per_day: float | None = Field(
        None, ge=0, le=10000, description="Dietary polyphenols (weak evidence; gut-barrier effect only)."
    )


class Supplements(_Model):
    """Daily supplement doses."""

    calcium_mg_per_day: float = Field(0, ge=0, le=5000)
    vitamin_d_iu_per_day: float = Field(0, ge=0, le=50000)
    magnesium_mg_per_day: float = Field(0, ge=0, le=3000)
    vitamin_k2_ug_per_day: float = Field(0, ge=0, le=5000)


class Exercise(_Model):
    """Weekly exercise dose by type, done from ``start_month`` until ``stop_month``. All zero means habitual daily
    activity only. After ``stop_month`` loading returns to habitual (detraining: physiology/mechanostat.py)."""

    walking_minutes_per_week: float = Field(0, ge=0, le=3000)
    impact_sessions_per_week: float = Field(0, ge=0, le=21)
    resistance_sessions_per_week: float = Field(0, ge=0, le=14)
    resistance_intensity: Intensity = "moderate"
    balance_sessions_per_week: float = Field(0, ge=0, le=21)
    start_month: float = Field(0, ge=0, le=600, description="Month the programme starts (default 0).")
    stop_month: float | None = Field(
        None, ge=0, le=600, description="Month the programme stops (detraining after it); None: until the end of the scenario.")

    @model_validator(mode="after")
    def _stop_after_start(self) -> Exercise:
        if self.stop_month is not None and self.stop_month <= self.start_month:
            raise ValueError(f"stop_month = {self.stop_month:g}: must be after start_month = {self.start_month:g}")
        return self


class Gut(_Model):
    """Gut-bone axis inputs."""

    probiotic: bool = False
    fiber_g_per_day: float | None = Field(None, ge=0, le=150)


class Regimen(_Model):
    """What happens when: endocrine therapy, bone agents, diet, supplements, exercise, gut."""

    endocrine_therapy: list[EndocrineTherapy] = Field(default_factory=list)
    bone_agents: list[BoneAgent] = Field(default_factory=list)
    diet: Diet | None = None
    supplements: Supplements | None = None
    exercise: Exercise | None = None
    gut: Gut | None = None


class Scenario(Regimen):
    """Patient + Regimen + horizon: the one input of the physiology engine."""

    patient: Patient = Field(default_factory=Patient)
    months: float = Field(60, ge=1, le=600, description="Horizon in months (ours: 1 month to 50 years).")
    parameters: dict[str, float] = Field(
        default_factory=dict,
        description="Engine parameters for this patient only, {registry name: value} (`osteotwin parameters` lists them); "
                    "each value must lie in the parameter's prior range. Personal twins and virtual populations set these.",
    )

    @field_validator("parameters", mode="before")
    @classmethod
    def _known_parameters_within_priors(cls, value: object) -> object:
        """Refuse an unknown name or a value outside its prior range, naming both (parameters.check_overrides)."""
        if not isinstance(value, dict):
            return value
        from osteotwin.errors import InputError
        from osteotwin.physiology.parameters import check_overrides, registry

        try:
            return check_overrides(registry(), value)
        except InputError as error:
            raise ValueError(f"{error.field.removeprefix('parameters.')} = {error.value!r}: {error.allowed}") from None

    @model_validator(mode="after")
    def _exercise_within_horizon(self) -> Scenario:
        """The exercise programme starts before the horizon and stops at the latest at it."""
        exercise = self.exercise
        if exercise is not None and exercise.start_month >= self.months:
            raise ValueError(f"exercise.start_month = {exercise.start_month:g}: must be before the horizon "
                             f"months = {self.months:g}")
        if exercise is not None and exercise.stop_month is not None and exercise.stop_month > self.months:
            raise ValueError(f"exercise.stop_month = {exercise.stop_month:g}: must be at most the horizon "
                             f"months = {self.months:g}")
        return self

    @property
    def regimen(self) -> Regimen:
        return Regimen(**{name: getattr(self, name) for name in Regimen.model_fields})


class Trajectory(BaseModel):
    """Monthly time series out of the engine. Optional fields appear when a module provides them."""

    model_config = ConfigDict(extra="allow")

    months: list[float]
    lumbar_spine_bmd_pct_change: list[float]
    total_hip_bmd_pct_change: list[float]
    lumbar_spine_bmd_g_cm2: list[float]
    total_hip_bmd_g_cm2: list[float]
    lumbar_spine_t_score: list[float]
    total_hip_t_score: list[float]
    ctx_pct_change: list[float]
    p1np_pct_change: list[float]
    estradiol_pg_ml: list[float]
    rankl_opg_ratio_relative: list[float] | None = None
    warnings: list[str] = Field(default_factory=list)


def format_validation_error(error: ValidationError) -> str:
    """One line naming the field, the value and what is allowed, from a pydantic error."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "input"
    message = first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    if first["type"] in {"value_error", "assertion_error"}:
        return f"{location}: {message}" if location != "input" else message
    if isinstance(value, dict | list):
        value_text = "(object)" if isinstance(value, dict) else "(list)"
    else:
        value_text = repr(value)
    return f"{location} = {value_text}: {message}"


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Unusual but possible input: accepted, and reported to the user."""
    warnings: list[str] = []
    bmi = scenario.patient.bmi_kg_m2
    if bmi < 16 or bmi > 45:
        warnings.append(f"patient: BMI {bmi:.1f} kg/m2 is outside 16-45; the engine was not calibrated there")
    total_calcium = (scenario.diet.calcium_mg_per_day if scenario.diet else 0) + (
        scenario.supplements.calcium_mg_per_day if scenario.supplements else 0
    )
    if total_calcium > 2000:
        warnings.append(
            f"calcium_mg_per_day: total {total_calcium:g} mg exceeds the upper limit of 2,000 mg from age 51 (IOM 2011)"
        )
    total_d = (scenario.diet.vitamin_d_iu_per_day if scenario.diet else 0) + (
        scenario.supplements.vitamin_d_iu_per_day if scenario.supplements else 0
    )
    if total_d > 4000:
        warnings.append(f"vitamin_d_iu_per_day: total {total_d:g} IU exceeds the upper limit of 4,000 IU (IOM 2011)")
    exercise = scenario.exercise
    if exercise is not None and (exercise.start_month > 0 or exercise.stop_month is not None):
        warnings.append(f"exercise: months {exercise.start_month:g}-{exercise.stop_month if exercise.stop_month is not None else scenario.months:g} "
                        "act on bone (given back after the stop); muscle strength and falls take the programme as "
                        "running from month 0 to the end (the muscle model has no start or stop)")
    if scenario.patient.years_since_menopause < 1:
        warnings.append("years_since_menopause < 1: perimenopausal transition; estradiol may not yet be at postmenopausal levels")
    return warnings


def scenario_json_schema() -> dict:
    """The JSON Schema of the Scenario input (printed by `osteotwin schema`)."""
    return Scenario.model_json_schema()
