"""Calibration targets (published outcomes with citations, shipped as
``osteotwin/data/calibration_targets.csv``) and the result record every suite returns.

Each suite module (``core.py``, ``drugs.py``, ``lifestyle.py``) exposes ``evaluate() ->
list[TargetResult]``: one record per target row it uses, with the model's value, the error, the
tolerance it is held to and the scenario that produced it. ``report.py`` turns them into
docs/calibration.md.
"""

from __future__ import annotations

import csv
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
