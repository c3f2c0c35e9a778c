"""Targets by age, each with a source; upper limits flagged."""

import pytest

from osteotwin.errors import InputError
from osteotwin.lifestyle import targets_for
from osteotwin.lifestyle.targets import upper_limit_warnings


def _by(targets):
    return {t.nutrient: t for t in targets}


def test_targets_for_a_62_year_old_woman():
    targets = _by(targets_for(62, 60))
    assert targets["calcium_mg"].amount == 1200 and targets["calcium_mg"].upper_limit == 2000
    assert targets["vitamin_d_iu"].amount == 800 and targets["vitamin_d_iu"].upper_limit == 4000
    assert targets["magnesium_mg"].amount == 320 and targets["magnesium_mg"].upper_limit_scope == "supplements"
    assert targets["vitamin_k_ug"].amount == 90 and targets["vitamin_k_ug"].upper_limit is None
    assert targets["protein_g"].amount == pytest.approx(60.0)
    assert targets["fiber_g"].amount == 21
    assert all(t.source and t.evidence for t in targets.values())


def test_targets_change_with_age():
    young = _by(targets_for(40, 70))
    assert young["calcium_mg"].amount == 1000 and young["calcium_mg"].upper_limit == 2500
    assert young["vitamin_d_iu"].amount == 600
    assert young["fiber_g"].amount == 25
    assert young["protein_g"].amount == pytest.approx(56.0)  # 0.8 g/kg RDA
    assert young["protein_g"].evidence == "[S]"
    assert _by(targets_for(40, 70, on_aromatase_inhibitor=True))["vitamin_d_iu"].amount == 800
    assert _by(targets_for(25, 60))["magnesium_mg"].amount == 310
    assert _by(targets_for(70, 50))["protein_g"].amount == pytest.approx(50.0)


def test_upper_limits_are_flagged():
    targets = targets_for(62, 60)
    warnings = upper_limit_warnings(targets, {"calcium_mg": 1500, "vitamin_d_iu": 400},
                                    {"calcium_mg": 1000, "vitamin_d_iu": 4000, "magnesium_mg": 400})
    text = " ".join(warnings)
    assert "calcium_mg: 2500" in text and "vitamin_d_iu: 4400" in text and "magnesium_mg: 400" in text
    assert upper_limit_warnings(targets, {"calcium_mg": 1900, "magnesium_mg": 900}, {"magnesium_mg": 300}) == []


def test_invalid_input_refused():
    with pytest.raises(InputError):
        targets_for(10, 60)
    with pytest.raises(InputError):
        targets_for(60, 5)
    with pytest.raises(InputError):
        targets_for(60, 60, sex="male")
