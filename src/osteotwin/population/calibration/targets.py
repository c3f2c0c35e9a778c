"""Calibration targets (published outcomes with citations, shipped as
``osteotwin/data/calibration_targets.csv``) and the result record every suite returns.

Each suite module (``core.py``, ``drugs.py``, ``lifestyle.py``) exposes ``evaluate() ->
list[TargetResult]``: one record per target row it uses, with the model's value, the error, the
tolerance it is held to and the scenario that produced it. ``report.py`` turns them into
docs/calibration.md.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from osteotwin.errors import InputError


@dataclass(frozen=True)
class TargetRow:
    """One row of the targets CSV (values as text where the CSV has none)."""

    id: str
    trial: str
    arm: str
    intervention: str
    timepoint_months: float | None
    site: str
    value: float | None
    dispersion: str
    n: str
    citation: str
    certainty: str


@dataclass(frozen=True)
class TargetResult:
    """The model against one target row."""

    row_id: str
    trial: str
    arm: str
    timepoint_months: float | None
    site: str
    target: float
    model: float
    error: float  # model - target, in the target's unit
    tolerance: float
    within_tolerance: bool
    scenario: str
    unit: str = "%"
    note: str = ""
    cohort: str = ""  # a percent change of one simulated cohort (core.py): its key, ...
    months: tuple[float, float] | None = None  # ... and (baseline month, month); the PEtab export reads them

    @staticmethod
    def of(row: TargetRow, model: float, tolerance: float, scenario: str, *, unit: str = "%", note: str = "",
           interval: tuple[float, float] | None = None, cohort: str = "",
           months: tuple[float, float] | None = None) -> TargetResult:
        """A result; within tolerance when |error| <= tolerance or the model lies inside ``interval``."""
        if row.value is None:
            raise InputError(f"target {row.id} pct_change_mean", "", "a number: a calibration suite compares the model with this row")
        error = model - row.value
        inside = interval is not None and min(interval) <= model <= max(interval)
        return TargetResult(row.id, row.trial, row.arm, row.timepoint_months, row.site, row.value, float(model),
                            float(error), tolerance, bool(abs(error) <= tolerance or inside), scenario, unit, note, cohort, months)

    @staticmethod
    def check(row_id: str, source: str, arm: str, month: float, site: str, target: float, model: float,
              tolerance: float, scenario: str, *, unit: str = "%", note: str = "",
              interval: tuple[float, float] | None = None) -> TargetResult:
        """A check that is not a row of the targets CSV (an issue goal, a label figure), judged like ``of``."""
        error = model - target
        inside = interval is not None and min(interval) <= model <= max(interval)
        return TargetResult(row_id, source, arm, month, site, target, float(model), float(error), tolerance,
                            bool(abs(error) <= tolerance or inside), scenario, unit, note)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


COLUMNS: tuple[str, ...] = ("id", "trial", "arm", "intervention", "timepoint_months", "site", "pct_change_mean",
                             "pct_change_sd_or_ci", "n", "citation", "certainty")
CERTAINTIES: tuple[str, ...] = ("verified-primary", "verified-secondary", "recalled-unverified")  # research README's tags


def parse_targets(text: str, source: str) -> dict[str, TargetRow]:
    """The rows of a targets CSV by id; InputError naming ``source``, the line, the column and the value
    for a missing column, an empty or repeated id, a number that is not one, or an unknown certainty tag."""
    from osteotwin.errors import InputError

    reader = csv.DictReader(text.splitlines())
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise InputError(f"{source} columns", list(reader.fieldnames or ()), f"missing {', '.join(missing)}; a targets CSV "
                         f"has the columns {', '.join(COLUMNS)} (as src/osteotwin/data/calibration_targets.csv)")
    rows: dict[str, TargetRow] = {}
    for line, record in enumerate(reader, start=2):
        row_id = (record["id"] or "").strip()
        if not row_id or row_id in rows:
            raise InputError(f"{source} line {line} id", row_id, "a non-empty id used once (e.g. S1-001)")
        numbers = {}
        for column in ("timepoint_months", "pct_change_mean"):
            text_value = (record[column] or "").strip()
            numbers[column] = _number(text_value)
            if text_value and (numbers[column] is None or not math.isfinite(numbers[column])):
                raise InputError(f"{source} line {line} ({row_id}) {column}", text_value, "a finite number, or empty")
        if record["certainty"] not in CERTAINTIES:
            raise InputError(f"{source} line {line} ({row_id}) certainty", record["certainty"], f"one of {', '.join(CERTAINTIES)}")
        rows[row_id] = TargetRow(
            id=row_id, trial=record["trial"], arm=record["arm"], intervention=record["intervention"],
            timepoint_months=numbers["timepoint_months"], site=record["site"], value=numbers["pct_change_mean"],
            dispersion=record["pct_change_sd_or_ci"], n=record["n"], citation=record["citation"], certainty=record["certainty"],
        )
    return rows


@lru_cache(maxsize=1)
def shipped_targets() -> dict[str, TargetRow]:
    """All rows of the shipped CSV by id."""
    text = resources.files("osteotwin.data").joinpath("calibration_targets.csv").read_text(encoding="utf-8")
    return parse_targets(text, "calibration_targets.csv")


_active: dict[str, TargetRow] | None = None  # set by use_targets: the rows the suites read instead of the shipped ones
_given: frozenset[str] | None = None  # set by use_targets: the ids of the user's CSV (the rows in the fit)


def load_targets() -> dict[str, TargetRow]:
    """The rows the suites evaluate by id: the shipped CSV, or the table of :func:`use_targets`."""
    return _active if _active is not None else shipped_targets()


@contextmanager
def use_targets(rows: dict[str, TargetRow]) -> Iterator[None]:
    """Within the block the suites read ``rows`` (a user's targets CSV, ``osteotwin calibrate TARGETS.csv``):
    a row's value, dispersion, n and certainty come from it, and shipped rows it leaves out drop out of the
    fit (:func:`in_fit`; the suites still compute them, from the shipped row)."""
    global _active, _given
    previous = _active, _given
    _active, _given = {**shipped_targets(), **rows}, frozenset(rows)
    try:
        yield
    finally:
        _active, _given = previous


def in_fit(result: TargetResult) -> bool:
    """A result counts in the fit: its row is in the active targets (a check that is not a CSV row always counts)."""
    return _given is None or result.row_id in _given or result.row_id not in shipped_targets()


def target(row_id: str) -> TargetRow:
    return load_targets()[row_id]


# Weights by precision (scripts/calibrate.py fits error / sigma with sigma = sqrt(SE**2 + (tolerance/2)**2)):
# SE is the sampling error of the row's mean, from its 95% CI when reported (width / 3.92), else SD / sqrt(n) for
# percent-change rows; tolerance/2 is the model discrepancy we accept (a row within tolerance is within 2 of it).
SD_OF_PCT_CHANGE_PP = 4.0  # ours [A]: SD of a woman's 1-5-year BMD % change, 3-5 pp in the trials of the targets CSV
UNKNOWN_ARM_N = 25  # ours: a row without n is weighed as an arm of 25 women
RECALLED_FACTOR = 0.5  # research README: a recalled-unverified target is weighted low


def arm_size(row: TargetRow) -> int | None:
    """Women behind the row's mean: the first number of its n text, split over arms when it counts 'both' or 'all 3'."""
    match = re.search(r"\d+", row.n)
    if match is None:
        return None
    n = int(match.group())
    if "both arms" in row.n:
        return n // 2
    if "all 3 arms" in row.n:
        return n // 3
    return n


def confidence_interval(row: TargetRow) -> tuple[float, float] | None:
    """(low, high) of a '95% CI a to b' dispersion, else None."""
    match = re.match(r"95% CI (-?[\d.]+) to (-?[\d.]+)", row.dispersion)
    return (float(match.group(1)), float(match.group(2))) if match else None


def standard_error(result: TargetResult) -> float:
    """Sampling SE of the target's mean in its unit (0 for checks and for non-percent rows without a CI)."""
    row = load_targets().get(result.row_id)
    if row is None:
        return 0.0
    interval = confidence_interval(row)
    if interval is not None:
        return abs(interval[1] - interval[0]) / 3.92
    if result.unit != "%":
        return 0.0
    return SD_OF_PCT_CHANGE_PP / math.sqrt(arm_size(row) or UNKNOWN_ARM_N)


def precision_weight(result: TargetResult) -> float:
    """Weight of a result in the fit, on the residual error / tolerance: tolerance / sqrt(SE**2 + (tolerance/2)**2),
    halved for a recalled-unverified row. No row's weight is chosen by hand."""
    sigma = math.hypot(standard_error(result), result.tolerance / 2.0)
    row = load_targets().get(result.row_id)
    recalled = row is not None and row.certainty == "recalled-unverified"
    return result.tolerance / sigma * (RECALLED_FACTOR if recalled else 1.0)
