"""Input models of the records (shared by the HTML forms and the JSON API).

Ranges marked "ours" are our own plausibility bounds, not published limits; they refuse
impossible values (a T-score of -20) and accept unusual but possible ones. The bounds of the
clinical values come from the one limits table (``osteotwin.records.limits``, with sources); the
checks against the rest of the record (duplicates, T-score against BMD, doses against the label)
are in ``osteotwin.records.plausibility``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from osteotwin import catalog
from osteotwin.lifestyle.names import validate_dislikes, validate_medication
from osteotwin.records.limits import LIMITS

DxaSite = Literal[catalog.DXA_SITES]  # type: ignore[valid-type]
DxaDevice = Literal["hologic", "ge_lunar", "norland", "other", "unknown"]
MenopausalStatus = Literal["premenopausal", "perimenopausal", "postmenopausal"]
DietPattern = Literal["omnivore", "vegetarian", "vegan", "lactose_free", "mediterranean"]

ENDOCRINE_DRUGS = catalog.ENDOCRINE_DRUGS
BONE_AGENTS = (*catalog.BONE_AGENTS, *catalog.RECORDED_ONLY_BONE_AGENTS)

# Lab tests the records accept, each in the first unit the clinic's PatientRecord accepts
# (osteotwin.clinic.record.LAB_UNITS), so a stored record converts to the `assess` input unchanged.
LAB_UNITS: dict[str, str] = {
    "vitamin_d_25_oh": "ng/mL",
    "creatinine_clearance": "mL/min",
    "calcium": "mmol/L",
    "albumin": "g/L",
    "ctx": "ng/L",
    "p1np": "ug/L",
}
# Refusal bounds per test (the limits table: physiologically impossible values).
LAB_RANGES: dict[str, tuple[float, float]] = {
    test: (LIMITS[f"labs.{test}"].refuse_below, LIMITS[f"labs.{test}"].refuse_above) for test in LAB_UNITS
}


def _bounds(key: str) -> dict[str, float | str]:
    """``Field`` keyword arguments of the refusal bounds of ``LIMITS[key]``, with the source."""
    limit = LIMITS[key]
    return {"ge": limit.refuse_below, "le": limit.refuse_above,
            "description": f"{limit.refuse_below:g} to {limit.refuse_above:g} {limit.unit} ({limit.source})"}

EARLIEST_DATE = dt.date(1900, 1, 1)


NUMBER_TYPES = (int, float, int | None, float | None)


class _In(BaseModel):
    """Base of the input models: unknown fields are refused, and so are ``true``/``false`` where a
    number is expected (pydantic's lax mode would read ``false`` as 0, e.g. a T-score of 0)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, bool) and cls.model_fields[info.field_name].annotation in NUMBER_TYPES:
            raise ValueError(f"{info.field_name} = {str(value).lower()}: a number is needed, not true/false")
        return value


def _not_future(value: dt.date, field: str) -> dt.date:
    if value > dt.date.today() + dt.timedelta(days=1):
        raise ValueError(f"{field} = {value.isoformat()}: must not be in the future")
    if value < EARLIEST_DATE:
        raise ValueError(f"{field} = {value.isoformat()}: must be after 1900-01-01")
    return value


class PatientIn(_In):
    """A new or edited patient (demographics, risk factors and planner profile)."""

    name: str = Field(min_length=1, max_length=200)
    birth_date: dt.date
    menopausal_status: MenopausalStatus = "postmenopausal"
    menopause_year: int | None = Field(None, ge=1900, le=2100)
    weight_kg: float = Field(ge=25, le=300, description="ours: 25-300 kg")
    height_cm: float = Field(ge=100, le=230, description="ours: 100-230 cm")
    current_smoker: bool = False
    former_smoker: bool = False
    family_history_hip_fracture: bool = False
    prior_fragility_fracture: bool = False
    oral_glucocorticoid_months: float = Field(0, ge=0, le=600)
    falls_last_12_months: int = Field(0, ge=0, le=100)
    alcohol_units_per_day: float = Field(0, ge=0, le=50)
    rheumatoid_arthritis: bool = False
    diet_pattern: DietPattern = "omnivore"
    energy_kcal_per_day: float | None = Field(None, ge=800, le=5000)
    dislikes: list[str] = Field(default_factory=list, max_length=50)
    vertebral_fracture: bool = False
    bone_metastases: bool = False
    lymphedema: bool = False

    _dislikes = field_validator("dislikes")(classmethod(lambda cls, v: validate_dislikes(v)))  # USDA words

    @field_validator("birth_date")
    @classmethod
    def _birth(cls, value: dt.date) -> dt.date:
        _not_future(value, "birth_date")
        age = (dt.date.today() - value).days / 365.25
        if age < 18 or age > 110:
            raise ValueError(f"birth_date = {value.isoformat()}: age must be 18-110 years (ours)")
        return value

    @model_validator(mode="after")
    def _menopause(self) -> PatientIn:
        if self.menopause_year is not None and self.menopause_year < self.birth_date.year + 12:
            raise ValueError(f"menopause_year = {self.menopause_year}: must be at least 12 years after birth")
        if self.menopause_year is not None and self.menopause_year > dt.date.today().year:
            raise ValueError(f"menopause_year = {self.menopause_year}: must not be in the future")
        return self


class DxaIn(_In):
    """One DXA result at one site."""

    date: dt.date
    site: DxaSite
    bmd_g_cm2: float = Field(**_bounds("dxa.bmd_g_cm2"))
    t_score: float = Field(**_bounds("dxa.t_score"))
    z_score: float | None = Field(None, **_bounds("dxa.z_score"))
    device: DxaDevice = "hologic"

    _date = field_validator("date")(classmethod(lambda cls, v: _not_future(v, "date")))


class LabIn(_In):
    """One laboratory value; the unit must be the one listed for the test."""

    date: dt.date
    test: Literal[tuple(LAB_UNITS)]  # type: ignore[valid-type]
    value: float
    unit: str | None = None

    _date = field_validator("date")(classmethod(lambda cls, v: _not_future(v, "date")))

    @model_validator(mode="after")
    def _unit_and_range(self) -> LabIn:
        expected = LAB_UNITS[self.test]
        if self.unit not in (None, expected):
            raise ValueError(f"unit = {self.unit!r}: {self.test} is recorded in {expected}")
        self.unit = expected
        low, high = LAB_RANGES[self.test]
        if not low <= self.value <= high:
            raise ValueError(f"value = {self.value}: {self.test} must be {low}-{high} {expected} (ours)")
        return self


class MedicationIn(_In):
    """A course of an endocrine therapy or a bone agent (or another drug, by name)."""

    drug: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    start_date: dt.date
    stop_date: dt.date | None = None
    dose_mg: float | None = Field(None, gt=0, le=1000)
    every_months: float | None = Field(None, gt=0, le=120)
    every_days: float | None = Field(None, gt=0, le=3650)

    _drug = field_validator("drug", mode="before")(classmethod(lambda cls, v: validate_medication(v)))  # catalog names
    _start = field_validator("start_date")(classmethod(lambda cls, v: _not_future(v, "start_date")))

    @model_validator(mode="after")
    def _dates(self) -> MedicationIn:
        if self.stop_date is not None and self.stop_date < self.start_date:
            raise ValueError(f"stop_date = {self.stop_date.isoformat()}: must not be before start_date")
        if self.every_months is not None and self.every_days is not None:
            raise ValueError("every_days: give every_months or every_days, not both")
        return self


class FoodLogIn(_In):
    """Grams of one USDA food (NDB number) eaten on a date."""

    date: dt.date
    food_id: str = Field(pattern=r"^[0-9]{4,6}$")
    grams: float = Field(gt=0, le=LIMITS["food.grams"].refuse_above, description=LIMITS["food.grams"].source)

    _date = field_validator("date")(classmethod(lambda cls, v: _not_future(v, "date")))


class ExerciseLogIn(_In):
    """One exercise session: an exercise of the planner's library (``osteotwin.lifestyle.exercise``),
    minutes for aerobic work, sets x reps at load_kg for resistance work."""

    date: dt.date
    exercise: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$", description="exercise id of the planner's library")
    minutes: float = Field(0, **_bounds("exercise.minutes"))
    sets: int | None = Field(None, ge=1, le=20)
    reps: int | None = Field(None, ge=1, le=200)
    load_kg: float | None = Field(None, **_bounds("exercise.load_kg"))

    _date = field_validator("date")(classmethod(lambda cls, v: _not_future(v, "date")))
