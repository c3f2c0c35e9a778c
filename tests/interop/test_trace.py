"""interop/trace.py: the engine's compiled right-hand side traced into formulas.

The traced formulas, evaluated with the engine's numbers, give the engine's own rates; a branch on a
value or a sum across units is refused with a message naming the formula; every mechanism module's
terms appear under their function's name.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from osteotwin.interop.trace import _NUMPY, DIMENSIONLESS, Formula, Sink, Symbols, TraceError, Tracer
from osteotwin.physiology import system as sy
from osteotwin.physiology.spec import CORE_STATE_NAMES, INPUT_NAMES, VECTOR_NAMES
from osteotwin.twin.simulation import default_parameters

SITES = ("lumbar_spine", "total_hip")
DAY = (("day", -1),)


def _site(state: str) -> str:
    return next(site for site in SITES if state.startswith(site))


def _evaluate(formula: str, values: dict[str, float]) -> float:
    """Evaluate an L3 infix formula with Python (ln, exp, pow and piecewise of three arguments)."""
    def piecewise(a, condition, b):
        return a if condition else b

    text = formula.replace("^", "**")
    return eval(text, {"ln": math.log, "exp": math.exp, "pow": pow, "piecewise": piecewise}, dict(values))  # noqa: S307


def test_traced_rates_reproduce_the_engine():
    """The formulas, evaluated at a perturbed state with the shipped parameters and non-trivial inputs,
    equal system.core_derivative (the comparisons of piecewise conditions are Python's here)."""
    table = default_parameters()
    vector = sy.pack_parameters(table)
    rng = np.random.default_rng(1)
    y = sy.reference_state(vector) * rng.uniform(0.7, 1.3, len(CORE_STATE_NAMES))
    u = sy.baseline_inputs() * rng.uniform(0.9, 1.4, len(INPUT_NAMES))
    dmab, bp = 0.3, 0.2
    # The reference bone volume {site}_bone_volume_pct shares its name with the state: suffixed, as the SBML does.
    parameter_ids = [f"{name}_reference" if name in CORE_STATE_NAMES else name for name in VECTOR_NAMES]
    tracer = Tracer()  # every symbol dimensionless: units are checked by the SBML tests
    y_sym = Symbols([Formula(name, DIMENSIONLESS, frozenset({_site(name)}), True) for name in CORE_STATE_NAMES])
    p_sym = Symbols([Formula(name, atomic=True) for name in parameter_ids])
    u_sym = Symbols([Formula(name, DIMENSIONLESS, frozenset(s for s in SITES if f"_{s}_" in name), True) for name in INPUT_NAMES])
    prod, loss = Sink(len(y)), Sink(len(y))
    tracer.call(sy.core_rates, y_sym, p_sym, u_sym, Formula("denosumab_inhibition", atomic=True),
                Formula("bisphosphonate_inhibition", atomic=True), prod, loss)
    rates = {name: prod[k] - loss[k] * y_sym[k] for k, name in enumerate(CORE_STATE_NAMES)}
    values = {**dict(zip(CORE_STATE_NAMES, y, strict=True)), **dict(zip(parameter_ids, vector, strict=True)),
              **dict(zip(INPUT_NAMES, u, strict=True)), "denosumab_inhibition": dmab, "bisphosphonate_inhibition": bp}
    for quantity in tracer.quantities.values():  # in the order made: each reads only earlier ones
        values[quantity.id] = _evaluate(quantity.formula, values)
    expected = sy.core_derivative(y, vector, u, dmab, bp)
    got = np.array([_evaluate(rates[name].text, values) for name in CORE_STATE_NAMES])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    # One quantity per mechanism call, named after its function and site; shared terms once.
    ids = set(tracer.quantities)
    for site in SITES:
        for term in ("opg_pM", "rankl_pM", "rank_activation", "rankl_production_pM_per_day", "set_point_signal",
                     "exercise_route", "log_bone_stimulus", "modelling_formation", "remodelling_formation", "wnt"):
            assert f"{site}_{term}" in ids
    assert "pth_pM" in ids and not any(i.startswith("pth_pM_") for i in ids)
    sources = {q.source.rsplit(".", 1)[0] for q in tracer.quantities.values()}
    assert {"osteotwin.physiology.signalling", "osteotwin.physiology.mechanostat", "osteotwin.physiology.bone",
            "osteotwin.physiology.system"} <= sources


@numba.njit
def _branching(x):
    if x > 1.0:
        return x - 1.0
    return 0.0


@numba.njit
def _mixed(a, b):
    return a + b


def test_a_branch_on_a_value_is_refused():
    with pytest.raises(TraceError, match="branches on the value of x"):
        Tracer().wrap(_branching)(Formula("x", atomic=True))


def test_a_sum_across_units_is_refused():
    with pytest.raises(TraceError, match="units differ"):
        Tracer().wrap(_mixed)(Formula("a", DAY, atomic=True), Formula("b", atomic=True))


def test_units_are_inferred():
    rate = Formula("k", DAY, atomic=True)
    amount = Formula("n", (("picomole", 1),), atomic=True)
    assert (rate * amount).units == (("day", -1), ("picomole", 1))
    assert (amount / amount).units == DIMENSIONLESS
    with pytest.raises(TraceError, match="exp of a quantity with units"):
        _NUMPY.exp(rate)
