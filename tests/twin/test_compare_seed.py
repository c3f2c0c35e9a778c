"""``simulate --compare`` answers the seed question first: one sentence per option with the share of the AI loss
it prevents at each site, how sure the model is and the evidence note; AI alone keeps her diet and supplements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osteotwin.scenario import Scenario
from osteotwin.twin import compare

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "anastrozole_5y.json"


@pytest.fixture(scope="module")
def example():
    scenario = Scenario.model_validate(json.loads(EXAMPLE.read_text()))
    rows, scenarios = compare.compare(scenario)
    return scenario, {row.regimen: row for row in rows}, scenarios, compare.seed_answers(rows, scenarios)


def test_ai_alone_uses_her_own_diet_and_supplements(example):
    scenario, rows, scenarios, _ = example
    assert scenarios["AI alone"].supplements == scenario.supplements and scenarios["AI alone"].diet == scenario.diet
    assert scenarios["AI, default diet"].diet is None and scenarios["AI, default diet"].supplements is None
    # her calcium and vitamin D protect a little against the default diet (Tang 2007: calcium/vitamin D slow loss)
    assert rows["AI alone"].lumbar_spine_bmd_pct_change > rows["AI, default diet"].lumbar_spine_bmd_pct_change


def test_one_answer_per_option_with_shares_from_the_rows(example):
    _, rows, _, answers = example
    assert [a.option for a in answers] == ["Diet alone", "+ exercise", "+ a drug"]
    ai = rows["AI alone"]
    for answer in answers:
        row = rows[answer.regimen]
        expected = 100 * (row.lumbar_spine_bmd_pct_change - ai.lumbar_spine_bmd_pct_change) / -ai.lumbar_spine_bmd_pct_change
        assert answer.lumbar_spine_share_of_ai_loss_prevented_pct == pytest.approx(expected)
        assert answer.certainty in ("low", "moderate", "high") and answer.evidence and answer.option in answer.sentence
    assert answers[2].certainty == "high" and answers[1].certainty == "low"
    # a drug on top prevents more than diet and exercise alone, at both sites
    assert answers[2].total_hip_share_of_ai_loss_prevented_pct > answers[1].total_hip_share_of_ai_loss_prevented_pct


def test_output_starts_with_the_answers(example, capsys):
    scenario, *_ = example
    assert compare.run_compare(scenario) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Can diet alone protect") and lines[1].startswith("- Diet alone")
    assert compare.run_compare(scenario, as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert [a["option"] for a in data["seed_answers"]] == ["Diet alone", "+ exercise", "+ a drug"]


def test_guideline_diet_keeps_what_she_takes_above_the_targets():
    rich = Scenario.model_validate({"diet": {"calcium_mg_per_day": 1300, "protein_g_per_kg_per_day": 1.5},
                                    "supplements": {"vitamin_d_iu_per_day": 2000}})
    blocks = compare.guideline_diet(rich)
    assert blocks["supplements"]["calcium_mg_per_day"] == 0 and blocks["supplements"]["vitamin_d_iu_per_day"] == 2000
    assert blocks["diet"]["protein_g_per_kg_per_day"] == 1.5
