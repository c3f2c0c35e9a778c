"""Names the planner acts on, checked against the catalog and the food data, with suggestions.

A misspelled medication would silently switch off the rule it triggers ("warfarine" drops the warfarin
vitamin K rule), and a misspelled dislike would exclude nothing; so both are refused with the field,
the value, a suggestion for a near miss and what is allowed.

- Medications: the catalog's endocrine therapies, ovarian suppression and bone agents
  (``osteotwin.catalog``), and the drugs whose interactions the planner checks (``supplements.py``:
  warfarin, acid suppressants, thiazide diuretics). Other medicines do not change the plan.
- Dislikes: each word must occur in the USDA food descriptions (``foods.vocabulary``), and some food
  must hold all the words, since a dislike excludes the foods whose description has all its words.
A near miss is the closest known name with a similarity ratio of at least 0.75 (``difflib``; ours).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from osteotwin import catalog
from osteotwin.errors import InputError
from osteotwin.lifestyle.foods import _words, all_foods, normalise_word, vocabulary
from osteotwin.lifestyle.supplements import ACID_SUPPRESSANTS, ANTICOAGULANTS_VITAMIN_K, THIAZIDES

SIMILARITY_CUTOFF = 0.75
"""Smallest difflib ratio offered as "did you mean" (ours: catches one or two wrong letters in a name)."""

MEDICATIONS: tuple[str, ...] = tuple(sorted({
    *catalog.ENDOCRINE_DRUGS, *catalog.OVARIAN_SUPPRESSION_DRUGS, *catalog.BONE_AGENTS,
    *catalog.RECORDED_ONLY_BONE_AGENTS, *ANTICOAGULANTS_VITAMIN_K, *ACID_SUPPRESSANTS, *THIAZIDES,
}))
"""Every medication name the planner accepts."""


def normalise_medication(name: str) -> str:
    """Lower case, with spaces and hyphens as underscores: "Zoledronic acid" -> "zoledronic_acid"."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _did_you_mean(word: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=SIMILARITY_CUTOFF)
    return close[0] if close else None


def check_medication(name: str, field: str = "medications") -> str:
    """The medication's catalog name, or InputError with a suggestion for a near miss."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(field, name, "a medication name, e.g. anastrozole")
    key = normalise_medication(name)
    if key in MEDICATIONS:
        return key
    guess = _did_you_mean(key, MEDICATIONS)
    hint = f"did you mean {guess}? " if guess else ""
    raise InputError(field, name, f"{hint}not a medication the planner knows; known: {', '.join(MEDICATIONS)} "
                                  "(other medicines do not change the plan: leave them out)")


def check_medications(names: Iterable[str], field: str = "medications") -> list[str]:
    """Catalog names of all medications, in order, without repeats; the first unknown one is refused."""
    checked: list[str] = []
    for number, name in enumerate(names, start=1):
        key = check_medication(name, f"{field}[{number}]")
        if key not in checked:
            checked.append(key)
    return checked


def check_dislike(text: str, field: str = "dislikes") -> str:
    """The dislike as given (trimmed) if it names foods in the USDA data; else InputError with a suggestion."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(field, text, "a food word, e.g. tofu")
    words = [normalise_word(w) for w in re.findall(r"[a-z0-9]+", text.lower())]
    if not words:
        raise InputError(field, text, "a food word in English letters, e.g. tofu")
    known = vocabulary()
    known_set = set(known)
    for word in words:
        if word not in known_set:
            guess = _did_you_mean(word, known)
            hint = f"did you mean {guess!r}? " if guess else ""
            raise InputError(field, text, f"{hint}no USDA food description has the word {word!r}; "
                                          "give a word as in `osteotwin foods search`")
    if not any(set(words) <= set(_words(food.name)) for food in all_foods()):
        raise InputError(field, text, "no single USDA food has all these words; give one food word, e.g. "
                                      f"{words[0]!r}")
    return text.strip()


def known_dislike(text: str) -> bool:
    """Whether ``check_dislike`` accepts the text."""
    try:
        check_dislike(text)
    except InputError:
        return False
    return True


def check_dislikes(texts: Iterable[str], field: str = "dislikes") -> list[str]:
    """All dislikes checked (``check_dislike``), in order."""
    return [check_dislike(text, f"{field}[{number}]") for number, text in enumerate(texts, start=1)]


def validate_medication(value: object) -> object:
    """For a pydantic ``mode="before"`` validator whose location names the field: the catalog name, or a
    ValueError "'warfarine': did you mean warfarin? ..."."""
    if not isinstance(value, str):
        return value
    try:
        return check_medication(value, "drug")
    except InputError as error:
        raise ValueError(f"{error.value!r}: {error.allowed}") from None


def validate_dislikes(values: list[str]) -> list[str]:
    """For a pydantic validator: the dislikes checked, or a ValueError "item 2, 'brocoli': did you mean ..."."""
    try:
        return check_dislikes(values)
    except InputError as error:
        item = error.field.removeprefix("dislikes[").removesuffix("]")
        raise ValueError(f"item {item}, {error.value!r}: {error.allowed}") from None
