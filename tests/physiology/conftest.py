"""Shared fixtures of the engine tests: the registry with zero background drift."""

from __future__ import annotations

import pytest

from osteotwin.physiology.parameters import registry


@pytest.fixture(scope="session")
def params():
    return registry()


@pytest.fixture(scope="session")
def params_no_drift(params):
    """Shipped parameters with the background (untreated) drift switched off."""
    return params.with_values(menopause_rankl_drive=0.0, age_rankl_drive_per_decade=0.0, menopause_set_point_decline=0.0,
                              lumbar_spine_set_point_decline_per_year=0.0, total_hip_set_point_decline_per_year=0.0)
