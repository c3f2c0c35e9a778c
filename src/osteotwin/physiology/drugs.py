"""Pharmacokinetics and pharmacodynamics of the bone drugs: denosumab and four bisphosphonates.

What this module gives the bone-cell core (``system.py``), all elementwise over patients, time in days:

* ``drug_rhs(drug_states, resorption_relative, params)``: the right-hand side of the drug states,
  shaped ``(len(DRUG_STATE_NAMES), patients)``. Pure: nothing is mutated.
* ``apply_dose(...)``: a dosing event that adds the absorbed amount in place.
* denosumab serum and bone-site concentrations (ug/mL, pM) and the fraction of RANKL it removes;
  bisphosphonate resorption inhibition in [0, 1).
* numba kernels (``drug_rhs_kernel``, ``drug_jacobian_kernel``, ``drug_rhs_resorption_derivative_kernel``)
  over one patient's state vector and a packed rate-constant vector (``rate_constants(params)``),
  for the engine's exponential Rosenbrock integrator.

Denosumab PK (OpenBoneMin / Peterson 2004 structure, docs/model.md section 9): an SC depot holding the
absorbed amount, a central and a peripheral compartment, linear plus Michaelis-Menten elimination
(the saturable, RANKL-mediated route). ka, Vc and CL are re-fitted (``scripts/fit_denosumab_pk.py``)
so that a 60 mg dose gives the Prolia label's Cmax, tmax and half-life.

Bisphosphonate PK (docs/model.md section 9; structure after Jorg 2022 / Calvo-Gallego 2022, ours in detail):
per drug three pools in umol of that drug: plasma, bone surface, buried in matrix.

* plasma: renal elimination and uptake onto bone surfaces (uptake scaled partly by turnover);
* surface: leaves with remodelling, a share buried under new bone, the rest returned to plasma;
* buried: released to plasma only when osteoclasts resorb the bone that holds it (rate x resorption).

Pools are kept **per drug, in umol of that drug**, not in potency-equivalent units, because the drugs
differ in PK as well as potency (risedronate's low mineral affinity: 85% of an IV dose is in urine
within 28 days, while alendronate stays for >10 years): a switch from alendronate to zoledronic acid
keeps each drug's own release kinetics, and outputs report real amounts. The drugs share one
mechanism (farnesyl-diphosphate-synthase inhibition in osteoclasts), so their effects add in
**zoledronic-acid-equivalent umol** (Loewe additivity) only inside the PD function.

PD: inhibition = Emax * c^h / (c^h + EC50^h), c = sum_d potency_d * (surface_d + w_buried * buried_d).
The buried term (ours) carries the years-long effect after stopping zoledronic acid: osteoclasts take
up the drug held in the matrix they resorb.

Denosumab PD: an effect compartment (Sheiner 1979 form) carries serum denosumab to the bone
site, ``dCe/dt = ke0 (C - Ce)``; there it binds a fraction of RANKL,
``I = Imax * Ce / (Ce + IC50)``, and the core multiplies free RANKL by ``1 - I``
(:func:`denosumab_rankl_inhibition`). Why not the Martinez-Reina 2019 term ``chi * C / Kd`` in the
RANKL denominator (used until session 2): with the Pivonka OPG scale that term needs serum
concentrations of hundreds of ng/mL for half effect, so resorption escaped by month 4 of every
6-month interval and CTX rose above baseline before each dose (a saw-tooth the label contradicts:
CTX is still reduced by >= 45% at the end of each interval). The bone-site lag ke0, the potency
IC50 and Imax are calibrated (scripts/calibrate.py, suite drugs) to the label CTX figures, the
BMD rows and the discontinuation rows.

Bad doses raise ``osteotwin.errors.InputError`` (as the brief asks): that module is a dependency-free leaf,
so importing it does not pull anything from the layers above the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numba
import numpy as np

from osteotwin.catalog import BISPHOSPHONATES, BONE_AGENTS
from osteotwin.errors import InputError
from osteotwin.physiology.parameters import Parameter, ParameterTable, calibrated
from osteotwin.physiology.spec import index_space

# ---------------------------------------------------------------------------------------------
# Drugs, states
# ---------------------------------------------------------------------------------------------

DRUGS: tuple[str, ...] = BONE_AGENTS  # the catalog's names; this module holds their pharmacology

DENOSUMAB_STATE_NAMES: tuple[str, ...] = (
    "denosumab_depot_ug",  # absorbed amount still at the injection site (bioavailable part only)
    "denosumab_central_ug",
    "denosumab_peripheral_ug",
    "denosumab_effect_site_ug_per_ml",  # bone-site (effect-compartment) concentration: no mass, lags serum
)
BISPHOSPHONATE_POOLS: tuple[str, ...] = ("plasma", "surface", "buried")

DRUG_STATE_NAMES: tuple[str, ...] = DENOSUMAB_STATE_NAMES + tuple(
    f"{drug}_{pool}_umol" for drug in BISPHOSPHONATES for pool in BISPHOSPHONATE_POOLS
)
DRUG_STATE_INDEX: dict[str, int] = {name: index for index, name in enumerate(DRUG_STATE_NAMES)}
N_DRUG_STATES = len(DRUG_STATE_NAMES)

DS = index_space("DrugState", DRUG_STATE_NAMES)
POOL = index_space("Pool", BISPHOSPHONATE_POOLS)  # drug d's pool: DS.zoledronic_acid_plasma_umol + len(POOL) * d + POOL.pool
IDX_DMAB_DEPOT = DS.denosumab_depot_ug
IDX_DMAB_CENTRAL = DS.denosumab_central_ug
IDX_DMAB_PERIPHERAL = DS.denosumab_peripheral_ug
IDX_DMAB_EFFECT = DS.denosumab_effect_site_ug_per_ml
IDX_BP_FIRST = DS.zoledronic_acid_plasma_umol
assert all(DRUG_STATE_NAMES[IDX_BP_FIRST + len(POOL) * d + p] == f"{drug}_{pool}_umol"
           for d, drug in enumerate(BISPHOSPHONATES) for p, pool in enumerate(BISPHOSPHONATE_POOLS))


def bisphosphonate_state_index(drug: str, pool: str) -> int:
    """Row of ``drug``'s ``pool`` ("plasma", "surface" or "buried") in the drug-state array."""
    return DRUG_STATE_INDEX[f"{drug}_{pool}_umol"]


def initial_drug_states(patients: int) -> np.ndarray:
    """All drug amounts zero: nobody has had a dose before the simulation starts."""
    return np.zeros((N_DRUG_STATES, patients))


