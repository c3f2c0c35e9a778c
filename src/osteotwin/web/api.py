"""The JSON API under /api/v1: the same session, roles and per-patient authorisation as the pages.

Reads need a session cookie; writes also need the session's CSRF token in ``X-CSRF-Token``
(``GET /api/v1/me`` returns it). Bodies and answers reuse the CLI's JSON contracts: a record is
the ``assess`` input, an assessment the ``assess --json`` output, a projection holds ``simulate``
trajectories, a plan is the ``plan --json`` output, nutrients the ``nutrients --json`` output.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel

from osteotwin import simulate as simulate_one
from osteotwin.clinic import PatientRecord
from osteotwin.clinic import assess as assess_record
from osteotwin.records.audit import audit, audit_trail
from osteotwin.records.fhir_import import import_fhir_bundle
from osteotwin.records.patients import (
    add_dxa,
    add_exercise,
    add_food,
    add_lab,
    add_medication,
    create_patient,
    list_patients,
    own_patient,
    patient_for,
    record_dict,
)
from osteotwin.records.schemas import DxaIn, ExerciseLogIn, FoodLogIn, LabIn, MedicationIn, PatientIn
from osteotwin.scenario import Scenario, scenario_warnings
from osteotwin.web import services
from osteotwin.web.deps import ApiWriterDep, Forbidden, Tx, ViewerDep

router = APIRouter(prefix="/api/v1", tags=["api"])

RegimenName = services.REGIMENS.keys()


class Me(BaseModel):
    user_id: int
    role: str
    display_name: str
    patient_id: int | None
    csrf_token: str


class Created(BaseModel):
    id: int
    patient_id: int


class PatientSummary(BaseModel):
    id: int
    name: str
    birth_date: dt.date


def _clinician(viewer) -> None:  # noqa: ANN001
    if not viewer.is_clinician:
        raise Forbidden()


@router.get("/me", response_model=Me)
def me(session: Tx, viewer: ViewerDep) -> Me:
    patient = None if viewer.is_clinician else own_patient(session, viewer.user)
    return Me(user_id=viewer.user.id, role=viewer.user.role, display_name=viewer.user.display_name,
              patient_id=patient.id if patient else None, csrf_token=viewer.csrf_token)


@router.get("/patients", response_model=list[PatientSummary])
def patients(session: Tx, viewer: ViewerDep, q: Annotated[str, Query(max_length=100)] = "") -> list[PatientSummary]:
    """A clinician's patients (optionally searched by name); a patient gets only herself."""
    if viewer.is_clinician:
        rows = list_patients(session, viewer.user, q)
    else:
        own = own_patient(session, viewer.user)
        rows = [own] if own is not None else []
        if own is not None:
            audit(session, viewer.user.id, "read", own.id, "patient list")
    return [PatientSummary(id=p.id, name=p.name, birth_date=p.birth_date) for p in rows]


@router.post("/patients", response_model=PatientSummary, status_code=201)
def new_patient(session: Tx, viewer: ApiWriterDep, body: PatientIn) -> PatientSummary:
    _clinician(viewer)
    patient = create_patient(session, viewer.user, body)
    return PatientSummary(id=patient.id, name=patient.name, birth_date=patient.birth_date)


@router.get("/patients/{patient_id}")
def patient_record(patient_id: int, session: Tx, viewer: ViewerDep) -> dict[str, Any]:
    """The stored record in the ``assess`` input shape, plus id and name."""
    patient = patient_for(session, viewer.user, patient_id, "record")
    return {"id": patient.id, "name": patient.name, "birth_date": patient.birth_date.isoformat(),
            "record": record_dict(patient)}


def _add(session, viewer, patient_id: int, what: str, add, body) -> Created:  # noqa: ANN001
    patient = patient_for(session, viewer.user, patient_id, what, action="update")
    row = add(session, viewer.user, patient, body)
    return Created(id=row.id, patient_id=patient.id)


@router.post("/patients/{patient_id}/dxa", response_model=Created, status_code=201)
def post_dxa(patient_id: int, session: Tx, viewer: ApiWriterDep, body: DxaIn) -> Created:
    _clinician(viewer)
    return _add(session, viewer, patient_id, "dxa", add_dxa, body)


@router.post("/patients/{patient_id}/labs", response_model=Created, status_code=201)
def post_lab(patient_id: int, session: Tx, viewer: ApiWriterDep, body: LabIn) -> Created:
    _clinician(viewer)
    return _add(session, viewer, patient_id, "lab", add_lab, body)


@router.post("/patients/{patient_id}/medications", response_model=Created, status_code=201)
def post_medication(patient_id: int, session: Tx, viewer: ApiWriterDep, body: MedicationIn) -> Created:
    _clinician(viewer)
    return _add(session, viewer, patient_id, "medication", add_medication, body)


@router.post("/patients/{patient_id}/food-log", response_model=Created, status_code=201)
def post_food(patient_id: int, session: Tx, viewer: ApiWriterDep, body: FoodLogIn) -> Created:
    """One food-log row (``date, food_id, grams``, as in ``osteotwin nutrients``)."""
    patient = patient_for(session, viewer.user, patient_id, "food log", action="create")
    row = add_food(session, viewer.user, patient, body, food_name=services.food_name(body.food_id))
    return Created(id=row.id, patient_id=patient.id)


@router.post("/patients/{patient_id}/exercise-log", response_model=Created, status_code=201)
def post_exercise(patient_id: int, session: Tx, viewer: ApiWriterDep, body: ExerciseLogIn) -> Created:
    """One exercise session (``exercise`` is an id of the planner's library)."""
    patient = patient_for(session, viewer.user, patient_id, "exercise log", action="create")
    row = add_exercise(session, viewer.user, patient, body, services.exercise_kind(body.exercise))
    return Created(id=row.id, patient_id=patient.id)


