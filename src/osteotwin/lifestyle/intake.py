"""Food log -> nutrient totals per day and on average, with absorbable calcium and coverage.

A log entry is ``{date, food_id, grams}`` (examples/logs/food_log_3days.csv); instead of ``food_id`` it may give
``food_name`` (the best search match is used and named in the notes); instead of ``grams`` a
USDA household ``portion`` (e.g. "cup") and a ``quantity`` (default 1): grams = quantity /
amount x gram weight (data/USDA_README.md). Nutrient = grams / 100 x value per 100 g.

Empty USDA cells mean "not reported": such a food adds nothing to that nutrient's total, and the
report says which share of the logged grams had the nutrient reported (``coverage``), so that a
low total caused by missing data is not mistaken for a low intake.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from osteotwin.errors import FileInputError, InputError, parse_json_text, read_input_text, wrong_document
from osteotwin.lifestyle.absorption import calcium_absorption
from osteotwin.lifestyle.foods import NUTRIENT_KEYS, VITAMIN_D_IU_PER_UG, Food, get_food, search_foods

MAX_GRAMS_PER_ENTRY = 5000.0
"""Largest single log entry accepted (ours: 5 kg; anything above is a typing error)."""


class LogEntry(BaseModel):
    """One logged food: which (USDA NDB number), how much (grams or a household portion), when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    food_id: str | None = Field(None, description="USDA NDB number, e.g. '01117'.")
    food_name: str | None = Field(None, description="Instead of food_id: words; the best search match is used.")
    grams: float | None = Field(None, description="Grams eaten (edible portion).")
    portion: str | None = Field(None, description="A USDA household measure of this food, e.g. 'cup'.")
    quantity: float | None = Field(None, description="How many of the portion (default 1).")


class DayTotals(BaseModel):
    """Nutrient totals of one day, under the shared nutrient keys, plus absorbable calcium."""

    date: dt.date
    nutrients: dict[str, float]
    absorbable_calcium_mg: float
    vitamin_d_ug: float
    grams: float


class ResolvedEntry(BaseModel):
    """A log entry after lookup: the food's name and the grams used."""

    date: dt.date
    food_id: str
    name: str
    grams: float
    calcium_absorption_fraction: float
    calcium_absorption_basis: str


class IntakeReport(BaseModel):
    """Per-day totals and their average; coverage = share of logged grams with the nutrient reported."""

    days: int
    per_day: list[DayTotals]
    average: dict[str, float]
    average_absorbable_calcium_mg: float
    average_vitamin_d_ug: float
    coverage: dict[str, float]
    entries: list[ResolvedEntry]
    units: dict[str, str]
    notes: list[str]
    source: str


def _grams_for(entry: LogEntry, food: Food, row_name: str) -> float:
    if entry.grams is not None:
        if entry.portion is not None:
            raise InputError(f"{row_name}.portion", entry.portion, "give either grams or a portion, not both")
        grams = entry.grams
    elif entry.portion is not None:
        wanted = entry.portion.strip().lower()
        matches = [p for p in food.portions if p.measure.lower() == wanted] or [
            p for p in food.portions if p.measure.lower().startswith(wanted)
        ]
        if not matches:
            allowed = ", ".join(sorted({p.measure for p in food.portions})) or "none (give grams)"
            raise InputError(f"{row_name}.portion", entry.portion, f"a USDA measure of {food.food_id}: {allowed}")
        quantity = 1.0 if entry.quantity is None else entry.quantity
        if quantity <= 0 or quantity > 100:
            raise InputError(f"{row_name}.quantity", quantity, "a number of portions > 0 and <= 100")
        grams = matches[0].grams_for(quantity)
    else:
        raise InputError(f"{row_name}.grams", None, "grams eaten, or a household portion (e.g. portion=cup)")
    if not (0 <= grams <= MAX_GRAMS_PER_ENTRY):
        raise InputError(f"{row_name}.grams", grams, f"grams from 0 to {MAX_GRAMS_PER_ENTRY:g} per entry")
    return grams