# ---------------------------------------------------------------------------------------------
# Molecular weights: derived from the molecular formula of the form in which the label states the dose
# ---------------------------------------------------------------------------------------------

_ATOMIC_MASS = {"C": 12.011, "H": 1.008, "N": 14.007, "O": 15.999, "P": 30.974, "Na": 22.990}


def _formula_mass(counts: Mapping[str, int]) -> float:
    return sum(_ATOMIC_MASS[element] * number for element, number in counts.items())


# Label dose forms [R, recalled from the labels; the formula masses are arithmetic]:
# Zometa/Reclast dose as anhydrous zoledronic acid C5H10N2O7P2; Fosamax as alendronic acid C4H13NO7P2;
# Actonel as anhydrous risedronate sodium C7H10NNaO7P2; Boniva as ibandronic acid C9H23NO7P2.
_MOLECULAR_WEIGHT = {
    "zoledronic_acid": _formula_mass({"C": 5, "H": 10, "N": 2, "O": 7, "P": 2}),
    "alendronate": _formula_mass({"C": 4, "H": 13, "N": 1, "O": 7, "P": 2}),
    "risedronate": _formula_mass({"C": 7, "H": 10, "N": 1, "Na": 1, "O": 7, "P": 2}),
    "ibandronate": _formula_mass({"C": 9, "H": 23, "N": 1, "O": 7, "P": 2}),
}
_MW_SOURCE = {
    "zoledronic_acid": "formula C5H10N2O7P2 (anhydrous acid; Zometa/Reclast label dose form [R])",
    "alendronate": "formula C4H13NO7P2 (alendronic acid; Fosamax label dose form [R])",
    "risedronate": "formula C7H10NNaO7P2 (anhydrous risedronate sodium; Actonel label dose form [R])",
    "ibandronate": "formula C9H23NO7P2 (ibandronic acid; Boniva label dose form [R])",
}

# ---------------------------------------------------------------------------------------------
# Parameters (one annotated line each)
# ---------------------------------------------------------------------------------------------

_OBM = "OpenBoneMin inst/OpenBoneMin.cpp [PARAM] (Peterson et al. 2004 AAPS J abstract W4340), read in the code"
_FIT = ("scripts/fit_denosumab_pk.py: fitted to the Prolia label, 60 mg SC: Cmax 6.75 ug/mL [recalled], "
        "median tmax 10 d and mean t1/2 25.4 d [label as quoted by droracle.ai, read]")

