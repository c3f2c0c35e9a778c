"""The parameter declarations are the model spec: every parameter has a symbol, unit, description,
source, evidence tag and the value the engine uses."""

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from osteotwin.physiology.parameters import PARAMETER_MODULES, calibration_suite, registry, write_values

SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9_,+\-]*$")


def test_every_parameter_has_a_symbol_unique_within_its_module():
    for module_name in PARAMETER_MODULES:
        table = importlib.import_module(module_name).PARAMETERS
        symbols = [parameter.symbol for parameter in table.values()]
        for parameter in table.values():
            assert SYMBOL.match(parameter.symbol), f"{module_name}: {parameter.name} has symbol {parameter.symbol!r}"
            assert parameter.unit and parameter.description.strip() and parameter.source.strip(), parameter.name
        duplicates = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
        assert not duplicates, f"{module_name}: symbols used twice: {duplicates}"


def test_registry_is_the_declarations():
    """No overlay: the value next to a parameter in its module is the value the engine reads."""
    table = registry()
    declared = {}
    for module_name in PARAMETER_MODULES:
        declared.update(importlib.import_module(module_name).PARAMETERS.items())
    assert list(table) == list(declared)
    assert all(table[name] == parameter for name, parameter in declared.items())


def test_calibrate_py_fits_exactly_the_parameters_declared_calibrated_by_it():
    from osteotwin.population.calibration import fit  # what scripts/calibrate.py fits

    table = registry()
    for suite in ("core", "drugs"):
        for name in fit.SUITES[suite][1]:
            assert calibration_suite(table[name]) == suite, name
            assert table[name].evidence == "C", name
    declared = {name for name, parameter in table.items() if calibration_suite(parameter) is not None}
    assert declared == set(fit.SUITES["all"][1])


def _module_copy(tmp_path, module="estrogen"):
    source = Path(importlib.import_module(f"osteotwin.physiology.{module}").__file__)
    copy = tmp_path / source.name
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def _declared_value(path, name):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Parameter"
             and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == name]
    assert len(calls) == 1
    return ast.literal_eval(calls[0].args[1])


def test_write_values_rewrites_the_value_literals_of_a_module(tmp_path):
    copy = _module_copy(tmp_path)
    before = copy.read_text(encoding="utf-8")
    names = {"estrogen_opg_exponent": 0.0712345, "estrogen_rankl_exponent": 1.25e-0}
    assert write_values(names, files={name: copy for name in names}) == [copy]
    for name, value in names.items():
        assert _declared_value(copy, name) == value
    after = copy.read_text(encoding="utf-8")
    changed = [line for old, line in zip(before.splitlines(), after.splitlines(), strict=True) if old != line]
    assert len(changed) == 2  # only the two declarations, nothing else
    # the real module is untouched
    assert registry().value("estrogen_opg_exponent") == 0.05


@pytest.mark.parametrize(("values", "message"), [
    ({"estrogen_opg_exponent": 0.2}, "prior range"),  # prior 0 to 0.1: never widened
    ({"estrogen_opg_exponent": float("nan")}, "prior range"),
    ({"no_such_parameter": 1.0}, "unknown parameter"),
    ({"estrogen_opg_exponent": 0.06, "lumbar_spine_mechanosensitivity": 1.0}, "found 0 declarations"),  # first one valid
])
def test_write_values_refuses_and_writes_nothing(tmp_path, values, message):
    copy = _module_copy(tmp_path)
    before = copy.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        write_values(values, files={name: copy for name in values})
    assert copy.read_text(encoding="utf-8") == before


def test_write_values_refuses_a_declaration_found_twice(tmp_path):
    copy = _module_copy(tmp_path)
    text = copy.read_text(encoding="utf-8")
    copy.write_text(text + '\n# Parameter("estrogen_opg_exponent", 0.05, ...)\n', encoding="utf-8")
    with pytest.raises(ValueError, match="found 2 declarations"):
        write_values({"estrogen_opg_exponent": 0.06}, files={"estrogen_opg_exponent": copy})


def test_write_values_refuses_a_value_that_is_not_a_number_literal(tmp_path):
    copy = _module_copy(tmp_path, "fracture")
    with pytest.raises(ValueError, match="found 0 declarations"):  # its value is the constant GRADIENT_HIP_PER_SD
        write_values({"hip_gradient_of_risk_per_sd": 2.9}, files={"hip_gradient_of_risk_per_sd": copy})
