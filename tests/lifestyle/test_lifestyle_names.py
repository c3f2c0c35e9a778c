"""Medication and dislike names are checked against the catalog and the USDA data, with suggestions."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from osteotwin.errors import InputError
from osteotwin.lifestyle import make_plan
from osteotwin.lifestyle.names import MEDICATIONS, check_dislike, check_medication, check_medications

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"


@pytest.mark.parametrize(("typed", "meant"), [("warfarine", "warfarin"), ("omeprazol", "omeprazole"),
                                              ("anastrazole", "anastrozole"), ("denosumb", "denosumab")])
def test_a_near_miss_medication_is_refused_with_a_suggestion(typed, meant):
    with pytest.raises(InputError) as error:
        check_medication(typed)
    assert error.value.value == typed and f"did you mean {meant}?" in error.value.allowed


def test_medication_names_are_normalised_and_unknown_ones_refused_with_the_list():
    assert check_medications(["Zoledronic acid", "LETROZOLE", "letrozole"]) == ["zoledronic_acid", "letrozole"]
    with pytest.raises(InputError) as error:
        check_medications(["anastrozole", "metformin"])
    assert error.value.field == "medications[2]" and "did you mean" not in error.value.allowed
    assert "warfarin" in error.value.allowed and "leave them out" in error.value.allowed
    assert {"anastrozole", "denosumab", "warfarin", "omeprazole", "hydrochlorothiazide"} <= set(MEDICATIONS)


@pytest.mark.parametrize(("typed", "meant"), [("brocoli", "broccoli"), ("yoghurt", "yogurt"), ("sardins", "sardine")])
def test_a_near_miss_dislike_is_refused_with_a_suggestion(typed, meant):
    with pytest.raises(InputError) as error:
        check_dislike(typed)
    assert f"did you mean {meant!r}?" in error.value.allowed


def test_known_dislikes_pass_and_nonsense_is_refused():
    assert check_dislike(" Greek yogurt ") == "Greek yogurt"
    assert check_dislike("sardines") == "sardines"
    with pytest.raises(InputError) as error:
        check_dislike("xyzzy")
    assert "no USDA food description has the word 'xyzzy'" in error.value.allowed


def test_the_planner_refuses_a_misspelled_warfarin_instead_of_dropping_its_vitamin_k_rule():
    profile = json.loads((EXAMPLES / "vegan_low_spine.json").read_text(encoding="utf-8"))
    right = make_plan(profile)
    assert any("warfarin" in w for w in right.warnings)
    with pytest.raises(InputError) as error:
        make_plan({**profile, "medications": ["anastrozole", "warfarine"]})
    assert error.value.field == "medications[2]" and "did you mean warfarin?" in error.value.allowed
    with pytest.raises(InputError) as error:
        make_plan({**profile, "dislikes": ["tofuu"]})
    assert error.value.field == "dislikes[1]" and "did you mean 'tofu'?" in error.value.allowed


def test_cli_plan_exits_2_naming_the_field_and_the_suggestion(tmp_path):
    profile = json.loads((EXAMPLES / "vegan_low_spine.json").read_text(encoding="utf-8"))
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({**profile, "medications": ["warfarine"]}), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "osteotwin.cli", "plan", str(path)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert "medications[1] = 'warfarine': did you mean warfarin?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
