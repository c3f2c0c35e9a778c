"""PK/PD of the bone drugs against label figures, with scipy solve_ivp as the reference integrator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from osteotwin.errors import InputError
from osteotwin.physiology import drugs
from osteotwin.physiology.parameters import PARAMETER_MODULES

PARAMS = drugs.default_params()
K = drugs.rate_constants(PARAMS)


def simulate(doses: list[tuple[float, str, float]], t_eval: np.ndarray, resorption=None, params=None) -> np.ndarray:
    """Drug states (n_states, len(t_eval)) for one patient: doses (day, drug, mg) as events, LSODA between.

    ``resorption``: None = baseline (1.0); a float = constant; "closed_loop" = 1 - bisphosphonate
    inhibition (a crude stand-in for the bone core, enough to exercise the feedback).
    """
    params = PARAMS if params is None else params
    k = drugs.rate_constants(params)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        if resorption == "closed_loop":
            r = 1.0 - drugs.bisphosphonate_resorption_inhibition(y[:, None], params)
        else:
            r = np.array([1.0 if resorption is None else float(resorption)])
        return drugs._drug_rhs_numpy(y[:, None], r, k)[:, 0]

    y = drugs.initial_drug_states(1)
    out = np.zeros((drugs.N_DRUG_STATES, len(t_eval)))
    t_now = 0.0
    schedule = sorted(doses) + [(math.inf, "", 0.0)]
    for t_dose, drug, dose_mg in schedule:
        t_end = min(t_dose, float(t_eval[-1]))
        if t_end > t_now:
            solution = solve_ivp(rhs, (t_now, t_end), y[:, 0], method="LSODA", rtol=1e-8, atol=1e-12,
                                 dense_output=True)
            inside = (t_eval >= t_now) & (t_eval <= t_end)
            if inside.any():
                out[:, inside] = solution.sol(t_eval[inside])
            y[:, 0] = solution.y[:, -1]
            t_now = t_end
        if math.isfinite(t_dose) and t_dose <= t_eval[-1]:
            drugs.apply_dose(y, 0, drug, dose_mg, params)
            at_dose = t_eval == t_dose
            out[:, at_dose] = y[:, [0]]
    return out


def serum(states: np.ndarray) -> np.ndarray:
    return states[drugs.IDX_DMAB_CENTRAL] / PARAMS["denosumab_central_volume_ml"]


def bone_umol(states: np.ndarray, drug: str) -> np.ndarray:
    return (states[drugs.bisphosphonate_state_index(drug, "surface")]
            + states[drugs.bisphosphonate_state_index(drug, "buried")])


def body_umol(states: np.ndarray, drug: str) -> np.ndarray:
    return sum(states[drugs.bisphosphonate_state_index(drug, pool)] for pool in drugs.BISPHOSPHONATE_POOLS)


# ------------------------------------------------------------------ interface and parameters


def test_interface_shapes_and_registry() -> None:
    assert "osteotwin.physiology.drugs" in PARAMETER_MODULES
    assert len(drugs.DRUG_STATE_NAMES) == drugs.N_DRUG_STATES == 16
    y = drugs.initial_drug_states(4)
    assert y.shape == (16, 4) and not y.any()
    assert drugs.drug_rhs(y, np.ones(4), PARAMS).shape == (16, 4)
    assert not drugs.drug_rhs(y, np.ones(4), PARAMS).any()  # no drug, nothing moves
    assert drugs.default_params() == drugs.PARAMETERS.values_dict()
    for parameter in drugs.PARAMETERS.values():
        assert parameter.source and parameter.evidence in "VSRDCA" and parameter.prior_range is not None
        assert parameter.unit


def test_drug_outputs_for_the_trajectory() -> None:
    y = drugs.initial_drug_states(2)
    y[drugs.IDX_DMAB_CENTRAL, 0] = 2.0 * PARAMS["denosumab_central_volume_ml"]
    y[drugs.bisphosphonate_state_index("alendronate", "buried"), 1] = 7.0
    out = drugs.drug_outputs(y, PARAMS)
    assert out["denosumab_serum_ug_per_ml"].tolist() == pytest.approx([2.0, 0.0])
    assert out["alendronate_bone_buried_umol"].tolist() == [0.0, 7.0]
    assert out["bisphosphonate_resorption_inhibition"][0] == 0.0 < out["bisphosphonate_resorption_inhibition"][1]
    assert {f"{d}_bone_{p}_umol" for d in drugs.BISPHOSPHONATES for p in ("surface", "buried")} <= set(out)


def test_pure_rhs_does_not_mutate_state() -> None:
    y = drugs.initial_drug_states(2)
    drugs.apply_dose(y, 0, "denosumab", 60.0)
    drugs.apply_dose(y, 1, "zoledronic_acid", 5.0)
    before = y.copy()
    drugs.drug_rhs(y, np.array([1.0, 0.5]), PARAMS)
    np.testing.assert_array_equal(y, before)


# ------------------------------------------------------------------ denosumab PK against the Prolia label


def denosumab_profile(dose_mg: float, days: float = 200.0, step: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, days + step / 2, step)
    return t, serum(simulate([(0.0, "denosumab", dose_mg)], t))


def test_denosumab_60_mg_matches_label_cmax_tmax_half_life() -> None:
    t, c = denosumab_profile(60.0)
    cmax, tmax = c.max(), t[np.argmax(c)]
    assert cmax == pytest.approx(6.75, rel=0.10)  # Prolia label: 6.75 ug/mL
    assert tmax == pytest.approx(10.0, rel=0.10)  # median 10 days
    window = (t >= 28.0) & (t <= 84.0)
    half_life = math.log(2.0) / -np.polyfit(t[window], np.log(c[window]), 1)[0]
    assert half_life == pytest.approx(25.4, rel=0.15)  # mean 25.4 days
    # label: serum levels decline over 4-5 months; nearly nothing left at the next dose (6 months)
    assert c[np.searchsorted(t, 182.0)] < 0.01 * cmax


def test_denosumab_dose_scaling_is_sensible() -> None:
    t, c14 = denosumab_profile(14.0)
    _, c60 = denosumab_profile(60.0)
    _, c120 = denosumab_profile(120.0)
    auc = {dose: np.trapezoid(c, t) for dose, c in ((14, c14), (60, c60), (120, c120))}
    assert c14.max() < c60.max() < c120.max()
    # saturable elimination: exposure rises more than in proportion at low doses, near-proportional above 60 mg
    assert auc[14] / auc[60] < 14.0 / 60.0
    assert 2.0 <= auc[120] / auc[60] <= 2.6
    assert c120.max() / c60.max() == pytest.approx(2.0, rel=0.15)


def test_denosumab_every_six_months_accumulates_little() -> None:
    t = np.arange(0.0, 730.5 + 0.05, 0.25)
    c = serum(simulate([(0.0, "denosumab", 60.0), (182.625, "denosumab", 60.0), (365.25, "denosumab", 60.0),
                        (547.875, "denosumab", 60.0)], t))
    first = c[t < 182.0].max()
    fourth = c[t >= 548.0].max()
    assert fourth / first == pytest.approx(1.0, abs=0.05)  # label: no accumulation on q6M dosing


def test_denosumab_molar_and_rankl_inhibition() -> None:
    y = drugs.initial_drug_states(1)
    y[drugs.IDX_DMAB_CENTRAL, 0] = PARAMS["denosumab_central_volume_ml"] * 1.0  # 1 ug/mL
    assert drugs.denosumab_serum_ug_per_ml(y, PARAMS)[0] == pytest.approx(1.0)
    assert drugs.denosumab_molar_pM(y, PARAMS)[0] == pytest.approx(1e9 / 147000.0, rel=1e-9)  # ~6800 pM
    # serum alone does not act: only bone-site denosumab binds RANKL
    assert drugs.denosumab_rankl_inhibition(y, PARAMS)[0] == 0.0
    y[drugs.IDX_DMAB_EFFECT, 0] = PARAMS["denosumab_rankl_ic50_ng_per_ml"] / 1000.0  # at the IC50
    assert drugs.denosumab_rankl_inhibition(y, PARAMS)[0] == pytest.approx(0.5 * PARAMS["denosumab_max_rankl_inhibition_fraction"])


def test_effect_site_lags_serum_and_outlasts_it() -> None:
    """The bone-site concentration rises after serum and falls more slowly (effect compartment)."""
    t = np.arange(0.0, 240.0, 1.0)
    states = simulate([(0.0, "denosumab", 60.0)], t)
    c, ce = serum(states), states[drugs.IDX_DMAB_EFFECT]
    assert np.argmax(ce) > np.argmax(c)
    late = t >= 150.0
    assert np.all(ce[late] > c[late])
    # no mass: the effect site does not change serum (same serum with any ke0)
    other = simulate([(0.0, "denosumab", 60.0)], t, params={**PARAMS, "denosumab_effect_site_half_life_days": 3.0})
    np.testing.assert_allclose(serum(other), c, rtol=1e-6)


# ------------------------------------------------------------------ bisphosphonates


def test_oral_bioavailability_and_iv_dose_enter_plasma() -> None:
    y = drugs.initial_drug_states(3)
    drugs.apply_dose(y, 0, "alendronate", 70.0)
    drugs.apply_dose(y, 1, "zoledronic_acid", 5.0)
    drugs.apply_dose(y, 2, "ibandronate", 3.0, route="iv")
    alendronate_mw = PARAMS["alendronate_molecular_weight_g_per_mol"]
    assert alendronate_mw == pytest.approx(249.1, abs=0.1)
    assert y[drugs.bisphosphonate_state_index("alendronate", "plasma"), 0] == pytest.approx(70e3 / alendronate_mw * 0.0064)
    assert y[drugs.bisphosphonate_state_index("zoledronic_acid", "plasma"), 1] == pytest.approx(5e3 / 272.09, rel=1e-3)
    assert y[drugs.bisphosphonate_state_index("ibandronate", "plasma"), 2] == pytest.approx(3e3 / 319.23, rel=1e-3)
    for drug in ("alendronate", "risedronate", "ibandronate"):
        assert PARAMS[f"{drug}_oral_bioavailability_fraction"] < 0.01  # labels: < 1%
    y2 = drugs.initial_drug_states(1)
    drugs.apply_dose(y2, 0, "denosumab", 60.0)
    assert y2[drugs.IDX_DMAB_DEPOT, 0] == pytest.approx(60e3 * 0.62)


def test_zoledronic_acid_iv_dose_retained_in_bone_as_labelled() -> None:
    t = np.array([0.0, 1.0, 2.0, 28.0])
    states = simulate([(0.0, "zoledronic_acid", 5.0)], t)
    dose_umol = 5e3 / PARAMS["zoledronic_acid_molecular_weight_g_per_mol"]
    retained_day_1 = bone_umol(states, "zoledronic_acid")[1] / dose_umol
    # Legay et al. RIA study: only 40-50% of the dose in urine; Zometa label: 39 +/- 16% in urine in 24 h
    assert 0.45 <= retained_day_1 <= 0.65
    # label: plasma < 1% of Cmax at 24 h
    plasma = states[drugs.bisphosphonate_state_index("zoledronic_acid", "plasma")]
    assert plasma[1] < 0.01 * plasma[0]


def test_alendronate_iv_course_matches_khan_1997_excretion() -> None:
    t = np.array([0.0, 5.0, 185.0, 3 * 365.25, 6 * 365.25])
    states = np.zeros((drugs.N_DRUG_STATES, len(t)))
    # Khan 1997 gave 30 mg IV over 4 days; our alendronate route is oral, so put the IV amount in plasma directly.
    umol_per_day = 7.5e3 / PARAMS["alendronate_molecular_weight_g_per_mol"]
    plasma_row = drugs.bisphosphonate_state_index("alendronate", "plasma")

    def rhs(_t, y):
        return drugs._drug_rhs_numpy(y[:, None], np.ones(1), K)[:, 0]

    y = np.zeros(drugs.N_DRUG_STATES)
    t_now = 0.0
    for day in (0.0, 1.0, 2.0, 3.0, None):
        t_end = 6 * 365.25 if day is None else day
        if t_end > t_now:
            solution = solve_ivp(rhs, (t_now, t_end), y, method="LSODA", rtol=1e-9, atol=1e-12, dense_output=True)
            inside = (t > t_now) & (t <= t_end)
            if inside.any():
                states[:, inside] = solution.sol(t[inside])
            y, t_now = solution.y[:, -1], t_end
        if day is not None:
            y[plasma_row] += umol_per_day
    given_umol = 4 * umol_per_day
    urine = 1.0 - body_umol(states, "alendronate") / given_umol
    assert urine[1] == pytest.approx(0.50, abs=0.05)  # ~50% over the first 5 days
    assert urine[2] - urine[1] == pytest.approx(0.17, abs=0.03)  # a further 17% over 6 months
    body = body_umol(states, "alendronate")
    terminal_years = 3.0 * math.log(2.0) / math.log(body[3] / body[4])
    assert terminal_years > 10.0  # terminal half-life > 10 years


def test_risedronate_iv_dose_matches_label_urinary_recovery() -> None:
    t = np.array([0.0, 1.0, 14.0, 28.0])
    states = simulate([(0.0, "risedronate", 1.0)], t)
    # our risedronate route is oral; an IV dose = the oral dose / oral bioavailability
    given = 1e3 / PARAMS["risedronate_molecular_weight_g_per_mol"] * PARAMS["risedronate_oral_bioavailability_fraction"]
    body = body_umol(states, "risedronate")
    urine = 1.0 - body / given
    assert urine[1] == pytest.approx(0.5, abs=0.08)  # label: about half of the absorbed dose in 24 h
    assert urine[3] == pytest.approx(0.85, abs=0.03)  # label: 85% of an IV dose over 28 days
    half_life = 14.0 * math.log(2.0) / math.log(body[2] / body[3])
    assert half_life == pytest.approx(561.0 / 24.0, rel=0.15)  # label terminal half-life 561 h


def test_surface_drug_decays_and_buried_pool_releases_slowly_with_resorption() -> None:
    t = np.array([0.0, 30.0, 365.25, 5 * 365.25])
    states = simulate([(0.0, "zoledronic_acid", 5.0)], t)
    surface = states[drugs.bisphosphonate_state_index("zoledronic_acid", "surface")]
    buried = states[drugs.bisphosphonate_state_index("zoledronic_acid", "buried")]
    assert surface[2] < 0.2 * surface[1]
    assert buried[2] > 0.0 and buried[3] > 0.6 * buried[2]  # years-long residence
    # buried drug is released only by resorption
    y = drugs.initial_drug_states(3)
    y[drugs.bisphosphonate_state_index("zoledronic_acid", "buried")] = 10.0
    dydt = drugs.drug_rhs(y, np.array([0.0, 1.0, 2.0]), PARAMS)
    release = -dydt[drugs.bisphosphonate_state_index("zoledronic_acid", "buried")]
    assert release[0] == 0.0 and 0.0 < release[1] < release[2]
    assert release[2] == pytest.approx(2.0 * release[1])
    assert release[1] == pytest.approx(10.0 * math.log(2.0) / (10.0 * 365.25))  # 10-year half-life


def test_mass_balance_only_renal_elimination_removes_bisphosphonate() -> None:
    t = np.linspace(0.0, 400.0, 9)
    states = simulate([(0.0, "risedronate", 35.0), (7.0, "risedronate", 35.0)], t)
    body = body_umol(states, "risedronate")
    assert np.all(np.diff(body[1:]) <= 1e-12)
    y = drugs.initial_drug_states(1)
    y[drugs.IDX_BP_FIRST:, 0] = np.arange(1.0, 1.0 + drugs.N_DRUG_STATES - drugs.IDX_BP_FIRST)
    dydt = drugs.drug_rhs(y, np.array([0.7]), PARAMS)
    for d, drug in enumerate(drugs.BISPHOSPHONATES):
        rows = slice(drugs.IDX_BP_FIRST + 3 * d, drugs.IDX_BP_FIRST + 3 * d + 3)
        k_plasma = math.log(2.0) / (PARAMS[f"{drug}_plasma_half_life_hours"] / 24.0)
        renal = k_plasma * (1.0 - PARAMS[f"{drug}_bone_uptake_fraction"]) * y[rows][0, 0]
        assert dydt[rows].sum() == pytest.approx(-renal, rel=1e-12)


def test_inhibition_monotone_in_dose_bounded_below_one() -> None:
    t = np.array([0.0, 30.0])
    inhibition = [drugs.bisphosphonate_resorption_inhibition(simulate([(0.0, "zoledronic_acid", mg)], t)[:, [1]], PARAMS)[0]
                  for mg in (0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0)]
    assert inhibition[0] == 0.0
    assert all(b > a for a, b in zip(inhibition, inhibition[1:], strict=False))
    y = drugs.initial_drug_states(1)
    y[drugs.bisphosphonate_state_index("zoledronic_acid", "surface")] = 1e9
    huge = drugs.bisphosphonate_resorption_inhibition(y, PARAMS)[0]
    assert huge < 1.0 and huge <= PARAMS["bisphosphonate_max_inhibition_fraction"] + 1e-12


def test_potency_ranking_per_umol() -> None:
    potency = {drug: PARAMS[f"{drug}_relative_potency"] for drug in drugs.BISPHOSPHONATES}
    assert potency["zoledronic_acid"] > potency["risedronate"] > potency["ibandronate"] > potency["alendronate"]


def _monthly_inhibition(doses, months: int) -> np.ndarray:
    t = np.arange(0, months + 1) * 30.4375
    states = simulate(doses, t, resorption="closed_loop")
    return drugs.bisphosphonate_resorption_inhibition(states, PARAMS)


def test_labelled_regimens_suppress_resorption_and_zoledronic_acid_lingers() -> None:
    zoledronic = _monthly_inhibition([(i * 365.25, "zoledronic_acid", 5.0) for i in range(3)], 72)
    risedronate = _monthly_inhibition([(i * 7.0, "risedronate", 35.0) for i in range(156)], 60)
    assert 0.55 <= zoledronic[1] <= 0.85 and 0.55 <= zoledronic[12] <= 0.85  # suppression over the first year
    assert 0.45 <= risedronate[12] <= 0.8
    # after stopping: zoledronic acid (last dose month 24) still acts 3 years after its effect window ended
    assert zoledronic[72] > 0.25
    assert zoledronic[48] > 0.7 * zoledronic[36]


@pytest.mark.xfail(strict=True, reason=(
    "with the shipped (calibrated) bisphosphonate PD, EC50 0.16 umol, I_max 0.80, buried weight 0.045, risedronate potency 0.35 "
    "(issue 13's joint fit, now with the IBIS-II risedronate strata on treatment), risedronate's inhibition falls from 0.59 "
    "to 0.39 in the year after the last weekly dose, not below half; the matrix-buried drug (weight fitted to zoledronic "
    "acid's years-long offset) holds it. No risedronate stop rows constrain the fit."))
def test_risedronate_wears_off_within_a_year_of_stopping() -> None:
    risedronate = _monthly_inhibition([(i * 7.0, "risedronate", 35.0) for i in range(156)], 60)
    # risedronate (low bone affinity) wears off within a year of the last weekly dose (month ~36)
    assert risedronate[48] < 0.5 * risedronate[35]


def test_switch_alendronate_to_zoledronic_acid_adds_up() -> None:
    t = np.array([0.0, 365.25, 400.0])
    weekly = [(i * 7.0, "alendronate", 70.0) for i in range(52)]
    both = simulate([*weekly, (365.25, "zoledronic_acid", 5.0)], t)
    alone = simulate(weekly, t)
    assert bone_umol(both, "alendronate")[2] == pytest.approx(bone_umol(alone, "alendronate")[2], rel=1e-6)
    assert bone_umol(both, "zoledronic_acid")[2] > 0.0
    combined = drugs.bisphosphonate_resorption_inhibition(both[:, [2]], PARAMS)[0]
    only_alendronate = drugs.bisphosphonate_resorption_inhibition(alone[:, [2]], PARAMS)[0]
    assert combined > only_alendronate


def test_suppressed_turnover_takes_up_less_and_holds_longer() -> None:
    """Switching from denosumab (turnover suppressed) to zoledronic acid: less of the dose reaches bone."""
    t = np.array([0.0, 2.0, 365.25])
    dose = 5e3 / PARAMS["zoledronic_acid_molecular_weight_g_per_mol"]
    suppressed = simulate([(0.0, "zoledronic_acid", 5.0)], t, resorption=0.2)
    baseline = simulate([(0.0, "zoledronic_acid", 5.0)], t)
    assert bone_umol(suppressed, "zoledronic_acid")[1] < bone_umol(baseline, "zoledronic_acid")[1]
    assert 0.3 < bone_umol(suppressed, "zoledronic_acid")[1] / dose < 0.55
    surface_row = drugs.bisphosphonate_state_index("zoledronic_acid", "surface")
    kept_suppressed = suppressed[surface_row, 2] / suppressed[surface_row, 1]
    kept_baseline = baseline[surface_row, 2] / baseline[surface_row, 1]
    assert kept_suppressed > kept_baseline


def test_irregular_dose_times_and_patient_batches() -> None:
    y = drugs.initial_drug_states(5)
    drugs.apply_dose(y, np.array([0, 3]), "denosumab", 60.0)
    drugs.apply_dose(y, slice(1, 3), "zoledronic_acid", 4.0)
    assert y[drugs.IDX_DMAB_DEPOT].tolist() == [37200.0, 0.0, 0.0, 37200.0, 0.0]
    drugs.apply_dose(y, [4, 4], "denosumab", 60.0)  # listed twice: two doses
    assert y[drugs.IDX_DMAB_DEPOT, 4] == pytest.approx(2 * 37200.0)
    np.testing.assert_array_equal(drugs.drug_rhs(y, np.ones(5), drugs.rate_constants(PARAMS)),
                                  drugs.drug_rhs(y, np.ones(5), PARAMS))
    late = simulate([(0.0, "denosumab", 60.0), (240.0, "denosumab", 60.0)], np.array([0.0, 239.9, 250.0]))
    on_time = simulate([(0.0, "denosumab", 60.0), (182.625, "denosumab", 60.0)], np.array([0.0, 239.9]))
    assert serum(late)[1] < serum(on_time)[1]  # a late dose leaves a trough
    assert serum(late)[2] > 1.0


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("drug", "dose_mg", "field"), [
    ("aspirin", 60.0, "drug"), ("denosumab", -1.0, "dose_mg"), ("zoledronic_acid", float("nan"), "dose_mg"),
    ("alendronate", float("inf"), "dose_mg"), ("denosumab", 5000.0, "dose_mg"), ("alendronate", "70", "dose_mg"),
])
def test_apply_dose_refuses_bad_input(drug, dose_mg, field) -> None:
    y = drugs.initial_drug_states(1)
    with pytest.raises(InputError) as error:
        drugs.apply_dose(y, 0, drug, dose_mg)
    assert error.value.field == field
    assert not y.any()
    with pytest.raises(InputError):
        drugs.absorbed_amount(drug, dose_mg)
    with pytest.raises(InputError):
        drugs.label_dose_warning(drug, dose_mg)


def test_route_must_fit_the_drug() -> None:
    with pytest.raises(InputError) as error:
        drugs.apply_dose(drugs.initial_drug_states(1), 0, "zoledronic_acid", 5.0, route="oral")
    assert error.value.field == "route"


def test_label_dose_warning() -> None:
    assert drugs.label_dose_warning("denosumab", 60.0) is None
    assert drugs.label_dose_warning("zoledronic_acid", 4.0) is None
    assert drugs.label_dose_warning("alendronate", 70.0) is None
    warning = drugs.label_dose_warning("denosumab", 600.0)
    assert warning is not None and "60 mg" in warning and "600" in warning
    assert drugs.label_dose_warning("zoledronic_acid", 50.0) is not None
    assert drugs.label_dose_warning("risedronate", 1.0) is not None
    with pytest.raises(InputError):
        drugs.label_dose_warning("aspirin", 1.0)
    for drug in drugs.DRUGS:
        assert drugs.LABEL_DOSES[drug] and all(label.source for label in drugs.LABEL_DOSES[drug])


# ------------------------------------------------------------------ numba kernels


def test_numba_kernels_match_numpy_and_finite_differences() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        y = rng.uniform(0.0, 50.0, drugs.N_DRUG_STATES)
        y[drugs.IDX_DMAB_CENTRAL] = rng.uniform(0.0, 3.0) * PARAMS["denosumab_central_volume_ml"]
        r = float(rng.uniform(0.1, 2.0))
        out = np.zeros(drugs.N_DRUG_STATES)
        drugs.drug_rhs_kernel(y, r, K, out)
        np.testing.assert_allclose(out, drugs.drug_rhs(y[:, None], np.array([r]), PARAMS)[:, 0], rtol=1e-12, atol=1e-12)
        jac = np.zeros((drugs.N_DRUG_STATES, drugs.N_DRUG_STATES))
        drugs.drug_jacobian_kernel(y, r, K, jac)
        for j in range(drugs.N_DRUG_STATES):
            h = 1e-6 * max(1.0, abs(y[j]))
            up, down = y.copy(), y.copy()
            up[j] += h
            down[j] -= h
            column = (drugs.drug_rhs(up[:, None], np.array([r]), PARAMS) - drugs.drug_rhs(down[:, None], np.array([r]), PARAMS))[:, 0] / (2 * h)
            np.testing.assert_allclose(jac[:, j], column, rtol=1e-5, atol=1e-9)
        d_r = np.zeros(drugs.N_DRUG_STATES)
        drugs.drug_rhs_resorption_derivative_kernel(y, r, K, d_r)
        h = 1e-6
        column = (drugs.drug_rhs(y[:, None], np.array([r + h]), PARAMS) - drugs.drug_rhs(y[:, None], np.array([r - h]), PARAMS))[:, 0] / (2 * h)
        np.testing.assert_allclose(d_r, column, rtol=1e-5, atol=1e-9)


# ------------------------------------------------------------------ properties


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1e5), min_size=drugs.N_DRUG_STATES, max_size=drugs.N_DRUG_STATES), st.floats(0.0, 5.0),
       st.integers(0, drugs.N_DRUG_STATES - 1))
def test_rhs_keeps_amounts_non_negative(values, resorption, zero_row) -> None:
    """On the boundary of the non-negative orthant the flow points inward: amounts cannot turn negative."""
    y = np.array(values)[:, None]
    y[zero_row] = 0.0
    dydt = drugs.drug_rhs(y, np.array([resorption]), PARAMS)
    assert np.all(np.isfinite(dydt))
    assert dydt[zero_row, 0] >= 0.0


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 700.0), st.sampled_from(drugs.DRUGS),
                          st.one_of(st.just(0.0), st.floats(1e-3, 1.0))),  # (subnormal doses upset LSODA's first step)
                min_size=1, max_size=4),
       st.floats(0.0, 3.0))
def test_random_schedules_stay_non_negative_and_finite(events, resorption) -> None:
    doses = [(round(day, 3), drug, fraction * drugs.LABEL_DOSES[drug][0].dose_mg * 2.0) for day, drug, fraction in events]
    states = simulate(doses, np.linspace(0.0, 730.0, 25), resorption=resorption)
    assert np.all(np.isfinite(states))
    assert states.min() >= -1e-9
