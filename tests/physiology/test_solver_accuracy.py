"""The engine's adaptive production/loss scheme against SciPy Radau at tight tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from osteotwin.physiology import engine, estrogen, reference


def _arrays():
    arrays = engine.untreated_arrays(3, 120)  # 10 years: the horizon the benchmark and docs state accuracy for
    arrays.endocrine_code[:36, 0] = estrogen.ENDOCRINE_DRUG_CODES["anastrozole"]
    arrays.endocrine_code[:, 1] = estrogen.ENDOCRINE_DRUG_CODES["letrozole"]
    schedule = engine.DoseSchedule.from_items([
        [],
        [("denosumab", 60.0, 182.625, 0.0, 24 * 30.4375, engine.NO_RULE, 0.0)],
        [("zoledronic_acid", 4.0, 182.625, 0.0, 1e9, engine.NO_RULE, 0.0)],
    ])
    return engine.PatientArrays(**{**arrays.__dict__, "schedule": schedule})


@pytest.mark.slow
def test_engine_matches_radau(params):
    arrays = _arrays()
    fast = engine.run(arrays, params=params, outputs=("lumbar_spine_bmd_relative", "total_hip_bmd_relative",
                                                      "lumbar_spine_resorption_relative"))
    for patient in range(3):
        ref = reference.simulate_one(arrays, patient, params=params, rtol=1e-9, atol=1e-13)
        for site in ("lumbar_spine", "total_hip"):
            error_pp = 100 * np.max(np.abs(fast[f"{site}_bmd_relative"][patient] - ref[f"{site}_bmd_relative"]))
            assert error_pp < 0.1, (patient, site, error_pp)
        resorption_error = np.max(np.abs(fast["lumbar_spine_resorption_relative"][patient] - ref["lumbar_spine_resorption_relative"]))
        assert resorption_error < 0.01
