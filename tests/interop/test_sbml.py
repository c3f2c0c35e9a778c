"""SBML export (osteotwin.interop.sbml): valid SBML, the same equations as system.py, the same answers.

The SBML's equations are traced from the numba right-hand side (interop/trace.py); these tests check the
result against the engine: the initial rates
against ``system.core_derivative`` (and again mid-course), a libRoadRunner run against
``osteotwin.simulate`` (within 0.1 pp: the engine's own adaptive scheme) and against the SciPy
reference integration of the same equations (``reference.simulate_one``, far tighter).
"""

from __future__ import annotations

import functools
import json
import locale
from pathlib import Path

import numpy as np
import pytest

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")

from osteotwin import simulate  # noqa: E402
from osteotwin.cli import main  # noqa: E402
from osteotwin.interop import sbml  # noqa: E402
from osteotwin.physiology import drug_kernels as dk  # noqa: E402
from osteotwin.physiology import reference  # noqa: E402
from osteotwin.physiology import system as sy  # noqa: E402
from osteotwin.physiology.options import EngineOptions  # noqa: E402
from osteotwin.physiology.spec import U  # noqa: E402
from osteotwin.twin.simulation import as_scenario, build_arrays, default_parameters, patient_parameters  # noqa: E402

pytestmark = pytest.mark.slow  # each scenario is exported, compiled by libRoadRunner and run in COPASI (about 40 s in all)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAYS_PER_MONTH = 365.25 / 12.0
MONTHS = 60
CHECK_MONTHS = (12, 24, 60)
SITES = ("lumbar_spine", "total_hip")

PATIENT = {"age_years": 62, "years_since_menopause": 10, "lumbar_spine_t_score": -1.0, "total_hip_t_score": -0.7}
SCENARIOS = {
    "untreated": {"patient": PATIENT, "months": MONTHS},
    # ships with diet and supplements: the lifestyle drives (PTH, formation) ride along
    "anastrozole": json.loads((EXAMPLES / "anastrozole_5y.json").read_text(encoding="utf-8")),
    # letrozole at 80% adherence stopping at 48 months, with an exercise programme stopping at 30 months: the exercise
    # route (min/max, lazy zone, accommodation, detraining) and an endocrine step inside the run
    "letrozole_exercise": {
        "patient": PATIENT, "months": MONTHS,
        "endocrine_therapy": [{"drug": "letrozole", "start_month": 0, "stop_month": 48, "adherence": 0.8}],
        "exercise": {"walking_minutes_per_week": 150, "impact_sessions_per_week": 3, "resistance_sessions_per_week": 2,
                     "resistance_intensity": "high", "stop_month": 30},
    },
    # the bone agents as dosing events: denosumab q6m (and its rebound once stopped), zoledronic acid yearly
    "anastrozole_denosumab": json.loads((EXAMPLES / "anastrozole_denosumab_5y.json").read_text(encoding="utf-8")),
    "denosumab_stopped": json.loads((EXAMPLES / "denosumab_stopped_3y.json").read_text(encoding="utf-8")),
    "anastrozole_zoledronic_acid": json.loads((EXAMPLES / "anastrozole_zoledronic_acid_5y.json").read_text(encoding="utf-8")),
}


class Exported:
    def __init__(self, scenario: dict):
        self.scenario = as_scenario(scenario)
        self.text, self.warnings = sbml.export_sbml(self.scenario)
        self.data = sbml.engine_data(self.scenario)
        self.rr = roadrunner.RoadRunner(self.text)
        integrator = self.rr.getIntegrator()  # CVODE (BDF), tight tolerances
        integrator.setValue("stiff", True)
        integrator.setValue("relative_tolerance", 1e-10)
        integrator.setValue("absolute_tolerance", 1e-14)
        self.state_ids = [sbml.state_id(site, name) for site in self.data.sites for name in self.data.state_names]

    def rates(self, ids=None) -> np.ndarray:
        named = self.rr.getRatesOfChangeNamedArray()
        values = dict(zip(named.colnames, np.asarray(named)[0], strict=True))
        return np.array([values[f"{sid}'"] for sid in (ids or self.state_ids)])

    def state(self, ids=None) -> np.ndarray:
        return np.array([self.rr.getValue(sid) for sid in (ids or self.state_ids)])

    def drug_state(self) -> np.ndarray:
        return self.state(list(self.data.drug_state_names))


@functools.cache
def _exported(name: str) -> Exported:
    return Exported(SCENARIOS[name])


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def exported(request) -> Exported:
    return _exported(request.param)


