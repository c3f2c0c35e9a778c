"""The bone-cell core as data: its states, inputs, packed parameter vector and outputs, declared once.

Every index the compiled kernels use is derived from these declarations (:func:`index_space`):
``y[o + S.osteoclasts_pM]`` is the osteoclast state of the site whose states start at ``o``,
``p[P.rank_pM]`` a shared parameter, ``p[PS.turnover_scale + s]`` the turnover scale of site ``s``
(per-site slots lie spine, then hip), ``u[U.pth_relative]`` an input. numba reads these named tuples
as compile-time constants, so a name costs nothing at run time. Adding a state, an input or a
parameter of the core is one line here; the layouts, the integrator's error scales
(solve.py), the reference state and the parameter vector follow.

The biology that uses them lives in one small compiled function per mechanism, in the module
named after it: signalling.py (RANKL/OPG/PTH), mechanostat.py (mechanical stimulus and the
exercise route), cells.py (cell balances), bone.py (bone volume and mineralisation); system.py
assembles them into the right-hand side.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass

from osteotwin.catalog import SITES


def index_space(type_name: str, names: Sequence[str], start: int = 0, stride: int = 1):
    """A named tuple whose field ``name`` holds that name's index, ``start + stride * position``."""
    return namedtuple(type_name, names)(*range(start, start + stride * len(names), stride))


@dataclass(frozen=True)
class State:
    """One state of a site. ``absolute_scale`` x the value of ``reference`` (a parameter-vector name;
    ``{site}`` is replaced by the site) is the integrator's absolute error scale, in units of
    ``rtol`` x ``rtol_factor`` (solve.py): a cell count suppressed far below baseline by a drug is
    tracked to rtol of its baseline, not of its own tiny value. ``held_in_burn_in``: kept at its reference
    while the engine's burn-in settles the cells on the patient's own drive (solve.py)."""

    name: str
    symbol: str
    description: str
    reference: str
    absolute_scale: float
    rtol_factor: float
    held_in_burn_in: bool = False


# Relative tolerance factors: cells 3 x rtol, bone and mineral 1 x. Measured against SciPy Radau
# (rtol 1e-9), 1 patient, 10 years: max BMD error 0.09 pp on anastrozole (cells 1x: ~0.04, 2x: 0.07,
# 5x: 0.13) and 0.02 pp with denosumab; with denosumab 3x takes 14% fewer steps than 2x
# (benchmarks/RESULTS.md; tests/physiology/test_solver_accuracy.py). Active osteoclasts are held to an
# absolute error of the reference count (absolute scale 1.0, factor 10): BMD integrates resorption, so an
# osteoclast error moves bone by its size in units of the reference, not of the (under denosumab, tiny) count
# itself. With 0.3 and 3 they limited 85% of the steps under denosumab; now, 1 patient-decade on anastrozole +
# denosumab q6m takes 998 core steps instead of 1,847 with a max BMD error against Radau of 0.019 pp (was
# 0.003; anastrozole alone 565 steps, 0.022 pp), and no shipped example's BMD moves by more than 0.01 pp.
SITE_STATES: tuple[State, ...] = (
    State("osteoblast_precursors_pM", "OBp", "osteoblast precursors (cells.py)", "reference_osteoblast_precursors_pM", 0.3, 3.0),
    State("osteoblasts_pM", "OBa", "active osteoblasts (cells.py)", "reference_osteoblasts_pM", 0.3, 3.0),
    State("osteoclast_precursors_pM", "OCp", "osteoclast precursors (cells.py)", "reference_osteoclast_precursors_pM", 0.3, 3.0),
    State("osteoclasts_pM", "OCa", "active osteoclasts (cells.py)", "reference_osteoclasts_pM", 1.0, 10.0),
    State("bone_volume_pct", "BV", "bone volume fraction (bone.py)", "{site}_bone_volume_pct", 1e-3, 1.0, held_in_burn_in=True),
    State("mineral_volume_pct", "M", "mineral volume, BV x mineral fraction (bone.py)", "{site}_reference_mineral_volume_pct", 1e-3, 1.0),
    State("osteomorphs_pM", "OM", "osteomorphs: osteoclasts parked under denosumab (cells.py; zero without it)", "reference_osteoclasts_pM", 0.3, 3.0),
    State("slow_mineral_deficit_pct", "D", "mineral still to be laid down by the slow phase (bone.py)", "{site}_reference_slow_mineral_deficit_pct", 1e-3, 1.0,
          held_in_burn_in=True),
    State("primed_rankl_source_relative", "P", "primed RANKL source, extra RANKL production (cells.py; zero without denosumab)", "primed_rankl_source_max_relative", 0.3, 3.0),
)
SITE_STATE_NAMES: tuple[str, ...] = tuple(state.name for state in SITE_STATES)
S = index_space("SiteState", SITE_STATE_NAMES)
N_SITE_STATES = len(SITE_STATES)
N_CORE_STATES = len(SITES) * N_SITE_STATES
CORE_STATE_NAMES: tuple[str, ...] = tuple(f"{site}_{name}" for site in SITES for name in SITE_STATE_NAMES)


