"""SBML Level 3 Version 2 export of the bone-cell core with one scenario's inputs (docs/interop.md).

What is written: the 18 core states of ``system.py`` (9 per site) with rate rules, one assignment rule
per call of a mechanism function (the algebraic signals and terms of ``system.core_rates``),
the engine's monthly inputs of that scenario (``engine.monthly_inputs``, the path ``simulate`` takes) as
piecewise functions of time, the core's parameters (registry names, with unit, description, source and
evidence tag in notes and an annotation), and ``lumbar_spine_bmd_pct_change`` / ``total_hip_bmd_pct_change``
(plus ``ctx_pct_change``) as parameters with assignment rules. Time is in days; month m covers
``[m, m + 1) * 365.25/12`` days. Initial values are the state after the engine's 1000-day burn-in
(bone volume and the slow mineral deficit held), computed here, so month 0 of the SBML is month 0 of
``osteotwin.simulate``.

Not written: bone agents (denosumab, bisphosphonates): a scenario with them is refused unless the
caller asks to drop them (``drop_bone_agents=True``; the model's notes then say so). The drug
inhibitions stay in the equations as constant parameters ``denosumab_inhibition`` and
``bisphosphonate_inhibition`` fixed at 0. Derived [D] parameters are numbers, not recomputed from
the registry values they come from (``system.pack_parameters``).

The equations are not written here: interop/trace.py traces ``system.core_rates`` and the mechanism
functions it calls (the code the engine compiles and runs) into formulas, one assignment rule per
mechanism call, named after its function (``lumbar_spine_rankl_pM``, ``pth_pM``), with its units
inferred. tests/interop/test_sbml.py checks the result against the engine: the initial and mid-course
rates against ``system.core_derivative``, a libRoadRunner run against ``osteotwin.simulate`` and COPASI
against libRoadRunner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from osteotwin.errors import InputError
from osteotwin.interop.trace import DIMENSIONLESS, Formula, Quantity, Sink, Symbols, Tracer, Units
from osteotwin.physiology import drugs
from osteotwin.scenario import Scenario

ANNOTATION_NS = "urn:osteotwin:sbml:1"  # the namespace of our annotation elements
_DOSE_TIME_SLACK_DAYS = 1e-9  # solve.py: a repeat falling within 1e-9 d of the stop day is not given
_NEVER_DAYS = 1e300  # the next-dose time of an item that has ended
DAYS_PER_MONTH = 365.25 / 12.0
BURN_IN_DAYS = 1000.0
OUTPUT_NAMES = ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "ctx_pct_change")


class SbmlExportError(RuntimeError):
    """A libSBML call failed (a bug here, not bad input)."""


def _libsbml():
    try:
        import libsbml
    except ImportError as error:  # the [sbml] extra
        raise InputError("export sbml", "python-libsbml", "install the sbml extra: pip install 'osteotwin[sbml]'") from error
    return libsbml


def _check(value, action: str):
    """Raise on a libSBML failure (pysb/export/sbml.py's pattern): None, or a non-success return code."""
    libsbml = _libsbml()
    if value is None:
        raise SbmlExportError(f"libSBML returned None trying to {action}")
    if type(value) is int and value != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise SbmlExportError(f"libSBML error {value} trying to {action}: {libsbml.OperationReturnValue_toString(value).strip()}")
    return value


# ---------------------------------------------------------------------------------------------------
# The engine, in one place: the names, the parameter vector, the inputs and the burn-in.
# (system.VECTOR_NAMES / pack_parameters / reference_state / core_derivative / INPUT_NAMES,
# engine.monthly_inputs via simulation.build_arrays.)
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EngineData:
    """What the export needs from the engine for one scenario."""

    sites: tuple[str, ...]
    state_names: tuple[str, ...]  # per site, system.SITE_STATE_NAMES
    parameters: dict[str, float]  # SBML id -> value (registry and derived)
    vector_ids: tuple[str, ...]  # SBML id of each entry of the packed vector (system.VECTOR_NAMES order)
    vector: np.ndarray
    input_names: tuple[str, ...]
    inputs: np.ndarray  # (N_INPUTS, months)
    burn_inputs: np.ndarray  # (N_INPUTS,)
    initial_state: np.ndarray  # (N_CORE_STATES,) after the burn-in
    months: int
    drug_state_names: tuple[str, ...]  # drugs.DRUG_STATE_NAMES (all zero at month 0)
    drug_vector_ids: tuple[str, ...]  # drugs.RATE_NAMES: the rate constants the drug kernels read
    drug_vector: np.ndarray
    doses: tuple[Dose, ...]


@dataclass(frozen=True)
class Dose:
    """One dosing item of the scenario (engine.DoseSchedule): ``amount`` into drug state ``state`` at
    ``start_day``, then every ``interval_days`` (0: once) while before ``stop_day``."""

    drug: str
    state: str
    amount: float
    start_day: float
    interval_days: float
    stop_day: float


def state_id(site: str, state: str) -> str:
    return f"{site}_{state}"


def _vector_ids(vector_names, state_ids) -> tuple[str, ...]:
    """SBML ids of the packed vector: its names (physiology/spec.py), except that a registry name that
    collides with a state id (``{site}_bone_volume_pct``, the reference bone volume) gets the suffix
    ``_reference``; its annotation keeps the registry name."""
    return tuple(f"{name}_reference" if name in state_ids else name for name in vector_names)


def registry_name(sbml_id: str) -> str:
    return sbml_id.removesuffix("_reference")


def engine_data(scenario: Scenario, params=None) -> EngineData:
    """The parameter vectors, inputs, doses and burn-in state of one scenario."""
    from osteotwin.physiology.options import EngineOptions
    from osteotwin.twin.simulation import build_arrays, default_parameters, patient_parameters

    table = params if params is not None else default_parameters()
    per_patient = patient_parameters([scenario], table)
    arrays, _ = build_arrays([scenario], EngineOptions(), per_patient)
    return engine_data_of_arrays(arrays, per_patient)


def engine_data_of_arrays(arrays, per_patient) -> EngineData:
    """As :func:`engine_data`, from the engine's arrays of one patient (``engine.PatientArrays``) and her
    ``PatientParameters``: the path of cohorts a Scenario cannot hold (the calibration's, before the FMP)."""
    from scipy.integrate import solve_ivp

    from osteotwin.physiology import engine, spec
    from osteotwin.physiology import system as sy
    from osteotwin.physiology.options import EngineOptions

    u, burn, _, _ = engine.monthly_inputs(arrays, per_patient, EngineOptions(), 0, 1)
    doses = _doses(arrays.schedule.select(0, 1), per_patient) if arrays.schedule is not None else ()
    vector = sy.pack_parameters(per_patient)[0]
    state_ids = {state_id(site, state) for site in sy.SITES for state in sy.SITE_STATE_NAMES}
    ids = _vector_ids(sy.VECTOR_NAMES, state_ids)
    # Burn-in as in solve.py / reference.py: burn-in inputs, bone volume and slow deficit held.
    frozen = list(spec.HELD_IN_BURN_IN_INDEX)
    u_burn = np.ascontiguousarray(burn[:, 0])

    def burn_derivative(_t, y):
        d = sy.core_derivative(y, vector, u_burn)
        d[frozen] = 0.0
        return d

    y0 = sy.reference_state(vector)
    sol = solve_ivp(burn_derivative, (0.0, BURN_IN_DAYS), y0, method="Radau", rtol=1e-11, atol=1e-16 + 1e-12 * np.abs(y0))
    if not sol.success:
        raise RuntimeError(f"burn-in failed: {sol.message}")
    return EngineData(sites=tuple(sy.SITES), state_names=tuple(sy.SITE_STATE_NAMES),
                      parameters=dict(zip(ids, (float(x) for x in vector), strict=True)), vector_ids=ids,
                      vector=vector, input_names=tuple(sy.INPUT_NAMES), inputs=u[:, :, 0].copy(),
                      burn_inputs=u_burn.copy(), initial_state=sol.y[:, -1].copy(), months=arrays.months,
                      drug_state_names=tuple(drugs.DRUG_STATE_NAMES), drug_vector_ids=tuple(drugs.RATE_NAMES),
                      drug_vector=engine.drug_parameters(per_patient)[0].copy(), doses=doses)


def _doses(schedule, per_patient) -> tuple[Dose, ...]:
    """The scenario's dosing items, with the absorbed amount of each dose (engine.dose_rows_and_amounts)."""
    from osteotwin.physiology import engine

    rows, amounts = engine.dose_rows_and_amounts(schedule, per_patient)
    return tuple(Dose(drug=drugs.DRUGS[int(code)], state=drugs.DRUG_STATE_NAMES[int(row)], amount=float(amount),
                      start_day=float(start), interval_days=float(interval), stop_day=float(stop))
                 for code, row, amount, start, interval, stop in zip(schedule.drug_code, rows, amounts, schedule.start_day,
                                                                    schedule.interval_days, schedule.stop_day, strict=True))


# ---------------------------------------------------------------------------------------------------
# The equations: traced from system.core_rates (interop/trace.py), not written here.
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TracedModel:
    """The right-hand side as formulas: named quantities (in the order made: each reads earlier ones) and
    the rate of every core and drug state."""

    quantities: tuple[Quantity, ...]
    rates: dict[str, Formula]


def traced_model(data: EngineData, units_of: Mapping[str, str]) -> TracedModel:
    """The engine's compiled right-hand side as formulas over the export's ids (interop/trace.py), in the
    order the integrator (solve.py) evaluates it: the skeleton's resorption (it releases buried
    bisphosphonate), the drugs' rates, denosumab's RANKL inhibition and the bisphosphonate inhibition
    of resorption, then the core's rates. ``units_of`` maps every id to its unit id."""
    from osteotwin.physiology import drug_kernels, solve
    from osteotwin.physiology import system as sy

    def symbols(ids, sites_of=lambda _id: frozenset()):
        return Symbols([Formula(i, _UNIT_ATOMS[units_of[i]], sites_of(i), True) for i in ids])

    state_ids = [state_id(site, state) for site in data.sites for state in data.state_names]
    # A formula is a site's when it reads that site's states, its own parameters ({site}_turnover_scale) or its own
    # inputs (loading_{site}_relative): its quantities are named {site}_{function}.
    def site_of(name: str) -> frozenset[str]:
        return frozenset(site for site in data.sites if name.startswith(f"{site}_") or f"_{site}_" in name)

    y, p, u = symbols(state_ids, site_of), symbols(data.vector_ids, site_of), symbols(data.input_names, site_of)
    ds, dp = symbols(data.drug_state_names), symbols(data.drug_vector_ids)
    tracer = Tracer()
    resorption = tracer.call(solve._resorption_relative, y, p)
    drug_rates = Sink(len(ds))
    tracer.call(drug_kernels.drug_rhs, ds, resorption, dp, drug_rates)
    denosumab = tracer.call(drug_kernels.denosumab_inhibition, ds, dp)
    bisphosphonate = tracer.call(drug_kernels.bisphosphonate_inhibition, ds, dp)
    prod, loss = Sink(len(y)), Sink(len(y))
    tracer.call(sy.core_rates, y, p, u, denosumab, bisphosphonate, prod, loss)
    rates = {sid: prod[k] - loss[k] * y[k] for k, sid in enumerate(state_ids)}
    rates.update({name: drug_rates[k] for k, name in enumerate(data.drug_state_names)})
    return TracedModel(tuple(tracer.quantities.values()), rates)


def output_assignments(sites: tuple[str, ...]) -> dict[str, str]:
    """BMD % change per site (mineral volume relative to month 0, as solve._record) and CTX % change."""
    out = {}
    for site in sites:
        mineral = state_id(site, "mineral_volume_pct")
        out[f"{site}_bmd_pct_change"] = f"100 * ({mineral} / {mineral}_month0 - 1)"
    oca = [state_id(site, "osteoclasts_pM") for site in sites]
    out["ctx_pct_change"] = f"100 * (0.5 * ({oca[0]} / {oca[0]}_month0 + {oca[1]} / {oca[1]}_month0) - 1)"
    return out


def input_formula(values: np.ndarray) -> str:
    """A monthly input as a piecewise function of time (days); runs of equal months merged, the last held.

    Written as a balanced tree of two-way ``piecewise`` (depth log2 of the number of runs), not one flat
    ``piecewise`` with a condition per month: COPASI 4.48 fails to import a flat one with about 60 pieces.
    """
    values = [float(x) for x in np.asarray(values, dtype=float)]
    starts = [0] + [m for m in range(1, len(values)) if values[m] != values[m - 1]]  # first month of each run

    def tree(lo: int, hi: int) -> str:  # runs lo..hi-1
        if hi - lo == 1:
            return repr(values[starts[lo]])
        mid = (lo + hi) // 2
        return f"piecewise({tree(lo, mid)}, time < {starts[mid] * DAYS_PER_MONTH!r}, {tree(mid, hi)})"

    return tree(0, len(starts))


# ---------------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------------

#: The atoms every unit of the export is made of: [(SBML kind, exponent, scale, multiplier)].
_ATOM_PARTS: dict[str, list[tuple[str, int, int, float]]] = {
    "picomole": [("mole", 1, -12, 1.0)],
    "litre": [("litre", 1, 0, 1.0)],
    "day": [("second", 1, 0, 86400.0)],
    "year": [("second", 1, 0, 31557600.0)],
    "percent": [("dimensionless", 1, 0, 0.01)],
    "microgram": [("gram", 1, -6, 1.0)],
    "micromole": [("mole", 1, -6, 1.0)],
    "millilitre": [("litre", 1, -3, 1.0)],
}


def _atoms(**powers: int) -> Units:
    return tuple(sorted(powers.items()))


#: The named units: id -> atoms (interop/trace.py infers the units of every traced quantity in atoms).
_UNIT_ATOMS: dict[str, Units] = {
    "dimensionless": DIMENSIONLESS,
    "day": _atoms(day=1),
    "per_day": _atoms(day=-1),
    "pM": _atoms(picomole=1, litre=-1),
    "per_pM": _atoms(picomole=-1, litre=1),
    "pM_per_day": _atoms(picomole=1, litre=-1, day=-1),
    "picomole": _atoms(picomole=1),
    "year": _atoms(year=1),
    "per_year": _atoms(year=-1),
    "percent": _atoms(percent=1),
    "percent_per_day": _atoms(percent=1, day=-1),
    "percent_per_pM_per_day": _atoms(percent=1, picomole=-1, litre=1, day=-1),
    "ug": _atoms(microgram=1),
    "ug_per_ml": _atoms(microgram=1, millilitre=-1),
    "ug_per_day": _atoms(microgram=1, day=-1),
    "umol": _atoms(micromole=1),
    "ml": _atoms(millilitre=1),
    "ml_per_day": _atoms(millilitre=1, day=-1),
}

#: Units from a name's suffix (names carry their unit: drugs.py, spec.py), longest suffix first.
_NAME_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_ug_per_ml", "ug_per_ml"), ("_ug_per_day", "ug_per_day"), ("_ml_per_day", "ml_per_day"), ("_per_day", "per_day"),
    ("_ug", "ug"), ("_umol", "umol"), ("_ml", "ml"), ("_pM", "pM"), ("_pct", "percent"),
    ("_relative", "dimensionless"), ("_fraction", "dimensionless"), ("_weight", "dimensionless"),
    ("_coefficient", "dimensionless"), ("_potency", "dimensionless"),
)


