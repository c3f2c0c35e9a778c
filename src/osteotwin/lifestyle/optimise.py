"""Gap filling: which foods, in whole household portions, close the nutrient gaps of a day.

A mixed-integer programme solved by HiGHS (``scipy.optimize.milp``):

    minimise   sum_n w_n * shortfall_n / target_n  +  sum_f cost_f * servings_f
    subject to baseline_n + sum_f amount_{n,f} * servings_f + shortfall_n >= target_n * 1.002  (each nutrient)
               baseline_energy + sum_f kcal_f * servings_f <= energy budget
               baseline_calcium + sum_f calcium_f * servings_f <= calcium upper limit
               added vitamin K <= 45 ug/day when the person takes warfarin (keep it steady)
               servings_f in {0, 1, 2} (natto, bran, miso, mushrooms: {0, 1});  total servings <= 10

``baseline`` is the person's logged average intake (zero without a log). In the calcium row a food's
calcium counts at most at milk's absorption (spinach's 99 mg/100 g counts as 16 mg): DRIs assume a
mixed diet, so this keeps suggestions from leaning on poorly absorbed calcium; the reported totals
are nominal and so can only be higher than the row requires. The foods are a pool of generic SR28
foods that fit the pattern and dislikes, with every one of energy, protein, calcium, magnesium and
fibre reported; the integer programme sees the 40 best per nutrient (per serving and per kcal).
Vitamin D and K not reported count as zero here (no credit for an unknown amount). The cost of a
serving is 1 + kcal/200, less 0.5 for fermented, prebiotic or polyphenol-rich foods, 0.3 for the
bone-nutrient staples (``foods.STAPLE_FOOD_IDS``) and 0.3 for everyday foods, plus 0.5 for foods
outside the everyday list and 1 for rarely eaten ones; red and processed meat cost 1 more in the
Mediterranean pattern. Shortfall weights are large, so a target that can be met is met. All these
weights, limits and the pool rules are OUR choices, stated here so they can be argued with.

After solving, totals are recomputed from the USDA values, a target is called met only if the
recomputed total reaches it, and every unmet target gets a reason: either the allowed foods cannot
reach it at all within the budget and portion limits (the most they can give is computed by a
second, continuous programme), or it was traded off against the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from pydantic import BaseModel

from osteotwin.errors import InputError
from osteotwin.lifestyle.absorption import DEFAULT_FRACTION as MILK_ABSORPTION
from osteotwin.lifestyle.absorption import calcium_absorption
from osteotwin.lifestyle.foods import STAPLE_FOOD_IDS, Food, _words, all_foods, normalise_word
from osteotwin.lifestyle.patterns import DIET_PATTERNS, RED_OR_PROCESSED_MEAT_GROUPS, gut_tags, pattern_allows
from osteotwin.lifestyle.targets import Target

TARGET_KEYS = ("calcium_mg", "vitamin_d_iu", "magnesium_mg", "vitamin_k_ug", "protein_g", "fiber_g")
SHORTFALL_WEIGHTS = {
    "calcium_mg": 10000.0, "protein_g": 10000.0, "magnesium_mg": 6000.0, "fiber_g": 6000.0,
    "vitamin_k_ug": 4000.0, "vitamin_d_iu": 50.0,
}
"""Penalty per 100% shortfall (ours). Large enough that closing a gap always beats the cost of the
servings (at most about 50 in all), so targets are met whenever they can be. Vitamin D weighs little:
few foods hold it, and vitamin D3 closes the rest (docs/lifestyle.md, "Supplements"), so food closes
only what it cheaply can."""
MAX_SERVINGS_PER_FOOD = 2
MAX_TOTAL_SERVINGS = 10
WARFARIN_ADDED_VITAMIN_K_UG = 45.0
"""Most vitamin K the suggestions may add for a warfarin user (ours: half the AI; the advice is to keep intake steady)."""
MIN_ENERGY_KCAL, MAX_ENERGY_KCAL = 800.0, 5000.0
"""Accepted daily energy budget (ours: below 800 kcal is a very-low-calorie diet, above 5,000 not plausible)."""

MIN_ENERGY_KCAL_PER_100G = 2.0
"""Foods below 2 kcal/100 g (water, brewed coffee and tea, diet drinks) are not offered (ours)."""
EATEN_RAW_LEGUME_WORDS = {"tofu", "sprouted", "natto", "tempeh", "soymilk", "miso", "hummus", "edamame", "peanut"}
EXCLUDED_GROUPS = {"0200", "0300", "0400", "0600", "1900", "2100", "2200", "2500", "3500", "3600"}
"""Not offered (ours): spices, baby foods, fats/oils, soups/sauces, sweets, fast food, meals, snacks, regional, restaurant."""
EXCLUDED_WORDS = {
    "dry", "dried", "powder", "mix", "flour", "unprepared", "concentrate", "undiluted", "dehydrated", "oil",
    "salted", "imitation", "formula", "supplement", "leavening", "syrup", "meal", "liver", "frozen",
    "glucose", "sweetened", "candied", "pickled", "cured", "sauce", "vinegar", "seasoning", "gravy",
    "isolate", "protein", "extender", "textured", "babyfood", "vital", "instant", "carbonated",
}
"""Description words that drop a food from the pool (ours): powders, concentrates, duplicates with salt, organ meats."""
SERVING_GRAMS_BY_GROUP = {
    "0100": 170, "0500": 85, "0700": 50, "0800": 30, "0900": 120, "1000": 85, "1100": 85, "1200": 28,
    "1300": 85, "1400": 240, "1500": 85, "1600": 130, "1700": 85, "1800": 50, "2000": 140,
}
"""Typical serving in grams per SR group (ours; US 3 oz for meat and fish, 1 oz for nuts, 1 cup for drinks)."""
CHEESE_SERVING_GRAMS = 30.0
SERVING_GRAMS_BY_WORD = {
    "cheese": CHEESE_SERVING_GRAMS, "natto": 50.0, "miso": 17.0, "tempeh": 85.0, "bran": 30.0, "germ": 15.0,
    "soymilk": 243.0, "garlic": 9.0, "parsley": 10.0, "chive": 3.0, "ginger": 5.0, "coriander": 5.0, "basil": 5.0,
}
"""Serving grams for foods unlike their group (ours; natto a 50 g pack, miso 1 tbsp, bran 30 g, soy milk
1 cup = 243 g as in the USDA SR household measure, garlic 3 cloves, herbs a handful)."""
MEDITERRANEAN_GROUPS = {"1500", "1600", "1100", "1200", "0900"}
"""Fish, legumes, vegetables, nuts and seeds, fruit: favoured by 0.2 in the Mediterranean pattern (ours)."""
FAVOURED_BONUS, STAPLE_BONUS, MEDITERRANEAN_MEAT_PENALTY = 0.5, 0.3, 1.0
UNUSUAL_WORDS = {normalise_word(word) for word in (
    "conch", "whelk", "abalone", "octopus", "squid", "cuttlefish", "roe", "caviar", "emu", "ostrich", "elk",
    "deer", "rabbit", "frog", "turtle", "snail", "eel", "squirrel", "moose", "caribou", "beaver", "bear", "seal",
    "tops", "leaf", "leaves", "lambsquarters", "purslane", "amaranth", "pokeberry", "seaweed", "spirulina",
)}
UNUSUAL_PENALTY = 1.0
"""Foods most people rarely eat cost 1 more per serving (ours), so familiar foods win ties."""
FAMILIAR_WORDS = {normalise_word(word) for word in (
    "milk", "yogurt", "cheese", "kefir", "egg", "bread", "oats", "oatmeal", "rice", "pasta", "beans", "lentils",
    "chickpeas", "hummus", "tofu", "soymilk", "almonds", "walnuts", "peanuts", "peanut", "sesame", "tahini",
    "salmon", "sardines", "tuna", "mackerel", "chicken", "turkey", "broccoli", "kale", "spinach", "cabbage",
    "collards", "carrots", "oranges", "orange", "bananas", "apples", "blueberries", "strawberries", "raspberries",
    "figs", "potatoes", "sweet", "tomatoes", "onions", "garlic", "leeks", "asparagus", "artichokes", "edamame",
    "quinoa", "barley", "cereals", "bok", "cabbage", "mushrooms", "squash", "peas", "avocados", "cod", "trout",
    "shrimp", "pumpkin", "seeds", "chia", "flaxseed", "prunes", "plums", "kiwifruit", "sauerkraut", "miso",
    "tempeh", "kimchi", "beverages", "soybeans",
)}
FAMILIAR_BONUS, UNFAMILIAR_PENALTY = 0.3, 0.5
"""Foods whose name (first part of the USDA description) is an everyday word get 0.3 off, others 0.5 on (ours)."""
MAX_SERVINGS_BY_WORD = {"natto": 1, "bran": 1, "miso": 1, "seaweed": 1, "mushroom": 1}
"""Strong-tasting or very concentrated foods: at most one serving a day (ours)."""


class SuggestedFood(BaseModel):
    """One suggested food: how much, as USDA portions and grams, what it adds and why it is favoured."""

    food_id: str
    name: str
    servings: int
    portion: str
    grams: float
    adds: dict[str, float]
    tags: list[str]


class NutrientGap(BaseModel):
    """A target against the logged intake and after the suggested foods; why it is not met if not."""

    nutrient: str
    unit: str
    target: float
    from_log: float
    after_foods: float
    gap_after_foods: float
    met_by_food: bool
    most_reachable_from_food: float | None = None
    reason: str = ""


class MealSuggestion(BaseModel):
    """The optimiser's answer."""

    foods: list[SuggestedFood]
    gaps: list[NutrientGap]
    energy_kcal_added: float
    energy_kcal_total: float
    energy_kcal_budget: float
    solver: str
    status: str
    runtime_s: float
    pool_size: int
    notes: list[str]


