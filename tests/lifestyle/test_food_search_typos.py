"""Typo-tolerant food search (osteotwin.lifestyle.foods): a misspelt word finds the food it meant,
known words are never "corrected", and the tolerance stays fast over the whole USDA vocabulary."""

from __future__ import annotations

import time

import pytest

from osteotwin.lifestyle.foods import _load, max_typo_edits, search_foods, spelling_corrections


@pytest.mark.parametrize(
    ("typed", "expected_id", "corrected"),
    [
        ("brocoli", "11090", {"brocoli": "broccoli"}),  # a letter missing
        ("brocolli", "11090", {"brocolli": "broccoli"}),  # two edits in 8 letters
        ("yougurt greek", "01256", {"yougurt": "yogurt"}),  # a letter added
        ("spinnach", "11457", {"spinnach": "spinach"}),
        ("chedar cheese", "01009", {"chedar": "cheddar"}),
        ("almnds", "12061", {"almnd": "almond"}),  # the plural is stripped before correcting
        ("kael", "11233", {"kael": "kale"}),  # two neighbours swapped count as one edit
    ],
)
def test_a_typo_finds_the_food_it_meant(typed, expected_id, corrected):
    ids = [food.food_id for food in search_foods(typed, limit=3)]
    assert expected_id in ids, (typed, [(f.food_id, f.name) for f in search_foods(typed, limit=5)])
    assert spelling_corrections(typed) == corrected


@pytest.mark.parametrize("typed", ["milk", "kale", "oat", "soy milk", "greek yoghurt", "sardines", "yogur"])
def test_known_words_synonyms_and_prefixes_are_not_corrected(typed):
    assert spelling_corrections(typed) == {}
    assert search_foods(typed, limit=1)


def test_edit_budget_grows_with_word_length_and_short_words_are_exact():
    assert [max_typo_edits(w) for w in ("egg", "kael", "chese", "brocoli", "brocolli")] == [0, 1, 1, 2, 2]
    assert search_foods("egx") == []  # 3 letters: never corrected
    assert search_foods("xqzvw") == []  # nothing within one edit


def test_typo_tolerance_stays_fast_over_the_usda_vocabulary():
    """Every 25th USDA description word with a letter dropped: the search finds foods holding the word
    (or one as near), and a misspelt query costs a few times a correct one, measured in the same run."""
    index = _load()
    words = [w for w in index.vocabulary if len(w) >= 7 and w.isalpha()][::25]
    typos = [w[:3] + w[4:] for w in words]
    for word in words[:5] + typos[:5]:
        search_foods(word)  # warm
    started = time.perf_counter()
    for word in words:
        search_foods(word)
    correct_s = time.perf_counter() - started
    started = time.perf_counter()
    found = 0
    for word, typo in zip(words, typos, strict=True):
        result = search_foods(typo, limit=50)
        found += any(word in f.name.lower() for f in result) or bool(spelling_corrections(typo))
    typo_s = time.perf_counter() - started
    assert found == len(words)
    per_typo_ms = 1000 * typo_s / len(words)
    print(f"{len(words)} words: correct {1000 * correct_s / len(words):.2f} ms, typo {per_typo_ms:.2f} ms per query")
    assert per_typo_ms < 20, per_typo_ms