def _name_units(name: str) -> str:
    """The unit id of a state or rate constant, from its name's unit suffix."""
    for suffix, units in _NAME_SUFFIX_UNITS:
        if name.endswith(suffix):
            return units
    raise RuntimeError(f"{name} has no unit suffix the SBML export knows ({', '.join(s for s, _ in _NAME_SUFFIX_UNITS)})")


def _unit_parts(atoms: Units) -> list[tuple[str, int, int, float]]:
    return [(kind, exponent * power, scale, multiplier) for atom, power in atoms for kind, exponent, scale, multiplier in _ATOM_PARTS[atom]]


def _unit_id(atoms: Units) -> str:
    """The id of a unit made of these atoms: a named one, else one spelled from its atoms (``pM2`` style)."""
    for unit_id, known in _UNIT_ATOMS.items():
        if known == atoms:
            return unit_id
    return "_".join(f"{atom}{power}" if power > 0 else f"per_{atom}{-power}" for atom, power in atoms)


_REGISTRY_UNITS = {"pM": "pM", "1/d": "per_day", "1/day": "per_day", "pM/pM": "dimensionless", "1": "dimensionless", "y": "year", "1/y": "per_year",
                   "pM/d": "pM_per_day", "1/pM": "per_pM", "%": "percent", "%/(pM d)": "percent_per_pM_per_day"}
