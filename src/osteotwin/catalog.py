"""The one catalog of names every part shares: bone sites, drugs, time units, population defaults.

Each name is declared here once; the Scenario's and the clinic record's allowed values, the engine's
drug codes and compartments, the planner and the web forms are derived from these tuples. The drugs'
pharmacology (label doses, routes, PK parameters) stays with the engine in physiology/drugs.py; this
module only names them, so that importing it costs nothing.
"""

from __future__ import annotations

from typing import Final

# Bone sites that the engine simulates, in the engine's order (state blocks, per-site parameters).
SITES: Final[tuple[str, ...]] = ("lumbar_spine", "total_hip")
# Sites a DXA report may carry; the femoral neck is measured and assessed, not simulated.
DXA_SITES: Final[tuple[str, ...]] = ("lumbar_spine", "total_hip", "femoral_neck")

# Endocrine therapy. Aromatase inhibitors lower estradiol (physiology/estrogen.py); tamoxifen is a
# partial agonist on bone; GnRH agonists suppress the ovaries of premenopausal women (clinic only).
AROMATASE_INHIBITORS: Final[tuple[str, ...]] = ("anastrozole", "letrozole", "exemestane")
ENDOCRINE_DRUGS: Final[tuple[str, ...]] = (*AROMATASE_INHIBITORS, "tamoxifen")
OVARIAN_SUPPRESSION_DRUGS: Final[tuple[str, ...]] = ("goserelin", "leuprorelin", "triptorelin")

# Bone-modifying agents the engine doses (physiology/drugs.py holds their label doses and PK).
BISPHOSPHONATES: Final[tuple[str, ...]] = ("zoledronic_acid", "alendronate", "risedronate", "ibandronate")
BONE_AGENTS: Final[tuple[str, ...]] = ("denosumab", *BISPHOSPHONATES)
# Bone agents a record may list although the engine does not simulate them (clodronate: adjuvant
# use in some countries, no PK model here).
RECORDED_ONLY_BONE_AGENTS: Final[tuple[str, ...]] = ("clodronate",)

# Time. A month is a twelfth of the Julian year, as in the engine's monthly inputs.
DAYS_PER_YEAR: Final[float] = 365.25
DAYS_PER_MONTH: Final[float] = DAYS_PER_YEAR / 12.0

# Population default for a postmenopausal woman whose menopause year is not recorded: menopause at
# age 51, about the mean age at natural menopause (SWAN median about 52: Gold EB et al. Am J Epidemiol
# 2013;178:70-83, recalled [R]); the engine's calibration cohorts use the same age.
AGE_AT_MENOPAUSE_YEARS: Final[float] = 51.0


def default_years_since_menopause(age_years: float) -> float:
    """Years since menopause assumed when none is recorded: age - 51, not below 0."""
    return max(0.0, age_years - AGE_AT_MENOPAUSE_YEARS)

# Serum 25-hydroxyvitamin D cut-points in ng/mL (1 ng/mL = 2.496 nmol/L), shared by the clinic rules
# and the planner so that the assessment and the plan give the same advice for the same lab value.
VITAMIN_D_DEFICIENT_BELOW_NG_ML: Final[float] = 12.0
"""IOM 2011 (Ross et al., J Clin Endocrinol Metab 2011;96:53-8): below 12 ng/mL deficient [S]."""
VITAMIN_D_INADEQUATE_BELOW_NG_ML: Final[float] = 20.0
"""IOM 2011: 12-20 ng/mL inadequate; 20 ng/mL covers the needs of 97.5% of people [S]."""
VITAMIN_D_TARGET_NG_ML: Final[float] = 30.0
"""BHOF 2022 clinician's guide: aim at 30 ng/mL or more from age 50 [V]."""
VITAMIN_D_TARGET_FROM_AGE_YEARS: Final[float] = 50.0
"""BHOF 2022: the 30 ng/mL aim applies to people aged 50 and over [V]."""
VITAMIN_D_UPPER_NG_ML: Final[float] = 50.0
"""IOM 2011: possible harm above 50 ng/mL; BHOF 2022's upper end of the range [S]."""