@dataclass(frozen=True)
class _Pool:
    foods: tuple[Food, ...]
    serving_grams: np.ndarray  # (foods,)
    serving_labels: tuple[str, ...]
    per_serving: dict[str, np.ndarray]  # nutrient -> (foods,), unreported -> 0
    vitamin_k_reported: np.ndarray  # bool (foods,)
    tags: tuple[tuple[str, ...], ...]


def _serving(food: Food) -> tuple[float, str]:
    """A real USDA household measure near the group's typical serving, else the typical grams."""
    words = set(_words(food.name))
    typical = next(
        (grams for word, grams in SERVING_GRAMS_BY_WORD.items() if word in words),
        SERVING_GRAMS_BY_GROUP.get(food.food_group_code, 100),
    )
    best = None
    for portion in food.portions:
        if portion.amount <= 0 or not (0.5 * typical <= portion.grams <= 1.6 * typical):
            continue
        distance = abs(np.log(portion.grams / typical))
        if best is None or distance < best[0]:
            best = (distance, portion.grams, f"{portion.amount:g} {portion.measure}")
    if best is None:
        return float(typical), f"{typical:g} g"
    return float(best[1]), best[2]


@cache
def _base_pool() -> tuple[Food, ...]:
    pool = []
    required = ("energy_kcal", "protein_g", "calcium_mg", "magnesium_mg", "fiber_g")
    for food in all_foods():
        if food.branded or food.food_group_code in EXCLUDED_GROUPS:
            continue
        if any(food.per_100g[key] is None for key in required):
            continue
        if food.per_100g["energy_kcal"] < MIN_ENERGY_KCAL_PER_100G:
            continue  # water, coffee, tea, diet drinks: their minerals come from the water
        words = set(_words(food.name))
        if words & EXCLUDED_WORDS or "with salt" in food.name.lower():
            continue  # "with salt" rows duplicate the "without salt" ones
        if "raw" in words and (food.food_group_code in {"0500", "1000", "1300", "1500", "1700"} or "mature" in words):
            continue  # raw meat, fish and dry legumes are not eaten as such
        if food.food_group_code == "1600" and words & {"raw", "uncooked"} and not words & EATEN_RAW_LEGUME_WORDS:
            continue  # dry lentils, beans and peas: only their cooked rows are offered
        if food.food_group_code == "2000" and words & {"raw", "uncooked", "dry"} and not words & {"oat", "bran", "germ"}:
            continue  # dry rice, pasta and grains: only cooked rows (oats and bran are eaten as they are)
        pool.append(food)
    return tuple(pool)


