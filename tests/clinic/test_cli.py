"""``osteotwin assess`` and ``osteotwin fhir``: outputs, and refusal of bad input with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osteotwin.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_examples_assess_as_json_and_text(name: str, capsys) -> None:
    assert main(["assess", str(EXAMPLES / name), "--today", "2026-03-01", "--json", "--no-projection"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("who_category", "bone_agent_indicated", "because", "risk_factors", "next_dxa_months",
                "recommendations", "alerts", "fracture_risk"):
        assert key in out
    assert "QFracture-2009" in out["fracture_risk"]["model"]
    assert all({"id", "text", "source", "strength"} <= set(r) for r in out["recommendations"])
    assert all({"id", "text", "source"} <= set(a) for a in out["alerts"])
    assert main(["assess", str(EXAMPLES / name), "--today", "2026-03-01", "--no-projection"]) == 0
    text = capsys.readouterr().out
    assert "DECISION:" in text and "Next DXA" in text and "Fracture risk" in text


def test_renal_example_summary_names_the_limit(capsys) -> None:
    main(["assess", str(EXAMPLES / "osteoporosis_renal_letrozole.json"), "--today", "2026-03-01", "--no-projection"])
    text = capsys.readouterr().out
    assert "BMD: osteoporosis (lowest T-score -2.8 at the lumbar spine)" in text
    assert "! [act today: harm within weeks if ignored] Creatinine clearance 31 mL/min (< 35)" in text
    assert "lumbar spine: -5.8% since 2025-02-01, -5.7%/year" in text and "REAL change" in text


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"patient": {"age_years": 67, "weight_kg": 60, "height_cm": 160},
          "dxa": [{"date": "2026-01-01", "site": "wrist", "t_score": -2}]},
         "dxa.0.site = 'wrist': Input should be 'lumbar_spine', 'total_hip' or 'femoral_neck'"),
        ({"patient": {"age_years": 7, "weight_kg": 60, "height_cm": 160}},
         "patient.age_years = 7: Input should be greater than or equal to 18"),
        ({"patient": {"age_years": 67, "weight_kg": 60, "height_cm": 160},
          "labs": [{"date": "2026-01-01", "test": "calcium", "value": 2.3, "unit": "g"}]},
         "unit = 'g' for calcium: allowed mmol/L, mg/dL"),
        ({"patient": {"age_years": 67, "weight_kg": 60, "height_cm": 160}, "smoker": True},
         "smoker = True: Extra inputs are not permitted"),
        ({"patient": {"age_years": 67, "weight_kg": 60, "height_cm": 160},
          "dxa": [{"date": "2026-01-01", "site": "total_hip", "t_score": -1},
                  {"date": "2026-01-01", "site": "total_hip", "t_score": -1.2}]},
         "two results for total_hip on 2026-01-01"),
        ({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Observation",
          "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": "abc"}}}]},
         "Bundle.entry[0].resource.valueQuantity.value = 'abc'"),
    ],
)
def test_bad_input_exits_2_with_field_value_allowed(tmp_path, capsys, record, expected) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record))
    assert main(["assess", str(path), "--today", "2026-03-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err


def test_bad_today_and_malformed_json(tmp_path, capsys) -> None:
    assert main(["assess", str(EXAMPLES / "design_example.json"), "--today", "March"]) == 2
    assert "--today = 'March': a date as YYYY-MM-DD" in capsys.readouterr().err
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    assert main(["assess", str(path)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_fhir_import_export_commands(tmp_path, capsys) -> None:
    assert main(["fhir", "export", str(EXAMPLES / "design_example.json"), "--today", "2026-03-01"]) == 0
    bundle = json.loads(capsys.readouterr().out)
    assert bundle["resourceType"] == "Bundle"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]].count("CarePlan") == 1
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert main(["fhir", "import", str(path), "--today", "2026-03-01"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert captured.err.startswith("FHIR import:") and "added (" in captured.err and "skipped (" in captured.err
    assert "CarePlan resources are not used by osteotwin" in captured.err
    original = json.loads((EXAMPLES / "design_example.json").read_text(encoding="utf-8"))
    assert record["dxa"] == [{k: v for k, v in d.items()} for d in original["dxa"]]
    out_path = tmp_path / "assessment_bundle.json"
    assert main(["assess", str(path), "--today", "2026-03-01", "--no-projection", "--fhir-out", str(out_path)]) == 0
    assert json.loads(out_path.read_text(encoding="utf-8"))["resourceType"] == "Bundle"


def test_api_accepts_a_fhir_bundle_dict_and_reports_warnings() -> None:
    from datetime import date

    from osteotwin.clinic import assess

    bundle = json.loads((EXAMPLES / "fhir_bundle_anastrozole.json").read_text(encoding="utf-8"))
    a = assess(bundle, today=date(2026, 3, 1), project=False)
    assert a.who_category == "low_bone_mass" and a.bone_agent_indicated
    future = json.loads((EXAMPLES / "design_example.json").read_text(encoding="utf-8"))
    future["dxa"][0]["date"] = "2027-01-01"
    warned = assess(future, today=date(2026, 3, 1), project=False)
    assert any("after the assessment date" in w for w in warned.warnings)


def test_fhir_import_of_hl7_examples_prints_the_report(tmp_path, capsys) -> None:
    hl7 = Path(__file__).parent / "data" / "hl7"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": json.loads((hl7 / name).read_text(encoding="utf-8"))}
        for name in ("patient-example-d.json", "observation-example.json", "observation-example-body-height.json",
                     "observation-example-bmd.json")]}
    path = tmp_path / "hl7.json"
    path.write_text(json.dumps(bundle))
    assert main(["fhir", "import", str(path), "--today", "2026-03-01"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert record["patient"]["identifier"] == {"system": "urn:oid:0.1.2.3.4.5.6.7", "value": "123458"}
    assert record["patient"]["weight_kg"] == 83.91
    assert "FHIR import: MRN 123458" in captured.err
    assert "Bundle.entry[3].resource: no effective date, issued date or Bundle timestamp" in captured.err
    for bad, field in (("not-json", "valueString"), ("2024-03", None)):
        context = {"resourceType": "Observation", "status": "final", "code": {"text": "osteotwin-record-context"},
                   "valueString": bad}
        if field is None:
            context = {"resourceType": "Observation", "status": "final", "effectiveDateTime": bad,
                       "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
                       "valueQuantity": {"value": -1.2, "code": "{T-score}"}}
        path.write_text(json.dumps({**bundle, "entry": [*bundle["entry"], {"resource": context}]}))
        code = main(["fhir", "import", str(path), "--today", "2026-03-01"])
        captured = capsys.readouterr()
        if field is None:
            assert code == 0 and "(month precision)" in captured.err
        else:
            assert code == 2 and "Bundle.entry[4].resource.valueString = 'not-json'" in captured.err
            assert "Traceback" not in captured.err
