"""Every engine parameter is visible to the user with a source and an evidence tag."""

import json
from pathlib import Path

from osteotwin.cli import main
from osteotwin.commands.parameters import EVIDENCE_MEANING, markdown, parameters_by_module
from osteotwin.physiology.parameters import registry

DOCS = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"


def test_every_parameter_is_listed_with_source_and_evidence(capsys):
    assert main(["parameters", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in listed} == set(registry())
    for row in listed:
        assert row["source"].strip(), row["name"]
        assert row["evidence"] in EVIDENCE_MEANING, row["name"]
        assert row["symbol"] == registry()[row["name"]].symbol != "", row["name"]


def test_text_and_markdown_show_the_symbol(capsys):
    assert main(["parameters", "--module", "estrogen"]) == 0
    assert "estrogen_rankl_exponent                      gamma_L " in capsys.readouterr().out
    value = registry()["estrogen_rankl_exponent"].value
    assert f"| estrogen_rankl_exponent | gamma_L | {value:.4g} |" in markdown(parameters_by_module("estrogen"))


def test_calibrated_values_are_the_ones_listed(capsys):
    table = registry()
    fitted = [p for p in table.values() if p.evidence == "C"]
    assert fitted, "the shipped calibration applies fitted values"
    main(["parameters", "--json", "--evidence", "C"])
    listed = {row["name"]: row["value"] for row in json.loads(capsys.readouterr().out)}
    assert listed == {p.name: p.value for p in fitted}


def test_unknown_module_is_refused(capsys):
    assert main(["parameters", "--module", "spleen"]) == 2
    assert "--module = 'spleen'" in capsys.readouterr().err


def test_docs_parameters_md_is_current():
    assert DOCS.read_text(encoding="utf-8") == markdown(parameters_by_module()), (
        "docs/parameters.md is stale: run `osteotwin parameters --markdown > docs/parameters.md`"
    )