PARAMETERS = ParameterTable([
    # --- denosumab PK (days, ug, mL) ---
    Parameter("denosumab_bioavailability_fraction", 0.62, "1", "SC bioavailability",
              "Prolia label 12.3: 62% [recalled]; Gibiansky et al. 2012 Clin Pharmacokinet 51:247 popPK: 61% (abstract read)", "S", (0.5, 0.75), symbol="F_DMAB"),
    Parameter("denosumab_absorption_rate_per_day", 0.21073, "1/day", "first-order SC absorption rate constant",
              _FIT + "; start 0.142 (OpenBoneMin); Gibiansky 2012 absorption t1/2 2.7 d = 0.257/d", "C", (0.05, 0.6), symbol="k_a"),
    Parameter("denosumab_central_volume_ml", 2868.7, "mL", "central volume",
              _FIT + "; start 2340 (OpenBoneMin); Gibiansky 2012: 2620 mL per 66 kg", "C", (1500.0, 4500.0), symbol="V_c"),
    Parameter("denosumab_peripheral_volume_ml", 1324.0, "mL", "peripheral volume", _OBM, "S", (500.0, 3000.0), symbol="V_p"),
    Parameter("denosumab_intercompartmental_clearance_ml_per_day", 448.08, "mL/day",
              "distribution clearance (18.67 mL/h)", _OBM, "S", (100.0, 1500.0), symbol="Q"),
    Parameter("denosumab_linear_clearance_ml_per_day", 86.967, "mL/day", "linear (FcRn-type) clearance",
              _FIT + "; start 66 (OpenBoneMin 2.75 mL/h); Gibiansky 2012: 3.25 mL/h = 78 mL/d", "C", (20.0, 200.0), symbol="CL"),
    Parameter("denosumab_vmax_ug_per_day", 74.64, "ug/day", "maximum rate of saturable (target-mediated) elimination",
              _OBM + " (3110 ng/h)", "S", (20.0, 300.0), symbol="V_max"),
    Parameter("denosumab_km_ug_per_ml", 0.188, "ug/mL", "concentration of half-maximal saturable elimination",
              _OBM + " (188 ng/mL)", "S", (0.02, 2.0), symbol="K_m"),
    Parameter("denosumab_molecular_weight_g_per_mol", 147000.0, "g/mol", "molecular weight (IgG2)",
              "Prolia label section 11: approximately 147 kDa (read on medlibrary.org copy of the label)", "V",
              (140000.0, 152000.0), symbol="MW_DMAB"),
    Parameter("denosumab_effect_site_half_life_days", 38.29, "day",
              "equilibration half-life between serum and bone-site denosumab (ln 2 / ke0)",
              calibrated("drugs", "ours within its range; identified by the Prolia label 12.2 CTX trough (reduction still >= 45%, "
              "range 45-80%, at the end of each 6-month interval; read on a third-party copy of the label) and the "
              "discontinuation rows S3-026/S3-027; effect-compartment form after Sheiner et al. 1979 Clin Pharmacol Ther 25:358"),
              "C", (1.0, 150.0), symbol="t_half,e"),
    Parameter("denosumab_rankl_ic50_ng_per_ml", 0.995108, "ng/mL",
              "bone-site denosumab at half-maximal RANKL inhibition",
              calibrated("drugs", "ours within its range (no in vivo IC50 was read); identified by the same label CTX figures "
              "and the BMD rows"), "C", (0.05, 500.0), symbol="IC50"),
    Parameter("denosumab_max_rankl_inhibition_fraction", 0.993968, "1",
              "largest fraction of RANKL signalling denosumab removes",
              calibrated("drugs", "ours within its range; identified by CTX -80% within a month (Chen et al. 2018 PLoS One, >80% within 5 days; "
              "Prolia label 12.2 >= 87%, third-party copy)"), "C", (0.5, 0.999), symbol="Imax"),
    # --- bisphosphonates: absorption ---
    Parameter("alendronate_oral_bioavailability_fraction", 0.0064, "1", "oral bioavailability, fasting",
              "Fosamax SmPC 5.2: 0.64% in postmenopausal women (read, pharmamedix copy); Gertz et al. 1995 Clin Pharmacol Ther 58:288: 0.76% (abstract read)",
              "S", (0.002, 0.012), symbol="F_ALN"),
    Parameter("risedronate_oral_bioavailability_fraction", 0.0063, "1", "oral bioavailability",
              "Actonel label: mean oral bioavailability 0.63% (read, MIMS copy of the label)", "S", (0.002, 0.012), symbol="F_RIS"),
    Parameter("ibandronate_oral_bioavailability_fraction", 0.0063, "1", "oral bioavailability",
              "Barrett et al. 2004 J Clin Pharmacol 44:951: 0.63% (abstract read)", "V", (0.002, 0.012), symbol="F_IBN"),
    # --- bisphosphonates: molecular weights (derived) ---
    *[Parameter(f"{drug}_molecular_weight_g_per_mol", round(_MOLECULAR_WEIGHT[drug], 3), "g/mol",
                "molecular weight of the labelled dose form", _MW_SOURCE[drug], "D",
                (0.9 * _MOLECULAR_WEIGHT[drug], 1.1 * _MOLECULAR_WEIGHT[drug]),
                symbol="MW_" + {"zoledronic_acid": "ZOL", "alendronate": "ALN", "risedronate": "RIS", "ibandronate": "IBN"}[drug])
      for drug in BISPHOSPHONATES],
    # --- bisphosphonates: plasma ---
    Parameter("zoledronic_acid_plasma_half_life_hours", 1.87, "h", "plasma disposition half-life (beta phase)",
              "Zometa label 12.3: t1/2alpha 0.24 h, t1/2beta 1.87 h, <1% of Cmax at 24 h (read, label copy)", "S", (0.5, 6.0), symbol="t_p,ZOL"),
    Parameter("alendronate_plasma_half_life_hours", 1.4, "h", "plasma disposition half-life",
              "alendronate PK/PD review abstract (read; authors not shown in the copy): after a 2 h infusion plasma falls to ~5% of initial within 6 h -> ~1.4 h",
              "S", (0.5, 6.0), symbol="t_p,ALN"),
    Parameter("risedronate_plasma_half_life_hours", 1.5, "h", "initial plasma half-life",
              "Actonel label: initial half-life about 1.5 h (read, label copy)", "S", (0.5, 6.0), symbol="t_p,RIS"),
    Parameter("ibandronate_plasma_half_life_hours", 1.5, "h", "initial plasma half-life",
              "ours: set like risedronate; Barrett 2004 gives only the multiphasic 10-60 h overall range", "A", (0.5, 12.0), symbol="t_p,IBN"),
    # --- bisphosphonates: share of plasma clearance taken up by bone (at baseline turnover) ---
    Parameter("zoledronic_acid_bone_uptake_fraction", 0.55, "1", "share of a systemic dose taken up by bone",
              "zoledronic acid radioimmunoassay study in 23 patients (Legay, Gauron et al. 2002 J Pharm Biomed Anal [citation recalled]): only 40-50% of the dose recovered in urine (abstract read); Zometa label: 39 +/- 16% in urine in 24 h [recalled]",
              "S", (0.35, 0.75), symbol="f_bone,ZOL"),
    Parameter("alendronate_bone_uptake_fraction", 0.5, "1", "share of a systemic dose taken up by bone",
              "alendronate PK/PD review abstract (read): about 50% of a systemic dose excreted in urine in 72 h; Clin Pharmacokinet 1999;36:315 review (Porras et al. [authors recalled]): 40-60% retained (abstract read); Gertz 1995: ~40% in urine at 24-36 h (abstract read)",
              "S", (0.4, 0.75), symbol="f_bone,ALN"),
    Parameter("risedronate_bone_uptake_fraction", 0.5, "1", "share of a systemic dose taken up by bone",
              "Actonel label: about half of the absorbed dose excreted in urine within 24 h (read, label copy)", "S", (0.3, 0.7), symbol="f_bone,RIS"),
    Parameter("ibandronate_bone_uptake_fraction", 0.45, "1", "share of a systemic dose taken up by bone",
              "Barrett 2004: eliminated by partitioning into bone (40-50%) and renal clearance (abstract read)", "V", (0.3, 0.6), symbol="f_bone,IBN"),
    # --- bisphosphonates: bone-surface pool ---
    Parameter("zoledronic_acid_surface_half_life_days", 56.5295, "day",
              "half-life of surface-bound drug at baseline turnover (all exits)",
              calibrated("drugs", "ours: chosen with the PD so one 5 mg dose keeps ~75% inhibition for 12 months and ~45% remains 3 years after the effect window of the third yearly dose (HORIZON-extension behaviour)"),
              "C", (20.0, 400.0), symbol="t_s,ZOL"),
    Parameter("alendronate_surface_half_life_days", 107.2, "day",
              "half-life of surface-bound drug at baseline turnover (all exits)",
              "scripts/fit_bisphosphonate_retention.py: fitted to Khan et al. 1997 JBMR 12:1700 (abstract read): ~50% of a 30 mg IV course in urine over 5 d, a further 17% over 6 months, terminal half-life > 10 y",
              "C", (10.0, 300.0), symbol="t_s,ALN"),
    Parameter("risedronate_surface_half_life_days", 4.254, "day",
              "half-life of surface-bound drug at baseline turnover (all exits)",
              "scripts/fit_bisphosphonate_retention.py: fitted to the Actonel label (read in label copies): 85% of an IV dose in urine over 28 d, terminal half-life 561 h (as the body-amount half-life over days 14-28)",
              "C", (1.0, 100.0), symbol="t_s,RIS"),
    Parameter("ibandronate_surface_half_life_days", 40.0, "day",
              "half-life of surface-bound drug at baseline turnover (all exits)",
              "ours: between alendronate and risedronate, as its mineral affinity (Nancollas 2006 ranking 3 of 4, via PMC3513863 Table 1)",
              "A", (10.0, 200.0), symbol="t_s,IBN"),
    Parameter("zoledronic_acid_surface_burial_fraction", 0.5, "1",
              "share of surface drug buried under new bone (rest returned to plasma)",
              "ours: above alendronate's fitted 0.19 (highest mineral affinity, Nancollas 2006); calibrate to the HORIZON extension", "A", (0.1, 0.95), symbol="f_bur,ZOL"),
    Parameter("alendronate_surface_burial_fraction", 0.1853, "1",
              "share of surface drug buried under new bone (rest returned to plasma)",
              "scripts/fit_bisphosphonate_retention.py: fitted with the surface half-life to Khan et al. 1997 (abstract read)", "C", (0.02, 0.9), symbol="f_bur,ALN"),
    Parameter("risedronate_surface_burial_fraction", 0.1377, "1",
              "share of surface drug buried under new bone (rest returned to plasma)",
              "scripts/fit_bisphosphonate_retention.py: fitted with the surface half-life to the same two Actonel label figures",
              "C", (0.0, 0.5), symbol="f_bur,RIS"),
    Parameter("ibandronate_surface_burial_fraction", 0.16, "1",
              "share of surface drug buried under new bone (rest returned to plasma)",
              "ours: like alendronate and risedronate (both fitted ~0.14-0.19); mineral affinity ranking Nancollas 2006", "A", (0.05, 0.8), symbol="f_bur,IBN"),
    Parameter("bisphosphonate_buried_half_life_years", 10.0, "year",
              "half-life of matrix-buried drug at baseline resorption (release only by resorption)",
              "Khan et al. 1997 JBMR: alendronate terminal half-life > 10 years (abstract read)", "V", (5.0, 30.0), symbol="t_b"),
    Parameter("bisphosphonate_uptake_turnover_weight", 0.5, "1",
              "how much bone uptake follows turnover: uptake x (1 - w + w * resorption_relative)",
              "ours: bisphosphonates bind where mineral is exposed, more at remodelling sites", "A", (0.0, 1.0), symbol="w_up"),
    Parameter("bisphosphonate_surface_turnover_weight", 0.8, "1",
              "how much surface exit follows turnover: exit x (1 - w + w * resorption_relative)",
              "ours: burial and resorption are remodelling-driven, a small desorption part is not", "A", (0.0, 1.0), symbol="w_s"),
    # --- bisphosphonates: PD ---
    Parameter("zoledronic_acid_relative_potency", 1.0, "1", "antiresorptive potency per umol, zoledronic acid = 1",
              "reference by definition", "A", (1.0, 1.0), symbol="q_ZOL"),
    Parameter("risedronate_relative_potency", 0.351776, "1", "antiresorptive potency per umol of bone drug, zoledronic acid = 1",
              calibrated("drugs", "identified by the IBIS-II risedronate strata S2-066..S2-073; range: ranking ZOL > RIS > IBN > ALN, Dunford et al. 2001 JPET (via PMC3513863 Table 1, read); FPPS IC50 ratio would give 0.53 [recalled]"),
              "C", (0.2, 1.0), symbol="q_RIS"),
    Parameter("ibandronate_relative_potency", 0.25, "1", "antiresorptive potency per umol of bone drug, zoledronic acid = 1",
              "ranking as above (Dunford 2001, read via PMC3513863). Magnitude ours, as above; FPPS IC50 ratio would give 0.12 [recalled]",
              "A", (0.05, 1.0), symbol="q_IBN"),
    Parameter("alendronate_relative_potency", 0.08, "1", "antiresorptive potency per umol of bone drug, zoledronic acid = 1",
              "ranking as above (Dunford 2001, read via PMC3513863). Magnitude ours, as above; FPPS IC50 ratio would give 0.06 [recalled]",
              "A", (0.02, 0.5), symbol="q_ALN"),
    Parameter("bisphosphonate_max_inhibition_fraction", 0.803362, "1", "maximum fraction of resorption a bisphosphonate removes",
              calibrated("drugs", "ours: below 1 by construction; bisphosphonates do not abolish resorption"), "C", (0.5, 0.98), symbol="Imax_BP"),
    Parameter("bisphosphonate_ec50_umol", 0.163172, "umol zoledronic-acid equivalent",
              "effective bone drug at half-maximal inhibition",
              calibrated("drugs", "ours: set so that labelled regimens give ~50-80% inhibition (docs/model.md section 9); the core calibrates to ZO-FAST/HORIZON"),
              "C", (0.05, 20.0), symbol="EC50_BP"),
    Parameter("bisphosphonate_hill_coefficient", 1.0, "1", "steepness of the inhibition curve",
              "ours: simple saturable binding", "A", (0.5, 3.0), symbol="n_H"),
    Parameter("bisphosphonate_buried_effect_weight", 0.0446757, "1",
              "weight of matrix-buried drug in the effective amount (osteoclasts ingest it when they resorb)",
              calibrated("drugs", "ours: gives a lingering effect for years after stopping zoledronic acid (HORIZON extension)"),
              "C", (0.0, 0.3), symbol="w_bur"),
])