@lru_cache(maxsize=32)  # keyed by pattern, dislikes and warfarin: bounded, dislikes are free text
def _pool(pattern: str, dislikes: tuple[str, ...], warfarin: bool) -> _Pool:
    dislike_words = [set(_words(d)) for d in dislikes]
    foods = []
    for food in _base_pool():
        if not pattern_allows(food, pattern):
            continue
        words = set(_words(food.name))
        if any(d and d <= words for d in dislike_words):
            continue
        if warfarin and (food.per_100g["vitamin_k_ug"] is None or "natto" in words):
            continue  # unknown vitamin K, or natto's menaquinone-7 (a vitamin K antagonist needs a steady vitamin K intake)
        foods.append(food)
    servings = [_serving(food) for food in foods]
    grams = np.array([s[0] for s in servings])
    per_serving = {
        key: np.array([(food.per_100g[key] or 0.0) for food in foods]) * grams / 100.0
        for key in (*TARGET_KEYS, "energy_kcal")
    }
    relative_absorption = np.array([min(calcium_absorption(food.name)[0] / MILK_ABSORPTION, 1.0) for food in foods])
    per_serving[EFFECTIVE_CALCIUM] = per_serving["calcium_mg"] * relative_absorption
    return _Pool(
        foods=tuple(foods),
        serving_grams=grams,
        serving_labels=tuple(s[1] for s in servings),
        per_serving=per_serving,
        vitamin_k_reported=np.array([food.per_100g["vitamin_k_ug"] is not None for food in foods]),
        tags=tuple(tuple(gut_tags(food)) for food in foods),
    )


