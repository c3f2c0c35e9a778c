"""Diet patterns (omnivore, vegetarian, vegan, lactose-free, Mediterranean) and food tags.

Which USDA foods a pattern allows is decided from the SR food group and words of the description.
These rules are OUR encoding of the usual meaning of each pattern, not a published standard.
The gut-friendly tags (fermented, prebiotic, polyphenol-rich) follow the food categories the seed
texts name; the word lists are ours.
"""

from __future__ import annotations

from typing import Literal

from osteotwin.lifestyle.foods import Food, _words

DietPattern = Literal["omnivore", "vegetarian", "vegan", "lactose_free", "mediterranean"]
DIET_PATTERNS: tuple[str, ...] = ("omnivore", "vegetarian", "vegan", "lactose_free", "mediterranean")

MEAT_FISH_GROUPS = {"0500", "0700", "1000", "1300", "1500", "1700"}
"""SR groups: poultry, sausages/luncheon meats, pork, beef, finfish/shellfish, lamb/veal/game."""
RED_OR_PROCESSED_MEAT_GROUPS = {"0700", "1000", "1300", "1700"}

MEAT_WORDS = {
    "chicken", "beef", "pork", "ham", "bacon", "turkey", "lamb", "veal", "fish", "tuna", "salmon", "sardine",
    "anchovy", "shrimp", "crab", "lobster", "clam", "oyster", "mussel", "gelatin", "lard", "meat", "sausage",
    "pepperoni", "salami", "cod", "mackerel", "herring", "trout", "duck", "goose", "venison", "liver", "broth",
    "frank", "frankfurter", "wiener", "bologna", "chorizo", "pastrami", "jerky", "prosciutto", "pancetta", "mutton",
    "meatball", "pate", "scallop", "squid", "octopu", "halibut", "tilapia", "pollock", "haddock",
}
ANIMAL_PRODUCT_WORDS = {"cheese", "egg", "yogurt", "cream", "whey", "honey", "casein", "buttermilk", "kefir", "ghee"}
PLANT_MILK_WORDS = {"soymilk", "soy", "almond", "rice", "coconut", "oat", "cashew", "imitation", "substitute"}
PLANT_BUTTER_WORDS = {"peanut", "almond", "cashew", "sesame", "apple", "nut", "cocoa", "shea", "soy", "sunflower"}
LACTOSE_WORDS = {"milk", "yogurt", "cream", "whey", "buttermilk", "kefir", "ice", "cottage", "ricotta", "custard", "pudding"}
LOW_LACTOSE_CHEESE_WORDS = {"cheddar", "parmesan", "swiss", "gruyere", "provolone", "romano", "edam", "gouda", "brick"}
"""Aged hard cheeses: under about 1 g lactose per serving (recalled, unverified) -> allowed when lactose-free."""


def _contains_milk(words: set[str]) -> bool:
    return "milk" in words and not (words & PLANT_MILK_WORDS)


def _contains_animal_butter(words: set[str]) -> bool:
    return "butter" in words and not (words & PLANT_BUTTER_WORDS)


def pattern_allows(food: Food, pattern: str) -> bool:
    """Whether a food fits the diet pattern (ours; see module docstring)."""
    words = set(_words(food.name))
    if pattern in ("omnivore", "mediterranean"):
        return True
    if pattern == "lactose_free":
        if "lactose" in words and ("free" in words or "reduced" in words):
            return True
        if "cheese" in words and words & LOW_LACTOSE_CHEESE_WORDS:
            return True
        if food.food_group_code == "0100" and not words & {"egg"}:
            return False
        return not (_contains_milk(words) or words & (LACTOSE_WORDS - {"milk"}) or _contains_animal_butter(words))
    meat = food.food_group_code in MEAT_FISH_GROUPS or (bool(words & MEAT_WORDS) and "meatless" not in words)
    if pattern == "vegetarian":
        return not meat
    if pattern == "vegan":
        if meat or food.food_group_code == "0100":
            return False
        return not (_contains_milk(words) or words & ANIMAL_PRODUCT_WORDS or _contains_animal_butter(words))
    raise ValueError(f"unknown diet pattern {pattern!r}")


FERMENTED_WORDS = {"yogurt", "kefir", "sauerkraut", "kimchi", "miso", "tempeh", "natto", "buttermilk"}
PREBIOTIC_WORDS = {"onion", "garlic", "leek", "asparagus", "oat", "barley", "chicory", "artichoke", "bran", "rye"}
PREBIOTIC_FRUIT_WORDS = {"banana"}
"""Bananas count as prebiotic only in the SR fruit group (0900), not "Pepper, banana" (ours)."""
PREBIOTIC_LEGUME_WORDS = {"lentil", "chickpea", "bean", "pea"}
"""Pulses count as prebiotic only in the SR legume group (1600), not snap beans or green peas (ours)."""
POLYPHENOL_WORDS = {
    "blueberry", "strawberry", "raspberry", "blackberry", "cranberry", "tea", "cocoa", "chocolate", "olive",
    "walnut", "almond", "apple", "grape", "plum", "prune", "cherry", "pomegranate", "hazelnut", "pecan",
}


def gut_tags(food: Food) -> list[str]:
    """Which of fermented / prebiotic / polyphenol-rich a food is (word lists are ours)."""
    words = set(_words(food.name))
    tags = []
    if words & FERMENTED_WORDS:
        tags.append("fermented")
    if (
        (words & PREBIOTIC_WORDS and food.food_group_code != "0400")
        or (words & PREBIOTIC_LEGUME_WORDS and food.food_group_code == "1600")
        or (words & PREBIOTIC_FRUIT_WORDS and food.food_group_code == "0900")
    ):
        tags.append("prebiotic")
    if words & POLYPHENOL_WORDS and not words & {"leave", "leaf", "juice", "milk", "soymilk"}:
        tags.append("polyphenol-rich")
    return tags