# Packed rate-constant layout for the numba kernels (rate_constants()): named slots, read as
# compile-time constants (``k[K.denosumab_central_volume_ml]``). Each bisphosphonate has one block
# of BISPHOSPHONATE_RATE_NAMES; drug d's slot r is ``K.zoledronic_acid_plasma_elimination_per_day +
# len(KB) * d + KB.r``.
DENOSUMAB_RATE_NAMES: tuple[str, ...] = (
    "denosumab_absorption_per_day", "denosumab_central_volume_ml", "denosumab_peripheral_volume_ml",
    "denosumab_intercompartmental_clearance_ml_per_day", "denosumab_linear_clearance_ml_per_day",
    "denosumab_vmax_ug_per_day", "denosumab_km_ug_per_ml", "denosumab_effect_site_rate_per_day",
    "denosumab_max_rankl_inhibition_fraction", "denosumab_rankl_ic50_ug_per_ml",
)
BISPHOSPHONATE_RATE_NAMES: tuple[str, ...] = (
    "plasma_elimination_per_day", "bone_uptake_fraction", "surface_exit_per_day", "burial_fraction", "relative_potency",
)
SHARED_BISPHOSPHONATE_RATE_NAMES: tuple[str, ...] = (
    "buried_release_per_day", "uptake_turnover_weight", "surface_turnover_weight", "max_inhibition_fraction",
    "ec50_umol", "hill_coefficient", "buried_effect_weight",
)
RATE_NAMES: tuple[str, ...] = (
    DENOSUMAB_RATE_NAMES
    + tuple(f"{drug}_{rate}" for drug in BISPHOSPHONATES for rate in BISPHOSPHONATE_RATE_NAMES)
    + tuple(f"bisphosphonate_{rate}" for rate in SHARED_BISPHOSPHONATE_RATE_NAMES)
)
K = index_space("DrugRate", RATE_NAMES)
KB = index_space("BisphosphonateRate", BISPHOSPHONATE_RATE_NAMES)
N_RATE_CONSTANTS = len(RATE_NAMES)
N_BISPHOSPHONATES = len(BISPHOSPHONATES)
assert all(RATE_NAMES[K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d + r] == f"{drug}_{rate}"
           for d, drug in enumerate(BISPHOSPHONATES) for r, rate in enumerate(BISPHOSPHONATE_RATE_NAMES))