EFFECTIVE_CALCIUM = "calcium_mg_milk_equivalent"
"""Calcium counted towards the target at most at milk's absorption: a food absorbing less (spinach 5.1%,
almonds 21%) counts calcium x absorption / 32.1%; better-absorbed foods count at face value
(ours, after the absorption table of Weaver et al. 1999 AJCN, in ``absorption.py``). Totals are still
reported as nominal mg."""

TARGET_MARGIN = 0.002
"""Aim 0.2% above each target so rounding the grams shown to 0.1 g cannot drop a met target below it (ours)."""

CANDIDATES_PER_NUTRIENT = 40
"""Foods kept for the integer programme (ours, for speed): for each target nutrient the 40 best per
serving and the 40 best per kcal, plus the staples (same answers as 60 on the examples, in half the
time). The full pool is still used for the
"most reachable" bound, so a "cannot be met" claim is never an artefact of this pruning."""


def _candidates(pool: _Pool) -> np.ndarray:
    """Indices of the pool foods offered to the integer programme."""
    keep = np.zeros(len(pool.foods), dtype=bool)
    energy = np.maximum(pool.per_serving["energy_kcal"], 1.0)
    for key in TARGET_KEYS:
        amount = pool.per_serving[key]
        for score in (amount, amount / energy):
            best = np.argsort(-score, kind="stable")[:CANDIDATES_PER_NUTRIENT]
            keep[best[score[best] > 0]] = True
    keep |= np.array([food.food_id in STAPLE_FOOD_IDS for food in pool.foods])
    return np.flatnonzero(keep)


def _subset(pool: _Pool, index: np.ndarray) -> _Pool:
    return _Pool(
        foods=tuple(pool.foods[i] for i in index),
        serving_grams=pool.serving_grams[index],
        serving_labels=tuple(pool.serving_labels[i] for i in index),
        per_serving={key: value[index] for key, value in pool.per_serving.items()},
        vitamin_k_reported=pool.vitamin_k_reported[index],
        tags=tuple(pool.tags[i] for i in index),
    )


def _validate(pattern: str, energy_kcal_budget: float) -> None:
    if pattern not in DIET_PATTERNS:
        raise InputError("diet_pattern", pattern, f"one of {', '.join(DIET_PATTERNS)}")
    if not (MIN_ENERGY_KCAL <= energy_kcal_budget <= MAX_ENERGY_KCAL):
        raise InputError(
            "energy_kcal_per_day", energy_kcal_budget,
            f"{MIN_ENERGY_KCAL:g} to {MAX_ENERGY_KCAL:g} kcal per day (ours: the plausible range for an adult)",
        )


