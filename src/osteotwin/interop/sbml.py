"""SBML Level 3 Version 2 export of the bone-cell core with one scenario's inputs (docs/interop.md).

What is written: the 18 core states of ``system.py`` (9 per site) with rate rules, the algebraic
signals of ``system.site_signals`` and the local terms of ``system.core_rates`` as assignment rules,
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

The equations duplicate the numba right-hand side. Each function below produces one term as an
infix formula (libSBML's L3 syntax) under the name it has in ``system.py``, so the two can be read
side by side; tests/interop/test_sbml.py keeps them in step (the initial rates against
``system.core_derivative``, and a libRoadRunner run against ``osteotwin.simulate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from osteotwin.errors import InputError
from osteotwin.scenario import Scenario

ANNOTATION_NS = "urn:osteotwin:sbml:1"  # the namespace of our annotation elements
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
    """The parameter vector, inputs and burn-in state of one scenario (no bone agents)."""
    from scipy.integrate import solve_ivp

    from osteotwin.physiology import engine, spec
    from osteotwin.physiology import system as sy
    from osteotwin.physiology.options import EngineOptions
    from osteotwin.twin.simulation import build_arrays, default_parameters, patient_parameters

    if spec.SITE_STATE_NAMES != _STATE_ORDER:
        raise RuntimeError("the engine's site states changed (physiology/spec.py): update Terms in osteotwin.interop.sbml")
    table = params if params is not None else default_parameters()
    options = EngineOptions()
    per_patient = patient_parameters([scenario], table)
    arrays, _ = build_arrays([scenario], options, per_patient)
    u, burn, _, _ = engine.monthly_inputs(arrays, per_patient, options, 0, 1)
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
                      burn_inputs=u_burn.copy(), initial_state=sol.y[:, -1].copy(), months=arrays.months)


# ---------------------------------------------------------------------------------------------------
# The equations: one function per term of system.site_signals / core_rates, same names.
# ---------------------------------------------------------------------------------------------------

def _max(a: str, b: str) -> str:
    return f"piecewise({a}, {a} >= {b}, {b})"


def _min(a: str, b: str) -> str:
    return f"piecewise({a}, {a} <= {b}, {b})"


class Terms:
    """Formulas of site ``site``; attribute ``x`` of system.py's locals is the id ``{site}_x``."""

    def __init__(self, site: str, state_names: tuple[str, ...]):
        self.site = site
        obp, oba, ocp, oca, bv, mineral, om, slow, prime = (state_id(site, n) for n in state_names)
        self.obp, self.oba, self.ocp, self.oca, self.bv, self.min, self.om, self.slow, self.prime = (
            obp, oba, ocp, oca, bv, mineral, om, slow, prime)

    def id(self, local: str) -> str:
        return f"{self.site}_{local}"

    # -- site_signals ---------------------------------------------------------------------------
    def mineral_fraction(self) -> str:  # v
        return f"{self.min} / {self.bv}"

    def log_load(self) -> str:  # log_load = 2 log(u[IN_LOAD0 + s]): exercise above habitual
        return f"2 * ln(loading_{self.site}_relative)"

    def log_phi_bone(self) -> str:  # strain of the current bone under habitual loading
        return (f"stiffness_bone_volume_exponent * ln({self.site}_bone_volume_pct_reference / {self.bv})"
                f" + stiffness_ash_exponent * ln({self.site}_reference_mineral_fraction / {self.id('mineral_fraction')})")

    def log_phi(self) -> str:
        return f"{self.id('log_load')} + {self.id('log_phi_bone')}"

    def phi(self) -> str:  # mechanical stimulus
        return f"exp({self.id('log_phi')})"

    def route(self) -> str:  # mechanostat.exercise_route: (L - W) * accommodation, W the withdrawn loading (detraining)
        return (f"({self.id('log_load')} - 2 * ln(withdrawn_loading_{self.site}_relative))"
                " * exercise_accommodation_relative")

    def loading_route(self) -> str:  # the osteocytes follow a positive route only (system.site_signals)
        return _max(self.id('route'), '0')

    def exercise(self) -> str:
        return f"{self.site}_exercise_loading_sensitivity * {self.id('loading_route')}"

    def decline(self) -> str:  # the set point's decline with age and the menopausal fall (background.py)
        return (f"stiffness_bone_volume_exponent * ({self.site}_set_point_decline_per_year * elapsed_years"
                " + menopause_set_point_decline * menopause_fall_since_start)")

    def log_phi_carried(self) -> str:  # mechanostat.loaded_set_point_signal: the gain the loading carries is not disuse
        return f"{self.id('log_phi_bone')} + {_min(self.id('log_load'), _max('-' + self.id('log_phi_bone'), '0'))}"

    def log_phi_set(self) -> str:  # lazy zone, then the disuse side scaled; minus the set point's decline
        a, z = self.id("log_phi_carried"), "mechanostat_lazy_zone_log"
        return (f"piecewise(({a} + {z}) * mechanostat_disuse_gain_ratio, {a} < -{z}, {a} - {z}, {a} > {z}, 0)"
                f" - {self.id('decline')}")

    def w(self) -> str:  # Wnt factor (1 / sclerostin)
        return (f"exp(sclerostin_stimulus_exponent * ({self.site}_mechanosensitivity * {self.id('log_phi_set')}"
                f" + {self.id('exercise')})) / sclerostin_relative")

    def p_o(self) -> str:  # OPG production
        return f"opg_production_per_osteoblast_per_day * {self.oba} * pi_m * opg_production_relative"

    def opg(self) -> str:
        return f"{self.id('p_o')} * opg_max_pM / ({self.id('p_o')} + opg_degradation_per_day * opg_max_pM)"

    def l_eff(self) -> str:
        return f"rankl_max_per_precursor * {self.obp} * pi_p"

    def production(self) -> str:  # RANKL production: osteocyte share lowered by stimulus and the route
        return (f"rankl_intrinsic_production_pM_per_day * (1 + {self.prime}) * (((1 - osteocyte_rankl_share)"
                f" + osteocyte_rankl_share * exp(-osteocyte_rankl_stimulus_exponent * ({self.site}_mechanosensitivity"
                f" * {self.id('log_phi_set')} + exercise_osteocyte_rankl_sensitivity * {self.id('loading_route')})))"
                f" * rankl_production_relative + background_rankl_drive + {self.site}_age_drive_scale * age_rankl_drive)")

    def rankl(self) -> str:
        return (f"(1 - denosumab_inhibition) * {self.id('l_eff')} / (1 + rankl_opg_association_per_pM * {self.id('opg')}"
                f" + rankl_rank_association_per_pM * rank_pM) * {self.id('production')}"
                f" / (rankl_intrinsic_production_pM_per_day + rankl_degradation_per_day * {self.id('l_eff')})")

    def x(self) -> str:  # RANK bound
        return f"rankl_rank_association_per_pM * {self.id('rankl')} * rank_pM"

    def pi_l(self) -> str:
        return f"{self.id('x')} / ({self.id('x')} + rank_rankl_activation_K_pM)"

    # -- core_rates -----------------------------------------------------------------------------
    def pi_u(self) -> str:  # tgf = OCa
        return f"{self.oca} / ({self.oca} + tgf_osteoblast_activation_K_pM)"

    def pi_r(self) -> str:
        return f"tgf_osteoblast_repression_K_pM / ({self.oca} + tgf_osteoblast_repression_K_pM)"

    def pi_c(self) -> str:
        return f"{self.oca} / ({self.oca} + tgf_osteoclast_apoptosis_K_pM)"

    def maturation(self) -> str:
        return f"osteoblast_precursor_differentiation_per_day * {self.id('pi_r')} * {self.id('w')} * formation_relative"

    def differentiation(self) -> str:
        return f"osteoclast_differentiation_per_day * {self.id('pi_l')}"

    def refusion(self) -> str:
        return f"{self.site}_turnover_scale * osteomorph_refusion_per_day * (1 - denosumab_inhibition)"

    def osteoclast_loss(self) -> str:  # loss[OCA]
        return (f"{self.site}_turnover_scale * osteoclast_apoptosis_per_day * {self.id('pi_c')} * osteoclast_apoptosis_relative"
                f" / (1 - bisphosphonate_inhibition)")

    def modelling_formation(self) -> str:  # bone.modelling_formation
        return f"{self.site}_modelling_formation_per_day * {self.id('loading_route')} * {self.bv}"

    def formation(self) -> str:
        return f"{self.site}_turnover_scale * formation_rate_pct_per_pM_day * {self.oba} + {self.id('modelling_formation')}"

    def resorption_per_bv(self) -> str:  # resorption plus detraining's removal (bone.modelling_removal_per_day)
        return (f"{self.site}_turnover_scale * resorption_rate_pct_per_pM_day * {self.oca} / {self.bv}"
                f" + {self.site}_modelling_formation_per_day * {_max('-' + self.id('route'), '0')}")

    # -- rates (prod - loss * y) ----------------------------------------------------------------
    def rates(self) -> dict[str, str]:
        theta, i = f"{self.site}_turnover_scale", self.id
        return {
            self.obp: f"{theta} * uncommitted_osteoblast_differentiation_pM_per_day * {i('pi_u')} - {theta} * {i('maturation')} * {self.obp}",
            self.oba: f"{theta} * {i('maturation')} * {self.obp} - {theta} * osteoblast_apoptosis_per_day * {self.oba}",
            self.ocp: (f"{theta} * osteoclast_precursor_supply_pM_per_day"
                       f" - {theta} * ({i('differentiation')} + osteoclast_precursor_apoptosis_per_day) * {self.ocp}"),
            self.oca: (f"{theta} * {i('differentiation')} * {self.ocp} + {i('refusion')} * {self.om}"
                       f" - {i('osteoclast_loss')} * {self.oca}"),
            self.om: (f"osteomorph_share_of_osteoclast_exits * denosumab_inhibition * {i('osteoclast_loss')} * {self.oca}"
                      f" - ({theta} * osteomorph_removal_per_day + {i('refusion')}) * {self.om}"),
            self.bv: f"{i('formation')} - {i('resorption_per_bv')} * {self.bv}",
            self.min: (f"{i('formation')} * primary_mineral_fraction + secondary_mineralisation_per_day"
                       f" * (max_mineral_fraction * {self.bv} - {self.slow}) + slow_mineralisation_per_day * {self.slow}"
                       f" - ({i('resorption_per_bv')} + secondary_mineralisation_per_day) * {self.min}"),
            self.slow: (f"{i('formation')} * slow_mineralisation_share * (max_mineral_fraction - primary_mineral_fraction)"
                        f" - ({i('resorption_per_bv')} + slow_mineralisation_per_day) * {self.slow}"),
            self.prime: (f"primed_rankl_source_clearance_per_day * primed_rankl_source_max_relative * denosumab_inhibition"
                         f" - primed_rankl_source_clearance_per_day * {self.prime}"),
        }

    UNITS = {"p_o": "pM_per_day", "opg": "pM", "l_eff": "pM", "production": "pM_per_day", "rankl": "pM", "x": "pM",
             "maturation": "per_day", "differentiation": "per_day", "refusion": "per_day", "osteoclast_loss": "per_day",
             "modelling_formation": "percent_per_day", "formation": "percent_per_day", "resorption_per_bv": "per_day"}
    SIGNALS = ("mineral_fraction", "log_load", "log_phi_bone", "log_phi", "phi", "route", "loading_route", "exercise", "decline",
               "log_phi_carried", "log_phi_set", "w",
               "p_o", "opg", "l_eff", "production", "rankl", "x", "pi_l",
               "pi_u", "pi_r", "pi_c", "maturation", "differentiation", "refusion", "osteoclast_loss",
               "modelling_formation", "formation", "resorption_per_bv")

    def assignments(self) -> dict[str, tuple[str, str]]:
        """{id: (formula, units)} of the signals and local terms."""
        return {self.id(name): (getattr(self, name)(), self.UNITS.get(name, "dimensionless")) for name in self.SIGNALS}