@router.get("/patients/{patient_id}/assessment")
def patient_assessment(patient_id: int, session: Tx, viewer: ViewerDep) -> dict[str, Any]:
    """``osteotwin assess --json`` on the stored record."""
    return services.assessment(patient_for(session, viewer.user, patient_id, "assessment"))


@router.get("/patients/{patient_id}/projection")
def patient_projection(
    patient_id: int, session: Tx, viewer: ViewerDep,
    regimens: Annotated[list[str] | None, Query(description=f"any of {', '.join(services.REGIMENS)}")] = None,
) -> dict[str, Any]:
    """Five-year trajectories (``simulate`` output) under the chosen regimens, from one batch."""
    patient = patient_for(session, viewer.user, patient_id, "projection")
    chosen = [r for r in (regimens or list(services.REGIMENS)) if r in services.REGIMENS]
    if regimens and not chosen:
        from osteotwin.errors import InputError

        raise InputError("regimens", regimens, f"any of {', '.join(services.REGIMENS)}")
    return services.projection(patient, chosen)


@router.get("/patients/{patient_id}/plan")
def patient_plan(patient_id: int, session: Tx, viewer: ViewerDep) -> dict[str, Any]:
    """``osteotwin plan --json`` on a profile built from the stored record."""
    return services.lifestyle_plan(patient_for(session, viewer.user, patient_id, "plan"))


@router.get("/patients/{patient_id}/nutrients")
def patient_nutrients(patient_id: int, session: Tx, viewer: ViewerDep, date: dt.date | None = None) -> dict[str, Any]:
    """One day's nutrient totals against the targets."""
    patient = patient_for(session, viewer.user, patient_id, "nutrients")
    return services.day_nutrients(patient, date or dt.date.today())


@router.get("/patients/{patient_id}/fhir")
def patient_fhir(patient_id: int, session: Tx, viewer: ViewerDep) -> dict[str, Any]:
    """The record as a FHIR R4 Bundle."""
    return services.fhir_bundle(patient_for(session, viewer.user, patient_id, "fhir bundle", action="export"))


class FhirImportResult(PatientSummary):
    created: bool
    report: dict[str, Any]


@router.post("/fhir/import", response_model=FhirImportResult, status_code=201)
def fhir_import(session: Tx, viewer: ApiWriterDep, bundle: Annotated[dict[str, Any], Body()],
                response: Response) -> FhirImportResult:
    """Import a FHIR Bundle for the signed-in clinician: a new patient (201), or her patient with the same
    MRN updated (200); ``report`` lists what was added, changed, noted and skipped."""
    _clinician(viewer)
    patient, created, report = import_fhir_bundle(session, viewer.user, bundle)
    audit(session, viewer.user.id, "import", patient.id, "fhir bundle")
    if not created:
        response.status_code = 200
    return FhirImportResult(id=patient.id, name=patient.name, birth_date=patient.birth_date, created=created,
                            report=report.model_dump())


@router.get("/patients/{patient_id}/audit")
def patient_audit(patient_id: int, session: Tx, viewer: ViewerDep) -> list[dict[str, Any]]:
    """Who read or wrote this record, and when (clinicians only)."""
    _clinician(viewer)
    patient = patient_for(session, viewer.user, patient_id, "audit trail")
    return [{"at": e.at.isoformat(), "user_id": e.user_id, "action": e.action, "what": e.what}
            for e in audit_trail(session, patient.id)]


@router.get("/foods/search")
def foods_search(viewer: ViewerDep, q: Annotated[str, Query(min_length=1, max_length=100)]) -> list[dict[str, Any]]:
    """USDA foods matching the words (``osteotwin foods search --json``)."""
    return services.food_search(q)


# Bounds on one web request's engine work (ours): the CLI accepts more, a shared server does not.
API_MAX_MONTHS = 240
API_MAX_DOSES = 1000


def check_engine_work(scenario: Scenario) -> None:
    """Refuse scenarios that would tie up the server (very long horizons, thousands of doses)."""
    from osteotwin.errors import InputError

    if scenario.months > API_MAX_MONTHS:
        raise InputError("months", scenario.months, f"1 to {API_MAX_MONTHS} months through the web API")
    for index, agent in enumerate(scenario.bone_agents):
        if agent.doses is not None:
            count = len(agent.doses)
        else:
            span_months = (agent.stop_month if agent.stop_month is not None else scenario.months) - (agent.start_month or 0)
            if agent.every_days:
                count = span_months * 30.44 / agent.every_days
            else:
                count = span_months / (agent.every_months or 1)
        if count > API_MAX_DOSES:
            raise InputError(f"bone_agents.{index}", f"{count:.0f} doses",
                             f"at most {API_MAX_DOSES} doses per agent through the web API")


@router.post("/simulate")
def simulate(viewer: ViewerDep, scenario: Scenario) -> dict[str, Any]:
    """``osteotwin simulate --json``: one Scenario in, one Trajectory out (no record is touched).
    Through the web API the horizon is 1-240 months and each agent at most 1,000 doses."""
    check_engine_work(scenario)
    result = services.as_json(simulate_one(scenario))
    result.setdefault("warnings", [])
    result["warnings"] = list(dict.fromkeys([*result["warnings"], *scenario_warnings(scenario)]))
    return result


@router.post("/assess")
def assess(viewer: ViewerDep, record: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """``osteotwin assess --json`` on a posted record (no record is stored)."""
    return services.as_json(assess_record(PatientRecord.model_validate(record)))
