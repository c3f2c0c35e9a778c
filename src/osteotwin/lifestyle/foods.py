"""USDA SR28 food composition: load the shipped table once, look foods up by id, search by words.

Data: USDA National Nutrient Database for Standard Reference, Release 28 (the data behind
FoodData Central "SR Legacy"), 8,789 foods, per 100 g edible portion, public domain / CC0.
Built by ``src/osteotwin/data/usda_sr_extract.py`` (see ``src/osteotwin/data/USDA_README.md``).
An empty USDA cell means "not reported" and is kept as ``None``, never as zero.

Search ranks foods by how many query words match and where: a word in the first comma-separated
part of the USDA description (the food itself, "Yogurt, Greek, plain") counts more than one in a
later qualifier. Brand-name items, baby foods, fast-food and restaurant items rank lower
(our ranking choice, so that generic foods come first).

Search forgives typos: a query word that is neither a USDA description word, a synonym nor the
start of one is replaced by the description words fewest edits away (optimal string alignment
distance: a letter inserted, deleted or replaced, or two neighbours swapped; up to
``max_typo_edits`` edits), so "brocoli" finds broccoli and "yougurt" yogurt.
``spelling_corrections`` names the replacements, so a page can say what it searched for.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import re
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict
from rapidfuzz import process
from rapidfuzz.distance import OSA

from osteotwin.errors import InputError

NUTRIENT_KEYS: tuple[str, ...] = (
    "calcium_mg",
    "vitamin_d_iu",
    "magnesium_mg",
    "vitamin_k_ug",
    "protein_g",
    "energy_kcal",
    "fiber_g",
)
"""The nutrients every part reports, per 100 g (foods) or per day (intake). Units in the names."""

NUTRIENT_UNITS: dict[str, str] = {
    "calcium_mg": "mg",
    "vitamin_d_iu": "IU",
    "magnesium_mg": "mg",
    "vitamin_k_ug": "ug",
    "protein_g": "g",
    "energy_kcal": "kcal",
    "fiber_g": "g",
}

VITAMIN_D_IU_PER_UG = 40.0
"""1 ug vitamin D = 40 IU (IOM 2011, Dietary Reference Intakes for Calcium and Vitamin D; tag [V])."""

NUTRIENTS_FILE = "usda_sr_legacy_bone_nutrients.csv.gz"
PORTIONS_FILE = "usda_sr_legacy_portions.csv.gz"
DATA_RELEASE = "USDA National Nutrient Database for Standard Reference, Release 28 (SR28; FDC 'SR Legacy')"

_LOW_RANK_GROUPS = {"0300": 3.0, "2100": 2.0, "3600": 2.0, "3500": 1.5, "2200": 1.0, "1900": 1.0, "0400": 1.0}
"""Food-group rank penalties (ours): baby foods, fast foods, restaurant, regional, mixed meals,
sweets, fats and oils (waived when the query names the group's word, e.g. "oil")."""
_GROUP_WORDS = {"0400": ("oil", "butter", "margarine", "fat", "shortening", "lard"), "1900": ("candy", "candie", "chocolate")}

_CATEGORY_WORDS = {"fish", "nut", "seed", "beverage", "cereal", "spice", "cheese", "bean", "oil", "babyfood"}
"""SR descriptions that start with a category ("Nuts, almonds"): the next part names the food (ours)."""

STAPLE_FOOD_IDS: frozenset[str] = frozenset(
    {
        # bone-nutrient staples (ours): dairy, plant milks, tofu, fish, greens, nuts, legumes
        # (SR NDB numbers, the same in SR26 and SR28; listed by name in docs/lifestyle.md)
        "01117", "01256", "01079", "01085", "01009", "01028", "15088", "15084", "15087", "16139",
        "16120", "14016", "16427", "16426", "11162", "11233", "11234", "15086", "15237", "15046",
        "08077", "08013", "01125", "12061", "11457", "11458", "12085", "16390", "16015", "11212",
        "19904", "16113", "11090", "11091", "11098", "11099", "01077", "01116", "01118", "15089",
        # everyday generic items (ours): low-fat milk, eggs, oats, banana
        "01082", "01123", "20038", "09040",
    }
)
"""Foods ranked up by search (+1.5) so the everyday item comes before rare variants (ours)."""


class Portion(BaseModel):
    """A USDA household measure: ``amount`` ``measure`` weighs ``grams`` (e.g. 1 cup = 245 g)."""

    model_config = ConfigDict(frozen=True)

    amount: float
    measure: str
    grams: float

    @property
    def label(self) -> str:
        return f"{self.amount:g} {self.measure}"

    @property
    def grams_per_unit(self) -> float:
        """The weight of one ``measure`` (USDA gives e.g. 0.5 cup = 44 g, so 1 cup = 88 g)."""
        return self.grams / self.amount

    def grams_for(self, quantity: float) -> float:
        """Grams in ``quantity`` of this measure: quantity / amount x gram weight (data/USDA_README.md)."""
        return quantity * self.grams_per_unit


class Food(BaseModel):
    """One USDA SR28 food. ``per_100g`` values are per 100 g edible portion; None = not reported."""

    model_config = ConfigDict(frozen=True)

    food_id: str
    name: str
    food_group: str
    food_group_code: str
    manufacturer: str = ""
    per_100g: dict[str, float | None]
    vitamin_k2_mk4_ug_per_100g: float | None = None
    portions: list[Portion]

    @property
    def branded(self) -> bool:
        return bool(self.manufacturer)


def _number(text: str) -> float | None:
    return float(text) if text.strip() != "" else None


def _vitamin_d_iu(row: dict[str, str]) -> float | None:
    """Vitamin D in IU; when SR28 gives only micrograms, convert at 40 IU per ug."""
    iu = _number(row["vitamin_d_iu"])
    if iu is not None:
        return iu
    ug = _number(row["vitamin_d_ug"])
    return None if ug is None else ug * VITAMIN_D_IU_PER_UG


def _open_data(name: str):
    return gzip.open(resources.files("osteotwin").joinpath("data", name).open("rb"), "rt", encoding="utf-8")


_WORD = re.compile(r"[a-z0-9]+")


def normalise_word(word: str) -> str:
    """Lower-case and strip a plural ending so "almonds" finds "Almonds" and "sardine" finds "Sardines"."""
    word = word.lower()
    for ending, replacement in (("ies", "y"), ("oes", "o"), ("ches", "ch"), ("shes", "sh")):
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + replacement
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [normalise_word(w) for w in _WORD.findall(text.lower())]


SYNONYMS: dict[str, tuple[str, ...]] = {
    "yoghurt": ("yogurt",),
    "fibre": ("fiber",),
    "soya": ("soy",),
    "fortified": ("fortified", "added", "enriched"),
    "garbanzo": ("chickpea", "garbanzo"),
    "chickpea": ("chickpea", "garbanzo"),
    "courgette": ("zucchini",),
    "aubergine": ("eggplant",),
    "rocket": ("arugula",),
    "porridge": ("oat",),
    "linseed": ("flaxseed",),
}
"""Query-word alternatives (ours): British spellings and common equivalents."""

TYPO_MIN_LETTERS = 4
"""Shorter query words are never corrected (ours): "oat" or "egg" one edit away from something else
would change the food searched for more often than fix a typo."""


def max_typo_edits(word: str) -> int:
    """Edits forgiven in a query word (ours): 1 for 4-5 letters, 2 for 6 or more ("brocolli" -> broccoli).
    Only the nearest description words are used, so a larger budget never outranks a closer word."""
    if len(word) < TYPO_MIN_LETTERS:
        return 0
    return 1 if len(word) <= 5 else 2


class _Index:
    """Inverted index over description words, with per-food word positions for ranking."""

    def __init__(self, foods: list[Food], common_names: list[str]) -> None:
        self.foods = foods
        self.by_id = {food.food_id: i for i, food in enumerate(foods)}
        self.postings: dict[str, dict[int, float]] = {}
        self.lengths: list[int] = []
        for i, food in enumerate(foods):
            segments = food.name.split(",")
            if len(segments) > 1 and _words(segments[0]) and all(w in _CATEGORY_WORDS for w in _words(segments[0])):
                segments = [segments[0] + " " + segments[1], *segments[2:]]
            words_seen: dict[str, float] = {}
            count = 0
            for position, segment in enumerate(segments):
                weight = 3.0 if position == 0 else (1.5 if position == 1 else 1.0)
                for word in _words(segment):
                    count += 1
                    words_seen[word] = max(words_seen.get(word, 0.0), weight)
            for word in _words(common_names[i]):
                words_seen[word] = max(words_seen.get(word, 0.0), 1.0)
            self.lengths.append(count)
            for word, weight in words_seen.items():
                self.postings.setdefault(word, {})[i] = weight
        self.vocabulary = sorted(self.postings)

    def known(self, query_word: str) -> bool:
        """True when the word, a synonym of it, or a description word starting with it is indexed."""
        for alternative in SYNONYMS.get(query_word, (query_word,)):
            start = bisect.bisect_left(self.vocabulary, alternative)
            if start < len(self.vocabulary) and self.vocabulary[start].startswith(alternative):
                return True
        return False

    def corrections(self, query_word: str) -> list[str]:
        """The description words fewest edits away from an unknown word (most frequent first); [] if none
        is within ``max_typo_edits`` or the word is known."""
        edits = max_typo_edits(query_word)
        if edits == 0 or self.known(query_word):
            return []
        near = process.extract(query_word, self.vocabulary, scorer=OSA.distance, score_cutoff=edits, limit=None)
        if not near:
            return []
        fewest = min(distance for _, distance, _ in near)
        words = [word for word, distance, _ in near if distance == fewest]
        return sorted(words, key=lambda word: (-len(self.postings[word]), word))

    def matches(self, query_word: str) -> dict[int, float]:
        """Foods containing the word, a synonym, or a word that starts with it (prefix at 0.6 weight);
        for an unknown word, foods containing its nearest corrections (at 0.8 weight)."""
        corrections = self.corrections(query_word)
        if corrections:
            found: dict[int, float] = {}
            for word in corrections:
                for i, weight in self.postings[word].items():
                    found[i] = max(found.get(i, 0.0), 0.8 * weight)
            return found
        found = {}
        for alternative in SYNONYMS.get(query_word, (query_word,)):
            exact = self.postings.get(alternative, {})
            for i, weight in exact.items():
                found[i] = max(found.get(i, 0.0), weight)
            if len(alternative) >= 3:
                start = bisect.bisect_left(self.vocabulary, alternative)
                for word in self.vocabulary[start:]:
                    if not word.startswith(alternative):
                        break
                    if word == alternative:
                        continue
                    for i, weight in self.postings[word].items():
                        found[i] = max(found.get(i, 0.0), 0.6 * weight)
        return found


@cache
def _load() -> _Index:
    portions: dict[str, list[Portion]] = {}
    with _open_data(PORTIONS_FILE) as handle:
        for row in csv.DictReader(handle):
            portions.setdefault(row["ndb_no"], []).append(
                Portion(amount=float(row["amount"]), measure=row["measure"], grams=float(row["gram_weight"]))
            )
    foods: list[Food] = []
    common_names: list[str] = []
    with _open_data(NUTRIENTS_FILE) as handle:
        for row in csv.DictReader(handle):
            per_100g = {
                "calcium_mg": _number(row["calcium_mg"]),
                "vitamin_d_iu": _vitamin_d_iu(row),
                "magnesium_mg": _number(row["magnesium_mg"]),
                "vitamin_k_ug": _number(row["vitamin_k1_ug"]),
                "protein_g": _number(row["protein_g"]),
                "energy_kcal": _number(row["energy_kcal"]),
                "fiber_g": _number(row["fiber_g"]),
            }
            foods.append(
                Food.model_construct(
                    food_id=row["ndb_no"],
                    name=row["description"],
                    food_group=row["food_group"],
                    food_group_code=row["food_group_code"],
                    manufacturer=row["manufacturer"],
                    per_100g=per_100g,
                    vitamin_k2_mk4_ug_per_100g=_number(row["vitamin_k2_mk4_ug"]),
                    portions=portions.get(row["ndb_no"], []),
                )
            )
            common_names.append(row["common_name"])
    return _Index(foods, common_names)


def all_foods() -> list[Food]:
    """Every food in the shipped table (8,789 in SR28), in NDB-number order."""
    return _load().foods


def get_food(food_id: str) -> Food:
    """The food with this 5-digit NDB number; InputError if there is none."""
    index = _load()
    key = str(food_id).strip()
    if key.isdigit() and len(key) < 5:
        key = key.zfill(5)  # spreadsheets drop the leading zero of "01117"
    position = index.by_id.get(key)
    if position is None:
        raise InputError("food_id", food_id, "a USDA SR28 NDB number such as '01117' (see `osteotwin foods search`)")
    return index.foods[position]


def _query_words(words: str) -> list[str]:
    raw = _words(words)
    if not raw:  # punctuation or symbols only: nothing to look for
        return []
    joined: list[str] = []
    skip = False
    for first, second in zip(raw, [*raw[1:], ""], strict=True):
        if skip:
            skip = False
            continue
        # "soy milk" is one word in USDA descriptions ("Soymilk"): join pairs that form an indexed word.
        if second and (first + second) in _load().postings:
            joined.append(first + second)
            skip = True
        else:
            joined.append(first)
    return joined


def spelling_corrections(words: str) -> dict[str, str]:
    """The query words search replaced because no USDA description holds them, each with the word
    used instead (its most frequent nearest correction): ``{"brocoli": "broccoli"}``."""
    index = _load()
    return {word: found[0] for word in _query_words(words) if (found := index.corrections(word))}


def search_foods(words: str, limit: int = 20) -> list[Food]:
    """Foods whose description matches the words, best first.

    Every query word must match (exactly, by synonym, as a word prefix or, for a typo, as a word
    a few edits away; see ``spelling_corrections``); when no food matches
    all of them, foods matching the most words are returned. Within equal matches, words in the
    food's name (first part of the description) outrank words in qualifiers, shorter descriptions
    outrank longer ones, and brand-name, baby-food, fast-food and restaurant items come last.
    """
    if not isinstance(words, str) or not words.strip():
        raise InputError("words", words, "one or more words to search for, e.g. 'greek yogurt'")
    if limit < 1:
        raise InputError("limit", limit, "a positive number of results")
    index = _load()
    query = _query_words(words)
    if not query:
        raise InputError("words", words, "letters or digits to search for")
    scores: dict[int, float] = {}
    matched: dict[int, int] = {}
    for word in query:
        for i, weight in index.matches(word).items():
            scores[i] = scores.get(i, 0.0) + weight
            matched[i] = matched.get(i, 0) + 1
    if not scores:
        return []
    best_count = max(matched.values())
    ranked = []
    for i, score in scores.items():
        if matched[i] < best_count:
            continue
        food = index.foods[i]
        rank = score - 0.08 * index.lengths[i]
        if food.branded:
            rank -= 2.0
        if food.food_id in STAPLE_FOOD_IDS:
            rank += 1.5
        group_words = _GROUP_WORDS.get(food.food_group_code, ())
        if not any(word.startswith(group_word) for word in query for group_word in group_words):
            rank -= _LOW_RANK_GROUPS.get(food.food_group_code, 0.0)
        ranked.append((-rank, food.food_id, i))
    ranked.sort()
    return [index.foods[i] for _, _, i in ranked[:limit]]


def vocabulary() -> list[str]:
    """Every word of the USDA descriptions and common names, normalised as the search normalises them, sorted."""
    return _load().vocabulary
