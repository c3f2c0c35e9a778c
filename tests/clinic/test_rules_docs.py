"""Rules are data with sources; docs/clinic.md is generated from them and must be current."""

from __future__ import annotations

from pathlib import Path

from osteotwin.clinic.docs import render_markdown
from osteotwin.clinic.rules import FACTS, RULES, check_rules
from osteotwin.clinic.sources import SOURCES

DOC = Path(__file__).resolve().parents[2] / "docs" / "clinic.md"


def test_every_rule_has_source_strength_and_known_facts() -> None:
    check_rules()
    for rule in RULES:
        assert rule.source in SOURCES and rule.section and rule.strength and rule.text
        assert rule.evidence in {"V", "S", "ours"}
        assert rule.when.fact_names() <= set(FACTS)


def test_issue_alert_ids_are_encoded() -> None:
    alert_ids = {r.alert_id for r in RULES if r.alert_id}
    assert {"significant_bmd_loss", "annual_loss_5pct_or_more", "renal_contraindication_bisphosphonate",
            "correct_vitamin_d_before_antiresorptive", "correct_calcium_before_denosumab",
            "dental_review_before_antiresorptive", "denosumab_discontinuation_rebound"} <= alert_ids


def test_docs_are_current_and_list_every_rule() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text == render_markdown(), "docs/clinic.md is stale: run .venv/bin/python scripts/clinic_docs.py"
    for rule in RULES:
        assert f"`{rule.id}`" in text
        assert SOURCES[rule.source].short in text


def test_rules_as_data_are_json_ready() -> None:
    import json

    data = [rule.as_dict() for rule in RULES]
    json.dumps(data)
    first = data[0]
    assert first["condition"] == "on_aromatase_inhibitor and lowest_t_score < -2"
    assert first["citation"].startswith("Hadji P") and first["evidence"] == "V"
