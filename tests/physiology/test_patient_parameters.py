"""Per-patient parameters: a Scenario's ``parameters`` overrides act on that patient only.

Each override below belongs to a different part of the engine (the core's derived steady state,
the estrogen drive, denosumab PD, bisphosphonate PK, the background drive, the lifestyle loading,
the T-score reference, the fracture outcome), so a batch that mixes them proves that every part
reads the patient's own values.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from osteotwin import simulate, simulate_batch
from osteotwin.physiology import engine
from osteotwin.physiology.parameters import PatientParameters, registry

BASE = {
    "patient": {"age_years": 62, "years_since_menopause": 10, "lumbar_spine_t_score": -1.4, "total_hip_t_score": -1.0},
    "months": 36,
    "endocrine_therapy": [{"drug": "letrozole"}],
    "exercise": {"walking_minutes_per_week": 150, "resistance_sessions_per_week": 2},
}
WITH_DENOSUMAB = {**BASE, "bone_agents": [{"drug": "denosumab", "every_months": 6}]}
WITH_ZOLEDRONIC_ACID = {**BASE, "bone_agents": [{"drug": "zoledronic_acid", "every_months": 6}]}

OVERRIDES = [
    (BASE, {"lumbar_spine_turnover_scale": 0.5}),
    (BASE, {"estrogen_rankl_exponent": 0.8}),
    (WITH_DENOSUMAB, {"denosumab_rankl_ic50_ng_per_ml": 2.0}),
    (WITH_ZOLEDRONIC_ACID, {"zoledronic_acid_bone_uptake_fraction": 0.7}),
    (BASE, {"menopause_rankl_drive": 2.0, "age_rankl_drive_per_decade": 1.0}),
    (BASE, {"stimulus_gain": 1.0}),
    (BASE, {"lumbar_spine_reference_mean_g_cm2": 1.0}),
    (BASE, {"osteoporotic_fracture_gradient_of_risk_per_sd": 1.7}),
]
FIELDS = ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "lumbar_spine_t_score", "ctx_pct_change",
          "major_osteoporotic_fracture_10y_pct")


def _with(scenario: dict, overrides: dict) -> dict:
    return {**scenario, "parameters": overrides}


def test_batch_with_per_patient_overrides_equals_each_patient_alone():
    scenarios = [_with(scenario, overrides) for scenario, overrides in OVERRIDES] + [BASE, WITH_DENOSUMAB]
    batch = simulate_batch(scenarios)
    for scenario, together in zip(scenarios, batch, strict=True):
        alone = simulate(scenario)
        for field in FIELDS:
            np.testing.assert_allclose(getattr(together, field), getattr(alone, field), rtol=0, atol=1e-9, err_msg=field)


@pytest.mark.parametrize(("scenario", "overrides"), OVERRIDES, ids=[next(iter(o)) for _, o in OVERRIDES])
def test_each_override_changes_its_patient(scenario, overrides):
    changed = simulate(_with(scenario, overrides))
    reference = simulate(scenario)
    differences = [np.max(np.abs(np.subtract(getattr(changed, f), getattr(reference, f)))) for f in FIELDS]
    assert max(differences) > 1e-3, f"{overrides} left every output unchanged"


def test_override_equal_to_the_shipped_value_changes_nothing():
    name = "lumbar_spine_turnover_scale"
    same = simulate(_with(BASE, {name: registry().value(name)}))
    np.testing.assert_allclose(same.lumbar_spine_bmd_pct_change, simulate(BASE).lumbar_spine_bmd_pct_change, atol=1e-12)


def test_engine_run_takes_one_value_per_parameter_and_patient():
    """engine.run with (parameters, patients) values: a faster-turnover patient loses more on an AI."""
    arrays = engine.untreated_arrays(2, 24, endocrine_code=2)
    params = PatientParameters.uniform(registry(), 2)
    params.values[list(registry()).index("total_hip_turnover_scale"), 1] *= 1.5
    out = engine.run(arrays, params=params)
    assert out["total_hip_bmd_relative"][1, -1] < out["total_hip_bmd_relative"][0, -1] - 1e-3
    # the spine is untouched, up to the integrator's tolerance (one step size serves both sites of a patient)
    np.testing.assert_allclose(out["lumbar_spine_bmd_relative"][0], out["lumbar_spine_bmd_relative"][1], atol=1e-5)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"no_such_parameter": 1.0}, "no_such_parameter = 'no_such_parameter': a parameter name listed by `osteotwin parameters`"),
    ({"estrogen_rankl_exponent": 5.0}, "estrogen_rankl_exponent = 5.0: estrogen_rankl_exponent within its prior range 0.3 to 1.5"),
    ({"estrogen_rankl_exponent": float("nan")}, "a finite number"),
    ({"estrogen_rankl_exponent": True}, "a finite number"),
])
def test_refused_overrides_name_the_parameter_value_and_range(overrides, message):
    with pytest.raises(ValidationError) as error:
        simulate(_with(BASE, overrides))
    assert message in str(error.value)


def test_cli_refuses_an_override_outside_its_prior_range(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(_with(BASE, {"stimulus_gain": 9.0})))
    result = subprocess.run([sys.executable, "-m", "osteotwin.cli", "simulate", str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "stimulus_gain = 9.0" in result.stderr and "0.01 to 3" in result.stderr
    assert "Traceback" not in result.stderr


def test_engine_only_parameters_leave_the_lifestyle_and_outcome_modules_unchanged():
    """Patients who differ only in engine-only parameters share one pass through the lifestyle and outcome
    modules (simulation.module_groups); so each of those parameters, moved within its prior range, must not
    change what those modules compute for a patient with every lifestyle block and an AI."""
    from osteotwin.physiology.lifestyle import lifestyle_drives
    from osteotwin.physiology.options import EngineOptions
    from osteotwin.twin import outcomes
    from osteotwin.twin.lifestyle_inputs import lifestyle_inputs
    from osteotwin.twin.simulation import as_scenario, engine_only_parameters

    scenario = as_scenario({**BASE, "diet": {"calcium_mg_per_day": 700, "vitamin_d_iu_per_day": 200},
                            "supplements": {"calcium_mg_per_day": 500, "vitamin_d_iu_per_day": 800},
                            "exercise": {"walking_minutes_per_week": 150, "resistance_sessions_per_week": 2,
                                         "balance_sessions_per_week": 2},
                            "gut": {"probiotic": True, "fiber_g_per_day": 25}})
    trajectory = simulate(scenario)
    months = np.asarray(trajectory.months)
    core = {name: np.asarray(getattr(trajectory, name))[None, :] for name in (
        "lumbar_spine_t_score", "total_hip_t_score", "estradiol_pg_ml", "ctx_pct_change", "lumbar_spine_bmd_pct_change",
        "total_hip_bmd_pct_change")}
    core["estrogen_ratio"] = core["estradiol_pg_ml"] / registry().value("estradiol_postmenopausal_pg_ml")
    inputs = lifestyle_inputs([scenario])
    options = EngineOptions()

    def modules(table):
        drives = lifestyle_drives(inputs, options, table)
        extra = outcomes.extra_outputs([scenario], months, core, options, table, inputs, drives.gut_barrier_relative)
        return [drives.loading_stimulus_relative, drives.pth_relative, drives.gut_barrier_relative,
                drives.formation_relative, *extra.values()]

    reference = modules(registry())
    for name in sorted(engine_only_parameters()):
        parameter = registry()[name]
        low, high = parameter.prior_range
        moved = high if parameter.value != high else low
        if moved == parameter.value:
            continue
        for a, b in zip(reference, modules(registry().with_values(**{name: moved})), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} changes the lifestyle or outcome modules")
