"""Turn submitted HTML forms into the records' input models (checkboxes, blanks, lists)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

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