_DERIVED_UNITS = {"formation_rate_pct_per_pM_day": "percent_per_pM_per_day",
                  "osteoclast_differentiation_per_day": "per_day",
                  "osteoclast_precursor_supply_pM_per_day": "pM_per_day"}
_DERIVED_NOTES = {
    "formation_rate_pct_per_pM_day": "formation per active osteoblast balancing resorption at the reference",
    "osteoclast_differentiation_per_day": "osteoclast precursor differentiation balancing the osteoclasts at the reference RANKL",
    "osteoclast_precursor_supply_pM_per_day": "osteoclast precursor supply balancing the precursors at the reference",
    "reference_osteoblast_precursors_pM": "reference osteoblast precursors", "reference_osteoblasts_pM": "reference active osteoblasts",
    "reference_osteoclast_precursors_pM": "reference osteoclast precursors", "reference_osteoclasts_pM": "reference active osteoclasts",
    "reference_rankl_pM": "reference RANKL", "reference_opg_pM": "reference OPG",
}
def _notes(text: str) -> str:
    return f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>'


def _annotation(kind: str, **attributes: str) -> str:
    attrs = " ".join(f"{key}={quoteattr(str(value))}" for key, value in attributes.items())
    return f'<osteotwin:{kind} xmlns:osteotwin="{ANNOTATION_NS}" {attrs}/>'


