"""Bone drugs wired into the engine: coupling functions, dosing events, rebound, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from osteotwin import simulate
from osteotwin.errors import InputError
from osteotwin.physiology import drug_kernels as dk
from osteotwin.physiology import drugs, engine
from osteotwin.physiology.solve import DAYS_PER_MONTH

M = DAYS_PER_MONTH


def test_numba_observables_equal_drugs_module(params):
    rng = np.random.default_rng(1)
    states = rng.uniform(0, 50, size=(drugs.N_DRUG_STATES, 5))
    values = params.values_dict()
    vector = dk.pack_drug_parameters(values)
    inhibition = drugs.bisphosphonate_resorption_inhibition(states, values)
    rankl_inhibition = drugs.denosumab_rankl_inhibition(states, values)
    serum = drugs.denosumab_serum_ug_per_ml(states, values)
    for i in range(5):
        assert dk.bisphosphonate_inhibition(states[:, i].copy(), vector) == pytest.approx(inhibition[i], rel=1e-12)
        assert dk.denosumab_inhibition(states[:, i].copy(), vector) == pytest.approx(rankl_inhibition[i], rel=1e-12)
        assert dk.denosumab_serum_ug_per_ml(states[:, i].copy(), vector) == pytest.approx(serum[i], rel=1e-12)


def _run(items_per_patient, months=48, outputs=("lumbar_spine_bmd_relative", "lumbar_spine_resorption_relative",
                                                 "denosumab_serum_ug_per_ml", "bisphosphonate_resorption_inhibition")):
    n = len(items_per_patient)
    arrays = engine.untreated_arrays(n, months, age_years=70, years_since_menopause=20)
    arrays = engine.PatientArrays(**{**arrays.__dict__, "schedule": engine.DoseSchedule.from_items(items_per_patient)})
    return engine.run(arrays, outputs=outputs)


def test_denosumab_stop_rebounds_and_zoledronic_acid_stop_does_not():
    out = _run([
        [("denosumab", 60.0, 6 * M, 0.0, 24 * M, engine.NO_RULE, 0.0)],  # 4 doses, last at month 18
        [("zoledronic_acid", 5.0, 12 * M, 0.0, 24 * M, engine.NO_RULE, 0.0)],  # 2 doses
        [],
    ])
    ctx = out["lumbar_spine_resorption_relative"]
    bmd = out["lumbar_spine_bmd_relative"]
    # denosumab: turnover overshoots baseline after the drug is cleared, and the gain is given back
    assert ctx[0, 3] < 0.5 and ctx[0, 9] < 0.5  # suppressed within each dosing interval
    # ... and still at its end, just before the next dose (Prolia label 12.2: CTX >= 45% below baseline): no saw-tooth
    assert ctx[0, [6, 12, 18, 24]].max() < 0.55
    assert ctx[0, 24:36].max() > 1.3  # overshoot: osteomorphs re-fuse once the drug is cleared (cells.py)
    gain_at_stop = bmd[0, 24] - 1
    assert gain_at_stop > 0.02
    # the phase-2 trial gives back nearly all of it within 12 months (S3-026/S3-027)
    assert bmd[0, 36] - 1 < 0.4 * gain_at_stop and bmd[0, 48] - 1 < 0.3 * gain_at_stop
    # zoledronic acid: no overshoot, most of the gain kept a year after the last dose period
    assert ctx[1, 24:48].max() < 1.0
    assert bmd[1, 36] - 1 > 0.9 * (bmd[1, 24] - 1) > 0


def test_irregular_dose_times_are_honoured():
    out = _run([
        [("denosumab", 60.0, 0.0, 0.0, np.inf, engine.NO_RULE, 0.0), ("denosumab", 60.0, 0.0, 7.3 * M, np.inf, engine.NO_RULE, 0.0),
         ("denosumab", 60.0, 0.0, 16.9 * M, np.inf, engine.NO_RULE, 0.0)],
        [("denosumab", 60.0, 0.0, 0.0, np.inf, engine.NO_RULE, 0.0)],
    ], months=24)
    serum = out["denosumab_serum_ug_per_ml"]
    assert serum[0, 8] > 1.0 and serum[1, 8] < 0.1  # the dose at month 7.3 is seen at month 8
    assert serum[0, 16] < 0.5 < serum[0, 17]  # the dose at month 16.9 is absent at 16 and present at 17
    assert serum[1, 17] < 0.01


def test_weekly_oral_doses_accumulate_bone_bound_drug():
    out = _run([[("alendronate", 70.0, 7.0, 0.0, np.inf, engine.NO_RULE, 0.0)]], months=24,
               outputs=("drug_alendronate_surface_umol", "drug_alendronate_buried_umol", "bisphosphonate_resorption_inhibition"))
    buried = out["drug_alendronate_buried_umol"][0]
    assert np.all(np.diff(buried[1:]) > 0)
    assert out["bisphosphonate_resorption_inhibition"][0, 12] > 0.2


def test_rule_triggered_start_waits_for_the_threshold():
    arrays = engine.untreated_arrays(2, 36, endocrine_code=2)  # letrozole
    arrays.baseline_bmd_g_cm2[0, :] = [0.830, 1.0]  # spine T about -1.9 and +0.3
    schedule = engine.DoseSchedule.from_items([[("zoledronic_acid", 4.0, 6 * M, 0.0, np.inf, 0, -2.0)]] * 2)
    arrays = engine.PatientArrays(**{**arrays.__dict__, "schedule": schedule})
    out = engine.run(arrays, outputs=("bisphosphonate_resorption_inhibition",))
    started = out["bisphosphonate_resorption_inhibition"] > 0
    assert started[0].any() and not started[0, 0]
    assert not started[1].any()


def test_invalid_doses_are_refused_and_unusual_doses_warned():
    with pytest.raises(InputError) as error:
        drugs.apply_dose(np.zeros((drugs.N_DRUG_STATES, 1)), 0, "denosumab", -5.0)
    assert error.value.field == "dose_mg"
    with pytest.raises(KeyError):
        engine.DoseSchedule.from_items([[("unobtainium", 5.0, 0, 0, np.inf, -1, 0)]])
    trajectory = simulate({"months": 12, "bone_agents": [{"drug": "zoledronic_acid", "dose_mg": 40, "every_months": 12}]})
    assert any("far outside" in w for w in trajectory.warnings)
    with pytest.raises(InputError):
        simulate({"months": 12, "bone_agents": [{"drug": "zoledronic_acid", "dose_mg": 999, "every_months": 12}]})


def test_trajectory_carries_drug_outputs():
    trajectory = simulate({"months": 12, "bone_agents": [{"drug": "denosumab", "every_months": 6}]})
    extra = trajectory.model_extra
    assert max(extra["denosumab_serum_ug_per_ml"]) > 1.0
    assert "zoledronic_acid_bone_buried_umol" in extra
