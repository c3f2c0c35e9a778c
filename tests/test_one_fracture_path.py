"""One fracture-risk path (issue 12, item 6).

A woman's 10-year risk is computed in one place, ``osteotwin.physiology.fracture.ten_year_fracture_risk``.
The assessment (``fracture_risk.ten_year_*``), the projection of ``osteotwin assess --json`` (month 0), the
web API's projection (month 0 of every regimen) and the web pages therefore show the same numbers for the
same woman: for every example record and every demo patient. And the risk is monotone in the inputs a
clinician reads it by.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from osteotwin.cli import main
from osteotwin.clinic import assess
from osteotwin.physiology import fracture
from osteotwin.records.accounts import start_session
from osteotwin.records.database import Database
from osteotwin.records.demo import DEMO_PATIENTS, demo_clinician, ensure_demo_clinic
from osteotwin.records.models import Patient
from osteotwin.records.patients import record_dict
from osteotwin.web.app import create_app
from osteotwin.web.security import SESSION_COOKIE

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "patients"
TOLERANCE_PCT = 0.05
FIELDS = (("ten_year_osteoporotic_fracture_pct", "osteoporotic_fracture_10y_pct", "major_osteoporotic_fracture_10y_pct"),
          ("ten_year_hip_fracture_pct", "hip_fracture_10y_pct", "hip_fracture_10y_pct"))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_assess_json_projection_starts_at_the_assessment_risk(name: str, capsys) -> None:
    assert main(["assess", str(EXAMPLES / name), "--today", "2026-03-01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    risk, projection = out["fracture_risk"], out["projection"]
    assert projection is not None, out["projection_note"]
    for course in ("without_bone_agent", "with_bone_agent"):
        first = projection[course][0]
        assert first["months"] == 0
        for assessment_field, point_field, _ in FIELDS:
            assert first[point_field] == pytest.approx(risk[assessment_field], abs=TOLERANCE_PCT), (course, point_field)


@pytest.fixture(scope="module")
def demo_web(tmp_path_factory):
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'osteotwin.sqlite3'}")
    with database.transaction() as session:
        ensure_demo_clinic(session)
        clinician = demo_clinician(session)
        token, _ = start_session(session, clinician)
        patient_ids = list(session.scalars(select(Patient.id).where(Patient.clinician_id == clinician.id)))
    with TestClient(create_app(database, public_url="http://testserver"), raise_server_exceptions=False) as client:
        client.cookies.update({SESSION_COOKIE: token})
        yield database, client, patient_ids
    database.dispose()


def test_demo_patients_assessment_equals_projection_month_0_in_the_api_pages_and_assess(demo_web) -> None:
    database, client, patient_ids = demo_web
    assert len(patient_ids) == len(DEMO_PATIENTS)
    for patient_id in patient_ids:
        risk = client.get(f"/api/v1/patients/{patient_id}/assessment").json()["fracture_risk"]
        regimens = client.get(f"/api/v1/patients/{patient_id}/projection").json()["regimens"]
        assert regimens
        for name, regimen in regimens.items():
            trajectory = regimen["trajectory"]
            assert trajectory["months"][0] == 0
            for assessment_field, _, trajectory_field in FIELDS:
                assert trajectory[trajectory_field][0] == pytest.approx(risk[assessment_field], abs=TOLERANCE_PCT), (
                    patient_id, name, trajectory_field)
        page = client.get(f"/patients/{patient_id}/assessment").text
        assert f"10-year major osteoporotic fracture {risk['ten_year_osteoporotic_fracture_pct']:.1f}%" in page
        # `osteotwin assess --json` on the same stored record: its projection starts at the same numbers
        with database.transaction() as session:
            record = record_dict(session.get(Patient, patient_id))
        assessed = assess(record, today=dt.date.today())
        for course in (assessed.projection.without_bone_agent, assessed.projection.with_bone_agent):
            assert course[0].months == 0
            assert course[0].osteoporotic_fracture_10y_pct == pytest.approx(
                risk["ten_year_osteoporotic_fracture_pct"], abs=TOLERANCE_PCT)
            assert course[0].hip_fracture_10y_pct == pytest.approx(risk["ten_year_hip_fracture_pct"], abs=TOLERANCE_PCT)


# ------------------------------------------------------------------ monotone risk
# Ages from 31: the published QFracture-2009 osteoporotic equation has its minimum at age 30.1 (its 1/x and
# ln(x)/x terms), so between 30.0 and 30.1 the published baseline itself falls with age.
AGES = st.floats(31.0, 110.0)
T_SCORES = st.floats(-6.0, 4.0)
FALLS = st.floats(0.0, 20.0)
STATE = {
    "age": AGES, "bmi": st.floats(14.0, 50.0), "t_score": T_SCORES, "falls": FALLS,
    "ai": st.floats(0.0, 1.0), "ctx": st.floats(0.05, 2.0), "smoker": st.booleans(), "flags": st.integers(0, 2**11 - 1),
}


class _Factors:
    def __init__(self, smoker: bool, flags: int) -> None:
        self.current_smoker, self.former_smoker, self.cigarettes_per_day = smoker, False, None
        self.alcohol_units_per_day = 0.0
        for bit, name in enumerate(fracture.QFRACTURE_FLAGS):
            setattr(self, name, bool(flags >> bit & 1))


def _risk(state: dict, **change) -> tuple[float, float]:
    s = {**state, **change}
    offsets = fracture.risk_factor_offsets([_Factors(s["smoker"], s["flags"])])
    risk = fracture.ten_year_fracture_risk(s["age"], s["bmi"], s["t_score"], s["falls"], s["ai"], s["ctx"],
                                           (offsets[0][0, 0], offsets[1][0, 0]))
    return float(risk["major_osteoporotic_fracture_10y_pct"]), float(risk["hip_fracture_10y_pct"])


def _not_lower(higher: tuple[float, float], lower: tuple[float, float]) -> bool:
    return all(h >= low - 1e-9 * max(1.0, low) for h, low in zip(higher, lower, strict=True))


@settings(max_examples=300, deadline=None)
@given(state=st.fixed_dictionaries(STATE), lower_t=T_SCORES, older=AGES, more_falls=FALLS)
def test_risk_is_monotone_in_t_score_age_and_falls(state, lower_t, older, more_falls) -> None:
    lower_t, older, more_falls = min(lower_t, state["t_score"]), max(older, state["age"]), max(more_falls, state["falls"])
    base = _risk(state)
    assert _not_lower(_risk(state, t_score=lower_t), base)
    assert _not_lower(_risk(state, age=older), base)
    assert _not_lower(_risk(state, falls=more_falls), base)


def test_risk_is_vectorised_over_patients_and_months() -> None:
    ages = np.array([[60.0, 61.0, 62.0], [70.0, 71.0, 72.0]])
    risk = fracture.ten_year_fracture_risk(ages, 25.0, np.array([[-1.0], [-2.5]]), 0.2, 1.0, 1.0)
    assert risk["hip_fracture_10y_pct"].shape == (2, 3)
    one = fracture.ten_year_fracture_risk(71.0, 25.0, -2.5, 0.2, 1.0, 1.0)
    assert float(one["hip_fracture_10y_pct"]) == pytest.approx(risk["hip_fracture_10y_pct"][1, 1], rel=1e-12)