def shared_assignments() -> dict[str, tuple[str, str]]:
    """Terms shared by both sites (PTH's actions on RANKL and OPG): {id: (formula, units)}."""
    return {
        "pth": ("pth_baseline_pM * pth_relative", "pM"),
        "pi_p": ("pth / (pth + pth_rankl_activation_K_pM)", "dimensionless"),
        "pi_m": ("pth_opg_repression_K_pM / (pth + pth_opg_repression_K_pM)", "dimensionless"),
    }


def output_assignments(sites: tuple[str, ...], state_names: tuple[str, ...]) -> dict[str, str]:
    """BMD % change per site (mineral volume relative to month 0, as solve._record) and CTX % change."""
    out = {}
    for site in sites:
        mineral = state_id(site, state_names[5])
        out[f"{site}_bmd_pct_change"] = f"100 * ({mineral} / {mineral}_month0 - 1)"
    oca = [state_id(site, state_names[3]) for site in sites]
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

_UNITS = {  # id: [(kind, exponent, scale, multiplier)]
    "day": [("second", 1, 0, 86400.0)],
    "per_day": [("second", -1, 0, 86400.0)],
    "pM": [("mole", 1, -12, 1.0), ("litre", -1, 0, 1.0)],
    "per_pM": [("mole", -1, -12, 1.0), ("litre", 1, 0, 1.0)],
    "pM_per_day": [("mole", 1, -12, 1.0), ("litre", -1, 0, 1.0), ("second", -1, 0, 86400.0)],
    "picomole": [("mole", 1, -12, 1.0)],
    "year": [("second", 1, 0, 31557600.0)],
    "per_year": [("second", -1, 0, 31557600.0)],
    "percent": [("dimensionless", 1, 0, 0.01)],
    "percent_per_day": [("dimensionless", 1, 0, 0.01), ("second", -1, 0, 86400.0)],
    "percent_per_pM_per_day": [("dimensionless", 1, 0, 0.01), ("mole", -1, -12, 1.0), ("litre", 1, 0, 1.0),
                               ("second", -1, 0, 86400.0)],
}
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
# state name -> (unit, description); cells are species (pM), the rest parameters with rate rules.
# Terms reads them in this order (physiology/spec.py SITE_STATES); engine_data checks it.
_STATES = {
    "osteoblast_precursors_pM": ("pM", "osteoblast precursors OBp"),
    "osteoblasts_pM": ("pM", "active osteoblasts OBa"),
    "osteoclast_precursors_pM": ("pM", "osteoclast precursors OCp"),
    "osteoclasts_pM": ("pM", "active osteoclasts OCa (also TGF-beta, which is taken equal to OCa)"),
    "bone_volume_pct": ("percent", "bone volume BV"),
    "mineral_volume_pct": ("percent", "mineral volume M (BMD is proportional to it)"),
    "osteomorphs_pM": ("pM", "osteomorphs OM (zero unless denosumab acts)"),
    "slow_mineral_deficit_pct": ("percent", "slow secondary mineralisation deficit D"),
    "primed_rankl_source_relative": ("dimensionless", "primed RANKL source P (zero unless denosumab acts)"),
}


