"""Food log totals equal hand calculations from the USDA rows; units, coverage and bad input."""

import json

import pytest

from osteotwin.cli import main
from osteotwin.errors import InputError
from osteotwin.lifestyle import nutrient_totals
from osteotwin.lifestyle.absorption import calcium_absorption

# SR28 per 100 g: 01117 yogurt low fat: Ca 183, D 1 IU, Mg 17, K 0.2, protein 5.25, 63 kcal, fibre 0
#                 09210 orange juice + Ca + D: Ca 140, D 40 IU, Mg 11, K 0, protein 0.68, 47 kcal, fibre 0.3
#                 11233 kale raw: Ca 150, D 0, Mg 47, K 704.8, protein 4.28, 49 kcal, fibre 3.6
#                 11457 spinach raw: Ca 99, Mg 79, K 482.9
#                 01008 cheese caraway: K not reported
LOG = [
    {"date": "2026-03-01", "food_id": "01117", "grams": 170},
    {"date": "2026-03-01", "food_id": "09210", "grams": 248},
    {"date": "2026-03-02", "food_id": "11233", "grams": 67},
    {"date": "2026-03-02", "food_id": "01117", "grams": 100},
]


def test_totals_match_hand_calculation():
    report = nutrient_totals(LOG)
    day1, day2 = report.per_day
    assert day1.nutrients["calcium_mg"] == pytest.approx(1.70 * 183 + 2.48 * 140)  # 311.1 + 347.2
    assert day1.nutrients["vitamin_d_iu"] == pytest.approx(1.70 * 1 + 2.48 * 40)
    assert day1.nutrients["protein_g"] == pytest.approx(1.70 * 5.25 + 2.48 * 0.68)
    assert day1.nutrients["energy_kcal"] == pytest.approx(1.70 * 63 + 2.48 * 47)
    assert day1.nutrients["fiber_g"] == pytest.approx(2.48 * 0.3)
    assert day2.nutrients["vitamin_k_ug"] == pytest.approx(0.67 * 704.8 + 1.0 * 0.2)
    assert day2.nutrients["magnesium_mg"] == pytest.approx(0.67 * 47 + 17)
    assert report.days == 2
    assert report.average["calcium_mg"] == pytest.approx((1.70 * 183 + 2.48 * 140 + 0.67 * 150 + 183) / 2)


def test_vitamin_d_reported_in_both_units():
    report = nutrient_totals(LOG)
    assert report.per_day[0].vitamin_d_ug == pytest.approx((1.70 * 1 + 2.48 * 40) / 40)
    assert report.units["vitamin_d_iu"] == "IU" and report.units["vitamin_k_ug"] == "ug"


def test_absorbable_calcium_uses_the_bioavailability_table():
    assert calcium_absorption("Spinach, raw")[0] == pytest.approx(0.051)
    assert calcium_absorption("Kale, raw")[0] == pytest.approx(0.493)
    assert calcium_absorption("Milk, reduced fat, fluid, 2% milkfat")[0] == pytest.approx(0.321)
    assert calcium_absorption("Soymilk, original and vanilla, with added calcium")[0] == pytest.approx(0.211)
    report = nutrient_totals([
        {"date": "2026-03-01", "food_id": "11457", "grams": 100},
        {"date": "2026-03-01", "food_id": "11233", "grams": 100},
    ])
    assert report.per_day[0].absorbable_calcium_mg == pytest.approx(99 * 0.051 + 150 * 0.493)
    assert report.per_day[0].nutrients["calcium_mg"] == pytest.approx(99 + 150)


def test_not_reported_is_counted_as_coverage_not_zero():
    report = nutrient_totals([
        {"date": "2026-03-01", "food_id": "01008", "grams": 30},  # vitamin K not reported
        {"date": "2026-03-01", "food_id": "11233", "grams": 70},
    ])
    assert report.coverage["vitamin_k_ug"] == pytest.approx(0.70)
    assert report.coverage["calcium_mg"] == pytest.approx(1.0)
    assert any("vitamin_k_ug" in note for note in report.notes)


def test_household_portion_converts_to_grams():
    report = nutrient_totals([{"date": "2026-03-01", "food_id": "01001", "portion": "cup", "quantity": 0.5}])
    assert report.entries[0].grams == pytest.approx(113.5)
    assert report.per_day[0].nutrients["calcium_mg"] == pytest.approx(1.135 * 24)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"date": "2026-03-01", "food_id": "01117", "grams": -5}, "food_log[1].grams"),
        ({"date": "2026-03-01", "food_id": "99999", "grams": 100}, "food_log[1].food_id"),
        ({"date": "2026-03-01", "food_id": "01117", "grams": 90000}, "food_log[1].grams"),
        ({"date": "March 1", "food_id": "01117", "grams": 100}, "food_log[1].date"),
        ({"date": "2026-03-01", "food_id": "01117"}, "food_log[1].grams"),
        ({"date": "2026-03-01", "food_id": "01001", "portion": "bucket"}, "food_log[1].portion"),
    ],
)
def test_invalid_entries_are_refused(entry, field):
    with pytest.raises(InputError) as error:
        nutrient_totals([entry])
    assert error.value.field == field


def test_cli_nutrients_json_and_csv(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("date,food_id,grams\n2026-03-01,01117,170\n2026-03-01,09210,248\n")
    assert main(["nutrients", str(path), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["average"]["calcium_mg"] == pytest.approx(311.1 + 347.2)
    assert set(output["average"]) == {"calcium_mg", "vitamin_d_iu", "magnesium_mg", "vitamin_k_ug", "protein_g",
                                      "energy_kcal", "fiber_g"}
    json_path = tmp_path / "log.json"
    json_path.write_text(json.dumps(LOG))
    assert main(["nutrients", str(json_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["days"] == 2


def test_cli_nutrients_negative_grams_exit_2(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("date,food_id,grams\n2026-03-01,01117,-170\n")
    assert main(["nutrients", str(path)]) == 2
    err = capsys.readouterr().err
    assert "grams" in err and "-170" in err and len(err.strip().splitlines()) == 1


def test_food_name_instead_of_id_uses_the_best_match_and_says_so():
    report = nutrient_totals([{"date": "2026-03-01", "food_name": "greek yogurt", "grams": 170}])
    assert report.entries[0].food_id == "01256"
    assert report.per_day[0].nutrients["calcium_mg"] == pytest.approx(1.70 * 110)
    assert any("01256" in note for note in report.notes)
    with pytest.raises(InputError):
        nutrient_totals([{"date": "2026-03-01", "food_name": "xqzvw", "grams": 10}])


def test_cli_nutrients_with_household_portions(capsys):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "logs" / "food_log_portions.csv"
    assert main(["nutrients", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    grams = [entry["grams"] for entry in report["entries"]]
    assert grams[0] == pytest.approx(244)  # 1 cup of 2% milk (01079)
    assert grams[2] == pytest.approx(28.35)  # 1 oz of almonds
    assert report["per_day"][0]["nutrients"]["calcium_mg"] == pytest.approx(2.44 * 120 + 0.40 * 54 + 0.2835 * 269, rel=1e-3)
    assert main(["nutrients", str(path)]) == 0
    assert "coverage" in capsys.readouterr().out
