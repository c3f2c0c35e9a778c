"""Estradiol per patient and the effect of removing estrogen."""

from __future__ import annotations

import numpy as np

from osteotwin.physiology import background, engine, estrogen

CODES = estrogen.ENDOCRINE_DRUG_CODES


def test_letrozole_suppresses_estradiol_more_than_anastrozole(params):
    codes = np.array([CODES["none"], CODES["anastrozole"], CODES["letrozole"], CODES["exemestane"], CODES["tamoxifen"]])
    e2 = estrogen.serum_estradiol_pg_ml(codes, np.ones(5), params)
    none, ana, let, exe, tam = e2
    assert let < ana < none
    assert abs(ana / none - 0.101) < 1e-9 and abs(let / none - 0.059) < 1e-9  # Dixon 2008
    assert exe < none and tam == none


def test_adherence_interpolates_estradiol(params):
    e2 = estrogen.serum_estradiol_pg_ml(np.array([1, 1, 1]), np.array([0.0, 0.5, 1.0]), params)
    assert e2[0] > e2[1] > e2[2]
    assert abs(e2[0] - params.value("estradiol_postmenopausal_pg_ml")) < 1e-12


def test_adherence_is_exposure(params):
    """Each multiplier is the days-weighted mean of its on- and off-drug values (estrogen.exposure_multipliers)."""
    codes = np.full(3, CODES["letrozole"])
    multipliers = estrogen.exposure_multipliers(codes, np.array([0.0, 0.5, 1.0]), params)
    on_drug = estrogen.estrogen_multipliers(estrogen.estrogen_ratio(estrogen.bone_estradiol_pg_ml(codes[:1], np.ones(1), params), params), params)
    for name, value in multipliers.items():
        assert value[0] == 1.0 and abs(value[2] - on_drug[name][0]) < 1e-12
        assert abs(value[1] - 0.5 * (1.0 + on_drug[name][0])) < 1e-12


def _run(params, code, months=36, stop=None):
    arrays = engine.untreated_arrays(1, months, endocrine_code=code)
    if stop is not None:
        arrays.endocrine_code[stop:, 0] = 0
    return engine.run(arrays, params=params, outputs=("rankl_opg_ratio_relative", "lumbar_spine_resorption_relative",
                                                     "lumbar_spine_bmd_relative", "estradiol_pg_ml"))


def test_estrogen_removal_raises_rankl_opg_and_resorption(params_no_drift):
    untreated = _run(params_no_drift, CODES["none"])
    ai = _run(params_no_drift, CODES["letrozole"])
    assert np.allclose(untreated["rankl_opg_ratio_relative"], 1.0)
    assert np.all(ai["rankl_opg_ratio_relative"][0, 1:] > 1.2)
    assert np.all(ai["lumbar_spine_resorption_relative"][0, 3:] > 1.05)
    assert ai["lumbar_spine_bmd_relative"][0, -1] < 0.97


def test_letrozole_loses_at_least_as_much_bone_as_anastrozole(params):
    ana = _run(params, CODES["anastrozole"])["lumbar_spine_bmd_relative"][0, -1]
    let = _run(params, CODES["letrozole"])["lumbar_spine_bmd_relative"][0, -1]
    assert let < ana


def test_tamoxifen_is_an_agonist_on_bone(params):
    assert _run(params, CODES["tamoxifen"])["lumbar_spine_bmd_relative"][0, -1] > 1.0


def test_estradiol_returns_after_stopping(params):
    out = _run(params, CODES["anastrozole"], months=36, stop=24)
    e2 = out["estradiol_pg_ml"][0]
    assert e2[12] < 1.0 and abs(e2[30] - params.value("estradiol_postmenopausal_pg_ml")) < 1e-9
    assert out["rankl_opg_ratio_relative"][0, 30] < out["rankl_opg_ratio_relative"][0, 12]


def test_background_drive_follows_the_transmenopausal_estradiol_fall(params):
    """Zero long before the FMP, largest shortly after it, then fading (background.py)."""
    years = np.array([-8.0, -3.0, -1.0, 0.0, 1.0, 2.0, 5.0, 10.0, 30.0])
    x = background.unadapted_estradiol_fall(years, params)
    assert np.all((x >= 0.0) & (x <= 1.0))
    assert x[0] < 1e-3 and x[1] < x[2] < x[3] < x[4]
    fine = np.linspace(-5.0, 20.0, 2501)
    peak = fine[np.argmax(background.unadapted_estradiol_fall(fine, params))]
    assert 0.0 < peak < 6.0  # after the FMP (the fall is centred at or after it), then adaptation wins
    assert x[6] > x[7] > x[8]
    # as the adaptation time grows, x tends to the estradiol fall itself (a cumulative normal, 1 long after the FMP)
    centre, width = params.value("estradiol_fall_centre_years_since_fmp"), params.value("estradiol_fall_width_years")
    no_adaptation = background._unadapted_estradiol_fall(np.array([centre, centre + 3 * width]), centre, width, 1e9)
    assert abs(no_adaptation[0] - 0.5) < 1e-6 and abs(no_adaptation[1] - 0.99865) < 1e-4  # Phi(0), Phi(3)


def test_background_age_term_accelerates(params):
    ages = np.array([60.0, 70.0, 80.0, 90.0])
    drive = background.background_rankl_drive(np.full(4, 40.0), ages, params.with_values(menopause_rankl_drive=0.0))
    steps = np.diff(drive)
    assert drive[0] >= 0.0 and np.all(steps > 0.0) and steps[2] > steps[1] > steps[0]


def test_no_drift_parameters_remove_the_background(params_no_drift):
    drive = background.background_rankl_drive(np.array([-2.0, 0.5, 15.0]), np.array([49.0, 52.0, 90.0]), params_no_drift)
    assert np.all(drive == 0.0)