_STATE_ORDER = tuple(_STATES)


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
        for unit_id, parts in _UNITS.items():
            definition = _check(self.model.createUnitDefinition(), f"create unit {unit_id}")
            _check(definition.setId(unit_id), f"set unit id {unit_id}")
            for kind, exponent, scale, multiplier in parts:
                unit = _check(definition.createUnit(), f"create a part of unit {unit_id}")
                _check(unit.setKind(libsbml.UnitKind_forName(kind)), f"set kind {kind}")
                _check(unit.setExponent(exponent), "set exponent")
                _check(unit.setScale(scale), "set scale")
                _check(unit.setMultiplier(multiplier), "set multiplier")
        for setter, unit in (("setTimeUnits", "day"), ("setSubstanceUnits", "picomole"), ("setVolumeUnits", "litre"),
                             ("setExtentUnits", "picomole")):
            _check(getattr(self.model, setter)(unit), f"{setter}({unit})")

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

    def assignment(self, variable: str, formula: str):
        rule = _check(self.model.createAssignmentRule(), f"create assignment rule for {variable}")
        _check(rule.setVariable(variable), f"set variable {variable}")
        _check(rule.setMath(_math(formula)), f"set math of {variable}")

    def rate(self, variable: str, formula: str):
        rule = _check(self.model.createRateRule(), f"create rate rule for {variable}")
        _check(rule.setVariable(variable), f"set variable {variable}")
        _check(rule.setMath(_math(formula)), f"set math of rate of {variable}")