_LN2 = math.log(2.0)
DAYS_PER_YEAR = 365.25


def default_params() -> dict[str, float]:
    """The parameter values as the plain dict the numerics take."""
    return PARAMETERS.values_dict()


def rate_constants(params: Mapping[str, float] | None = None) -> np.ndarray:
    """Pack the parameters into the float vector the kernels read (half-lives become rates per day).

    Values may be arrays of one value per patient: the result is then (N_RATE_CONSTANTS, patients).
    """
    p = default_params() if params is None else params
    k = np.zeros((N_RATE_CONSTANTS, *np.shape(p["denosumab_absorption_rate_per_day"])))
    k[K.denosumab_absorption_per_day] = p["denosumab_absorption_rate_per_day"]
    k[K.denosumab_central_volume_ml] = p["denosumab_central_volume_ml"]
    k[K.denosumab_peripheral_volume_ml] = p["denosumab_peripheral_volume_ml"]
    k[K.denosumab_intercompartmental_clearance_ml_per_day] = p["denosumab_intercompartmental_clearance_ml_per_day"]
    k[K.denosumab_linear_clearance_ml_per_day] = p["denosumab_linear_clearance_ml_per_day"]
    k[K.denosumab_vmax_ug_per_day] = p["denosumab_vmax_ug_per_day"]
    k[K.denosumab_km_ug_per_ml] = p["denosumab_km_ug_per_ml"]
    k[K.denosumab_effect_site_rate_per_day] = _LN2 / np.asarray(p["denosumab_effect_site_half_life_days"])
    k[K.denosumab_max_rankl_inhibition_fraction] = p["denosumab_max_rankl_inhibition_fraction"]
    k[K.denosumab_rankl_ic50_ug_per_ml] = np.asarray(p["denosumab_rankl_ic50_ng_per_ml"]) / 1000.0
    for d, drug in enumerate(BISPHOSPHONATES):
        base = K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d
        k[base + KB.plasma_elimination_per_day] = _LN2 / (np.asarray(p[f"{drug}_plasma_half_life_hours"]) / 24.0)
        k[base + KB.bone_uptake_fraction] = p[f"{drug}_bone_uptake_fraction"]
        k[base + KB.surface_exit_per_day] = _LN2 / np.asarray(p[f"{drug}_surface_half_life_days"])
        k[base + KB.burial_fraction] = p[f"{drug}_surface_burial_fraction"]
        k[base + KB.relative_potency] = p[f"{drug}_relative_potency"]
    k[K.bisphosphonate_buried_release_per_day] = _LN2 / (np.asarray(p["bisphosphonate_buried_half_life_years"]) * DAYS_PER_YEAR)
    k[K.bisphosphonate_uptake_turnover_weight] = p["bisphosphonate_uptake_turnover_weight"]
    k[K.bisphosphonate_surface_turnover_weight] = p["bisphosphonate_surface_turnover_weight"]
    k[K.bisphosphonate_max_inhibition_fraction] = p["bisphosphonate_max_inhibition_fraction"]
    k[K.bisphosphonate_ec50_umol] = p["bisphosphonate_ec50_umol"]
    k[K.bisphosphonate_hill_coefficient] = p["bisphosphonate_hill_coefficient"]
    k[K.bisphosphonate_buried_effect_weight] = p["bisphosphonate_buried_effect_weight"]
    return k


# ---------------------------------------------------------------------------------------------
# Right-hand side (numpy, vectorised over patients)
# ---------------------------------------------------------------------------------------------


def drug_rhs(drug_states: np.ndarray, resorption_relative: np.ndarray,
             params: Mapping[str, float] | np.ndarray | None = None) -> np.ndarray:
    """d(drug_states)/dt in amount per day; shape as ``drug_states`` ``(n_states, patients)``.

    ``resorption_relative`` (patients,) is resorption / baseline resorption: it releases buried
    bisphosphonate and drives surface exit and (partly) uptake. Negative values are read as 0.
    ``params``: the parameter dict, or (faster inside a solver loop) its ``rate_constants(params)``.
    """
    k = params if isinstance(params, np.ndarray) else rate_constants(params)
    return _drug_rhs_numpy(np.asarray(drug_states, dtype=float), np.asarray(resorption_relative, dtype=float), k)


def _drug_rhs_numpy(y: np.ndarray, resorption_relative: np.ndarray, k: np.ndarray) -> np.ndarray:
    r = np.maximum(resorption_relative, 0.0)
    dydt = np.empty_like(y)
    # denosumab
    depot, central, peripheral = y[DS.denosumab_depot_ug], y[DS.denosumab_central_ug], y[DS.denosumab_peripheral_ug]
    conc = central / k[K.denosumab_central_volume_ml]
    conc_pos = np.maximum(conc, 0.0)
    absorption = k[K.denosumab_absorption_per_day] * depot
    distribution = k[K.denosumab_intercompartmental_clearance_ml_per_day] * (conc - peripheral / k[K.denosumab_peripheral_volume_ml])
    elimination = (k[K.denosumab_linear_clearance_ml_per_day] * conc
                   + k[K.denosumab_vmax_ug_per_day] * conc_pos / (k[K.denosumab_km_ug_per_ml] + conc_pos))
    dydt[DS.denosumab_depot_ug] = -absorption
    dydt[DS.denosumab_central_ug] = absorption - distribution - elimination
    dydt[DS.denosumab_peripheral_ug] = distribution
    dydt[DS.denosumab_effect_site_ug_per_ml] = k[K.denosumab_effect_site_rate_per_day] * (conc - y[DS.denosumab_effect_site_ug_per_ml])
    # bisphosphonates
    uptake_factor = 1.0 - k[K.bisphosphonate_uptake_turnover_weight] + k[K.bisphosphonate_uptake_turnover_weight] * r
    surface_factor = 1.0 - k[K.bisphosphonate_surface_turnover_weight] + k[K.bisphosphonate_surface_turnover_weight] * r
    for d in range(N_BISPHOSPHONATES):
        base = K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d
        k_plasma, uptake_fraction = k[base + KB.plasma_elimination_per_day], k[base + KB.bone_uptake_fraction]
        k_surface, burial_fraction = k[base + KB.surface_exit_per_day], k[base + KB.burial_fraction]
        row = IDX_BP_FIRST + len(POOL) * d
        plasma, surface, buried = y[row + POOL.plasma], y[row + POOL.surface], y[row + POOL.buried]
        renal = k_plasma * (1.0 - uptake_fraction) * plasma
        uptake = k_plasma * uptake_fraction * uptake_factor * plasma
        surface_exit = k_surface * surface_factor * surface
        burial = burial_fraction * surface_exit
        buried_release = k[K.bisphosphonate_buried_release_per_day] * r * buried
        dydt[row + POOL.plasma] = -renal - uptake + (surface_exit - burial) + buried_release
        dydt[row + POOL.surface] = uptake - surface_exit
        dydt[row + POOL.buried] = burial - buried_release
    return dydt