def nutrient_totals(entries: list[dict] | list[LogEntry]) -> IntakeReport:
    """Totals per day and their average for a food log (a list of ``{date, food_id, grams}``).

    Raises InputError for an empty log, negative or absurd grams, or an unknown food id.
    """
    if not entries:
        raise InputError("food_log", "[]", "at least one entry {date, food_id, grams}")
    totals: dict[dt.date, dict[str, float]] = {}
    absorbable: dict[dt.date, float] = {}
    day_grams: dict[dt.date, float] = {}
    reported_grams = dict.fromkeys(NUTRIENT_KEYS, 0.0)
    all_grams = 0.0
    resolved: list[ResolvedEntry] = []
    resolved_by_name: list[str] = []
    for number, raw in enumerate(entries, start=1):
        row_name = f"food_log[{number}]"
        entry = raw if isinstance(raw, LogEntry) else _entry_from_dict(raw, row_name)
        if entry.food_id is None:
            if not entry.food_name:
                raise InputError(f"{row_name}.food_id", None, "required: a USDA food_id (or a food_name to search)")
            matches = search_foods(entry.food_name, limit=1)
            if not matches:
                raise InputError(f"{row_name}.food_name", entry.food_name, "words that match a USDA food")
            food = matches[0]
            resolved_by_name.append(f"{row_name}: '{entry.food_name}' taken as {food.food_id} {food.name}")
        else:
            try:
                food = get_food(entry.food_id)
            except InputError as error:
                raise InputError(f"{row_name}.food_id", entry.food_id, error.allowed) from None
        grams = _grams_for(entry, food, row_name)
        day = totals.setdefault(entry.date, dict.fromkeys(NUTRIENT_KEYS, 0.0))
        day_grams[entry.date] = day_grams.get(entry.date, 0.0) + grams
        all_grams += grams
        for key in NUTRIENT_KEYS:
            value = food.per_100g[key]
            if value is not None:
                day[key] += grams / 100.0 * value
                reported_grams[key] += grams
        fraction, basis = calcium_absorption(food.name)
        absorbable[entry.date] = absorbable.get(entry.date, 0.0) + grams / 100.0 * (
            food.per_100g["calcium_mg"] or 0.0
        ) * fraction
        resolved.append(
            ResolvedEntry(
                date=entry.date, food_id=food.food_id, name=food.name, grams=grams,
                calcium_absorption_fraction=fraction, calcium_absorption_basis=basis,
            )
        )
    dates = sorted(totals)
    per_day = [
        DayTotals(
            date=date,
            nutrients=totals[date],
            absorbable_calcium_mg=absorbable[date],
            vitamin_d_ug=totals[date]["vitamin_d_iu"] / VITAMIN_D_IU_PER_UG,
            grams=day_grams[date],
        )
        for date in dates
    ]
    average = {key: sum(totals[d][key] for d in dates) / len(dates) for key in NUTRIENT_KEYS}
    coverage = {key: (reported_grams[key] / all_grams if all_grams > 0 else 1.0) for key in NUTRIENT_KEYS}
    notes = [
        f"{key}: reported in USDA for {coverage[key]:.0%} of logged grams; the total may be an underestimate"
        for key in NUTRIENT_KEYS
        if coverage[key] < 0.95
    ]
    notes += resolved_by_name
    if len(dates) < 3:
        notes.append(f"{len(dates)} day(s) logged: habitual intake is better estimated from 3 or more days (ours)")
    from osteotwin.lifestyle.foods import DATA_RELEASE, NUTRIENT_UNITS

    return IntakeReport(
        days=len(dates),
        per_day=per_day,
        average=average,
        average_absorbable_calcium_mg=sum(absorbable.values()) / len(dates),
        average_vitamin_d_ug=average["vitamin_d_iu"] / VITAMIN_D_IU_PER_UG,
        coverage=coverage,
        entries=resolved,
        units=NUTRIENT_UNITS,
        notes=notes,
        source=DATA_RELEASE,
    )


