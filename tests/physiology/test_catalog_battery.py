"""Every drug and every site of the catalog goes through the whole engine.

Adding a bone agent, an endocrine drug or a site to osteotwin/catalog.py (and its pharmacology or
parameters to the engine) must make it work end to end; these tests are parametrised over the
catalog's tuples, so a new entry is tested without editing them.
"""

from __future__ import annotations

import numpy as np
import pytest

from osteotwin import catalog, simulate
from osteotwin.physiology import drugs, estrogen, spec
from osteotwin.physiology.parameters import registry
from osteotwin.scenario import Scenario

PATIENT = {"age_years": 63, "years_since_menopause": 12, "lumbar_spine_t_score": -1.5, "total_hip_t_score": -1.2}
MONTHS = 24


@pytest.fixture(scope="module")
def untreated():
    return simulate({"patient": PATIENT, "months": MONTHS})


@pytest.mark.parametrize("drug", catalog.BONE_AGENTS)
def test_every_bone_agent_at_its_label_dose_suppresses_resorption_and_keeps_bone(drug, untreated):
    label = drugs.LABEL_DOSES[drug][0]
    agent = {"drug": drug, "dose_mg": label.dose_mg}
    agent |= {"every_days": label.interval_days} if label.interval_days < 28 else {"every_months": round(label.interval_days / 30.4375)}
    treated = simulate({"patient": PATIENT, "months": MONTHS, "bone_agents": [agent]})
    assert treated.ctx_pct_change[12] < untreated.ctx_pct_change[12] - 10.0, f"{drug}: CTX not suppressed"
    for site in catalog.SITES:
        assert getattr(treated, f"{site}_bmd_pct_change")[-1] > getattr(untreated, f"{site}_bmd_pct_change")[-1] + 0.5, (drug, site)
    # dosed into its own named compartment, with its PK parameters in the registry
    first_state = "denosumab_depot_ug" if drug == "denosumab" else f"{drug}_plasma_umol"
    assert first_state in drugs.DRUG_STATE_NAMES
    assert any(name.startswith(f"{drug}_") for name in registry())


@pytest.mark.parametrize("drug", catalog.AROMATASE_INHIBITORS)
def test_every_aromatase_inhibitor_lowers_estradiol_and_bone(drug, untreated):
    on_ai = simulate({"patient": PATIENT, "months": MONTHS, "endocrine_therapy": [{"drug": drug}]})
    assert on_ai.estradiol_pg_ml[6] < 0.2 * untreated.estradiol_pg_ml[6]
    for site in catalog.SITES:
        assert getattr(on_ai, f"{site}_bmd_pct_change")[-1] < getattr(untreated, f"{site}_bmd_pct_change")[-1] - 0.5, (drug, site)


@pytest.mark.parametrize("drug", catalog.ENDOCRINE_DRUGS)
def test_every_endocrine_drug_has_an_engine_code_and_is_accepted(drug):
    assert drug in estrogen.ENDOCRINE_DRUG_CODES
    Scenario.model_validate({"endocrine_therapy": [{"drug": drug}]})


@pytest.mark.parametrize("site", catalog.SITES)
def test_every_site_has_its_states_parameters_inputs_and_outputs(site, untreated):
    s = catalog.SITES.index(site)
    params = registry()
    for name in spec.SITE_PARAMETERS:
        assert f"{site}_{name}" in params, name
        assert spec.VECTOR_NAMES[getattr(spec.PS, name) + s] == f"{site}_{name}"
    assert all(f"{site}_{state}" in spec.CORE_STATE_NAMES for state in spec.SITE_STATE_NAMES)
    assert spec.INPUT_NAMES[spec.U.loading_lumbar_spine_relative + s] == f"loading_{site}_relative"
    for field in ("bmd_pct_change", "bmd_g_cm2", "t_score"):
        series = np.asarray(getattr(untreated, f"{site}_{field}"))
        assert series.shape == (MONTHS + 1,) and np.all(np.isfinite(series))
    # the T-score at month 0 is the one given, through this site's own reference values
    assert getattr(untreated, f"{site}_t_score")[0] == pytest.approx(PATIENT[f"{site}_t_score"], abs=1e-6)


@pytest.mark.parametrize("site", catalog.SITES)
def test_every_site_can_trigger_a_rule_based_start(site):
    scenario = {"patient": {**PATIENT, f"{site}_t_score": -1.95}, "months": 36,
                "endocrine_therapy": [{"drug": "letrozole"}],
                "bone_agents": [{"drug": "zoledronic_acid", "every_months": 6,
                                 "start_when": {"site": site, "t_score_below": -2.0}}]}
    triggered = simulate(scenario)
    never = simulate({**scenario, "bone_agents": []})
    assert triggered.ctx_pct_change[-1] < never.ctx_pct_change[-1] - 10.0
