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
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


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

    @staticmethod
    def of(row: TargetRow, model: float, tolerance: float, scenario: str, *, unit: str = "%", note: str = "",
           interval: tuple[float, float] | None = None) -> TargetResult:
        """A result; within tolerance when |error| <= tolerance or the model lies inside ``interval``."""
        if row.value is None:
            raise ValueError(f"target {row.id} has no numeric value")
        error = model - row.value
        inside = interval is not None and min(interval) <= model <= max(interval)
        return TargetResult(row.id, row.trial, row.arm, row.timepoint_months, row.site, row.value, float(model),
                            float(error), tolerance, bool(abs(error) <= tolerance or inside), scenario, unit, note)

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


@lru_cache(maxsize=1)
def load_targets() -> dict[str, TargetRow]:
    """All rows of the shipped CSV by id."""
    text = resources.files("osteotwin.data").joinpath("calibration_targets.csv").read_text(encoding="utf-8")
    rows = {}
    for record in csv.DictReader(text.splitlines()):
        rows[record["id"]] = TargetRow(
            id=record["id"], trial=record["trial"], arm=record["arm"], intervention=record["intervention"],
            timepoint_months=_number(record["timepoint_months"]), site=record["site"],
            value=_number(record["pct_change_mean"]), dispersion=record["pct_change_sd_or_ci"], n=record["n"],
            citation=record["citation"], certainty=record["certainty"],
        )
    return rows


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