def _entry_from_dict(raw: dict, row_name: str) -> LogEntry:
    if not isinstance(raw, dict):
        raise InputError(row_name, raw, "an object with date, food_id and grams")
    cleaned = {key: value for key, value in raw.items() if value not in ("", None)}
    for key in ("grams", "quantity"):
        if key in cleaned and isinstance(cleaned[key], str):
            try:
                cleaned[key] = float(cleaned[key])
            except ValueError:
                raise InputError(f"{row_name}.{key}", cleaned[key], "a number") from None
        if key in cleaned and (isinstance(cleaned[key], bool) or not isinstance(cleaned[key], int | float)):
            raise InputError(f"{row_name}.{key}", cleaned[key], "a number")
    if "food_id" in cleaned:
        cleaned["food_id"] = str(cleaned["food_id"])
    date_text = cleaned.get("date")
    if isinstance(date_text, str):
        try:
            cleaned["date"] = dt.date.fromisoformat(date_text.strip())
        except ValueError:
            raise InputError(f"{row_name}.date", date_text, "a date as YYYY-MM-DD") from None
    if "date" not in cleaned:
        raise InputError(f"{row_name}.date", None, "required: every entry has date, food_id and grams")
    if "food_id" not in cleaned and "food_name" not in cleaned:
        raise InputError(f"{row_name}.food_id", None, "required: a USDA food_id (or a food_name to search)")
    unknown = set(cleaned) - set(LogEntry.model_fields)
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"{row_name}.{name}", cleaned[name], "known columns: date, food_id, food_name, grams, portion, quantity")
    if "grams" in cleaned and cleaned["grams"] < 0:
        raise InputError(f"{row_name}.grams", cleaned["grams"], f"grams from 0 to {MAX_GRAMS_PER_ENTRY:g} per entry")
    return LogEntry.model_validate(cleaned)


def read_log_rows(
    path: str | Path, list_key: str, describe: str, example: str = "examples/logs/food_log_3days.csv"
) -> tuple[list[dict], list[str] | None]:
    """Rows of a log file: a JSON list (or ``{list_key: [...]}``), or CSV rows with their header.

    Returns the rows and, for CSV, the header (None for JSON) so each log checks its own columns.
    A file that is not UTF-8 text, malformed JSON, another kind of document, or a CSV row with more
    cells than the header is refused in one line naming the file (``FileInputError``).
    """
    what = list_key.replace("_", " ")
    text = read_input_text(path, what, "UTF-8 CSV or JSON text")
    if Path(path).suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        data = parse_json_text(text, what, path)
        if isinstance(data, dict) and list_key in data:
            data = data[list_key]
        if not isinstance(data, list):
            raise wrong_document(data, what, path, f"a JSON list of {describe} or a CSV file", example)
        return data, None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        fields = list(reader.fieldnames or [])
        for row in reader:
            if None in row:
                raise FileInputError(what, path, f"line {reader.line_num} has {len(fields) + len(row[None])} cells but "
                                     f"the header has {len(fields)} ({','.join(fields)[:120]})")
            rows.append(dict(row))
    except csv.Error as error:
        raise FileInputError(what, path, f"is not a readable CSV file (line {reader.line_num}: {error})") from None
    return rows, fields


def read_food_log(path: str | Path) -> list[dict]:
    """Read a food log file: CSV with a header (date,food_id,grams[,portion,quantity]) or a JSON list."""
    rows, fields = read_log_rows(path, "food_log", "{date, food_id, grams}")
    if fields is not None and ("date" not in fields or not ({"food_id", "food_name"} & set(fields))):
        raise InputError("header", fields, "a CSV header with date,food_id,grams (food_name instead of food_id allowed)")
    return rows