@dataclass(frozen=True)
class Input:
    """One input of the core, piecewise constant per month: shape (N_INPUTS, months, patients)."""

    name: str
    unit: str
    description: str


INPUTS: tuple[Input, ...] = (
    Input("rankl_production_relative", "1", "estrogen power law (estrogen.py) x inflammation multiplier (gut.py)"),
    Input("opg_production_relative", "1", "estrogen power law (estrogen.py)"),
    Input("osteoclast_apoptosis_relative", "1", "estrogen power law (estrogen.py)"),
    Input("sclerostin_relative", "1", "estrogen power law (estrogen.py)"),
    Input("background_rankl_drive", "1", "extra RANKL production / beta_RANKL, transmenopausal term, both sites (background.py)"),
    Input("pth_relative", "1", "PTH relative to the reference person (minerals.py)"),
    Input("formation_relative", "1", "osteoblast maturation multiplier from protein, magnesium, vitamin K2 (nutrients.py)"),
    Input("loading_lumbar_spine_relative", "1", "daily stress stimulus at the spine / habitual (mechanics.py)"),
    Input("loading_total_hip_relative", "1", "daily stress stimulus at the hip / habitual (mechanics.py)"),
    Input("exercise_accommodation_relative", "1", "osteocyte accommodation exp(-(t - t_acc)/tau_acc) after onset; 1 in the burn-in (mechanostat.py)"),
    Input("age_rankl_drive", "1", "extra RANKL production / beta_RANKL, age term at the hip (x site scale at the spine; background.py)"),
    Input("elapsed_years", "y", "time since the scenario start (month midpoints; 0 in the burn-in): the mechanostat's set point declines with it (background.py)"),
    Input("menopause_fall_since_start", "1", "share of the transmenopausal estradiol fall completed since the start (0 in the burn-in): it lowers the set point too (background.py)"),
    Input("withdrawn_loading_lumbar_spine_relative", "1", "spine loading of an exercise programme that has stopped / habitual; 1 before and during it and without one (detraining, mechanostat.py)"),
    Input("withdrawn_loading_total_hip_relative", "1", "hip loading of an exercise programme that has stopped / habitual (as the spine)"),
)
INPUT_NAMES: tuple[str, ...] = tuple(i.name for i in INPUTS)
U = index_space("Input", INPUT_NAMES)
N_INPUTS = len(INPUTS)
# the loading input of site s is u[U.loading_lumbar_spine_relative + s]
assert all(INPUT_NAMES[U.loading_lumbar_spine_relative + s] == f"loading_{site}_relative" for s, site in enumerate(SITES))
assert all(INPUT_NAMES[U.withdrawn_loading_lumbar_spine_relative + s] == f"withdrawn_loading_{site}_relative" for s, site in enumerate(SITES))

