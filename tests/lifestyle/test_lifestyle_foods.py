"""USDA SR28 data: every food shipped, values as published, search finds the seed-text foods fast."""

import time

import pytest

from osteotwin.errors import InputError
from osteotwin.lifestyle import get_food, search_foods
from osteotwin.lifestyle.foods import NUTRIENT_KEYS, VITAMIN_D_IU_PER_UG, _vitamin_d_iu, all_foods


def test_every_sr28_food_is_shipped_with_portions():
    foods = all_foods()
    assert len(foods) == 8789
    assert all(set(food.per_100g) == set(NUTRIENT_KEYS) for food in foods)
    assert sum(len(food.portions) for food in foods) == 15438


def test_values_match_published_sr28_spot_checks():
    cheddar = get_food("01009")
    assert cheddar.per_100g["calcium_mg"] == 710 and cheddar.per_100g["vitamin_d_iu"] == 24
    assert get_food("01077").per_100g["calcium_mg"] == 113
    assert get_food("11233").per_100g["vitamin_k_ug"] == pytest.approx(704.8)
    assert get_food("12061").per_100g["fiber_g"] == pytest.approx(12.5)
    cup = [p for p in get_food("01001").portions if p.measure == "cup"][0]
    assert cup.grams == 227


def test_empty_usda_cell_is_none_not_zero():
    caraway = get_food("01008")  # Cheese, caraway: vitamin K1 not reported in SR28
    assert caraway.per_100g["vitamin_k_ug"] is None
    assert caraway.per_100g["calcium_mg"] is not None


def test_vitamin_d_iu_and_ug_agree_and_convert():
    assert VITAMIN_D_IU_PER_UG == 40
    row = {"vitamin_d_iu": "", "vitamin_d_ug": "2.5"}
    assert _vitamin_d_iu(row) == pytest.approx(100.0)
    assert _vitamin_d_iu({"vitamin_d_iu": "", "vitamin_d_ug": ""}) is None
    sardines = get_food("15088")  # 193 IU and 4.8 ug per 100 g in SR28
    assert sardines.per_100g["vitamin_d_iu"] / VITAMIN_D_IU_PER_UG == pytest.approx(4.8, abs=0.05)


def test_unknown_food_id_is_refused_and_leading_zero_restored():
    with pytest.raises(InputError) as error:
        get_food("99999")
    assert error.value.field == "food_id"
    assert get_food("1117").food_id == "01117"


@pytest.mark.parametrize(
    ("words", "expected_id", "within"),
    [
        ("milk", "01077", 3),
        ("yogurt", "01117", 5),
        ("greek yogurt", "01256", 1),
        ("kale", "11233", 1),
        ("sardines", "15088", 1),
        ("tofu", "16426", 2),
        ("almonds", "12061", 1),
        ("broccoli", "11090", 1),
        ("fortified soy milk", "16139", 1),
        ("soymilk calcium", "16139", 3),
        ("cheddar cheese", "01009", 1),
        ("collards", "11161", 2),
        ("spinach", "11457", 1),
        ("canned salmon", "15084", 5),
        ("natto", "16113", 1),
        ("yoghurt greek", "01256", 1),
        ("brussels sprouts", "11098", 2),
        ("dark chocolate", "19904", 1),
    ],
)
def test_search_finds_seed_foods_near_the_top(words, expected_id, within):
    ids = [food.food_id for food in search_foods(words, limit=within)]
    assert expected_id in ids, (words, [(f.food_id, f.name) for f in search_foods(words, limit=5)])


def test_search_ranks_generic_before_branded_and_baby_food():
    results = search_foods("yogurt", limit=5)
    assert not any(food.branded for food in results)
    assert all(food.food_group_code != "0300" for food in results)


def test_search_is_fast_after_loading():
    search_foods("milk")
    queries = ["greek yogurt", "kale", "fortified soy milk", "sardines", "almonds", "broccoli", "tofu", "orange juice"]
    started = time.perf_counter()
    for _ in range(10):
        for query in queries:
            search_foods(query)
    per_query_ms = (time.perf_counter() - started) * 1000 / (10 * len(queries))
    assert per_query_ms < 20


def test_search_refuses_empty_words_and_returns_nothing_for_nonsense():
    with pytest.raises(InputError):
        search_foods("   ")
    assert search_foods("xqzvw") == []


def test_shipped_files_match_the_documented_checksums():
    import gzip
    import hashlib
    from importlib import resources

    data = resources.files("osteotwin").joinpath("data")
    readme = data.joinpath("USDA_README.md").read_text(encoding="utf-8")
    for name in ("usda_sr_legacy_bone_nutrients.csv.gz", "usda_sr_legacy_portions.csv.gz"):
        digest = hashlib.sha256(gzip.decompress(data.joinpath(name).read_bytes())).hexdigest()
        assert digest in readme, name