def _assert_rates_match(rates: np.ndarray, y: np.ndarray, u: np.ndarray, vector: np.ndarray, denosumab: float = 0.0,
                        bisphosphonate: float = 0.0) -> None:
    """Rates equal prod - loss * y of core_rates within 1e-9 of the size of the terms.

    Relative to the terms, not to the net rate: near the burn-in's quasi-steady state the net rate of a
    cell state is a small difference of large terms (and 0 for the osteomorphs and the primed source).
    """
    prod = np.empty(sy.N_CORE_STATES)
    loss = np.empty(sy.N_CORE_STATES)
    sy.core_rates(y, vector, np.ascontiguousarray(u), denosumab, bisphosphonate, prod, loss)
    expected = sy.core_derivative(y, vector, np.ascontiguousarray(u), denosumab, bisphosphonate)
    np.testing.assert_allclose(expected, prod - loss * y, rtol=1e-12, atol=0)
    scale = np.abs(prod) + np.abs(loss * y)
    error = np.abs(rates - expected)
    assert np.all(error <= 1e-9 * scale + 1e-300), (error / np.maximum(scale, 1e-300)).max()
    big = np.abs(expected) > 1e-3 * scale  # where the net rate is not a cancellation, plain relative agreement
    np.testing.assert_allclose(rates[big], expected[big], rtol=1e-9)


def test_consistent_sbml_level_3_version_2(exported):
    doc = libsbml.readSBMLFromString(exported.text)
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    errors, warnings = sbml.consistency_errors(doc)
    assert errors == []
    assert warnings == []  # units included: every quantity and number has declared, consistent units
    model = doc.getModel()
    assert model.getTimeUnits() == "day"
    for name in ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change"):
        assert model.getAssignmentRuleByVariable(name) is not None
    for name in sy.INPUT_NAMES:
        assert model.getAssignmentRuleByVariable(name) is not None
    for site in SITES:
        for state in sy.SITE_STATE_NAMES:
            assert model.getRateRule(f"{site}_{state}") is not None


def test_parameters_carry_registry_provenance(exported):
    model = libsbml.readSBMLFromString(exported.text).getModel()
    table = default_parameters()
    for pid in exported.data.parameters:
        parameter = model.getParameter(pid)
        assert parameter is not None and parameter.getConstant()
        notes = parameter.getNotesString()
        annotation = parameter.getAnnotationString()
        name = sbml.registry_name(pid)
        if name in table:
            entry = table[name]
            assert entry.unit in libsbml.XMLNode.convertXMLNodeToString(parameter.getAnnotation()) or entry.unit in notes
            assert f'evidence="{entry.evidence}"' in annotation
            assert f"registry_name=\"{name}\"" in annotation
        else:
            assert 'evidence="D"' in annotation
    assert model.getParameter("lumbar_spine_bone_volume_pct_reference").getValue() == table.value("lumbar_spine_bone_volume_pct")


def test_initial_rates_equal_core_derivative(exported):
    exported.rr.resetAll()
    y0 = exported.state()
    np.testing.assert_allclose(y0, exported.data.initial_state, rtol=1e-14)
    _assert_rates_match(exported.rates(), y0, exported.data.inputs[:, 0], exported.data.vector)