# The packed parameter vector (system.pack_parameters): registry values the kernels read, then
# values derived so that the untreated postmenopausal reference is a steady state [D].
SHARED_PARAMETERS: tuple[str, ...] = (
    "pth_baseline_pM", "pth_rankl_activation_K_pM", "pth_opg_repression_K_pM",
    "opg_production_per_osteoblast_per_day", "opg_max_pM", "opg_degradation_per_day",
    "rankl_max_per_precursor", "rankl_intrinsic_production_pM_per_day", "rankl_degradation_per_day",
    "rankl_opg_association_per_pM", "rankl_rank_association_per_pM", "rank_pM", "rank_rankl_activation_K_pM",
    "osteocyte_rankl_share",
    "uncommitted_osteoblast_differentiation_pM_per_day", "osteoblast_precursor_differentiation_per_day",
    "osteoblast_apoptosis_per_day", "osteoclast_apoptosis_per_day", "tgf_osteoblast_activation_K_pM",
    "tgf_osteoclast_apoptosis_K_pM", "tgf_osteoblast_repression_K_pM", "osteoclast_precursor_apoptosis_per_day",
    "resorption_rate_pct_per_pM_day", "primary_mineral_fraction", "max_mineral_fraction",
    "secondary_mineralisation_per_day", "slow_mineralisation_share", "slow_mineralisation_per_day",
    "stiffness_bone_volume_exponent", "stiffness_ash_exponent",
    "sclerostin_stimulus_exponent", "osteocyte_rankl_stimulus_exponent", "mechanostat_lazy_zone_log",
    "mechanostat_disuse_gain_ratio", "menopause_set_point_decline",
    "osteomorph_share_of_osteoclast_exits", "osteomorph_removal_per_day", "osteomorph_refusion_per_day",
    "primed_rankl_source_max_relative", "primed_rankl_source_clearance_per_day",
    "exercise_osteocyte_rankl_sensitivity",
)
# Registry parameters with one value per site, named ``{site}_{name}``.
SITE_PARAMETERS: tuple[str, ...] = (
    "turnover_scale", "bone_volume_pct", "mechanosensitivity", "exercise_loading_sensitivity", "age_drive_scale",
    "modelling_formation_per_day", "set_point_decline_per_year",
)
DERIVED_PARAMETERS: tuple[str, ...] = (
    "formation_rate_pct_per_pM_day", "osteoclast_differentiation_per_day", "osteoclast_precursor_supply_pM_per_day",
    "reference_osteoblast_precursors_pM", "reference_osteoblasts_pM", "reference_osteoclast_precursors_pM",
    "reference_osteoclasts_pM", "reference_rankl_pM", "reference_opg_pM",
)
DERIVED_SITE_PARAMETERS: tuple[str, ...] = (
    "reference_mineral_fraction", "reference_mineral_volume_pct", "reference_slow_mineral_deficit_pct",
)
_PER_SITE = SITE_PARAMETERS + DERIVED_SITE_PARAMETERS
VECTOR_NAMES: tuple[str, ...] = (
    SHARED_PARAMETERS + DERIVED_PARAMETERS + tuple(f"{site}_{name}" for name in _PER_SITE for site in SITES)
)
P = index_space("CoreParameter", SHARED_PARAMETERS + DERIVED_PARAMETERS)
PS = index_space("SiteParameter", _PER_SITE, start=len(P), stride=len(SITES))
N_VECTOR = len(VECTOR_NAMES)
assert all(VECTOR_NAMES[getattr(PS, name) + s] == f"{site}_{name}" for name in _PER_SITE for s, site in enumerate(SITES))

# The error scale of each core state: the vector index of its reference value, its absolute scale
# and relative-tolerance factor (solve.py).
STATE_REFERENCE_INDEX: tuple[int, ...] = tuple(
    VECTOR_NAMES.index(state.reference.format(site=site)) for site in SITES for state in SITE_STATES)
STATE_ABSOLUTE_SCALE: tuple[float, ...] = tuple(state.absolute_scale for _ in SITES for state in SITE_STATES)
STATE_RTOL_FACTOR: tuple[float, ...] = tuple(state.rtol_factor for _ in SITES for state in SITE_STATES)
HELD_IN_BURN_IN_INDEX: tuple[int, ...] = tuple(
    s * N_SITE_STATES + k for s in range(len(SITES)) for k, state in enumerate(SITE_STATES) if state.held_in_burn_in)
