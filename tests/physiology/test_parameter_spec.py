"""The parameter declarations are the model spec: every parameter has a symbol, unit, description,
source, evidence tag and the value the engine uses."""

import importlib
import re

from osteotwin.physiology.parameters import PARAMETER_MODULES

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
