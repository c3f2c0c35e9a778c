"""The engine's right-hand side as formulas, traced from the compiled code it runs (docs/interop.md).

``system.core_rates`` and the mechanism functions it calls (signalling.py, mechanostat.py, cells.py,
bone.py) are numba-compiled Python. Their pure-Python originals (``dispatcher.py_func``) are re-created
here with three substitutions in their globals: ``np`` becomes a namespace whose ``exp`` and ``log``
build formulas, ``min``/``max`` become ``piecewise`` formulas, and every compiled function or
physiology module they call is traced the same way. Called with symbolic arrays in place of the
states ``y``, the packed parameters ``p`` and the inputs ``u``, the same code returns formulas instead
of numbers: the SBML export's equations are generated from the right-hand side, not written twice.

Each call of a mechanism function becomes one named quantity (an SBML assignment rule). Its id is
the function's name (``rankl_pM``), prefixed with the site when its formula involves one site's
states (``lumbar_spine_rankl_pM``); a function returning several values names them after its return
statement (``phi, wnt, rankl, opg, pi_l, route``). Units are inferred along: a product adds unit
exponents, a sum needs equal units, ``exp`` and ``log`` take dimensionless arguments. A mismatch is
an error here, so the document declares a consistent unit for every quantity.

The traced code must not branch on values (a formula has no truth value): mechanism functions use
``min``/``max`` instead (mechanostat.set_point_signal).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Units as sorted (atom, exponent) pairs; () is dimensionless. The atoms are the export's (sbml.py).
Units = tuple[tuple[str, int], ...]
DIMENSIONLESS: Units = ()


class TraceError(RuntimeError):
    """The right-hand side cannot be written as formulas (a branch on a value, inconsistent units)."""


def _combine(a: Units, b: Units, sign: int) -> Units:
    exponents = dict(a)
    for atom, power in b:
        exponents[atom] = exponents.get(atom, 0) + sign * power
    return tuple(sorted((atom, power) for atom, power in exponents.items() if power != 0))


def _number(value: float) -> str:
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


@dataclass(frozen=True)
class Formula:
    """An infix formula in libSBML's L3 syntax, its units and the sites whose states it reads."""

    text: str
    units: Units = DIMENSIONLESS
    sites: frozenset[str] = frozenset()
    atomic: bool = False  # a name or a number: no parentheses needed

    def _wrapped(self) -> str:
        return self.text if self.atomic else f"({self.text})"

    @staticmethod
    def lift(value: object) -> Formula:
        if isinstance(value, Formula):
            return value
        if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            return Formula(_number(value), DIMENSIONLESS, frozenset(), True)
        raise TraceError(f"cannot use {value!r} in a formula")

    def _join(self, other: object, operator: str, units: Units, reflected: bool = False) -> Formula:
        a, b = (Formula.lift(other), self) if reflected else (self, Formula.lift(other))
        return Formula(f"{a._wrapped()} {operator} {b._wrapped()}", units, a.sites | b.sites)

    def _sum(self, other: object, operator: str, reflected: bool = False) -> Formula:
        if _is_zero(other):  # an accumulator's 0.0 (``c = 0.0; c += ...``) has no units of its own
            return -self if reflected and operator == "-" else self
        b = Formula.lift(other)
        if b.units != self.units:
            left, right = (b, self) if reflected else (self, b)
            raise TraceError(f"units differ across {operator!r}: {left.text} [{left.units}] and {right.text} [{right.units}]")
        return self._join(b, operator, self.units, reflected)

    def __add__(self, other):
        return self._sum(other, "+")

    def __radd__(self, other):
        return self._sum(other, "+", reflected=True)

    def __sub__(self, other):
        return self._sum(other, "-")

    def __rsub__(self, other):
        return self._sum(other, "-", reflected=True)

    def __mul__(self, other):
        return self._join(other, "*", _combine(self.units, Formula.lift(other).units, 1))

    def __rmul__(self, other):
        return self._join(other, "*", _combine(Formula.lift(other).units, self.units, 1), reflected=True)

    def __truediv__(self, other):
        return self._join(other, "/", _combine(self.units, Formula.lift(other).units, -1))

    def __rtruediv__(self, other):
        return self._join(other, "/", _combine(Formula.lift(other).units, self.units, -1), reflected=True)

    def __pow__(self, exponent):
        if isinstance(exponent, int):
            units = tuple((atom, power * exponent) for atom, power in self.units)
            return Formula(f"pow({self.text}, {exponent})", units, self.sites)
        power = Formula.lift(exponent)
        if self.units != DIMENSIONLESS or power.units != DIMENSIONLESS:
            raise TraceError(f"a non-integer power needs dimensionless terms: {self.text} ** {power.text}")
        return Formula(f"pow({self.text}, {power.text})", DIMENSIONLESS, self.sites | power.sites)

    def __rpow__(self, base):
        return Formula.lift(base) ** self

    def __neg__(self):
        return Formula(f"-{self._wrapped()}", self.units, self.sites)

    def _compare(self, other: object, operator: str) -> Formula:
        # A condition is a formula too; only min/max (piecewise) may use one, never an `if` (__bool__).
        return self._join(other, operator, DIMENSIONLESS)

    def __lt__(self, other):
        return self._compare(other, "<")

    def __le__(self, other):
        return self._compare(other, "<=")

    def __gt__(self, other):
        return self._compare(other, ">")

    def __ge__(self, other):
        return self._compare(other, ">=")

    def __bool__(self):
        raise TraceError(f"the traced code branches on the value of {self.text}: write it with min/max")


