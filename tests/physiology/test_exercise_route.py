"""The exercise route of the mechanostat: inert at habitual loading, drives the hip when loaded, plateaus."""

from __future__ import annotations

import dataclasses

import numpy as np

from osteotwin.physiology import engine

SENSITIVITIES = ("lumbar_spine_exercise_loading_sensitivity", "total_hip_exercise_loading_sensitivity")


def _run(params, months: int, hip_loading: float, endocrine_code: int = 0) -> dict[str, np.ndarray]:
    arrays = engine.untreated_arrays(1, months, age_years=64.0, years_since_menopause=15.0, endocrine_code=endocrine_code)
    loading = arrays.drives.loading_stimulus_relative.copy()
    loading[1, :] = hip_loading
    drives = dataclasses.replace(arrays.drives, loading_stimulus_relative=loading)
    return engine.run(dataclasses.replace(arrays, drives=drives), params=params)


def test_route_is_inert_at_habitual_loading(params):
    """At loading 1.0 the exercise sensitivities change nothing (ATAC, core and drug fits untouched)."""
    off = params.with_values(**{name: 0.0 for name in SENSITIVITIES})
    for code in (0, 1):
        on_out, off_out = _run(params, 60, 1.0, code), _run(off, 60, 1.0, code)
        for name in engine.DEFAULT_OUTPUTS:
            np.testing.assert_array_equal(on_out[name], off_out[name])


def test_hip_responds_to_loading_through_the_route(params):
    """A 5% hip loading rise gains hip BMD over 8 months with the calibrated route, hardly any without it."""
    off = params.with_values(**{name: 0.0 for name in SENSITIVITIES})
    base = _run(params, 8, 1.0)["total_hip_bmd_relative"][0, 8]
    gain_on = 100 * (_run(params, 8, 1.05)["total_hip_bmd_relative"][0, 8] - base)
    gain_off = 100 * (_run(off, 8, 1.05)["total_hip_bmd_relative"][0, 8] - base)
    assert gain_on > 0.5
    assert gain_off < 0.1 * gain_on


def test_exercise_gain_decelerates(params):
    """The mechanostat re-equilibrates as bone is gained: each later year adds less than the first."""
    base = _run(params, 60, 1.0)["total_hip_bmd_relative"][0]
    loaded = _run(params, 60, 1.05)["total_hip_bmd_relative"][0]
    gain = 100 * (loaded - base)
    yearly = np.diff(gain[[0, 12, 24, 36, 48, 60]])
    assert np.all(np.diff(yearly) < 0)
    assert yearly[-1] < 0.5 * yearly[0]
