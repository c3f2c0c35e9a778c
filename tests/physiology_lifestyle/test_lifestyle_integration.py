"""Integrated behaviour of the lifestyle modules through ``osteotwin.simulate_batch`` ("Done when")."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osteotwin import simulate_batch
from osteotwin.physiology.lifestyle import lifestyle_drives
from osteotwin.physiology.options import EngineOptions
from osteotwin.scenario import Scenario
from osteotwin.twin.lifestyle_inputs import lifestyle_inputs

PATIENT = {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162,
           "lumbar_spine_t_score": -1.2, "total_hip_t_score": -0.8}
AI = [{"drug": "anastrozole", "start_month": 0}]
SITES = ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change")


def scenario(months: float = 24, patient: dict | None = None, **blocks) -> Scenario:
    return Scenario.model_validate({"patient": {**PATIENT, **(patient or {})}, "months": months, **blocks})


def end(trajectory, field: str) -> float:
    return float(getattr(trajectory, field)[-1])


class Runs:
    """Scenarios of the deterministic tests, simulated together once (the engine is shared)."""

    def __init__(self) -> None:
        self.named: dict[str, Scenario] = {}

    def add(self, name: str, s: Scenario) -> None:
        self.named[name] = s

    def run(self) -> dict[str, object]:
        return dict(zip(self.named, simulate_batch(list(self.named.values())), strict=True))


EXERCISE_BASE = {"walking_minutes_per_week": 60, "impact_sessions_per_week": 1, "resistance_sessions_per_week": 1,
                 "resistance_intensity": "moderate"}
EXERCISE_MORE = {"walking": ("walking_minutes_per_week", 120), "impact": ("impact_sessions_per_week", 3),
                 "resistance": ("resistance_sessions_per_week", 2)}
SUPPLEMENTS = {"calcium_mg_per_day": 1000, "vitamin_d_iu_per_day": 1000}
DEFICIENT = {"patient": {"serum_25ohd_ng_ml": 9}, "diet": {"calcium_mg_per_day": 400, "vitamin_d_iu_per_day": 100}}
REPLETE = {"patient": {"serum_25ohd_ng_ml": 32}, "diet": {"calcium_mg_per_day": 1100, "vitamin_d_iu_per_day": 400}}
LOWER_BMD = {"lumbar_spine_t_score": -2.4, "total_hip_t_score": -2.0}
OLDER = {"age_years": 78, "years_since_menopause": 26}


@pytest.fixture(scope="module")
def runs() -> dict[str, object]:
    r = Runs()
    for label, therapy in (("none", []), ("ai", AI)):
        r.add(f"exercise base {label}", scenario(24, exercise=EXERCISE_BASE, endocrine_therapy=therapy))
        for name, (field, step) in EXERCISE_MORE.items():
            r.add(f"exercise {name} {label}", scenario(24, exercise={**EXERCISE_BASE, field: EXERCISE_BASE[field] + step},
                                                       endocrine_therapy=therapy))
        r.add(f"exercise high {label}", scenario(24, exercise={**EXERCISE_BASE, "resistance_intensity": "high"},
                                                 endocrine_therapy=therapy))
    for label, person in (("deficient", DEFICIENT), ("replete", REPLETE)):
        r.add(f"{label}", scenario(24, patient=person["patient"], diet=person["diet"], endocrine_therapy=AI))
        r.add(f"{label} supplemented", scenario(24, patient=person["patient"], diet=person["diet"], supplements=SUPPLEMENTS,
                                                endocrine_therapy=AI))
    r.add("ai", scenario(24, endocrine_therapy=AI))
    r.add("ai lower bmd", scenario(24, patient=LOWER_BMD, endocrine_therapy=AI))
    r.add("ai older", scenario(24, patient=OLDER, endocrine_therapy=AI))
    r.add("ai older balance", scenario(24, patient=OLDER, endocrine_therapy=AI, exercise={"balance_sessions_per_week": 6}))
    return r.run()


def test_scenario_without_lifestyle_blocks_has_every_drive_at_one():
    drives = lifestyle_drives(lifestyle_inputs([scenario(), scenario(endocrine_therapy=AI)]), EngineOptions())
    for name in ("loading_stimulus_relative", "pth_relative", "gut_barrier_relative", "formation_relative"):
        assert np.all(getattr(drives, name) == 1.0), name


def test_trajectory_carries_the_extra_outputs_and_names_the_fracture_model(runs):
    trajectory = runs["ai"]
    extra = trajectory.model_extra
    for field in ("serum_25ohd_ng_ml", "pth_pct_change", "lean_mass_kg", "strength_pct_change", "falls_per_year",
                  "major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct", "any_clinical_fracture_10y_pct"):
        assert len(extra[field]) == 25, field
    assert "QFracture" in extra["fracture_risk_model"] and "Johnell 2005" in extra["fracture_risk_model"]
    assert "van Geel 2006" in extra["any_clinical_fracture_model"] and "[D]" in extra["any_clinical_fracture_model"]
    # any clinical fracture (all sites) is more likely than a major osteoporotic one at every month
    assert np.all(np.asarray(extra["any_clinical_fracture_10y_pct"]) > np.asarray(extra["major_osteoporotic_fracture_10y_pct"]))
    assert any("animal" in note for note in extra["evidence_notes"])
    # AI: risk rises as BMD falls
    assert extra["major_osteoporotic_fracture_10y_pct"][-1] > extra["major_osteoporotic_fracture_10y_pct"][0]


DOSE_FIELDS = ("walking_minutes_per_week", "impact_sessions_per_week", "resistance_sessions_per_week")

# "Never lowers" up to 1e-3 percentage points (DXA precision is ~1%, 1000x larger): Trajectory values
# are rounded to 1e-6; a barely supra-threshold load gives a transient of ~1e-5 pp through the core's
# Pivonka coupling (RANKL on osteoblast precursors); and when the core's hip is (nearly) insensitive to
# load, a stronger spine stimulus moves hip BMD by ~1e-4 pp through terms the two sites share.
MONOTONE_TOLERANCE_PP = 1e-3


def test_more_loading_never_lowers_bmd_at_the_loaded_site(runs):
    for label in ("none", "ai"):
        base = runs[f"exercise base {label}"]
        for name in (*EXERCISE_MORE, "high"):
            more = runs[f"exercise {name} {label}"]
            for site in SITES:
                assert np.all(np.asarray(getattr(more, site)) >= np.asarray(getattr(base, site)) - MONOTONE_TOLERANCE_PP), (
                    name, site)
        # one weekly session at high instead of moderate intensity (LIFTMOR) raises spine BMD, on an AI too; its size
        # is the calibration's (mechanics.resistance_intensity_scale_moderate, fitted ~0.8 of high)
        assert end(runs[f"exercise high {label}"], SITES[0]) - end(base, SITES[0]) > 0.1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(
    st.floats(0, 600), st.floats(0, 7), st.floats(0, 5), st.sampled_from(["low", "moderate", "high"]),
    st.sampled_from(DOSE_FIELDS), st.floats(0.5, 4.0)), min_size=3, max_size=6))
def test_property_adding_any_exercise_dose_never_lowers_bmd(regimens):
    scenarios = []
    for walking, impact, resistance, intensity, field, factor in regimens:
        low = {"walking_minutes_per_week": walking, "impact_sessions_per_week": impact,
               "resistance_sessions_per_week": resistance, "resistance_intensity": intensity}
        high = {**low, field: min(low[field] + factor * (1.0 + low[field]), {"walking_minutes_per_week": 3000,
                                                              "impact_sessions_per_week": 21,
                                                              "resistance_sessions_per_week": 14}[field])}
        scenarios += [scenario(12, exercise=low, endocrine_therapy=AI), scenario(12, exercise=high, endocrine_therapy=AI)]
    trajectories = simulate_batch(scenarios)
    loading = lifestyle_drives(lifestyle_inputs(scenarios), EngineOptions()).loading_stimulus_relative
    for k, (less, more) in enumerate(zip(trajectories[::2], trajectories[1::2], strict=True)):
        for index, site in enumerate(SITES):
            assert loading[index, 2 * k + 1] >= loading[index, 2 * k]  # the drive itself is monotone
            if loading[index, 2 * k + 1] > loading[index, 2 * k]:  # the loaded site(s)
                assert np.all(np.asarray(getattr(more, site)) >= np.asarray(getattr(less, site)) - MONOTONE_TOLERANCE_PP)


def test_calcium_vitamin_d_repletion_helps_a_deficient_patient_more_than_a_replete_one(runs):
    for site in SITES:
        gain_deficient = end(runs["deficient supplemented"], site) - end(runs["deficient"], site)
        gain_replete = end(runs["replete supplemented"], site) - end(runs["replete"], site)
        assert gain_deficient > gain_replete > 0, site
    # secondary hyperparathyroidism in the deficient patient, corrected by repletion
    pth = {name: runs[name].model_extra["pth_pct_change"][-1] for name in ("deficient", "deficient supplemented")}
    assert pth["deficient"] > 20
    assert pth["deficient supplemented"] < pth["deficient"] - 15
    assert runs["deficient supplemented"].model_extra["serum_25ohd_ng_ml"][-1] > runs["deficient"].model_extra["serum_25ohd_ng_ml"][-1]


def test_gut_module_off_changes_nothing_else():
    busy = {"diet": {"calcium_mg_per_day": 600, "protein_g_per_kg_per_day": 1.4}, "supplements": {"vitamin_d_iu_per_day": 800},
            "exercise": {"walking_minutes_per_week": 150, "resistance_sessions_per_week": 2}}
    inputs = lifestyle_inputs([scenario(**busy, gut={"probiotic": True}), scenario(**busy)])
    on, off = lifestyle_drives(inputs, EngineOptions()), lifestyle_drives(inputs, EngineOptions(gut_axis=False))
    for name in ("loading_stimulus_relative", "pth_relative", "formation_relative"):
        np.testing.assert_array_equal(getattr(on, name), getattr(off, name))
    assert np.all(off.gut_barrier_relative == 1.0) and on.gut_barrier_relative[0] < 1.0
    # Without estrogen deprivation and without a gut intervention the gut route is exactly neutral.
    no_ai = [scenario(12, **busy)]
    # On an AI the gut route adds loss; switched off, the probiotic does nothing.
    with_ai = [scenario(12, **busy, endocrine_therapy=AI), scenario(12, **busy, endocrine_therapy=AI, gut={"probiotic": True})]
    on_ai = list(simulate_batch(no_ai + with_ai, options=EngineOptions()))
    off_ai = list(simulate_batch(no_ai + with_ai, options=EngineOptions(gut_axis=False)))
    a, b = on_ai.pop(0), off_ai.pop(0)
    assert end(off_ai[0], SITES[0]) > end(on_ai[0], SITES[0])
    assert end(on_ai[1], SITES[0]) > end(on_ai[0], SITES[0])
    np.testing.assert_allclose(off_ai[0].lumbar_spine_bmd_pct_change, off_ai[1].lumbar_spine_bmd_pct_change, atol=1e-12)
    for field in (*SITES, "ctx_pct_change", "serum_25ohd_ng_ml", "pth_pct_change", "falls_per_year"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=0, atol=1e-12)


def test_fracture_risk_rises_with_lower_bmd_and_with_falls(runs):
    for field in ("major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct", "any_clinical_fracture_10y_pct"):
        assert np.all(np.asarray(runs["ai lower bmd"].model_extra[field]) > np.asarray(runs["ai"].model_extra[field]))
        # balance training: fewer falls, lower risk at every month after month 0 (her state before the programme)
        older, balance = runs["ai older"].model_extra, runs["ai older balance"].model_extra
        assert np.all(np.asarray(balance["falls_per_year"][1:]) < np.asarray(older["falls_per_year"][1:]))
        assert np.all(np.asarray(balance[field][1:]) < np.asarray(older[field][1:]))
        assert balance[field][0] == older[field][0]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({
    "diet": st.fixed_dictionaries({"calcium_mg_per_day": st.floats(0, 3000), "vitamin_d_iu_per_day": st.floats(0, 5000),
                                   "protein_g_per_kg_per_day": st.floats(0, 3), "fiber_g_per_day": st.floats(0, 60)}),
    "supplements": st.fixed_dictionaries({"calcium_mg_per_day": st.floats(0, 1500), "vitamin_d_iu_per_day": st.floats(0, 4000),
                                          "vitamin_k2_ug_per_day": st.floats(0, 500)}),
    "exercise": st.fixed_dictionaries({"walking_minutes_per_week": st.floats(0, 900), "impact_sessions_per_week": st.floats(0, 7),
                                       "resistance_sessions_per_week": st.floats(0, 5),
                                       "resistance_intensity": st.sampled_from(["low", "moderate", "high"]),
                                       "balance_sessions_per_week": st.floats(0, 7)}),
    "gut": st.fixed_dictionaries({"probiotic": st.booleans()}),
}), min_size=2, max_size=5))
def test_property_random_valid_regimens_give_finite_bounded_outputs(regimens):
    scenarios = [scenario(6, endocrine_therapy=AI, **r) for r in regimens]
    drives = lifestyle_drives(lifestyle_inputs(scenarios), EngineOptions())
    assert np.all(drives.loading_stimulus_relative >= 1.0)
    assert np.all((drives.pth_relative > 0.2) & (drives.pth_relative < 5.0))
    assert np.all((drives.gut_barrier_relative > 0.0) & (drives.gut_barrier_relative <= 1.0))
    assert np.all(np.abs(drives.formation_relative - 1.0) < 0.06)
    for trajectory in simulate_batch(scenarios):
        extra = trajectory.model_extra
        for field in SITES:
            assert np.all(np.isfinite(getattr(trajectory, field)))
        for field in ("major_osteoporotic_fracture_10y_pct", "hip_fracture_10y_pct"):
            values = np.asarray(extra[field])
            assert np.all((values > 0.0) & (values < 100.0))
        assert np.all(np.asarray(extra["falls_per_year"]) > 0)
        assert np.all(np.asarray(extra["serum_25ohd_ng_ml"]) > 0)
        assert np.all(np.asarray(extra["lean_mass_kg"]) > 0)


@pytest.mark.parametrize("json_flag", [False, True])
def test_compare_command_prints_each_regimen(tmp_path, capsys, json_flag):
    import json

    from osteotwin.cli import main

    path = tmp_path / "s.json"
    path.write_text(json.dumps({"patient": PATIENT, "months": 12, "endocrine_therapy": AI}))
    assert main(["simulate", str(path), "--compare", *(["--json"] if json_flag else [])]) == 0
    out = capsys.readouterr().out
    if json_flag:
        data = json.loads(out)
        names = [row["regimen"] for row in data["rows"]]
        assert names[0] == "AI alone" and "+ diet + exercise" in names and "+ drug" in names
        rows = {row["regimen"]: row for row in data["rows"]}
        assert rows["AI alone"]["lumbar_spine_bmd_difference_pp"] == 0.0
        assert rows["+ exercise"]["lumbar_spine_bmd_difference_pp"] > 0
        assert rows["+ diet + exercise"]["major_osteoporotic_fracture_difference_pp"] < 0
        assert "QFracture" in data["fracture_risk_model"]
    else:
        assert "AI alone" in out and "+ diet + exercise" in out and "fracture risk model" in out


def test_compare_builds_the_regimens_from_the_patient_and_respects_osteoporosis_precautions():
    from osteotwin.twin.compare import comparison_scenarios

    plain = comparison_scenarios(scenario(12))
    assert list(plain) == ["AI alone", "+ diet", "+ exercise", "+ diet + exercise", "+ drug", "+ diet + exercise + drug"]
    assert plain["AI alone"].endocrine_therapy[0].drug == "anastrozole"  # default AI when none is given
    assert plain["AI alone"].exercise is None and plain["AI alone"].bone_agents == []
    # the planner's default prescription (lifestyle/exercise.guideline_programme): supervised high intensity
    # (LIFTMOR) is an option there, not the default; impact only when no T-score is <= -2.5
    assert plain["+ exercise"].exercise.resistance_intensity == "moderate"
    assert plain["+ exercise"].exercise.impact_sessions_per_week > 0
    assert plain["+ drug"].bone_agents[0].drug == "denosumab"
    fragile = comparison_scenarios(scenario(12, patient={"lumbar_spine_t_score": -2.8}))
    assert fragile["+ exercise"].exercise.resistance_intensity == "moderate"
    assert fragile["+ exercise"].exercise.impact_sessions_per_week == 0
    own = comparison_scenarios(scenario(12, endocrine_therapy=[{"drug": "letrozole"}], supplements={"calcium_mg_per_day": 300},
                                        bone_agents=[{"drug": "alendronate", "every_days": 7}]))
    assert own["AI alone"].endocrine_therapy[0].drug == "letrozole"
    # AI alone keeps her own supplements (issue 13); + diet tops total calcium up to 1200 mg/d (800 food + 400)
    # and adds the 800 IU vitamin D supplement; a row with the default diet shows what hers already does.
    assert own["AI alone"].supplements.calcium_mg_per_day == 300
    assert own["+ diet"].supplements.calcium_mg_per_day == 400 and own["+ diet"].supplements.vitamin_d_iu_per_day == 800
    assert own["AI, default diet"].supplements is None and "AI, default diet" not in plain
    assert own["+ drug"].bone_agents[0].drug == "alendronate"