def suggest_foods(
    targets: list[Target],
    baseline_per_day: dict[str, float] | None,
    energy_kcal_budget: float,
    pattern: str = "omnivore",
    dislikes: list[str] | tuple[str, ...] = (),
    warfarin: bool = False,
    time_limit_s: float = 5.0,
) -> MealSuggestion:
    """Whole portions of foods that close the gaps between ``baseline_per_day`` and the targets."""
    _validate(pattern, energy_kcal_budget)
    from scipy.optimize import Bounds, LinearConstraint, milp  # imported here: scipy.optimize costs ~1 s

    started = time.perf_counter()
    baseline = {key: 0.0 for key in (*TARGET_KEYS, "energy_kcal")}
    if baseline_per_day:
        baseline.update({k: float(v) for k, v in baseline_per_day.items() if k in baseline})
    by_key = {t.nutrient: t for t in targets if t.nutrient in TARGET_KEYS}
    keys = [k for k in TARGET_KEYS if k in by_key and not (warfarin and k == "vitamin_k_ug")]
    full_pool = _pool(pattern, tuple(sorted(d.lower() for d in dislikes)), warfarin)
    pool = _subset(full_pool, _candidates(full_pool))
    notes: list[str] = []
    if warfarin:
        notes.append(
            "warfarin: vitamin K is not pushed up; suggestions add at most "
            f"{WARFARIN_ADDED_VITAMIN_K_UG:g} ug/day and natto is left out (keep vitamin K intake steady)"
        )
    n_foods, n_keys = len(pool.foods), len(keys)
    room_kcal = energy_kcal_budget - baseline["energy_kcal"]
    if room_kcal < 0:
        notes.append(
            f"energy: the logged intake ({baseline['energy_kcal']:.0f} kcal) already exceeds the budget "
            f"({energy_kcal_budget:.0f} kcal); no foods can be added, consider swaps"
        )
    cost = 1.0 + pool.per_serving["energy_kcal"] / 200.0
    for i, food in enumerate(pool.foods):
        if pool.tags[i]:
            cost[i] -= FAVOURED_BONUS
        if food.food_id in STAPLE_FOOD_IDS:
            cost[i] -= STAPLE_BONUS
        if pattern == "mediterranean" and food.food_group_code in RED_OR_PROCESSED_MEAT_GROUPS:
            cost[i] += MEDITERRANEAN_MEAT_PENALTY
        if UNUSUAL_WORDS & set(_words(food.name)):
            cost[i] += UNUSUAL_PENALTY
        if FAMILIAR_WORDS & set(_words(food.name.split(",")[0] + " " + food.name.split(",")[1] if "," in food.name else food.name)):
            cost[i] -= FAMILIAR_BONUS
        else:
            cost[i] += UNFAMILIAR_PENALTY
        if pattern == "mediterranean" and food.food_group_code in MEDITERRANEAN_GROUPS:
            cost[i] -= 0.2
    targets_vec = np.array([by_key[k].amount for k in keys])
    weights = np.array([SHORTFALL_WEIGHTS[k] for k in keys]) / targets_vec
    c = np.concatenate([cost, weights])
    rows, lower, upper = [], [], []
    amounts = np.array([pool.per_serving[EFFECTIVE_CALCIUM if k == "calcium_mg" else k] for k in keys])
    for j, key in enumerate(keys):  # baseline + A x + s >= target
        row = np.concatenate([amounts[j], np.eye(n_keys)[j]])
        rows.append(row)
        lower.append(by_key[key].amount * (1 + TARGET_MARGIN) - baseline[key])
        upper.append(np.inf)
    zeros_s = np.zeros(n_keys)
    rows.append(np.concatenate([pool.per_serving["energy_kcal"], zeros_s]))
    lower.append(-np.inf)
    upper.append(max(room_kcal, 0.0))
    calcium_ul = by_key["calcium_mg"].upper_limit if "calcium_mg" in by_key else None
    if calcium_ul is not None:
        rows.append(np.concatenate([pool.per_serving["calcium_mg"], zeros_s]))
        lower.append(-np.inf)
        upper.append(max(calcium_ul - baseline["calcium_mg"], 0.0))
    if warfarin:
        rows.append(np.concatenate([pool.per_serving["vitamin_k_ug"], zeros_s]))
        lower.append(-np.inf)
        upper.append(WARFARIN_ADDED_VITAMIN_K_UG)
    rows.append(np.concatenate([np.ones(n_foods), zeros_s]))
    lower.append(0.0)
    upper.append(MAX_TOTAL_SERVINGS)
    constraints = LinearConstraint(np.array(rows), np.array(lower), np.array(upper))
    max_servings = np.array([
        min([MAX_SERVINGS_PER_FOOD] + [n for word, n in MAX_SERVINGS_BY_WORD.items() if word in set(_words(food.name))])
        for food in pool.foods
    ])
    bounds = Bounds(np.zeros(n_foods + n_keys), np.concatenate([max_servings, np.full(n_keys, np.inf)]))
    integrality = np.concatenate([np.ones(n_foods), np.zeros(n_keys)])
    result = milp(
        c, constraints=constraints, bounds=bounds, integrality=integrality,
        options={"time_limit": time_limit_s, "mip_rel_gap": 2e-2},
    )
    if result.x is None:
        raise RuntimeError(f"HiGHS found no solution: {result.message}")  # cannot happen: x = 0 is feasible
    servings = np.rint(result.x[:n_foods]).astype(int)
    chosen = np.flatnonzero(servings > 0)
    foods_out = []
    added = {key: 0.0 for key in (*TARGET_KEYS, "energy_kcal")}
    for i in sorted(chosen, key=lambda i: pool.foods[i].food_id):
        food = pool.foods[i]
        grams = round(float(servings[i] * pool.serving_grams[i]), 1)  # the grams shown are the grams counted
        adds = {key: float(grams / 100.0 * (food.per_100g[key] or 0.0)) for key in (*TARGET_KEYS, "energy_kcal")}
        for key, value in adds.items():
            added[key] += value
        foods_out.append(SuggestedFood(
            food_id=food.food_id, name=food.name, servings=int(servings[i]),
            portion=f"{servings[i]} x {pool.serving_labels[i]}", grams=round(grams, 1),
            adds={k: round(v, 1) for k, v in adds.items()}, tags=list(pool.tags[i]),
        ))
    gaps = []
    for key in TARGET_KEYS:
        if key not in by_key:
            continue
        target = by_key[key]
        total = baseline[key] + added[key]
        met = total >= target.amount - 1e-6
        gap = NutrientGap(
            nutrient=key, unit=target.unit, target=target.amount, from_log=round(baseline[key], 1),
            after_foods=round(total, 1), gap_after_foods=round(max(target.amount - total, 0.0), 1), met_by_food=met,
        )
        if warfarin and key == "vitamin_k_ug":
            gap.reason = "not optimised: on warfarin, vitamin K intake should stay steady, not rise (ours, after the warfarin labelling advice)"
        elif not met:
            most = _most_reachable(full_pool, key, baseline, room_kcal, calcium_ul, warfarin)
            gap.most_reachable_from_food = round(most, 1)
            basis = " (calcium counted at milk-equivalent absorption)" if key == "calcium_mg" else ""
            if most < target.amount - 1e-6:
                gap.reason = (
                    f"cannot be met from food: the allowed foods give at most {most:.0f} {target.unit}{basis} within the "
                    f"energy budget ({energy_kcal_budget:.0f} kcal), the {pattern} pattern, dislikes and at most "
                    f"{MAX_SERVINGS_PER_FOOD} servings per food and {MAX_TOTAL_SERVINGS} in all"
                )
            else:
                gap.reason = (
                    f"reachable alone (up to {most:.0f} {target.unit}{basis}) but not together with the other targets "
                    "within the energy budget and serving limits; traded off by the optimiser's weights"
                )
        gaps.append(gap)
    return MealSuggestion(
        foods=foods_out, gaps=gaps, energy_kcal_added=round(added["energy_kcal"], 1),
        energy_kcal_total=round(baseline["energy_kcal"] + added["energy_kcal"], 1),
        energy_kcal_budget=energy_kcal_budget, solver="HiGHS via scipy.optimize.milp",
        status=result.message, runtime_s=round(time.perf_counter() - started, 3), pool_size=len(full_pool.foods), notes=notes,
    )


def _most_reachable(
    pool: _Pool, key: str, baseline: dict[str, float], room_kcal: float, calcium_ul: float | None, warfarin: bool
) -> float:
    """The most of one nutrient the allowed foods can give under the same limits (continuous relaxation)."""
    from scipy.optimize import linprog

    rows = [pool.per_serving["energy_kcal"], np.ones(len(pool.foods))]
    upper = [max(room_kcal, 0.0), MAX_TOTAL_SERVINGS]
    if calcium_ul is not None:
        rows.append(pool.per_serving["calcium_mg"])
        upper.append(max(calcium_ul - baseline["calcium_mg"], 0.0))
    if warfarin:
        rows.append(pool.per_serving["vitamin_k_ug"])
        upper.append(WARFARIN_ADDED_VITAMIN_K_UG)
    result = linprog(
        -pool.per_serving[EFFECTIVE_CALCIUM if key == "calcium_mg" else key], A_ub=np.array(rows), b_ub=np.array(upper),
        bounds=(0, MAX_SERVINGS_PER_FOOD), method="highs",
    )
    return baseline[key] + (-result.fun if result.status == 0 else 0.0)