# ---------------------------------------------------------------------------------------------
# numba kernels for one patient (the engine's exponential Rosenbrock integrator calls these in its njit loop)
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def drug_rhs_kernel(y, resorption_relative, k, out):  # pragma: no cover - compiled; tested against numpy
    """One patient: ``out[:] = d(y)/dt``; ``y``, ``out`` 1-D of length N_DRUG_STATES, ``k`` = rate_constants()."""
    r = max(resorption_relative, 0.0)
    conc = y[DS.denosumab_central_ug] / k[K.denosumab_central_volume_ml]
    conc_pos = max(conc, 0.0)
    absorption = k[K.denosumab_absorption_per_day] * y[DS.denosumab_depot_ug]
    distribution = k[K.denosumab_intercompartmental_clearance_ml_per_day] * (conc - y[DS.denosumab_peripheral_ug] / k[K.denosumab_peripheral_volume_ml])
    elimination = (k[K.denosumab_linear_clearance_ml_per_day] * conc
                   + k[K.denosumab_vmax_ug_per_day] * conc_pos / (k[K.denosumab_km_ug_per_ml] + conc_pos))
    out[DS.denosumab_depot_ug] = -absorption
    out[DS.denosumab_central_ug] = absorption - distribution - elimination
    out[DS.denosumab_peripheral_ug] = distribution
    out[DS.denosumab_effect_site_ug_per_ml] = k[K.denosumab_effect_site_rate_per_day] * (conc - y[DS.denosumab_effect_site_ug_per_ml])
    kb = k[K.bisphosphonate_buried_release_per_day]
    uptake_factor = 1.0 - k[K.bisphosphonate_uptake_turnover_weight] + k[K.bisphosphonate_uptake_turnover_weight] * r
    surface_factor = 1.0 - k[K.bisphosphonate_surface_turnover_weight] + k[K.bisphosphonate_surface_turnover_weight] * r
    for d in range(N_BISPHOSPHONATES):
        base = K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d
        row = IDX_BP_FIRST + len(POOL) * d
        k_plasma = k[base + KB.plasma_elimination_per_day]
        uptake_fraction = k[base + KB.bone_uptake_fraction]
        renal = k_plasma * (1.0 - uptake_fraction) * y[row + POOL.plasma]
        uptake = k_plasma * uptake_fraction * uptake_factor * y[row + POOL.plasma]
        surface_exit = k[base + KB.surface_exit_per_day] * surface_factor * y[row + POOL.surface]
        burial = k[base + KB.burial_fraction] * surface_exit
        release = kb * r * y[row + POOL.buried]
        out[row + POOL.plasma] = -renal - uptake + (surface_exit - burial) + release
        out[row + POOL.surface] = uptake - surface_exit
        out[row + POOL.buried] = burial - release


@numba.njit(cache=True)
def drug_jacobian_kernel(y, resorption_relative, k, jac):  # pragma: no cover - compiled; tested by differences
    """One patient: ``jac[i, j] = d(rhs_i)/d(y_j)`` within the diagonal blocks (N x N ``jac``).

    Entries outside the blocks are structurally zero and are not written: zero ``jac`` once.
    """
    r = max(resorption_relative, 0.0)
    depot, central, peripheral, effect = (DS.denosumab_depot_ug, DS.denosumab_central_ug, DS.denosumab_peripheral_ug,
                                          DS.denosumab_effect_site_ug_per_ml)
    volume_central = k[K.denosumab_central_volume_ml]
    volume_peripheral = k[K.denosumab_peripheral_volume_ml]
    q = k[K.denosumab_intercompartmental_clearance_ml_per_day]
    vmax, km = k[K.denosumab_vmax_ug_per_day], k[K.denosumab_km_ug_per_ml]
    ke0 = k[K.denosumab_effect_site_rate_per_day]
    conc = y[central] / volume_central
    d_mm = vmax * km / ((km + conc) ** 2) if conc > 0.0 else vmax / km
    d_elim_d_central = (k[K.denosumab_linear_clearance_ml_per_day] + d_mm) / volume_central
    jac[depot, depot] = -k[K.denosumab_absorption_per_day]
    jac[central, depot] = k[K.denosumab_absorption_per_day]
    jac[central, central] = -q / volume_central - d_elim_d_central
    jac[central, peripheral] = q / volume_peripheral
    jac[peripheral, central] = q / volume_central
    jac[peripheral, peripheral] = -q / volume_peripheral
    jac[effect, central] = ke0 / volume_central
    jac[effect, effect] = -ke0
    kb = k[K.bisphosphonate_buried_release_per_day]
    uptake_factor = 1.0 - k[K.bisphosphonate_uptake_turnover_weight] + k[K.bisphosphonate_uptake_turnover_weight] * r
    surface_factor = 1.0 - k[K.bisphosphonate_surface_turnover_weight] + k[K.bisphosphonate_surface_turnover_weight] * r
    for d in range(N_BISPHOSPHONATES):
        base = K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d
        plasma = IDX_BP_FIRST + len(POOL) * d + POOL.plasma
        surface = IDX_BP_FIRST + len(POOL) * d + POOL.surface
        buried = IDX_BP_FIRST + len(POOL) * d + POOL.buried
        k_plasma = k[base + KB.plasma_elimination_per_day]
        uptake_fraction = k[base + KB.bone_uptake_fraction]
        burial_fraction = k[base + KB.burial_fraction]
        k_renal = k_plasma * (1.0 - uptake_fraction)
        k_up = k_plasma * uptake_fraction * uptake_factor
        k_exit = k[base + KB.surface_exit_per_day] * surface_factor
        jac[plasma, plasma] = -k_renal - k_up
        jac[plasma, surface] = k_exit * (1.0 - burial_fraction)
        jac[plasma, buried] = kb * r
        jac[surface, plasma] = k_up
        jac[surface, surface] = -k_exit
        jac[buried, surface] = k_exit * burial_fraction
        jac[buried, buried] = -kb * r


