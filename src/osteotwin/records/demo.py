"""The demo clinic: one demo clinician (signs in by a one-time link, no password) and three demo
patients with DXA histories, labs, medications and logs.

All demo people and values are invented for illustration (ours). DXA values are made
consistent with T-scores through the young-adult reference means and SDs below, so that
BMD and T-score agree as on a real report. Dates are relative to the day the demo is created,
so the histories always end recently.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from osteotwin.records.accounts import create_user, issue_link
from osteotwin.records.models import (
    DxaResult,
    ExerciseLogEntry,
    FoodLogEntry,
    LabResult,
    Medication,
    Patient,
    User,
)
from osteotwin.records.schemas import LAB_UNITS

DEMO_CLINICIAN_EMAIL = "demo.clinician@example.invalid"
DEMO_PATIENT_EMAIL = "demo.patient@example.invalid"

# Young-adult female reference (mean, SD) in g/cm2 used to turn demo T-scores into BMD.
# Total hip: NHANES III white women 20-29 y, Looker et al., Osteoporos Int 1998;8:468 (0.942, 0.122).
# Lumbar spine L1-L4: Hologic manufacturer reference (1.047, 0.110): recalled, unverified; demo only.
REFERENCE_G_CM2 = {"total_hip": (0.942, 0.122), "lumbar_spine": (1.047, 0.110), "femoral_neck": (0.858, 0.120)}


def _bmd(site: str, t_score: float) -> float:
    mean, sd = REFERENCE_G_CM2[site]
    return round(mean + t_score * sd, 3)


def _months_ago(today: dt.date, months: float) -> dt.date:
    return today - dt.timedelta(days=round(months * 30.44))


# (name, age, menopause years before today, weight, height, risk factors, medications, DXA history)
# DXA history: list of (months ago, lumbar_spine T, total_hip T)
DEMO_PATIENTS = [
    {
        "name": "Margaret Demo",
        "age": 64, "menopause_years_ago": 13, "weight_kg": 68.0, "height_cm": 162.0,
        "risk": {"former_smoker": True},
        "plan": {"diet_pattern": "omnivore", "dislikes": ["liver"]},
        "meds": [("anastrozole", 26, None, None, None)],
        "dxa": [(26, -1.2, -0.8), (14, -1.5, -1.0), (2, -1.8, -1.2)],
        "labs": [(26, "vitamin_d_25_oh", 17.0), (2, "vitamin_d_25_oh", 24.0), (2, "calcium", 2.36),
                 (2, "creatinine_clearance", 82.0),
                 # CTX (ng/L) and P1NP (ug/L) at the start of anastrozole, 6 and 12 months on: the rise an AI brings
                 (26, "ctx", 360.0), (20, "ctx", 470.0), (14, "ctx", 455.0),
                 (26, "p1np", 44.0), (20, "p1np", 52.0), (14, "p1np", 57.0)],
        "account": True,
    },
    {
        "name": "Ruth Demo",
        "age": 58, "menopause_years_ago": 6, "weight_kg": 55.0, "height_cm": 165.0,
        "risk": {"family_history_hip_fracture": True},
        "plan": {"diet_pattern": "vegetarian", "dislikes": []},
        "meds": [("letrozole", 38, None, None, None), ("denosumab", 20, None, 60.0, 6.0)],
        "dxa": [(38, -2.1, -1.4), (22, -2.7, -1.8), (10, -2.2, -1.6), (1, -1.9, -1.5)],
        "labs": [(38, "vitamin_d_25_oh", 31.0), (20, "calcium", 2.40), (1, "calcium", 2.31),
                 (1, "creatinine_clearance", 95.0)],
        "account": False,
    },
    {
        "name": "Helen Demo",
        "age": 71, "menopause_years_ago": 21, "weight_kg": 61.0, "height_cm": 158.0,
        "risk": {"prior_fragility_fracture": True, "falls_last_12_months": 1},
        "plan": {"diet_pattern": "lactose_free", "dislikes": []},
        "meds": [("exemestane", 30, None, None, None), ("zoledronic_acid", 28, None, 4.0, 6.0)],
        "dxa": [(30, -2.4, -2.0), (17, -2.2, -1.9), (4, -2.0, -1.8)],
        "labs": [(29, "vitamin_d_25_oh", 22.0), (4, "vitamin_d_25_oh", 33.0), (4, "creatinine_clearance", 61.0),
                 (4, "calcium", 2.28)],
        "account": False,
    },
]

DEMO_FOODS_TODAY = [("01117", "Yogurt, plain, low fat, 12 grams protein per 8 ounce", 170.0),
                    ("09210", "Orange juice, chilled, includes from concentrate, with added calcium and vitamin D", 240.0),
                    ("12061", "Nuts, almonds", 28.0)]


def demo_clinician(session: Session) -> User | None:
    return session.scalar(select(User).where(User.email == DEMO_CLINICIAN_EMAIL))


def ensure_demo_clinic(session: Session, today: dt.date | None = None) -> dict[str, str]:
    """Create the demo clinic once; return fresh one-time sign-in link tokens (role -> token)."""
    today = today or dt.date.today()
    clinician = demo_clinician(session)
    if clinician is None:
        clinician = create_user(session, email=DEMO_CLINICIAN_EMAIL, display_name="Dr Demo (demo clinician)",
                                role="clinician", is_demo=True)
        for spec in DEMO_PATIENTS:
            _create_demo_patient(session, clinician, spec, today)
    tokens = {"clinician": issue_link(session, "sign_in", clinician.id)}
    patient_user = session.scalar(select(User).where(User.email == DEMO_PATIENT_EMAIL))
    if patient_user is not None:
        tokens["patient"] = issue_link(session, "sign_in", patient_user.id)
    return tokens


def _create_demo_patient(session: Session, clinician: User, spec: dict, today: dt.date) -> Patient:
    birth = dt.date(today.year - spec["age"], 3, 14)
    patient = Patient(
        clinician_id=clinician.id, name=spec["name"], birth_date=birth, menopausal_status="postmenopausal",
        menopause_year=today.year - spec["menopause_years_ago"], weight_kg=spec["weight_kg"],
        height_cm=spec["height_cm"], dislikes=spec["plan"]["dislikes"], diet_pattern=spec["plan"]["diet_pattern"],
        **spec["risk"],
    )
    session.add(patient)
    session.flush()
    for months_ago, ls_t, th_t in spec["dxa"]:
        date = _months_ago(today, months_ago)
        session.add(DxaResult(patient_id=patient.id, date=date, site="lumbar_spine",
                              bmd_g_cm2=_bmd("lumbar_spine", ls_t), t_score=ls_t, device="hologic"))
        session.add(DxaResult(patient_id=patient.id, date=date, site="total_hip",
                              bmd_g_cm2=_bmd("total_hip", th_t), t_score=th_t, device="hologic"))
    for months_ago, test, value in spec["labs"]:
        session.add(LabResult(patient_id=patient.id, date=_months_ago(today, months_ago), test=test,
                              value=value, unit=LAB_UNITS[test]))
    for drug, months_ago, stop_months_ago, dose_mg, every_months in spec["meds"]:
        session.add(Medication(
            patient_id=patient.id, drug=drug, start_date=_months_ago(today, months_ago),
            stop_date=_months_ago(today, stop_months_ago) if stop_months_ago is not None else None,
            dose_mg=dose_mg, every_months=every_months))
    if spec["account"]:
        account = create_user(session, email=DEMO_PATIENT_EMAIL, display_name=spec["name"], role="patient",
                              is_demo=True)
        patient.account_user_id = account.id
        for food_id, name, grams in DEMO_FOODS_TODAY:
            session.add(FoodLogEntry(patient_id=patient.id, date=today, food_id=food_id, food_name=name, grams=grams))
        for days_ago, kind, minutes, exercise, sets, reps, load in [
            (1, "aerobic", 40, "brisk_walking", None, None, None),
            (2, "resistance", 35, "deadlift", 5, 5, 30.0),
            (2, "resistance", 10, "back_squat", 5, 5, 25.0),
            (3, "balance", 15, "static_balance", None, None, None),
            (4, "aerobic", 30, "brisk_walking", None, None, None),
        ]:
            session.add(ExerciseLogEntry(patient_id=patient.id, date=today - dt.timedelta(days=days_ago), kind=kind,
                                         minutes=minutes, exercise=exercise, sets=sets, reps=reps, load_kg=load))
    return patient