def _is_zero(value: object) -> bool:
    return not isinstance(value, Formula) and isinstance(value, (int, float)) and value == 0


def _function(name: str, argument: object) -> Formula:
    x = Formula.lift(argument)
    if x.units != DIMENSIONLESS:
        raise TraceError(f"{name} of a quantity with units: {x.text} [{x.units}]")
    return Formula(f"{name}({x.text})", DIMENSIONLESS, x.sites)


def _choose(a: object, b: object, comparison: str) -> Formula | float:
    if not isinstance(a, Formula) and not isinstance(b, Formula):
        return min(a, b) if comparison == "<=" else max(a, b)
    # A literal 0 against a quantity with units (``max(amount, 0.0)``) becomes 0 x that quantity: same units.
    if _is_zero(b) and isinstance(a, Formula) and a.units != DIMENSIONLESS:
        b = Formula(f"0 * {a._wrapped()}", a.units, a.sites)
    if _is_zero(a) and isinstance(b, Formula) and b.units != DIMENSIONLESS:
        a = Formula(f"0 * {b._wrapped()}", b.units, b.sites)
    x, y = Formula.lift(a), Formula.lift(b)
    if x.units != y.units:
        raise TraceError(f"min/max across units: {x.text} [{x.units}] and {y.text} [{y.units}]")
    return Formula(f"piecewise({x.text}, {x.text} {comparison} {y.text}, {y.text})", x.units, x.sites | y.sites)


class _Numpy:
    """``np`` inside traced code: the elementary functions as formulas, anything else numpy's."""

    @staticmethod
    def exp(x):
        return _function("exp", x) if isinstance(x, Formula) else np.exp(x)

    @staticmethod
    def log(x):
        return _function("ln", x) if isinstance(x, Formula) else np.log(x)

    def __getattr__(self, name: str):
        return getattr(np, name)


_NUMPY = _Numpy()
_BUILTINS = {"min": lambda a, b: _choose(a, b, "<="), "max": lambda a, b: _choose(a, b, ">=")}


class Symbols:
    """A read-only array of named formulas (y, p or u), indexed as the engine indexes its arrays."""

    def __init__(self, formulas: Sequence[Formula]):
        self._formulas = list(formulas)

    def __getitem__(self, index: int) -> Formula:
        return self._formulas[index]

    def __len__(self) -> int:
        return len(self._formulas)