def _refuse_bone_agents(scenario: Scenario, drop_bone_agents: bool) -> tuple[Scenario, list[str]]:
    if not scenario.bone_agents:
        return scenario, []
    drugs = sorted({agent.drug for agent in scenario.bone_agents})
    if not drop_bone_agents:
        raise InputError("bone_agents", drugs, "the SBML export does not carry bone agents yet; remove them from the "
                         "scenario or pass --drop-bone-agents to export without them")
    warning = (f"WARNING: bone agents {', '.join(drugs)} are NOT in this SBML model (dropped at export): it simulates "
               "the scenario without them")
    return scenario.model_copy(update={"bone_agents": []}), [warning]


def build_document(scenario: Scenario | Mapping, *, params=None, drop_bone_agents: bool = False):
    """The libsbml.SBMLDocument of one scenario, and the warnings raised building it."""
    from osteotwin.twin.simulation import as_scenario, default_parameters

    scenario, warnings = _refuse_bone_agents(as_scenario(scenario), drop_bone_agents)
    data = engine_data(scenario, params)
    table = params if params is not None else default_parameters()
    b = _Builder("osteotwin_bone_core")
    _check(b.model.setName("osteotwin bone-cell core (two sites) with one scenario's inputs"), "set model name")
    model_notes = ("osteotwin bone-cell core exported from system.py: per site (lumbar spine, total hip) nine states with rate "
                   "rules, the algebraic signals as assignment rules, the scenario's monthly engine inputs as piecewise "
                   f"functions of time (days; month m covers [m, m+1) x {DAYS_PER_MONTH!r} d; {data.months} months; the last "
                   "month is held after the horizon). Initial values: the state after the engine's 1000-day burn-in. "
                   "Derived [D] parameters are fixed numbers (not recomputed if a registry value is changed). "
                   "Bone agents are not exported (denosumab_inhibition and bisphosphonate_inhibition stay 0).")
    if warnings:
        model_notes += " " + " ".join(warnings)
    _check(b.model.setNotes(_notes(model_notes)), "set model notes")

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
        b.parameter(pid, value, constant=True, units=units, notes=text, annotation=ann)
    for pid in ("denosumab_inhibition", "bisphosphonate_inhibition"):
        b.parameter(pid, 0.0, constant=True, units="dimensionless",
                    notes=f"{pid}: bone agents are not exported; 0 keeps the untreated equations")

    # Inputs: piecewise in time.
    from osteotwin.physiology import spec

    input_units = {i.name: _REGISTRY_UNITS[i.unit] for i in spec.INPUTS}
    for units in sorted(set(input_units.values()) - {"dimensionless"}):  # numbers are dimensionless: one unit carries it
        b.parameter(f"one_{units}", 1.0, constant=True, units=units, notes=f"1 {units}: the unit of the inputs measured in it")
    for k, name in enumerate(data.input_names):
        units = input_units[name]
        b.parameter(name, None, constant=False, units=units,
                    notes=f"engine input {name} (engine.monthly_inputs), piecewise constant per month",
                    annotation=_annotation("input", burn_in_value=repr(float(data.burn_inputs[k]))))
        formula = input_formula(data.inputs[k])
        b.assignment(name, formula if units == "dimensionless" else f"({formula}) * one_{units}")

    # States.
    y0 = data.initial_state
    n_site = len(data.state_names)
    for s, site in enumerate(data.sites):
        b.compartment(site, f"{site}: a notional unit volume holding the site's cell concentrations")
        for k, state in enumerate(data.state_names):
            sid = state_id(site, state)
            units, description = _STATES[state]
            text = f"{description} at the {site.replace('_', ' ')} (system.SITE_STATE_NAMES); initial value after the burn-in"
            if units == "pM":
                b.species(sid, site, y0[s * n_site + k], "pM", text)
            else:
                b.parameter(sid, y0[s * n_site + k], constant=False, units=units, notes=text)
    for s, site in enumerate(data.sites):
        for k in (3, 5):  # osteoclasts and mineral volume at month 0: the outputs' denominators
            sid = state_id(site, data.state_names[k])
            b.parameter(f"{sid}_month0", y0[s * n_site + k], constant=True, units=_STATES[data.state_names[k]][0],
                        notes=f"{sid} at month 0 (after the burn-in)")

    # Algebraic signals and rates.
    for pid, (formula, units) in shared_assignments().items():
        b.parameter(pid, None, constant=False, units=units)
        b.assignment(pid, formula)
    for site in data.sites:
        terms = Terms(site, data.state_names)
        for pid, (formula, units) in terms.assignments().items():
            b.parameter(pid, None, constant=False, units=units)
            b.assignment(pid, formula)
        for variable, formula in terms.rates().items():
            b.rate(variable, formula)
    for pid, formula in output_assignments(data.sites, data.state_names).items():
        b.parameter(pid, None, constant=False, units="dimensionless",
                    notes=f"{pid}: as in osteotwin.simulate (relative to month 0)")
        b.assignment(pid, formula)
    return b.doc, warnings


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
