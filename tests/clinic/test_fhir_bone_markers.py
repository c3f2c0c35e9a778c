"""FHIR import and export of serum CTX (LOINC 41171-0) and P1NP (77370-5), with their unit conversions."""

from __future__ import annotations

from datetime import date

import pytest
from tests.clinic.test_fhir import ehr_bundle, obs

from osteotwin.clinic import PatientRecord
from osteotwin.clinic.fhir import bundle_to_record, import_bundle, record_to_bundle
from osteotwin.errors import InputError

TODAY = date(2026, 3, 1)


def _with_markers(*entries: dict) -> dict:
    bundle = ehr_bundle()
    bundle["entry"] += list(entries)
    return bundle


def test_ctx_in_ng_per_ml_and_p1np_in_ng_per_ml_are_read_in_the_record_units() -> None:
    record, report = import_bundle(_with_markers(obs("41171-0", "2026-01-05", 0.48, "ng/mL"),
                                                 obs("77370-5", "2026-01-05", 52.0, "ng/mL")), today=TODAY)
    ctx = next(lab for lab in record.labs if lab.test == "ctx")
    p1np = next(lab for lab in record.labs if lab.test == "p1np")
    assert (ctx.value, ctx.unit, ctx.value_in_standard_unit()) == (480.0, "ng/L", 480.0)
    assert (p1np.value, p1np.unit) == (52.0, "ug/L")
    assert any("ctx (LOINC 41171-0): 0.48 ng/mL converted to 480 ng/L" in note for note in report.notes)


def test_record_with_markers_round_trips_through_fhir() -> None:
    record = bundle_to_record(_with_markers(obs("41171-0", "2026-01-05", 455.0, "pg/mL"),
                                            obs("77370-5", "2026-01-05", 61.0, "ug/L")), today=TODAY)
    bundle = record_to_bundle(record, today=TODAY)
    codes = [c["code"] for e in bundle["entry"] for c in (e["resource"].get("code") or {}).get("coding", [])]
    assert "41171-0" in codes and "77370-5" in codes
    again = bundle_to_record(bundle, today=TODAY)
    assert sorted((lab.test, lab.value_in_standard_unit()) for lab in again.labs if lab.test in ("ctx", "p1np")) == [
        ("ctx", 455.0), ("p1np", 61.0)]


def test_a_marker_in_an_unknown_unit_is_refused_naming_the_allowed_units() -> None:
    with pytest.raises(InputError) as error:
        import_bundle(_with_markers(obs("41171-0", "2026-01-05", 4.8, "nmol/L")), today=TODAY)
    assert "ng/L" in str(error.value) and "nmol/L" in str(error.value)


def test_the_assess_record_converts_ctx_ng_per_ml() -> None:
    record = PatientRecord.model_validate({
        "patient": {"age_years": 64, "weight_kg": 60, "height_cm": 160},
        "labs": [{"date": "2026-01-05", "test": "ctx", "value": 0.45, "unit": "ng/mL"},
                 {"date": "2026-01-05", "test": "p1np", "value": 40, "unit": "ng/mL"}]})
    assert [lab.value_in_standard_unit() for lab in record.labs] == [pytest.approx(450.0), 40.0]
    with pytest.raises(ValueError, match="allowed ng/L, pg/mL, ng/mL"):
        PatientRecord.model_validate({"patient": {"age_years": 64, "weight_kg": 60, "height_cm": 160},
                                      "labs": [{"date": "2026-01-05", "test": "ctx", "value": 4, "unit": "nmol/L"}]})