@numba.njit(cache=True)
def drug_rhs_resorption_derivative_kernel(y, resorption_relative, k, out):  # pragma: no cover - compiled
    """One patient: ``out[i] = d(rhs_i)/d(resorption_relative)`` (the coupling column to the bone core)."""
    for i in range(out.shape[0]):
        out[i] = 0.0
    if resorption_relative < 0.0:
        return
    kb = k[K.bisphosphonate_buried_release_per_day]
    for d in range(N_BISPHOSPHONATES):
        base = K.zoledronic_acid_plasma_elimination_per_day + len(KB) * d
        row = IDX_BP_FIRST + len(POOL) * d
        d_uptake = (k[base + KB.plasma_elimination_per_day] * k[base + KB.bone_uptake_fraction]
                    * k[K.bisphosphonate_uptake_turnover_weight] * y[row + POOL.plasma])
        d_exit = k[base + KB.surface_exit_per_day] * k[K.bisphosphonate_surface_turnover_weight] * y[row + POOL.surface]
        d_release = kb * y[row + POOL.buried]
        out[row + POOL.plasma] = -d_uptake + d_exit * (1.0 - k[base + KB.burial_fraction]) + d_release
        out[row + POOL.surface] = d_uptake - d_exit
        out[row + POOL.buried] = d_exit * k[base + KB.burial_fraction] - d_release


# ---------------------------------------------------------------------------------------------
# Dosing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelDose:
    """One labelled regimen of a bone agent."""

    dose_mg: float
    route: str  # "sc", "iv", "oral"
    interval_days: float
    indication: str
    source: str
    evidence: str


LABEL_DOSES: dict[str, tuple[LabelDose, ...]] = {
    "denosumab": (
        LabelDose(60.0, "sc", 182.5, "osteoporosis; AI-associated bone loss (Prolia)",
                  "Prolia label 2.1; ABCSG-18 (Gnant 2015); Hadji 2017", "V"),
        LabelDose(120.0, "sc", 28.0, "bone metastases (Xgeva), not a bone-loss regimen",
                  "Xgeva label [recalled]; droracle summary of the Prolia label (read)", "S"),
    ),
    "zoledronic_acid": (
        LabelDose(4.0, "iv", 182.5, "AI-associated bone loss (Z-FAST/ZO-FAST)", "Hadji 2017 Table 3", "V"),
        LabelDose(5.0, "iv", 365.25, "postmenopausal osteoporosis (Reclast/Aclasta)", "Reclast label [R]", "S"),
    ),
    "alendronate": (
        LabelDose(70.0, "oral", 7.0, "osteoporosis; AI-associated bone loss", "Hadji 2017", "V"),
        LabelDose(10.0, "oral", 1.0, "osteoporosis, daily", "PMC3513863 Table 1 (read)", "S"),
    ),
    "risedronate": (
        LabelDose(35.0, "oral", 7.0, "osteoporosis; AI-associated bone loss", "Hadji 2017", "V"),
        LabelDose(5.0, "oral", 1.0, "osteoporosis, daily", "PMC3513863 Table 1 (read)", "S"),
        LabelDose(150.0, "oral", 30.4, "osteoporosis, monthly", "PMC3513863 Table 1 (read)", "S"),
    ),
    "ibandronate": (
        LabelDose(150.0, "oral", 30.4, "osteoporosis; AI-associated bone loss", "Hadji 2017", "V"),
        LabelDose(3.0, "iv", 91.3, "osteoporosis, IV every 3 months", "PMC3513863 Table 1 (read)", "S"),
        LabelDose(50.0, "oral", 1.0, "adjuvant breast cancer (GAIN/SWOG)", "GAIN and SWOG S0307 protocols [R]", "S"),
    ),
}

DEFAULT_ROUTE: dict[str, str] = {
    "denosumab": "sc", "zoledronic_acid": "iv", "alendronate": "oral", "risedronate": "oral", "ibandronate": "oral",
}
ALLOWED_ROUTES: dict[str, tuple[str, ...]] = {
    "denosumab": ("sc",), "zoledronic_acid": ("iv",), "alendronate": ("oral",), "risedronate": ("oral",),
    "ibandronate": ("oral", "iv"),
}

# Our rule [A]: a dose below half the smallest or above twice the largest labelled dose is "far outside"
# the label and gets a warning; above 20 times the largest labelled dose it is refused as impossible
# (e.g. 1.2 g of denosumab would be 20 mL of the 60 mg/mL solution).
WARN_BELOW_FACTOR = 0.5
WARN_ABOVE_FACTOR = 2.0
REFUSE_ABOVE_FACTOR = 20.0


def _check_drug(drug: str) -> None:
    if drug not in DRUGS:
        raise InputError("drug", drug, f"one of {', '.join(DRUGS)}")


def _label_dose_range_mg(drug: str) -> tuple[float, float]:
    doses = [label.dose_mg for label in LABEL_DOSES[drug]]
    return min(doses), max(doses)


def _labelled_doses_text(drug: str) -> str:
    return "; ".join(
        f"{label.dose_mg:g} mg {label.route} every {label.interval_days:g} days ({label.indication})"
        for label in LABEL_DOSES[drug]
    )


def label_dose_warning(drug: str, dose_mg: float) -> str | None:
    """A warning text when ``dose_mg`` is far outside the labelled doses of ``drug``; ``None`` otherwise.

    Impossible doses (negative, non-finite, above 20 x the largest labelled dose) raise InputError.
    """
    dose_mg = _validated_dose_mg(drug, dose_mg)
    low, high = _label_dose_range_mg(drug)
    if WARN_BELOW_FACTOR * low <= dose_mg <= WARN_ABOVE_FACTOR * high:
        return None
    return (f"{drug} dose {dose_mg:g} mg is far outside the labelled doses "
            f"({_labelled_doses_text(drug)}); the model has not been checked at this dose")


def _validated_dose_mg(drug: str, dose_mg: object) -> float:
    """The dose as float, or InputError: negative, non-finite, not a number, or above the hard ceiling."""
    _check_drug(drug)
    if (isinstance(dose_mg, bool) or not isinstance(dose_mg, int | float | np.floating | np.integer)
            or not math.isfinite(float(dose_mg))):
        raise InputError("dose_mg", dose_mg, "a finite number of mg >= 0")
    value = float(dose_mg)
    if value < 0.0:
        raise InputError("dose_mg", value, "a dose cannot be negative (>= 0 mg)")
    ceiling = REFUSE_ABOVE_FACTOR * _label_dose_range_mg(drug)[1]
    if value > ceiling:
        raise InputError("dose_mg", value, f"{drug}: at most {ceiling:g} mg per dose (20 x the largest labelled dose)")
    return value


