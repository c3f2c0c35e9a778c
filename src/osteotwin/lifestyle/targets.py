"""Daily nutrient targets for women, by age (and weight for protein), each with its source.

Evidence tags (docs/lifestyle.md): [V] checked against the primary source or its abstract,
[S] checked against a secondary page only, [R] recalled and unverified. Where a bone-health body
recommends more than the general DRI (vitamin D >= 800 IU from age 50: BHOF 2022, ASCO 2019,
Hadji 2017 for AI users), the target is the bone-health value and the DRI is named in ``note``.

Upper limits: calcium 2,000 mg/day from age 51 (2,500 mg at 19-50), vitamin D 4,000 IU/day
(IOM 2011), magnesium 350 mg/day from supplements only (IOM 1997). Vitamin K has no UL.

| nutrient | age | target | source | tag |
|---|---|---|---|---|
| calcium_mg | 19-50 | 1,000 (UL 2,500) | IOM 2011 RDA (NIH ODS Table 1, secondary) | [S] |
| calcium_mg | >= 51 | 1,200 (UL 2,000) | IOM 2011 RDA; BHOF 2022 1,200 total | [S]/[V] |
| vitamin_d_iu | < 50 | 600 (UL 4,000) | IOM 2011 RDA | [S] |
| vitamin_d_iu | >= 50, or on an AI | 800 (UL 4,000) | BHOF 2022 / ASCO 2019 >= 800-1,000; Hadji 2017 800-1,000 on AI | [V]/[S] |
| magnesium_mg | 19-30 / >= 31 | 310 / 320 (supplement UL 350) | IOM 1997 RDA | [S] |
| vitamin_k_ug | >= 19 | 90 (no UL) | IOM 2001 AI | [S] |
| protein_g | < 50 | 0.8 g/kg | IOM 2005 RDA (Wolfe et al. 2017 Adv Nutr abstract) | [S] |
| protein_g | 50-64 | 1.0 g/kg | ESCEO 2014: 1.0-1.2 g/kg, >= 20-25 g per main meal | [S] (abstract conclusion on secondary pages) |
| protein_g | >= 65 | 1.0 g/kg | ESPEN 2014 (Deutz): >= 1.0-1.2 g/kg | [V] |
| fiber_g | 19-50 / >= 51 | 25 / 21 | IOM 2005 AI (14 g per 1,000 kcal) | [S] |
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from osteotwin.errors import InputError

UpperLimitScope = Literal["total", "supplements"]


class Target(BaseModel):
    """A daily intake target for one nutrient, with its upper limit and where both come from."""

    model_config = ConfigDict(frozen=True)

    nutrient: str
    amount: float
    unit: str
    kind: str
    source: str
    evidence: str
    upper_limit: float | None = None
    upper_limit_scope: UpperLimitScope | None = None
    upper_limit_source: str | None = None
    note: str = ""


IOM_2011 = "IOM 2011, Dietary Reference Intakes for Calcium and Vitamin D, Tables S-1/S-2"


def targets_for(
    age_years: float,
    weight_kg: float,
    sex: Literal["female"] = "female",
    on_aromatase_inhibitor: bool = False,
) -> list[Target]:
    """Daily targets for calcium, vitamin D, magnesium, vitamin K, protein and fibre.

    Only women's values are encoded (the project is about postmenopausal women on AIs); other
    sexes are refused rather than given a wrong number.
    """
    if sex != "female":
        raise InputError("sex", sex, "'female' (only women's reference values are encoded)")
    if not (18 <= age_years <= 110):
        raise InputError("age_years", age_years, "18 to 110 (adult targets)")
    if not (25 <= weight_kg <= 300):
        raise InputError("weight_kg", weight_kg, "25 to 300 kg")
    targets: list[Target] = []

    if age_years >= 51:
        targets.append(Target(
            nutrient="calcium_mg", amount=1200, unit="mg/day", kind="RDA",
            source=f"{IOM_2011} (women 51+); BHOF 2022: 1,200 mg/day total", evidence="[S] IOM; [V] BHOF",
            upper_limit=2000, upper_limit_scope="total", upper_limit_source=f"{IOM_2011}: UL 2,000 mg from 51",
            note="Food plus supplements. ASCO 2019 for survivors: 1,000-1,200 mg/day [V].",
        ))
    else:
        targets.append(Target(
            nutrient="calcium_mg", amount=1000, unit="mg/day", kind="RDA",
            source=f"{IOM_2011} (women 19-50; via NIH ODS Table 1)", evidence="[S]",
            upper_limit=2500, upper_limit_scope="total", upper_limit_source=f"{IOM_2011}: UL 2,500 mg at 19-50",
        ))

    ul_d = dict(upper_limit=4000.0, upper_limit_scope="total", upper_limit_source=f"{IOM_2011}: UL 4,000 IU (100 ug)")
    if age_years >= 50 or on_aromatase_inhibitor:
        reason = "on an aromatase inhibitor" if on_aromatase_inhibitor else "age 50+"
        targets.append(Target(
            nutrient="vitamin_d_iu", amount=800, unit="IU/day", kind="bone-health recommendation",
            source="BHOF 2022 and ASCO 2019: >= 800-1,000 IU/day; Hadji 2017 (on AI): 800-1,000 IU/day",
            evidence="[V] BHOF/ASCO; [S] Hadji",
            note=f"Chosen because {reason}; the IOM 2011 RDA is {800 if age_years > 70 else 600} IU. 1 ug = 40 IU.",
            **ul_d,
        ))
    else:
        targets.append(Target(
            nutrient="vitamin_d_iu", amount=600, unit="IU/day", kind="RDA",
            source=f"{IOM_2011} (adults 19-70)", evidence="[S]", note="1 ug = 40 IU.", **ul_d,
        ))

    targets.append(Target(
        nutrient="magnesium_mg", amount=310 if age_years < 31 else 320, unit="mg/day", kind="RDA",
        source="IOM 1997, Dietary Reference Intakes for Ca, P, Mg, vitamin D and fluoride (women)",
        evidence="[S]", upper_limit=350, upper_limit_scope="supplements",
        upper_limit_source="IOM 1997: UL 350 mg/day from supplements only (no UL for food magnesium)",
    ))

    targets.append(Target(
        nutrient="vitamin_k_ug", amount=90, unit="ug/day", kind="AI",
        source="IOM 2001 Dietary Reference Intakes (women 19+); EFSA 2017 AI: 70 ug/day (1 ug/kg)",
        evidence="[S] IOM; [V] EFSA", note="Phylloquinone (K1) as in USDA; no UL. On warfarin: keep intake steady.",
    ))

    if age_years >= 65:
        per_kg, source, evidence = 1.0, "ESPEN 2014 (Deutz et al., Clin Nutr): >= 1.0-1.2 g/kg/day for healthy older adults", "[V]"
    elif age_years >= 50:
        per_kg, source, evidence = (
            1.0, "ESCEO 2014 (Rizzoli et al., Maturitas 79:122-32): 1.0-1.2 g/kg/day for postmenopausal women",
            "[S] (the abstract's conclusion, read on secondary pages)",
        )
    else:
        per_kg, source, evidence = 0.8, "RDA 0.8 g/kg/day (IOM 2005; Wolfe et al., Adv Nutr 2017)", "[S]"
    targets.append(Target(
        nutrient="protein_g", amount=round(per_kg * weight_kg, 1), unit="g/day",
        kind=f"{per_kg:g} g/kg/day x {weight_kg:g} kg", source=source, evidence=evidence,
        note="Aim for at least 20-25 g of high-quality protein at each main meal (ESCEO 2014 [S]).",
    ))

    targets.append(Target(
        nutrient="fiber_g", amount=21 if age_years >= 51 else 25, unit="g/day", kind="AI",
        source="IOM 2005, Dietary Reference Intakes for Energy, Carbohydrate, Fiber... (women; 14 g per 1,000 kcal)",
        evidence="[S] (secondary pages reproducing the DRI table)",
    ))
    return targets


def upper_limit_warnings(
    targets: list[Target], food_per_day: dict[str, float], supplements_per_day: dict[str, float]
) -> list[str]:
    """Warnings for every upper limit exceeded by food plus supplements (or supplements alone)."""
    warnings: list[str] = []
    for target in targets:
        if target.upper_limit is None:
            continue
        supplement = supplements_per_day.get(target.nutrient, 0.0)
        amount = supplement if target.upper_limit_scope == "supplements" else food_per_day.get(target.nutrient, 0.0) + supplement
        if amount > target.upper_limit:
            scope = "from supplements" if target.upper_limit_scope == "supplements" else "from food and supplements"
            warnings.append(
                f"{target.nutrient}: {amount:.0f} {target.unit} {scope} exceeds the upper limit "
                f"{target.upper_limit:g} ({target.upper_limit_source})"
            )
    return warnings
