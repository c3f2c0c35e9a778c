"""Fractional calcium absorption by food: "absorbable calcium" = calcium mg x fraction absorbed.

Table: Lindshield, *Human Nutrition* (open textbook) section 12.22, derived from Weaver et al.
1999 *AJCN* 70(3 Suppl):543S-548S (the numbers checked against that table [V]; the Weaver attribution
recalled [R]; the table is reproduced in docs/lifestyle.md).
Foods are matched to a row by words in the USDA description (first match wins). Foods with no row
get the milk value (32.1%), the reference the table is built on: that default is OUR assumption,
and so are the analogies marked "ours" below. DRI comparisons use nominal calcium (DRIs assume
a mixed diet); absorbable calcium is reported alongside it.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "Lindshield, Human Nutrition 12.22 (after Weaver et al. 1999 AJCN)"


@dataclass(frozen=True)
class AbsorptionRule:
    """Foods whose description contains all ``words`` absorb ``fraction`` of their calcium."""

    words: tuple[str, ...]
    fraction: float
    basis: str


ABSORPTION_RULES: tuple[AbsorptionRule, ...] = (
    AbsorptionRule(("spinach",), 0.051, "spinach 5.1% (table)"),
    AbsorptionRule(("rhubarb",), 0.0854, "rhubarb 8.54% (table)"),
    AbsorptionRule(("beet", "green"), 0.0854, "high-oxalate greens about 5-9% (table rule; rhubarb value, ours)"),
    AbsorptionRule(("swiss", "chard"), 0.0854, "high-oxalate greens about 5-9% (table rule; rhubarb value, ours)"),
    AbsorptionRule(("kale",), 0.493, "kale 49.3% (table)"),
    AbsorptionRule(("pak-choi",), 0.538, "bok choy 53.8% (table)"),
    AbsorptionRule(("bok", "choy"), 0.538, "bok choy 53.8% (table)"),
    AbsorptionRule(("broccoli",), 0.613, "broccoli 61.3% (table)"),
    AbsorptionRule(("brussels",), 0.638, "Brussels sprouts 63.8% (table)"),
    AbsorptionRule(("turnip", "green"), 0.516, "turnip greens 51.6% (table)"),
    AbsorptionRule(("mustard", "green"), 0.578, "mustard greens 57.8% (table)"),
    AbsorptionRule(("collard",), 0.493, "low-oxalate brassica about 50-65% (table rule; kale value, ours)"),
    AbsorptionRule(("almond", "milk"), 0.211, "fortified plant milk: CaCO3-fortified soy milk 21.1% (ours by analogy)"),
    AbsorptionRule(("almond",), 0.212, "almonds 21.2% (table)"),
    AbsorptionRule(("sesame",), 0.208, "sesame seeds 20.8% (table)"),
    AbsorptionRule(("tahini",), 0.208, "sesame seeds 20.8% (table)"),
    AbsorptionRule(("bean", "white"), 0.218, "white beans 21.8% (table)"),
    AbsorptionRule(("bean", "pinto"), 0.267, "pinto beans 26.7% (table)"),
    AbsorptionRule(("soymilk",), 0.211, "soy milk with CaCO3 21.1% (table; the lower of the two soy-milk rows)"),
    AbsorptionRule(("tofu",), 0.31, "tofu with calcium 31.0% (table)"),
    AbsorptionRule(("orange", "juice", "calcium"), 0.363, "orange juice with calcium citrate malate 36.3% (table)"),
    AbsorptionRule(("milk",), 0.321, "cow's milk 32.1% (table)"),
    AbsorptionRule(("yogurt",), 0.321, "yogurt 32.1% (table)"),
    AbsorptionRule(("cheese",), 0.321, "cheddar 32.1% (table)"),
    AbsorptionRule(("kefir",), 0.321, "fermented milk: yogurt value 32.1% (ours by analogy)"),
)

DEFAULT_FRACTION = 0.321
DEFAULT_BASIS = "no table row: milk reference 32.1% (our assumption)"


def _description_words(description: str) -> set[str]:
    from osteotwin.lifestyle.foods import _words

    words = set(_words(description))
    words.update(part for word in description.lower().replace(",", " ").split() for part in [word])
    return words


def calcium_absorption(description: str) -> tuple[float, str]:
    """The fraction of a food's calcium that is absorbed, and where that number comes from."""
    words = _description_words(description)
    for rule in ABSORPTION_RULES:
        if all(any(word.startswith(needed) for word in words) for needed in rule.words):
            return rule.fraction, rule.basis
    return DEFAULT_FRACTION, DEFAULT_BASIS
