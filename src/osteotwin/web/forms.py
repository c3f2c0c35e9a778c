"""Turn submitted HTML forms into the records' input models (checkboxes, blanks, lists), describe the
record-entry forms once (fields, labels, units, allowed values) for the new-entry and edit forms, and
turn a refusal into messages per field, so a refused form is shown again as typed with the error
next to the field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from osteotwin import catalog
from osteotwin.errors import InputError
from osteotwin.records.schemas import (
    LAB_UNITS,
    DxaDevice,
    DxaIn,
    ExerciseLogIn,
    FoodLogIn,
    LabIn,
    MedicationIn,
)
from osteotwin.web.rendering import _label

Model = TypeVar("Model", bound=BaseModel)


def parse_form(model: type[Model], form: dict[str, str]) -> Model:
    """Validate a form against ``model``: blank fields are omitted, checkboxes become booleans,
    comma-separated text becomes a list for list fields. Raises pydantic ValidationError."""
    data: dict[str, object] = {}
    for name, field in model.model_fields.items():
        annotation = str(field.annotation)
        raw = form.get(name)
        if annotation == "<class 'bool'>":
            data[name] = raw in ("on", "true", "1", "yes")
            continue
        if raw is None or raw.strip() == "":
            continue
        if annotation.startswith("list["):
            data[name] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            data[name] = raw.strip()
    return model.model_validate(data)


@dataclass(frozen=True)
class FormField:
    """One input of a record-entry form: ``kind`` is date, number or select."""

    name: str
    label: str
    kind: str
    required: bool = True
    step: str = "any"
    options: tuple[tuple[str, str], ...] = ()


def _options(values: tuple[str, ...], labels: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    return tuple((value, (labels or {}).get(value) or value.replace("_", " ").capitalize()) for value in values)


DRUG_CHOICES = (*catalog.ENDOCRINE_DRUGS, *catalog.BONE_AGENTS, *catalog.RECORDED_ONLY_BONE_AGENTS,
                *catalog.OVARIAN_SUPPRESSION_DRUGS)
DEVICE_LABELS = {"hologic": "Hologic", "ge_lunar": "GE Lunar", "norland": "Norland"}


@dataclass(frozen=True)
class EntryForm:
    """A record-entry form: the input model, its title and its fields."""

    model: type[BaseModel]
    title: str
    fields: tuple[FormField, ...]
    clinician_only: bool = True


def _exercise_options() -> tuple[tuple[str, str], ...]:
    from osteotwin.lifestyle.exercise import EXERCISE_LIBRARY

    return tuple((e.id, e.name) for e in EXERCISE_LIBRARY)


ENTRY_FORMS: dict[str, EntryForm] = {
    "dxa": EntryForm(DxaIn, "DXA result", (
        FormField("date", "Date", "date"),
        FormField("site", "Site", "select", options=_options(catalog.DXA_SITES)),
        FormField("bmd_g_cm2", "BMD (g/cm²)", "number", step="0.001"),
        FormField("t_score", "T-score", "number", step="0.1"),
        FormField("z_score", "Z-score (if reported)", "number", required=False, step="0.1"),
        FormField("device", "Device", "select", options=_options(get_args(DxaDevice), DEVICE_LABELS)),
    )),
    "labs": EntryForm(LabIn, "lab result", (
        FormField("date", "Date", "date"),
        FormField("test", "Test", "select", options=tuple(
            (test, f"{_label(test)} ({unit})") for test, unit in LAB_UNITS.items())),
        FormField("value", "Value", "number"),
    )),
    "medications": EntryForm(MedicationIn, "medication", (
        FormField("drug", "Drug", "select", options=_options(DRUG_CHOICES)),
        FormField("start_date", "Start", "date"),
        FormField("stop_date", "Stop", "date", required=False),
        FormField("dose_mg", "Dose (mg)", "number", required=False),
        FormField("every_months", "Every (months)", "number", required=False),
        FormField("every_days", "Every (days, oral)", "number", required=False),
    )),
    "food-log": EntryForm(FoodLogIn, "food log entry", (
        FormField("date", "Date", "date"),
        FormField("food_id", "USDA food number", "text"),
        FormField("grams", "Grams", "number"),
    ), clinician_only=False),
    "exercise-log": EntryForm(ExerciseLogIn, "exercise session", (
        FormField("date", "Date", "date"),
        FormField("exercise", "Exercise", "select", options=()),  # filled from the library when shown
        FormField("minutes", "Minutes", "number", required=False),
        FormField("sets", "Sets", "number", required=False, step="1"),
        FormField("reps", "Reps", "number", required=False, step="1"),
        FormField("load_kg", "Load (kg)", "number", required=False),
    ), clinician_only=False),
}


def form_fields(kind: str) -> tuple[FormField, ...]:
    """The fields of a kind's form (the exercise choices read from the planner's library)."""
    fields = ENTRY_FORMS[kind].fields
    if kind == "exercise-log":
        fields = tuple(FormField(f.name, f.label, f.kind, f.required, f.step, _exercise_options())
                       if f.name == "exercise" else f for f in fields)
    return fields


def form_values(row: Any, kind: str) -> dict[str, str]:
    """A stored entry as the strings its edit form shows."""
    values = {}
    for field in ENTRY_FORMS[kind].fields:
        value = getattr(row, field.name, None)
        values[field.name] = "" if value is None else (value.isoformat() if hasattr(value, "isoformat") else f"{value:g}"
                                                        if isinstance(value, float) else str(value))
    return values


_LEADING_FIELD = re.compile(r"^(?:Value error, )?([a-z_0-9]+) = ")


def field_errors(error: InputError | ValidationError, model: type[BaseModel]) -> dict[str, str]:
    """Messages per form field (``"form"`` for one that names no field) of a refused entry."""
    if isinstance(error, InputError):
        name = error.field.split(".")[-1]
        return {name if name in model.model_fields else "form": str(error)}
    errors: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        message = str(item.get("msg", "invalid"))
        loc = [part for part in item.get("loc", ()) if isinstance(part, str)]
        name = loc[0] if loc else None
        if name is None:
            match = _LEADING_FIELD.match(message)
            name = match.group(1) if match else None
        name = name if name in model.model_fields else "form"
        message = message.removeprefix("Value error, ")
        errors.setdefault(name, message)
    return errors