class Sink:
    """A writable array of formulas (the prod and loss buffers of system.core_rates)."""

    def __init__(self, size: int):
        self.values: list[Formula | None] = [None] * size

    def __setitem__(self, index: int, value: object) -> None:
        self.values[index] = Formula.lift(value)

    def __getitem__(self, index: int) -> Formula:
        value = self.values[index]
        if value is None:
            raise TraceError(f"entry {index} read before it was written")
        return value


@dataclass(frozen=True)
class Quantity:
    """One named intermediate: an SBML parameter with an assignment rule."""

    id: str
    formula: str
    units: Units
    source: str  # module.function whose result it is


@dataclass
class Tracer:
    """Re-creates compiled functions as tracing Python functions and names their results."""

    quantities: dict[str, Quantity] = field(default_factory=dict)
    _wrapped: dict[int, Callable] = field(default_factory=dict)

    def call(self, compiled: Callable, *arguments):
        """Call a compiled function with formulas: its result, named (one quantity per returned value)."""
        return self.wrap(compiled)(*arguments)

    def wrap(self, compiled: Callable) -> Callable:
        """A tracing stand-in for a numba dispatcher (or a plain function) and, through it, its callees."""
        key = id(compiled)
        if key in self._wrapped:
            return self._wrapped[key]
        original = getattr(compiled, "py_func", compiled)
        names = _return_names(original)
        traced: list[Callable] = []

        source = f"{original.__module__}.{original.__name__}"
        base = original.__name__.lstrip("_")  # solve._resorption_relative -> resorption_relative

        def call(*args):
            return self._name(base, source, names, traced[0](*args))

        self._wrapped[key] = call
        namespace = dict(original.__globals__)
        namespace.update(np=_NUMPY, **_BUILTINS)
        for name, value in original.__globals__.items():
            replacement = self._traceable(value)
            if replacement is not None:
                namespace[name] = replacement
        traced.append(types.FunctionType(original.__code__, namespace, original.__name__, original.__defaults__,
                                         original.__closure__))
        return call

    def _traceable(self, value: object):
        if hasattr(value, "py_func"):
            return self.wrap(value)
        if isinstance(value, types.ModuleType) and value.__name__.startswith("osteotwin.physiology."):
            return _ModuleProxy(value, self)
        return None

    def _name(self, function: str, source: str, names: tuple[str | None, ...] | None, result):
        if result is None:
            return None
        if not isinstance(result, tuple):
            return self._named(function, source, result)
        if names is None or len(names) != len(result):
            names = tuple(None for _ in result)
        return tuple(self._named(name or f"{function}_{k}", source, value) for k, (name, value) in enumerate(zip(names, result, strict=True)))

    def _named(self, base: str, source: str, value: object):
        if not isinstance(value, Formula) or value.atomic:
            return value
        stem = f"{next(iter(value.sites))}_{base}" if len(value.sites) == 1 else base
        quantity_id, k = stem, 1
        while quantity_id in self.quantities and self.quantities[quantity_id].formula != value.text:
            k += 1
            quantity_id = f"{stem}_{k}"
        self.quantities[quantity_id] = Quantity(quantity_id, value.text, value.units, source)
        return Formula(quantity_id, value.units, value.sites, True)


class _ModuleProxy:
    """A physiology module inside traced code: its compiled functions traced, its constants as they are."""

    def __init__(self, module: types.ModuleType, tracer: Tracer):
        self._module, self._tracer = module, tracer

    def __getattr__(self, name: str):
        value = getattr(self._module, name)
        return self._tracer.wrap(value) if hasattr(value, "py_func") else value


def _return_names(function: Callable) -> tuple[str | None, ...] | None:
    """The names in a function's ``return a, b, c`` (None where an element is not a plain name)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)]
    if len(returns) != 1:
        return None
    return tuple(element.id if isinstance(element, ast.Name) else None for element in returns[0].value.elts)


__all__ = ["DIMENSIONLESS", "Formula", "Quantity", "Sink", "Symbols", "TraceError", "Tracer", "Units"]