def _literal_units(node, libsbml) -> None:
    """Declare the units of every number: days where compared with time, dimensionless otherwise."""
    timed = node.isRelational() and any(node.getChild(i).getType() == libsbml.AST_NAME_TIME for i in range(node.getNumChildren()))
    for i in range(node.getNumChildren()):
        child = node.getChild(i)
        if child.isNumber():
            _check(child.setUnits("day" if timed else "dimensionless"), "set the units of a number")
        else:
            _literal_units(child, libsbml)


def _math(formula: str):
    libsbml = _libsbml()
    ast = libsbml.parseL3Formula(formula)
    if ast is None:
        raise SbmlExportError(f"cannot parse {formula!r}: {libsbml.getLastParseL3Error()}")
    if ast.isNumber():
        _check(ast.setUnits("dimensionless"), "set the units of a number")
    _literal_units(ast, libsbml)
    return ast


class _Builder:
    def __init__(self, model_id: str):
        libsbml = self.libsbml = _libsbml()
        self.doc = libsbml.SBMLDocument(3, 2)
        self.model = _check(self.doc.createModel(), "create the model")
        _check(self.model.setId(model_id), "set the model id")
        self.unit_ids: set[str] = set()
        for atoms in _UNIT_ATOMS.values():
            self.unit(atoms)
        for setter, unit in (("setTimeUnits", "day"), ("setSubstanceUnits", "picomole"), ("setVolumeUnits", "litre"),
                             ("setExtentUnits", "picomole")):
            _check(getattr(self.model, setter)(unit), f"{setter}({unit})")

    def unit(self, atoms: Units) -> str:
        """The id of the unit made of these atoms, defined in the model on first use."""
        unit_id = _unit_id(atoms)
        if unit_id in self.unit_ids or unit_id == "dimensionless":
            return unit_id
        libsbml = self.libsbml
        definition = _check(self.model.createUnitDefinition(), f"create unit {unit_id}")
        _check(definition.setId(unit_id), f"set unit id {unit_id}")
        for kind, exponent, scale, multiplier in _unit_parts(atoms):
            unit = _check(definition.createUnit(), f"create a part of unit {unit_id}")
            _check(unit.setKind(libsbml.UnitKind_forName(kind)), f"set kind {kind}")
            _check(unit.setExponent(exponent), "set exponent")
            _check(unit.setScale(scale), "set scale")
            _check(unit.setMultiplier(multiplier), "set multiplier")
        self.unit_ids.add(unit_id)
        return unit_id

    def parameter(self, pid: str, value: float | None, *, constant: bool, units: str | None = None,
                  notes: str | None = None, annotation: str | None = None):
        parameter = _check(self.model.createParameter(), f"create parameter {pid}")
        _check(parameter.setId(pid), f"set parameter id {pid}")
        _check(parameter.setConstant(constant), f"set constant of {pid}")
        if value is not None:
            _check(parameter.setValue(float(value)), f"set value of {pid}")
        if units is not None:
            _check(parameter.setUnits(units), f"set units of {pid}")
        self._describe(parameter, pid, notes, annotation)
        return parameter

    def _describe(self, element, pid: str, notes: str | None, annotation: str | None) -> None:
        if notes is not None:
            _check(element.setNotes(_notes(notes)), f"set notes of {pid}")
        if annotation is not None:
            _check(element.setAnnotation(annotation), f"set annotation of {pid}")

    def species(self, sid: str, compartment: str, value: float, units: str, notes: str):
        species = _check(self.model.createSpecies(), f"create species {sid}")
        _check(species.setId(sid), f"set species id {sid}")
        _check(species.setCompartment(compartment), f"set compartment of {sid}")
        _check(species.setInitialConcentration(float(value)), f"set initial concentration of {sid}")
        _check(species.setSubstanceUnits("picomole"), f"set substance units of {sid}")
        _check(species.setHasOnlySubstanceUnits(False), f"set hasOnlySubstanceUnits of {sid}")
        _check(species.setBoundaryCondition(False), f"set boundaryCondition of {sid}")
        _check(species.setConstant(False), f"set constant of {sid}")
        self._describe(species, sid, notes, None)

    def compartment(self, cid: str, notes: str):
        compartment = _check(self.model.createCompartment(), f"create compartment {cid}")
        _check(compartment.setId(cid), f"set compartment id {cid}")
        _check(compartment.setSpatialDimensions(3), f"set dimensions of {cid}")
        _check(compartment.setSize(1.0), f"set size of {cid}")
        _check(compartment.setUnits("litre"), f"set units of {cid}")
        _check(compartment.setConstant(True), f"set constant of {cid}")
        self._describe(compartment, cid, notes, None)

    def dose_event(self, k: int, dose: Dose, units: str) -> None:
        """Dosing item k: at ``dose_k_next_day`` (first the start day) add the absorbed amount to its drug
        state and move the next time on by the interval, or past every horizon when the item ends
        (the engine's rule, solve.py: a repeat is given while before the stop day)."""
        next_id, amount_id, interval_id, stop_id = (f"dose_{k}_{name}" for name in ("next_day", "amount", "interval_days", "stop_day"))
        text = f"dosing item {k}: {dose.drug} into {dose.state}"
        self.parameter(next_id, dose.start_day, constant=False, units="day", notes=f"{text}: time of its next dose (days)")
        self.parameter(amount_id, dose.amount, constant=True, units=units, notes=f"{text}: absorbed amount of one dose")
        self.parameter(interval_id, dose.interval_days, constant=True, units="day", notes=f"{text}: dosing interval (0: once)")
        self.parameter(stop_id, dose.stop_day, constant=True, units="day", notes=f"{text}: no dose on or after this day")
        event = _check(self.model.createEvent(), f"create event {k}")
        _check(event.setId(f"dose_{k}"), f"set id of event {k}")
        _check(event.setUseValuesFromTriggerTime(True), f"set useValuesFromTriggerTime of event {k}")
        trigger = _check(event.createTrigger(), f"create trigger of event {k}")
        _check(trigger.setMath(_math(f"time >= {next_id}")), f"set trigger of event {k}")
        _check(trigger.setInitialValue(False), f"set initialValue of event {k}")
        _check(trigger.setPersistent(True), f"set persistent of event {k}")
        for variable, formula in (
                (dose.state, f"{dose.state} + {amount_id}"),
                (next_id, f"piecewise({next_id} + {interval_id}, {interval_id} > 0 * {interval_id} && "
                          f"{next_id} + {interval_id} < {stop_id} - {_DOSE_TIME_SLACK_DAYS!r} * one_day, {_NEVER_DAYS!r} * one_day)")):
            assignment = _check(event.createEventAssignment(), f"create an assignment of event {k}")
            _check(assignment.setVariable(variable), f"set variable {variable} of event {k}")
            _check(assignment.setMath(_math(formula)), f"set math of {variable} in event {k}")

    def assignment(self, variable: str, formula: str):
        rule = _check(self.model.createAssignmentRule(), f"create assignment rule for {variable}")
        _check(rule.setVariable(variable), f"set variable {variable}")
        _check(rule.setMath(_math(formula)), f"set math of {variable}")

    def rate(self, variable: str, formula: str):
        rule = _check(self.model.createRateRule(), f"create rate rule for {variable}")
        _check(rule.setVariable(variable), f"set variable {variable}")
        _check(rule.setMath(_math(formula)), f"set math of rate of {variable}")


