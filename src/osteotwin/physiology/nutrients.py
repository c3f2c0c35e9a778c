"""Protein, magnesium and vitamin K2: small effects on osteoblast formation, WEAK evidence.

Each effect is small, labelled weak, and applies only with
``EngineOptions.weak_evidence_nutrients`` (default on). All are 1.0 for the reference person
(protein 1.0 g/kg/d, magnesium 280 mg/d, no vitamin K2 supplement).

* Protein: meta-analyses of randomised trials find at most a small benefit of higher protein for
  lumbar spine BMD and no harm (Shams-White 2017 Am J Clin Nutr, NOF review; Darling 2009 Am J Clin
  Nutr) [R: effect sizes recalled]; low intake lowers IGF-1 and formation (Rizzoli, ESCEO 2014
  Maturitas 79:122) [R]. Modelled as formation x (1 + a_P * clip(P - 1.0, -0.4, 0.5)).
* Magnesium: observational associations of low intake with lower BMD (e.g. Orchard 2014 Am J Clin
  Nutr, WHI) [R]; no convincing trial. Modelled as a small formation deficit below the EAR
  (265 mg/d, IOM 1997 [S]) and nothing above it.
* Vitamin K2 (menaquinone-7): a 3-year trial of 180 ug/d MK-7 slowed the decline of BMD in
  postmenopausal women (Knapen 2013 Osteoporos Int) [R]; Western trials are mixed. Modelled as up
  to +1% formation at >= 180 ug/d.
Polyphenols act through the gut barrier (gut.py), also weak. Dietary vitamin K1 (phylloquinone,
``Diet.vitamin_k_ug_per_day``) is not modelled: no bone effect is established for it [R].
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology.parameters import Parameter, ParameterTable

PARAMETERS = ParameterTable(
    [
        Parameter(
            "reference_protein_g_per_kg_per_day", 1.0, "g/kg/d",
            "Protein intake of the reference person",
            "ESPEN 2014 (Deutz): >= 1.0-1.2 g/kg/d for healthy older adults [V]",
            "V", (0.8, 1.2), symbol="Prot_ref",
        ),
        Parameter(
            "protein_formation_slope", 0.02, "1/(g/kg/d)",
            "WEAK: relative change of osteoblast formation per g/kg/d of protein away from 1.0 "
            "(clipped to -0.4..+0.5 g/kg/d)",
            "Ours [A]; small by design (Shams-White 2017, Darling 2009: small LS benefit) [R]",
            "A", (0.0, 0.06), symbol="k_prot",
        ),
        Parameter(
            "reference_magnesium_mg_per_day", 280.0, "mg/d",
            "Magnesium intake of the reference person (diet default when not given)",
            "Typical US women's intake ~250-300 mg/d (NHANES) [R]",
            "R", (200.0, 350.0), symbol="Mg_ref",
        ),
        Parameter(
            "magnesium_ear_mg_per_day", 265.0, "mg/d",
            "Estimated average requirement, women 31+",
            "IOM 1997 Dietary Reference Intakes [S]",
            "S", (250.0, 280.0), symbol="Mg_EAR",
        ),
        Parameter(
            "magnesium_deficit_formation_max", 0.02, "1",
            "WEAK: largest relative fall of formation at zero magnesium intake below the EAR (linear)",
            "Ours [A]; observational associations only [R]",
            "A", (0.0, 0.05), symbol="epsilon_Mg",
        ),
        Parameter(
            "vitamin_k2_formation_max", 0.01, "1",
            "WEAK: largest relative rise of formation with menaquinone-7 (reached at 180 ug/d)",
            "Ours [A]; Knapen 2013 Osteoporos Int (MK-7 180 ug/d, 3 y) [R]",
            "A", (0.0, 0.03), symbol="epsilon_K2",
        ),
        Parameter(
            "vitamin_k2_full_effect_ug_per_day", 180.0, "ug/d",
            "MK-7 dose of the positive trial",
            "Knapen 2013 [R]",
            "R", (45.0, 500.0), symbol="K2_full",
        ),
    ]
)


def formation_relative(
    protein_g_per_kg_per_day: np.ndarray,
    magnesium_mg_per_day: np.ndarray,
    vitamin_k2_ug_per_day: np.ndarray,
    parameters: ParameterTable | None = None,
) -> np.ndarray:
    """Nutrient multiplier of osteoblast formation; 1.0 for the reference person."""
    parameters = PARAMETERS if parameters is None else parameters
    p = parameters.values_dict()
    protein = np.asarray(protein_g_per_kg_per_day, dtype=float)
    magnesium = np.asarray(magnesium_mg_per_day, dtype=float)
    k2 = np.asarray(vitamin_k2_ug_per_day, dtype=float)
    protein_term = 1.0 + p["protein_formation_slope"] * np.clip(
        protein - p["reference_protein_g_per_kg_per_day"], -0.4, 0.5
    )
    ear = p["magnesium_ear_mg_per_day"]
    reference_deficit = max(ear - p["reference_magnesium_mg_per_day"], 0.0) / ear
    deficit = np.clip((ear - magnesium) / ear, 0.0, 1.0)
    magnesium_term = (1.0 - p["magnesium_deficit_formation_max"] * deficit) / (
        1.0 - p["magnesium_deficit_formation_max"] * reference_deficit
    )
    k2_term = 1.0 + p["vitamin_k2_formation_max"] * np.clip(k2 / p["vitamin_k2_full_effect_ug_per_day"], 0.0, 1.0)
    return protein_term * magnesium_term * k2_term
