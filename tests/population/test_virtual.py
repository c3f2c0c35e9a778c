"""Virtual populations: truncation (inclusion criteria), seeding per chunk, log-normal variability."""

import numpy as np
import pytest

from osteotwin.population.virtual import (
    FITTED_VARIABILITY,
    Covariate,
    PopulationSpec,
    Variability,
    chunk_rng,
    iter_population,
    sample_patients,
    sample_scenarios,
    variability_samples,
)
from osteotwin.scenario import Scenario


def test_truncated_normal_respects_bounds_and_moments():
    cov = Covariate(mean=58, sd=7, min=45, max=85)
    x = cov.sample(np.random.default_rng(0), 20000)
    assert x.min() >= 45 and x.max() <= 85
    # truncation at -1.86 sd and +3.86 sd shifts the mean up by sd * phi(-1.86)/(1 - Phi(-1.86)) ~ 0.07 sd = +0.5
    assert 58.2 < x.mean() < 58.8


def test_impossible_bounds_are_refused():
    with pytest.raises(ValueError, match="min"):
        Covariate(mean=0, sd=1, min=2, max=1)
    with pytest.raises(ValueError, match="excludes"):
        Covariate(mean=0, sd=0.1, min=5)


def test_chunks_depend_only_on_seed_arm_chunk():
    pop = PopulationSpec.model_validate({"lumbar_spine_t_score": {"mean": -0.8, "sd": 1, "min": -2}})
    regimen = {"months": 12, "endocrine_therapy": [{"drug": "letrozole"}]}
    a = sample_scenarios(pop, regimen, 50, seed=7, arm_index=1, chunk_index=3)
    b = sample_scenarios(pop, regimen, 50, seed=7, arm_index=1, chunk_index=3)
    c = sample_scenarios(pop, regimen, 50, seed=7, arm_index=0, chunk_index=3)
    assert a == b and a != c
    assert all(s["patient"]["lumbar_spine_t_score"] >= -2 for s in a)
    for s in a:
        Scenario.model_validate(s)  # overrides lie in the prior ranges
    chunks = list(iter_population(pop, regimen, 120, chunk_size=50, seed=7))
    assert [len(c) for c in chunks] == [50, 50, 20]


def test_variability_log_sd_and_correlation():
    var = Variability(sd_log={"rank_pM": 0.3, "rankl_opg_association_per_pM": 0.3}, rho=0.6)
    values = var.sample(np.random.default_rng(1), 20000)
    logs = np.log(np.vstack(list(values.values())))
    assert np.allclose(logs.std(axis=1), 0.3, atol=0.02)
    assert abs(np.corrcoef(logs)[0, 1] - 0.6) < 0.03
    samples = variability_samples(5, seed=3, variability=FITTED_VARIABILITY)
    assert len(samples) == 5 and set(samples[0]) == set(FITTED_VARIABILITY.sd_log)


def test_years_since_menopause_capped_by_age():
    pop = PopulationSpec.model_validate({"age_years": {"mean": 40, "sd": 1, "min": 38, "max": 42},
                                         "years_since_menopause": {"mean": 35, "sd": 1, "min": 30}})
    values = sample_patients(pop, chunk_rng(0, 0, 0), 100)
    assert np.all(values["years_since_menopause"] <= values["age_years"] - 12)