def _refuse_rule_starts(scenario: Scenario, drop_bone_agents: bool) -> tuple[Scenario, list[str]]:
    """Bone agents are exported as dosing events, except a start triggered by a simulated T-score
    (``start_when``): the engine checks it at month ends, which SBML events do not express. Such a
    scenario is refused unless the caller drops every bone agent (``drop_bone_agents``)."""
    if not scenario.bone_agents:
        return scenario, []
    names = sorted({agent.drug for agent in scenario.bone_agents})
    if not drop_bone_agents:
        ruled = [f"bone_agents[{k}].start_when" for k, agent in enumerate(scenario.bone_agents) if agent.start_when]
        if not ruled:
            return scenario, []
        raise InputError(ruled[0], names, "the SBML export carries scheduled doses, not starts triggered by a simulated "
                         "T-score; give start_month instead, or pass --drop-bone-agents to export without bone agents")
    warning = (f"WARNING: bone agents {', '.join(names)} are NOT in this SBML model (dropped at export): it simulates "
               "the scenario without them")
    return scenario.model_copy(update={"bone_agents": []}), [warning]


def build_document(scenario: Scenario | Mapping, *, params=None, drop_bone_agents: bool = False):
    """The libsbml.SBMLDocument of one scenario, and the warnings raised building it."""
    from osteotwin.twin.simulation import as_scenario, default_parameters

    scenario, warnings = _refuse_rule_starts(as_scenario(scenario), drop_bone_agents)
    data = engine_data(scenario, params)
    table = params if params is not None else default_parameters()
    model_notes = ("osteotwin bone-cell core exported from system.py: per site (lumbar spine, total hip) nine states with rate "
                   "rules, the algebraic signals as assignment rules, the scenario's monthly engine inputs as piecewise "
                   f"functions of time (days; month m covers [m, m+1) x {DAYS_PER_MONTH!r} d; {data.months} months; the last "
                   "month is held after the horizon). Initial values: the state after the engine's 1000-day burn-in. "
                   "Derived [D] parameters are fixed numbers (not recomputed if a registry value is changed). "
                   "Bone agents: the drug states (drugs.py) with rate rules and one event per dosing item of the scenario, "
                   "adding each dose's absorbed amount at its times (days).")
    if warnings:
        model_notes += " " + " ".join(warnings)
    return build_model(data, table, model_notes).doc, warnings


