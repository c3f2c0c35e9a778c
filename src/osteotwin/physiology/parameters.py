"""The one parameter registry of the physiology engine.

Every module declares its parameters as a :class:`ParameterTable` next to the equations that
use them, one annotated line per parameter (mrgsolve style): name, value, unit, description,
source and evidence tag, and the prior range used by calibration and sensitivity analysis.
:func:`registry` collects every module's table so that users, reports and calibration see one
list.

Evidence tags (shared/research/README.md):
  ``V`` verified in the primary source; ``S`` verified in a secondary source;
  ``R`` recalled, not verified (weighted low, flagged in output); ``D`` derived so that the
  baseline is a steady state; ``C`` calibrated by us (the fitting script and report name the
  targets); ``A`` our assumption.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

EvidenceTag = Literal["V", "S", "R", "D", "C", "A"]

# Modules that declare a module-level ``PARAMETERS: ParameterTable``; imported lazily by registry().
PARAMETER_MODULES: tuple[str, ...] = (
    "osteotwin.physiology.estrogen",
    "osteotwin.physiology.signalling",
    "osteotwin.physiology.cells",
    "osteotwin.physiology.bone",
    "osteotwin.physiology.mechanostat",
    "osteotwin.physiology.background",
    "osteotwin.physiology.drugs",
    "osteotwin.physiology.mechanics",
    "osteotwin.physiology.minerals",
    "osteotwin.physiology.gut",
    "osteotwin.physiology.nutrients",
    "osteotwin.physiology.muscle",
    "osteotwin.physiology.fracture",
)


@dataclass(frozen=True)
class Parameter:
    """One model parameter with its provenance."""

    name: str
    value: float
    unit: str
    description: str
    source: str
    evidence: EvidenceTag
    prior_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.prior_range is not None:
            low, high = self.prior_range
            if not low <= self.value <= high:
                raise ValueError(f"parameter {self.name} = {self.value} lies outside its prior range {self.prior_range}")


class ParameterTable(Mapping[str, Parameter]):
    """An immutable, ordered set of parameters; ``table.values_dict()`` feeds the numerics."""

    def __init__(self, parameters: Iterable[Parameter]) -> None:
        self._by_name: dict[str, Parameter] = {}
        for parameter in parameters:
            if parameter.name in self._by_name:
                raise ValueError(f"parameter {parameter.name} declared twice")
            self._by_name[parameter.name] = parameter

    def __getitem__(self, name: str) -> Parameter:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def value(self, name: str) -> float:
        return self._by_name[name].value

    def values_dict(self) -> dict[str, float]:
        return {name: parameter.value for name, parameter in self._by_name.items()}

    def with_values(self, **values: float) -> ParameterTable:
        """A copy with some values replaced (calibration, sensitivity); unknown names are refused."""
        unknown = set(values) - set(self._by_name)
        if unknown:
            raise KeyError(f"unknown parameters: {sorted(unknown)}")
        return ParameterTable(
            replace(parameter, value=float(values[name])) if name in values else parameter
            for name, parameter in self._by_name.items()
        )

    def __or__(self, other: ParameterTable) -> ParameterTable:
        return ParameterTable([*self._by_name.values(), *other.values()])


# Fitted values written by scripts/calibrate.py; applied on top of the module tables by registry().
CALIBRATED_VALUES_PATH = Path(__file__).resolve().parents[1] / "data" / "calibrated_parameters.json"


def calibrated_values() -> dict[str, dict]:
    """``{name: {"value": float, "targets": str}}`` from the shipped calibration file ({} if absent)."""
    if not CALIBRATED_VALUES_PATH.exists():
        return {}
    return json.loads(CALIBRATED_VALUES_PATH.read_text(encoding="utf-8")).get("values", {})


def registry(*, calibrated: bool = True) -> ParameterTable:
    """Every parameter of every engine module, in module order.

    With ``calibrated`` (default) the fitted values of scripts/calibrate.py replace the module
    defaults; those parameters carry evidence tag ``C`` and name their targets in ``source``.
    """
    combined = ParameterTable([])
    for module_name in PARAMETER_MODULES:
        combined = combined | importlib.import_module(module_name).PARAMETERS
    if not calibrated:
        return combined
    fitted = calibrated_values()
    return ParameterTable(
        replace(parameter, value=float(fitted[name]["value"]), evidence="C",
                source=f"calibrated by scripts/calibrate.py to {fitted[name]['targets']} (docs/calibration.md); prior: {parameter.source}")
        if name in fitted else parameter
        for name, parameter in combined.items()
    )
