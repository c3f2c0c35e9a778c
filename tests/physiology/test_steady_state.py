"""The untreated postmenopausal reference is an exact steady state of the engine."""

from __future__ import annotations

import numpy as np

from osteotwin.physiology import engine
from osteotwin.physiology import system as sy
from osteotwin.physiology.spec import P, S


def test_reference_state_has_zero_derivative(params):
    vector = sy.pack_parameters(params)
    y = sy.reference_state(vector)
    derivative = sy.core_derivative(y, vector, sy.baseline_inputs())
    osteomorphs = [s * sy.N_SITE_STATES + k for s in range(len(sy.SITES)) for k in (S.osteomorphs_pM, S.primed_rankl_source_relative)]
    assert np.all(y[osteomorphs] == 0.0) and np.all(derivative[osteomorphs] == 0.0)  # no denosumab: no osteomorphs, no primed RANKL source
    others = np.setdiff1d(np.arange(y.size), osteomorphs)
    assert np.max(np.abs(derivative[others]) / y[others]) < 1e-12


def test_reference_reproduces_martinez_reina_signals(params):
    """Derived RANKL and OPG equal the steady state of Martinez-Reina & Pivonka, Biomech Model Mechanobiol 2019 (0.704 pM, 1.65e4 pM)."""
    vector = sy.pack_parameters(params)
    assert abs(vector[P.reference_rankl_pM] - 0.704) < 0.005
    assert abs(vector[P.reference_opg_pM] / 1.65e4 - 1) < 0.01
    assert abs(vector[P.reference_osteoblasts_pM] / 5e-4 - 1) < 1e-3


def test_engine_holds_baseline_for_ten_years_without_drift(params_no_drift):
    arrays = engine.untreated_arrays(2, 120, age_years=60.0, years_since_menopause=15.0)
    out = engine.run(arrays, params=params_no_drift)
    for name in engine.DEFAULT_OUTPUTS:
        assert np.max(np.abs(out[name] - 1.0)) < 1e-9, name


def test_untreated_women_lose_bone_slowly(params):
    """At 64, 15 y past menopause: the hip loses slowly; measured spine BMD is about stable (the calibrated
    age term acts at the hip: spine DXA in older women is raised by degenerative change, background.py)."""
    arrays = engine.untreated_arrays(1, 60, age_years=64.0, years_since_menopause=15.0)
    out = engine.run(arrays, params=params)
    spine = 100 * (out["lumbar_spine_bmd_relative"][0, 60] - 1)
    hip = 100 * (out["total_hip_bmd_relative"][0, 60] - 1)
    assert -6.0 < hip < -0.5
    assert -6.0 < spine < 0.5
