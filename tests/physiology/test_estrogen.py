"""Estradiol per patient and the effect of removing estrogen."""

from __future__ import annotations

import numpy as np

from osteotwin.physiology import engine, estrogen

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