def build_model(data: EngineData, table, model_notes: str, input_formulas: Mapping[str, str] | None = None) -> _Builder:
    """The model of ``data`` (one patient's parameters, inputs and initial state) in a builder, so a caller
    (interop/petab.py) can add to it. ``input_formulas``: an engine input's formula in place of its monthly
    piecewise values (dimensionless inputs; others are multiplied by ``one_{unit}``)."""
    b = _Builder("osteotwin_bone_core")
    _check(b.model.setName("osteotwin bone-cell core (two sites) with one scenario's inputs"), "set model name")
    _check(b.model.setNotes(_notes(model_notes)), "set model notes")

    units_of: dict[str, str] = {}  # every id the equations read -> its unit id

    # Parameters of the core (registry or derived [D]).
    for pid, value in data.parameters.items():
        name = registry_name(pid)
        if name in table:
            entry = table[name]
            units = _REGISTRY_UNITS.get(entry.unit)
            text = f"{entry.description} [{entry.unit}; evidence {entry.evidence}] source: {entry.source}"
            ann = _annotation("parameter", registry_name=name, unit=entry.unit, description=entry.description,
                              source=entry.source, evidence=entry.evidence)
        else:
            units = _DERIVED_UNITS.get(pid, "pM" if pid in _DERIVED_NOTES else None)
            if pid.endswith("_pct"):
                units = "percent"
            elif pid.endswith("_reference_mineral_fraction"):
                units = "dimensionless"
            description = _DERIVED_NOTES.get(pid, "reference value of the site (bone.py)")
            text = f"{description} [derived D in system.pack_parameters so the untreated reference is a steady state]"
            ann = _annotation("parameter", registry_name="", unit=units or "", description=description,
                              source="system.pack_parameters", evidence="D")
        if units is None:
            raise RuntimeError(f"parameter {name} has a unit the SBML export does not know: add it to _REGISTRY_UNITS")
        units_of[pid] = units
        b.parameter(pid, value, constant=True, units=units, notes=text, annotation=ann)
    # The drugs' rate constants (drugs.rate_constants: registry values, half-lives turned into rates).
    for pid, value in zip(data.drug_vector_ids, data.drug_vector, strict=True):
        units_of[pid] = _name_units(pid)
        b.parameter(pid, float(value), constant=True, units=units_of[pid],
                    notes=f"{pid}: drug rate constant from the registry (drugs.rate_constants; `osteotwin parameters` lists "
                          "the values, units, sources and evidence it is made from)",
                    annotation=_annotation("parameter", registry_name="", unit=units_of[pid], description=pid,
                                           source="drugs.rate_constants", evidence="D"))

    # Inputs: piecewise in time.
    from osteotwin.physiology import spec

    input_units = {i.name: _REGISTRY_UNITS[i.unit] for i in spec.INPUTS}
    units_of.update(input_units)
    for units in sorted(set(input_units.values()) - {"dimensionless"}):  # numbers are dimensionless: one unit carries it
        b.parameter(f"one_{units}", 1.0, constant=True, units=units, notes=f"1 {units}: the unit of the inputs measured in it")
    for k, name in enumerate(data.input_names):
        units = input_units[name]
        b.parameter(name, None, constant=False, units=units,
                    notes=f"engine input {name} (engine.monthly_inputs), piecewise constant per month",
                    annotation=_annotation("input", burn_in_value=repr(float(data.burn_inputs[k]))))
        formula = (input_formulas or {}).get(name) or input_formula(data.inputs[k])
        b.assignment(name, formula if units == "dimensionless" else f"({formula}) * one_{units}")

    # States.
    y0 = data.initial_state
    n_site = len(data.state_names)
    for s, site in enumerate(data.sites):
        b.compartment(site, f"{site}: a notional unit volume holding the site's cell concentrations")
        for k, state in enumerate(data.state_names):
            sid = state_id(site, state)
            units = units_of[sid] = _name_units(state)
            description = spec.SITE_STATES[k].description
            text = f"{description} at the {site.replace('_', ' ')} (system.SITE_STATE_NAMES); initial value after the burn-in"
            if units == "pM":
                b.species(sid, site, y0[s * n_site + k], "pM", text)
            else:
                b.parameter(sid, y0[s * n_site + k], constant=False, units=units, notes=text)
    for s, site in enumerate(data.sites):
        for state in ("osteoclasts_pM", "mineral_volume_pct"):  # at month 0: the outputs' denominators
            sid = state_id(site, state)
            b.parameter(f"{sid}_month0", y0[s * n_site + data.state_names.index(state)], constant=True, units=units_of[sid],
                        notes=f"{sid} at month 0 (after the burn-in)")

    # Drug states (amounts; denosumab's effect site as a concentration), zero at month 0, and the doses.
    for name in data.drug_state_names:
        units_of[name] = _name_units(name)
        b.parameter(name, 0.0, constant=False, units=units_of[name], notes=f"{name}: drug state (drugs.py), zero before the first dose")
    if data.doses:
        b.parameter("one_day", 1.0, constant=True, units="day", notes="1 day: the unit of the dosing times' numbers")
    for k, dose in enumerate(data.doses):
        b.dose_event(k, dose, units_of[dose.state])

    # The algebraic signals and the rates, traced from the engine's right-hand side: one assignment per mechanism call.
    traced = traced_model(data, units_of)
    for quantity in traced.quantities:
        b.parameter(quantity.id, None, constant=False, units=b.unit(quantity.units),
                    notes=f"{quantity.id}: the result of {quantity.source} (traced from the engine's compiled right-hand side)")
        b.assignment(quantity.id, quantity.formula)
    for variable, rate in traced.rates.items():
        expected = _UNIT_ATOMS[units_of[variable]] + _UNIT_ATOMS["per_day"]
        if tuple(sorted(expected)) != rate.units:
            raise SbmlExportError(f"the traced rate of {variable} has units {rate.units}, not {units_of[variable]} per day")
        b.rate(variable, rate.text)
    for pid, formula in output_assignments(data.sites).items():
        b.parameter(pid, None, constant=False, units="dimensionless",
                    notes=f"{pid}: as in osteotwin.simulate (relative to month 0)")
        b.assignment(pid, formula)
    return b


def consistency_errors(doc) -> tuple[list[str], list[str]]:
    """libSBML checkConsistency(): (errors, warnings) as one line each."""
    libsbml = _libsbml()
    doc.checkConsistency()
    errors, warnings = [], []
    for i in range(doc.getNumErrors()):
        error = doc.getError(i)
        line = f"{error.getErrorId()} {error.getCategoryAsString()}: {error.getMessage().strip()}"
        (errors if error.getSeverity() >= libsbml.LIBSBML_SEV_ERROR else warnings).append(line)
    return errors, warnings


def export_sbml(scenario: Scenario | Mapping, *, params=None, drop_bone_agents: bool = False) -> tuple[str, list[str]]:
    """The SBML text of one scenario and the warnings; raises SbmlExportError if libSBML finds errors."""
    libsbml = _libsbml()
    doc, warnings = build_document(scenario, params=params, drop_bone_agents=drop_bone_agents)
    errors, _ = consistency_errors(doc)
    if errors:
        raise SbmlExportError("the exported SBML is not consistent:\n" + "\n".join(errors))
    text = libsbml.writeSBMLToString(doc)
    if not text:
        raise SbmlExportError("libSBML wrote an empty document")
    return text, warnings