def test_matches_simulate_and_reference(exported):
    rr = exported.rr
    rr.resetAll()
    selections = ["time", "lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "ctx_pct_change"]
    result = rr.simulate(0.0, MONTHS * DAYS_PER_MONTH, MONTHS + 1, selections=selections)
    trajectory = simulate(exported.scenario)
    params = default_parameters()
    arrays, _ = build_arrays([exported.scenario], EngineOptions(), patient_parameters([exported.scenario], params))
    oracle = reference.simulate_one(arrays, params=params, rtol=1e-10, atol=1e-14)
    assert result[0, 1] == pytest.approx(0.0, abs=1e-12) and result[0, 2] == pytest.approx(0.0, abs=1e-12)
    for m in CHECK_MONTHS:
        for k, site in enumerate(SITES):
            value = result[m, 1 + k]
            assert value == pytest.approx(getattr(trajectory, f"{site}_bmd_pct_change")[m], abs=0.1), (site, m)
            assert value == pytest.approx(100.0 * (oracle[f"{site}_bmd_relative"][m] - 1.0), abs=1e-6), (site, m)
        assert result[m, 3] == pytest.approx(trajectory.ctx_pct_change[m], abs=0.1), m
    # Mid-course (month 30 inputs, the state reached by roadrunner), the rates are still the engine's: the core's
    # with the drugs' inhibitions (drug_kernels.py), and the drugs' own.
    rr.resetAll()
    rr.simulate(0.0, 30.4 * DAYS_PER_MONTH, 3)
    ds, dp = exported.drug_state(), exported.data.drug_vector
    _assert_rates_match(exported.rates(), exported.state(), exported.data.inputs[:, 30], exported.data.vector,
                        dk.denosumab_inhibition(ds, dp), dk.bisphosphonate_inhibition(ds, dp))
    expected = np.empty(ds.size)
    dk.drug_rhs(ds, float(np.mean([exported.rr.getValue(f"{site}_osteoclasts_pM") for site in SITES]))
                / exported.data.vector[sy.VECTOR_NAMES.index("reference_osteoclasts_pM")], dp, expected)
    np.testing.assert_allclose(exported.rates(list(exported.data.drug_state_names)), expected, rtol=1e-9, atol=1e-12)


def test_time_constants_are_the_engines():
    from osteotwin.physiology import solve

    assert sbml.BURN_IN_DAYS == solve.BURN_IN_DAYS
    assert sbml.DAYS_PER_MONTH == solve.DAYS_PER_MONTH


def test_input_formula_is_a_tree_of_runs():
    formula = sbml.input_formula(np.array([1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 4.0]))
    d = DAYS_PER_MONTH
    assert formula == f"piecewise(piecewise(1.0, time < {2 * d!r}, 2.0), time < {3 * d!r}, piecewise(3.0, time < {6 * d!r}, 4.0))"
    assert sbml.input_formula(np.array([5.0, 5.0])) == "5.0"


def test_exercise_route_is_exercised():
    exported = _exported("letrozole_exercise")
    exported.rr.resetAll()
    assert exported.data.inputs[U.loading_lumbar_spine_relative, 0] > 1.0
    assert exported.rr.getValue("lumbar_spine_exercise_route") > 0.0
    assert exported.rr.getValue("lumbar_spine_modelling_formation") > 0.0


def test_doses_are_events_at_the_engines_times(exported):
    """One event per dosing item; the denosumab example's depot receives 60 mg x bioavailability every 6 months."""
    model = libsbml.readSBMLFromString(exported.text).getModel()
    assert model.getNumEvents() == len(exported.data.doses)
    for k, dose in enumerate(exported.data.doses):
        assert model.getEvent(f"dose_{k}").getEventAssignment(dose.state) is not None
    if exported.scenario.bone_agents and exported.scenario.bone_agents[0].drug == "denosumab":
        dose = exported.data.doses[0]
        assert dose.state == "denosumab_depot_ug" and dose.interval_days == pytest.approx(6 * DAYS_PER_MONTH)
        assert dose.amount == pytest.approx(60_000 * default_parameters().value("denosumab_bioavailability_fraction"))


def test_cli_writes_file_and_refuses_rule_triggered_starts(tmp_path, capsys):
    scenario = tmp_path / "dmab.json"
    scenario.write_text((EXAMPLES / "anastrozole_denosumab_5y.json").read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "model.xml"
    assert main(["export", "sbml", str(scenario), "--out", str(out)]) == 0
    assert libsbml.readSBMLFromString(out.read_text(encoding="utf-8")).getModel().getNumEvents() == 1
    ruled = tmp_path / "ruled.json"
    ruled.write_text((EXAMPLES / "letrozole_zoledronic_acid_when_t_below_minus2.json").read_text(encoding="utf-8"), encoding="utf-8")
    out.unlink()
    assert main(["export", "sbml", str(ruled), "--out", str(out)]) == 2
    assert "start_when" in capsys.readouterr().err and not out.exists()
    assert main(["export", "sbml", str(ruled), "--out", str(out), "--drop-bone-agents"]) == 0
    err = capsys.readouterr().err
    assert "WARNING" in err and "zoledronic_acid" in err
    text = out.read_text(encoding="utf-8")
    assert "NOT in this SBML model" in text
    assert libsbml.readSBMLFromString(text).getModel().getNumEvents() == 0


def _copasi_bmd(text: str) -> np.ndarray:
    """COPASI (deterministic LSODA, rtol 1e-10) time course of the SBML: (months + 1, 2) BMD % change.

    Importing COPASI sets the process's C locale to "C" (ASCII text encoding for every later file read
    without an explicit encoding in this test process); the locale is put back afterwards."""
    saved_locale = locale.setlocale(locale.LC_ALL)
    copasi = pytest.importorskip("COPASI")
    datamodel = copasi.CRootContainer.addDatamodel()
    try:
        assert datamodel.importSBMLFromString(text)
        messages = copasi.CCopasiMessage.getAllMessageText(True)
        assert "error" not in messages.lower(), messages
        task = datamodel.getTask("Time-Course")
        problem = task.getProblem()
        problem.setDuration(MONTHS * DAYS_PER_MONTH)
        problem.setStepNumber(MONTHS)
        problem.setTimeSeriesRequested(True)
        method = task.getMethod()
        method.getParameter("Relative Tolerance").setDblValue(1e-10)
        method.getParameter("Absolute Tolerance").setDblValue(1e-14)
        method.getParameter("Max Internal Steps").setIntValue(1_000_000)
        assert task.processWithOutputFlags(True, copasi.CCopasiTask.ONLY_TIME_SERIES)
        series = task.getTimeSeries()
        titles = [series.getTitle(i) for i in range(series.getNumVariables())]
        columns = [titles.index(f"Values[{site}_bmd_pct_change]") for site in SITES]
        assert series.getRecordedSteps() == MONTHS + 1
        return np.array([[series.getData(m, c) for c in columns] for m in range(MONTHS + 1)])
    finally:
        copasi.CRootContainer.removeDatamodel(datamodel)
        locale.setlocale(locale.LC_ALL, saved_locale)


def test_copasi_imports_and_agrees_with_roadrunner(exported):
    copasi = _copasi_bmd(exported.text)
    exported.rr.resetAll()
    result = exported.rr.simulate(0.0, MONTHS * DAYS_PER_MONTH, MONTHS + 1,
                                  selections=["lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change"])
    np.testing.assert_allclose(copasi[list(CHECK_MONTHS)], np.asarray(result)[list(CHECK_MONTHS)], rtol=0, atol=1e-6)
