"""The one parameter registry of the physiology engine.

Every module declares its parameters as a :class:`ParameterTable` next to the equations that
use them, one annotated line per parameter (mrgsolve style): name, value, unit, description,
source and evidence tag, the prior range used by calibration and sensitivity analysis, and the
symbol of the equations. :func:`registry` collects every module's table so that users, reports and
calibration see one list. The declared value is the shipped value the engine uses: the calibration
scripts write fitted values into the declarations (:func:`write_values`; the source of a parameter
fitted by scripts/calibrate.py is :func:`calibrated`), and nothing overlays them.

Evidence tags (docs/parameters.md):
  ``V`` verified in the primary source; ``S`` verified in a secondary source;
  ``R`` recalled, not verified (weighted low, flagged in output); ``D`` derived so that the
  baseline is a steady state; ``C`` calibrated by us (the fitting script and report name the
  targets); ``A`` our assumption.
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

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
    symbol: str = ""  # the symbol of the equations (the source paper's where it has one); ASCII, e.g. gamma_L, K_A,OPG

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
        self._values = {name: parameter.value for name, parameter in self._by_name.items()}
        self.column = np.array(list(self._values.values()), dtype=np.float64)  # the values in table order
        self.column.flags.writeable = False
        self.rows = {name: row for row, name in enumerate(self._by_name)}  # row of each parameter in ``column``
        self.derived: dict[str, object] = {}  # per-table memo of values derived from it alone (system.pack_parameters)

    def __getitem__(self, name: str) -> Parameter:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def value(self, name: str) -> float:
        return self._by_name[name].value

    def values_dict(self) -> dict[str, float]:
        return dict(self._values)

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


# The target rows scripts/calibrate.py fits each of its suites to (docs/calibration.md); the source of
# every parameter it fits is ``calibrated(suite, prior source)``, and ``--write`` rewrites its value in
# the declaring module (:func:`write_values`).
CALIBRATION_TARGETS: dict[str, str] = {
    "core": "ATAC S1-001..S1-018, compliance substudy S1-061..S1-064, SWAN/Michigan/SOF/CaMos/Rochester S1-065..S1-081, "
            "IBIS-II anastrozole/placebo and off-treatment S1-019..S1-025, MA.17B S1-026..S1-029, IES S1-036..S1-043",
    "drugs": "ZO-FAST S2-015..S2-023, HORIZON S2-085/S2-086, ABCSG-18 S3-005..S3-007, FREEDOM S3-020..S3-025, "
             "IBIS-II risedronate strata S2-066..S2-073, "
             "denosumab discontinuation S3-026/S3-027, CTX checks (issue 3: month 1; Prolia label: trough at the end of "
             "each interval; HORIZON-PFT markers, Delmas 2009; serum sclerostin on denosumab, Gatti 2012)",
}


def calibrated(suite: str, prior: str) -> str:
    """The source of a parameter fitted by scripts/calibrate.py's ``suite``: the targets, then the prior's source."""
    return f"{_calibrated_prefix(suite)}{prior}"


def _calibrated_prefix(suite: str) -> str:
    return f"calibrated by scripts/calibrate.py to {CALIBRATION_TARGETS[suite]} (docs/calibration.md); prior: "


def calibration_suite(parameter: Parameter) -> str | None:
    """The scripts/calibrate.py suite that fits ``parameter`` (from its source), or None."""
    return next((suite for suite in CALIBRATION_TARGETS if parameter.source.startswith(_calibrated_prefix(suite))), None)


@functools.cache
def registry() -> ParameterTable:
    """Every parameter of every engine module, in module order, as declared (built once per process;
    immutable). The declarations hold the shipped values, calibrated ones included: what a reader sees
    next to a parameter is what the engine uses."""
    combined = ParameterTable([])
    for module_name in PARAMETER_MODULES:
        combined = combined | importlib.import_module(module_name).PARAMETERS
    return combined


def write_values(values: Mapping[str, float], files: Mapping[str, str | Path] | None = None) -> list[Path]:
    """Write values into their ``Parameter("name", VALUE, ...)`` declarations (calibration's ``--write``).

    The shipped values live in the declaring modules' source, so a fit is written there, as
    ``repr(float(value))``. ``files`` maps a name to the file to rewrite (default: the source of the
    module that declares it). Refused with ValueError, before anything is written: a name not in the
    registry, a parameter without a prior range, a value that is not finite or lies outside the prior
    range (ranges are never widened here), a declaration not found exactly once with a number literal
    as its value. Returns the files written; the running process's registry() keeps the old values.
    """
    table = registry()
    owners = {name: module_name for module_name in PARAMETER_MODULES
              for name in importlib.import_module(module_name).PARAMETERS}
    texts: dict[Path, str] = {}
    for name, value in values.items():
        if name not in table:
            raise ValueError(f"unknown parameter {name}")
        value = float(value)
        prior = table[name].prior_range
        if prior is None or not math.isfinite(value) or not prior[0] <= value <= prior[1]:
            raise ValueError(f"{name} = {value!r} is not inside its prior range {prior}")
        path = Path(files[name]) if files is not None and name in files else Path(importlib.import_module(owners[name]).__file__)
        text = texts[path] if path in texts else path.read_text(encoding="utf-8")
        pattern = re.compile(r'(Parameter\(\s*"' + re.escape(name) + r'",\s*)([-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(\s*,)')
        text, count = pattern.subn(lambda match, v=value: f"{match.group(1)}{v!r}{match.group(3)}", text)
        if count != 1:
            raise ValueError(f"{path}: found {count} declarations Parameter(\"{name}\", <number>, ...), expected 1")
        texts[path] = text
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return list(texts)


class PatientParameters:
    """Parameter values per patient: an array shaped (parameters, patients) beside the table that
    holds each parameter's provenance (unit, source, evidence, prior range).

    The vectorised parts of the engine (estrogen, background drives, the core's packed vector and
    its derived steady-state values, drug PK) read ``value(name)``, one value per patient; the parts
    written for one parameter set (lifestyle drives, outcome modules) run once per group of
    patients that share their parameters (:meth:`groups`).
    """

    def __init__(self, table: ParameterTable, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] != len(table):
            raise ValueError(f"values must be shaped ({len(table)}, patients), got {values.shape}")
        self.table = table
        self.values = values
        self._row = table.rows
        self._views: dict[str, np.ndarray] | None = None  # rows as views, made on first use: see values_dict

    @staticmethod
    def uniform(table: ParameterTable, patients: int) -> PatientParameters:
        """Every patient with the table's values."""
        return PatientParameters(table, np.repeat(table.column[:, None], patients, axis=1))

    @staticmethod
    def from_overrides(table: ParameterTable, overrides: Sequence[Mapping[str, float]]) -> PatientParameters:
        """One patient per mapping of ``{name: value}`` overriding the table's values (checked, see
        :func:`check_overrides`)."""
        result = PatientParameters.uniform(table, len(overrides))
        for patient, changes in enumerate(overrides):
            for name, value in check_overrides(table, changes).items():
                result.values[result._row[name], patient] = value
        return result

    @property
    def patients(self) -> int:
        return int(self.values.shape[1])

    def value(self, name: str) -> np.ndarray:
        """The parameter's value for each patient, shaped (patients,)."""
        return self.values[self._row[name]]

    def values_dict(self) -> dict[str, np.ndarray]:
        """Each parameter's per-patient row (views into ``values``: they follow later edits of it)."""
        if self._views is None:
            self._views = {name: self.values[row] for name, row in self._row.items()}
        return dict(self._views)

    def shared_table(self) -> ParameterTable | None:
        """The table itself when every patient has exactly its values (no overrides), else None."""
        return self.table if bool(np.all(self.values == self.table.column[:, None])) else None

    def select(self, start: int, stop: int) -> PatientParameters:
        return PatientParameters(self.table, self.values[:, start:stop])

    def groups(self, names: Iterable[str] | None = None) -> list[tuple[ParameterTable, np.ndarray]]:
        """Patients grouped by equal values of ``names`` (all parameters if None): for each group, a
        table holding that group's values and the indices of its patients, in first-seen order."""
        rows = list(self._row.values()) if names is None else [self._row[name] for name in names]
        keys = self.values[rows]
        if keys.shape[1] == 0 or np.all(keys == keys[:, :1]):
            return [(self._table_of(0), np.arange(self.patients))]
        members: dict[bytes, list[int]] = {}
        for patient, key in enumerate(np.ascontiguousarray(keys.T)):
            members.setdefault(key.tobytes(), []).append(patient)
        return [(self._table_of(group[0]), np.array(group)) for group in members.values()]

    def _table_of(self, patient: int) -> ParameterTable:
        """The table with one patient's values (the shared table itself when she has no overrides)."""
        column = self.values[:, patient]
        if np.array_equal(column, self.table.column):
            return self.table
        changed = {name: float(column[row]) for name, row in self._row.items() if column[row] != self.table.value(name)}
        return self.table.with_values(**changed) if changed else self.table


def check_overrides(table: ParameterTable, overrides: Mapping[str, object]) -> dict[str, float]:
    """Per-patient parameter overrides as floats, or InputError naming the first bad one.

    A name must be in the registry and the value must be a finite number inside the parameter's
    prior range (the range calibration and sensitivity analysis use); a parameter without a prior
    range (derived or fixed by definition) cannot be overridden.
    """
    from osteotwin.errors import InputError

    checked: dict[str, float] = {}
    for name, value in overrides.items():
        field = f"parameters.{name}"
        if name not in table:
            raise InputError(field, name, "a parameter name listed by `osteotwin parameters`")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
            raise InputError(field, value, "a finite number")
        parameter = table[name]
        if parameter.prior_range is None:
            raise InputError(field, value, f"{name} has no prior range and cannot be overridden (fixed at {parameter.value:g})")
        low, high = parameter.prior_range
        if not low <= float(value) <= high:
            unit = "" if parameter.unit in ("1", "") else f" {parameter.unit}"
            raise InputError(field, value, f"{name} within its prior range {low:g} to {high:g}{unit}")
        checked[name] = float(value)
    return checked