def absorbed_amount(drug: str, dose_mg: float, params: Mapping[str, float] | None = None,
                    route: str | None = None) -> float:
    """Systemically available amount of one dose: ug for denosumab, umol for a bisphosphonate.

    Refuses (InputError) what :func:`apply_dose` refuses: unknown drug or route, impossible dose.
    """
    dose_mg = _validated_dose_mg(drug, dose_mg)
    p = default_params() if params is None else params
    route = DEFAULT_ROUTE[drug] if route is None else route
    if route not in ALLOWED_ROUTES[drug]:
        raise InputError("route", route, f"for {drug}: {', '.join(ALLOWED_ROUTES[drug])}")
    if drug == "denosumab":
        return dose_mg * 1000.0 * p["denosumab_bioavailability_fraction"]
    fraction = p[f"{drug}_oral_bioavailability_fraction"] if route == "oral" else 1.0
    return dose_mg * 1000.0 / p[f"{drug}_molecular_weight_g_per_mol"] * fraction


def apply_dose(drug_states: np.ndarray, patient_index, drug: str, dose_mg: float,
               params: Mapping[str, float] | None = None, route: str | None = None) -> None:
    """Dosing event: add the absorbed amount of one dose to ``drug_states[:, patient_index]`` in place.

    Denosumab (SC) enters the depot as dose x bioavailability (ug); zoledronic acid (IV) enters plasma
    whole; oral bisphosphonates enter plasma as dose x oral bioavailability (absorption takes about an
    hour, instantaneous on the bone time scale). ``patient_index`` may be an int, a slice or an index
    array. Refused with :class:`InputError`: unknown drug or route, negative/non-finite dose, or a dose
    above 20 x the largest labelled dose. Doses merely outside the label are applied; the caller shows
    :func:`label_dose_warning`.
    """
    amount = absorbed_amount(drug, dose_mg, params, route)
    row = IDX_DMAB_DEPOT if drug == "denosumab" else bisphosphonate_state_index(drug, "plasma")
    if isinstance(patient_index, int | np.integer | slice):
        drug_states[row, patient_index] += amount
    else:  # index array: a patient listed twice gets two doses
        np.add.at(drug_states[row], np.asarray(patient_index), amount)


# ---------------------------------------------------------------------------------------------
# Observables and PD
# ---------------------------------------------------------------------------------------------


def denosumab_serum_ug_per_ml(drug_states: np.ndarray, params: Mapping[str, float] | None = None) -> np.ndarray:
    """Serum denosumab (central compartment) in ug/mL, (patients,)."""
    p = default_params() if params is None else params
    return np.maximum(drug_states[IDX_DMAB_CENTRAL], 0.0) / p["denosumab_central_volume_ml"]


def denosumab_molar_pM(drug_states: np.ndarray, params: Mapping[str, float] | None = None) -> np.ndarray:
    """Serum denosumab in pM: ug/mL = mg/L -> /MW (g/mol) -> mol/L x 1e12 (1 ug/mL ~ 6800 pM)."""
    p = default_params() if params is None else params
    return denosumab_serum_ug_per_ml(drug_states, p) * 1e-3 / p["denosumab_molecular_weight_g_per_mol"] * 1e12


def denosumab_effect_site_ug_per_ml(drug_states: np.ndarray) -> np.ndarray:
    """Bone-site (effect-compartment) denosumab in ug/mL, (patients,)."""
    return np.maximum(drug_states[IDX_DMAB_EFFECT], 0.0)


def denosumab_rankl_inhibition(drug_states: np.ndarray, params: Mapping[str, float] | None = None) -> np.ndarray:
    """Fraction of RANKL signalling removed by denosumab, ``Imax * Ce / (Ce + IC50)`` in [0, Imax), (patients,).

    The core multiplies the quasi-steady free RANKL by ``1 - I``.
    """
    p = default_params() if params is None else params
    ce_ng_per_ml = 1000.0 * denosumab_effect_site_ug_per_ml(drug_states)
    return p["denosumab_max_rankl_inhibition_fraction"] * ce_ng_per_ml / (ce_ng_per_ml + p["denosumab_rankl_ic50_ng_per_ml"])


def bisphosphonate_effective_umol(drug_states: np.ndarray, params: Mapping[str, float] | None = None) -> np.ndarray:
    """Potency-weighted bone drug in zoledronic-acid-equivalent umol, (patients,)."""
    p = default_params() if params is None else params
    weight = p["bisphosphonate_buried_effect_weight"]
    total = np.zeros(drug_states.shape[1:])
    for drug in BISPHOSPHONATES:
        surface = np.maximum(drug_states[bisphosphonate_state_index(drug, "surface")], 0.0)
        buried = np.maximum(drug_states[bisphosphonate_state_index(drug, "buried")], 0.0)
        total = total + p[f"{drug}_relative_potency"] * (surface + weight * buried)
    return total


def bisphosphonate_resorption_inhibition(drug_states: np.ndarray, params: Mapping[str, float] | None = None
                                         ) -> np.ndarray:
    """Fraction in [0, Emax] (Emax < 1) by which osteoclast resorption is reduced, (patients,)."""
    p = default_params() if params is None else params
    c = bisphosphonate_effective_umol(drug_states, p)
    h = p["bisphosphonate_hill_coefficient"]
    ch = c ** h
    return p["bisphosphonate_max_inhibition_fraction"] * ch / (ch + p["bisphosphonate_ec50_umol"] ** h)


def drug_outputs(drug_states: np.ndarray, params: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Per-patient quantities for the Trajectory: serum denosumab and bone-bound bisphosphonate."""
    p = default_params() if params is None else params
    out = {
        "denosumab_serum_ug_per_ml": denosumab_serum_ug_per_ml(drug_states, p),
        "denosumab_rankl_inhibition": denosumab_rankl_inhibition(drug_states, p),
        "bisphosphonate_resorption_inhibition": bisphosphonate_resorption_inhibition(drug_states, p),
    }
    for drug in BISPHOSPHONATES:
        for pool in ("surface", "buried"):
            out[f"{drug}_bone_{pool}_umol"] = drug_states[bisphosphonate_state_index(drug, pool)].copy()
    return out
