"""The JSON API under /api/v1: the same session, roles and per-patient authorisation as the pages.

Reads need a session cookie; writes also need the session's CSRF token in ``X-CSRF-Token``
(``GET /api/v1/me`` returns it). Bodies and answers reuse the CLI's JSON contracts: a record is
the ``assess`` input, an assessment the ``assess --json`` output, a projection holds ``simulate``
trajectories, a plan is the ``plan --json`` output, nutrients the ``nutrients --json`` output.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from osteotwin import simulate as simulate_one
from osteotwin.clinic import PatientRecord
from osteotwin.clinic import assess as assess_record
from osteotwin.errors import InputError
from osteotwin.records.audit import audit, audit_trail
from osteotwin.records.models import Patient
from osteotwin.records.patients import (
    ENTRY_ADDERS,
    ENTRY_KINDS,
    Saved,
    create_patient,
    delete_entry,
    list_patients,
    own_patient,
    patient_for,
    record_dict,
    update_entry,
)
from osteotwin.records.schemas import (
    NUMBER_TYPES,
    PatientIn,
)
from osteotwin.scenario import BoneAgent, Dose, EndocrineTherapy, Scenario, scenario_warnings
from osteotwin.web import services
from osteotwin.web.app import excerpt
from osteotwin.web.compute import in_thread, run_compute
from osteotwin.web.deps import ApiWriterDep, Forbidden, PatientId, RowId, Tx, Viewer, ViewerDep, read_patient
from osteotwin.web.forms import ENTRY_FORMS


class ErrorMessage(BaseModel):
    """Every refusal other than 422: what went wrong, in one sentence."""

    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "not signed in"},
    403: {"model": ErrorMessage, "description": "the role may not do this, or the CSRF token is missing"},
    404: {"model": ErrorMessage, "description": "no such record for this account"},
    413: {"model": ErrorMessage, "description": "request body above the limit"},
    429: {"model": ErrorMessage, "description": "rate limited (see Retry-After)"},
}
router = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _strict(body: BaseModel, raw: bytes) -> Any:
    """Refuse a JSON body whose numeric fields are not JSON numbers (``false`` or ``"1.5"``), which
    pydantic's lax mode (needed for the HTML forms, which send text) would accept."""
    data = json.loads(raw)
    for name, field in type(body).model_fields.items():
        value = data.get(name) if isinstance(data, dict) else None
        if field.annotation in NUMBER_TYPES and value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)):
            raise InputError(name, value if isinstance(value, bool) else str(value)[:40], "a JSON number")
    return body


class Me(BaseModel):
    user_id: int
    role: str
    display_name: str
    patient_id: int | None
    csrf_token: str


class Created(BaseModel):
    """A stored or edited entry; ``warnings`` name unusual but possible values (osteotwin.records.limits)."""

    id: int
    patient_id: int
    warnings: list[str] = Field(default_factory=list)


class PatientSummary(BaseModel):
    id: int
    name: str
    birth_date: dt.date


def _clinician(viewer) -> None:  # noqa: ANN001
    if not viewer.is_clinician:
        raise Forbidden()


@router.get("/me", response_model=Me)
def me(session: Tx, viewer: ViewerDep) -> Me:
    """The signed-in account and its CSRF token (audited)."""
    patient = None if viewer.is_clinician else own_patient(session, viewer.user)
    audit(session, viewer.user_id, "read", patient.id if patient else None, "own account (api me)")
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
def new_patient(session: Tx, viewer: ApiWriterDep, body: PatientIn, raw: RawBody) -> PatientSummary:
    _clinician(viewer)
    body = _strict(body, raw)
    patient = create_patient(session, viewer.user, body)
    return PatientSummary(id=patient.id, name=patient.name, birth_date=patient.birth_date)


@router.get("/patients/{patient_id}")
def patient_record(patient_id: PatientId, session: Tx, viewer: ViewerDep) -> dict[str, Any]:
    """The stored record in the ``assess`` input shape, plus id and name."""
    patient = patient_for(session, viewer.user, patient_id, "record")
    return {"id": patient.id, "name": patient.name, "birth_date": patient.birth_date.isoformat(),
            "record": record_dict(patient)}


def _save(session: Session, viewer: Viewer, patient_id: int, kind: str,
          write: Callable[[Patient], Saved]) -> Created | JSONResponse:
    """Run one write of an entry. The checks refuse before anything is written, so a refusal is
    answered 422 (the documented shape, naming the field) and audited as ``denied`` with the field
    name only, in the request's own transaction (a second one would wait on SQLite's write lock)."""
    patient = patient_for(session, viewer.user, patient_id, ENTRY_KINDS[kind][0], action="update", lock=True)
    try:
        saved = write(patient)
    except InputError as error:
        audit(session, viewer.user_id, "denied", patient.id, f"{ENTRY_KINDS[kind][0]}: refused ({error.field})")
        return JSONResponse({"detail": [{"loc": ["body", *error.field.split(".")], "msg": excerpt(str(error)),
                                         "type": "value_error"}]}, status_code=422)
    return Created(id=saved.id, patient_id=patient.id, warnings=saved.warnings)


def _entry_routes(kind: str, model: type[BaseModel], clinician_only: bool) -> None:
    """POST (201), PUT (200) and DELETE (204) of one kind of entry (``kind`` as in ``ENTRY_KINDS``)."""
    what = ENTRY_KINDS[kind][0]

    def add(patient_id: PatientId, session: Tx, viewer: ApiWriterDep, body: model,  # type: ignore[valid-type]
            raw: RawBody) -> Created | JSONResponse:
        if clinician_only:
            _clinician(viewer)
        body = _strict(body, raw)
        return _save(session, viewer, patient_id, kind, lambda patient: ENTRY_ADDERS[kind](
            session, viewer.user, patient, body, **services.entry_extra(kind, body)))

    def edit(patient_id: PatientId, entry_id: RowId, session: Tx, viewer: ApiWriterDep,
             body: model, raw: RawBody) -> Created | JSONResponse:  # type: ignore[valid-type]
        if clinician_only:
            _clinician(viewer)
        body = _strict(body, raw)
        return _save(session, viewer, patient_id, kind, lambda patient: update_entry(
            session, viewer.user, patient, kind, entry_id, body, **services.entry_extra(kind, body)))

    def remove(patient_id: PatientId, entry_id: RowId, session: Tx, viewer: ApiWriterDep) -> Response:
        if clinician_only:
            _clinician(viewer)
        patient = patient_for(session, viewer.user, patient_id, what, action="update")
        delete_entry(session, viewer.user, patient, kind, entry_id)
        return Response(status_code=204)

    add.__annotations__["body"] = edit.__annotations__["body"] = model  # a local type: resolved here, not by name
    path = f"/patients/{{patient_id}}/{kind}"
    router.post(path, response_model=Created, status_code=201, name=f"add_{what.replace(' ', '_')}",
                summary=f"Add a {what} entry (warnings list unusual values)")(add)
    router.put(path + "/{entry_id}", response_model=Created, name=f"edit_{what.replace(' ', '_')}",
               summary=f"Replace a {what} entry (same checks as a new one; audited with the fields changed)")(edit)
    router.delete(path + "/{entry_id}", status_code=204, response_class=Response,
                  name=f"delete_{what.replace(' ', '_')}", summary=f"Delete a {what} entry (audited)")(remove)


for _kind, _form in ENTRY_FORMS.items():  # the same kinds, input models and roles as the clinician's forms
    _entry_routes(_kind, _form.model, _form.clinician_only)


@router.get("/patients/{patient_id}/assessment")
async def patient_assessment(request: Request, patient_id: PatientId, viewer: ViewerDep) -> dict[str, Any]:
    """``osteotwin assess --json`` on the stored record."""
    patient = await in_thread(read_patient, request, viewer, patient_id, "assessment")
    return await run_compute(request, viewer.user_id, services.assessment, patient)


@router.get("/patients/{patient_id}/projection")
async def patient_projection(
    request: Request, patient_id: PatientId, viewer: ViewerDep,
    regimens: Annotated[list[str] | None, Query(max_length=len(services.REGIMENS),
                                                description=f"any of {', '.join(services.REGIMENS)}")] = None,
) -> dict[str, Any]:
    """Five-year trajectories (``simulate`` output) under the comparison regimens that apply to her (or the chosen
    ones), from one batch; the table per regimen; her personal twin's bands once two scans at a site exist."""
    chosen = [r for r in (regimens or list(services.REGIMENS)) if r in services.REGIMENS]
    if regimens and len(chosen) != len(regimens):
        unknown = next(r for r in regimens if r not in services.REGIMENS)
        raise InputError("regimens", unknown[:40], f"any of {', '.join(services.REGIMENS)}")
    patient = await in_thread(read_patient, request, viewer, patient_id, "projection")
    return await run_compute(request, viewer.user_id, functools.partial(services.projection, wait=True, narrowing=True),
                             patient, chosen)


@router.get("/patients/{patient_id}/plan")
async def patient_plan(request: Request, patient_id: PatientId, viewer: ViewerDep) -> dict[str, Any]:
    """``osteotwin plan --json`` on a profile built from the stored record."""
    patient = await in_thread(read_patient, request, viewer, patient_id, "plan")
    return await run_compute(request, viewer.user_id, services.lifestyle_plan, patient)


@router.get("/patients/{patient_id}/nutrients")
def patient_nutrients(patient_id: PatientId, session: Tx, viewer: ViewerDep, date: dt.date | None = None) -> dict[str, Any]:
    """One day's nutrient totals against the targets."""
    patient = patient_for(session, viewer.user, patient_id, "nutrients")
    return services.day_nutrients(patient, date or dt.date.today())


@router.get("/patients/{patient_id}/fhir")
def patient_fhir(patient_id: PatientId, session: Tx, viewer: ViewerDep) -> dict[str, Any]:
    """The record as a FHIR R4 Bundle."""
    return services.fhir_bundle(patient_for(session, viewer.user, patient_id, "fhir bundle", action="export"))


class FhirImportResult(PatientSummary):
    created: bool
    report: dict[str, Any]


@router.post("/fhir/import", response_model=FhirImportResult, status_code=201)
async def fhir_import(request: Request, viewer: ApiWriterDep, bundle: Annotated[dict[str, Any], Body()],
                      response: Response) -> FhirImportResult:
    """Import a FHIR Bundle for the signed-in clinician: a new patient (201), or her patient with the same
    MRN updated (200); ``report`` lists what was added, changed, noted and skipped. The conversion is
    cheap (no engine) and runs in one short transaction on a worker thread."""
    _clinician(viewer)
    result = await in_thread(_import_bundle, request, viewer, bundle)
    if not result.created:
        response.status_code = 200
    return result


def _import_bundle(request: Request, viewer: Viewer, bundle: dict[str, Any]) -> FhirImportResult:
    with request.app.state.database.transaction() as session:
        patient, created, report = services.import_bundle(session, viewer.user, bundle)
        audit(session, viewer.user_id, "import", patient.id, "fhir bundle")
        return FhirImportResult(id=patient.id, name=patient.name, birth_date=patient.birth_date, created=created,
                                report=report.model_dump())


@router.get("/patients/{patient_id}/audit")
def patient_audit(patient_id: PatientId, session: Tx, viewer: ViewerDep) -> list[dict[str, Any]]:
    """Who read or wrote this record, and when (clinicians only)."""
    _clinician(viewer)
    patient = patient_for(session, viewer.user, patient_id, "audit trail")
    return [{"at": e.at.isoformat(), "user_id": e.user_id, "action": e.action, "what": e.what}
            for e in audit_trail(session, patient.id)]


@router.get("/foods/search")
def foods_search(viewer: ViewerDep, q: Annotated[str, Query(min_length=1, max_length=100)]) -> list[dict[str, Any]]:
    """USDA foods matching the words (``osteotwin foods search --json``); the words need at least
    letter a-z or digit 0-9 (the USDA descriptions are English)."""
    if not services.searchable(q):
        raise InputError("q", q[:40], "words with at least one letter a-z or digit 0-9")
    return services.food_search(q)


# Bounds on one web request's engine work (ours): the CLI accepts more, a shared server does not.
API_MAX_MONTHS = 240
API_MAX_DOSES = 1000  # per bone agent, explicit or from its schedule
API_MAX_TOTAL_DOSES = 2000  # over all bone agents of one scenario
API_MAX_BONE_AGENTS = 8
API_MAX_ENDOCRINE_COURSES = 8


class WebBoneAgent(BoneAgent):
    doses: list[Dose] | None = Field(None, max_length=API_MAX_DOSES,
                                             description=f"explicit doses (at most {API_MAX_DOSES})")


class WebScenario(Scenario):
    """A Scenario as the web API accepts it: the engine's contract with bounds on the work
    (at most 240 months, 8 bone agents, 8 endocrine courses, 1,000 doses per agent, 2,000 in all)
    and strict JSON types (numbers must be numbers: ``false`` is not a T-score)."""

    model_config = ConfigDict(title="WebScenario")

    months: float = Field(60, ge=1, le=API_MAX_MONTHS, description=f"Horizon in months (1 to {API_MAX_MONTHS}).")
    bone_agents: list[WebBoneAgent] = Field(default_factory=list, max_length=API_MAX_BONE_AGENTS)
    endocrine_therapy: list[EndocrineTherapy] = Field(default_factory=list, max_length=API_MAX_ENDOCRINE_COURSES)


def check_engine_work(scenario: Scenario) -> None:
    """Refuse scenarios that would tie up the server (very long horizons, thousands of doses)."""
    if scenario.months > API_MAX_MONTHS:
        raise InputError("months", scenario.months, f"1 to {API_MAX_MONTHS} months through the web API")
    if len(scenario.bone_agents) > API_MAX_BONE_AGENTS:
        raise InputError("bone_agents", f"{len(scenario.bone_agents)} agents",
                         f"at most {API_MAX_BONE_AGENTS} bone agents through the web API")
    total = 0.0
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
        total += count
    if total > API_MAX_TOTAL_DOSES:
        raise InputError("bone_agents", f"{total:.0f} doses",
                         f"at most {API_MAX_TOTAL_DOSES} doses over all agents through the web API")


def _simulate(scenario: Scenario) -> dict[str, Any]:
    result = services.as_json(simulate_one(scenario))
    result.setdefault("warnings", [])
    result["warnings"] = list(dict.fromkeys([*result["warnings"], *scenario_warnings(scenario)]))
    return result


@router.post("/simulate")
async def simulate(request: Request, viewer: ViewerDep, scenario: WebScenario, raw: RawBody) -> dict[str, Any]:
    """``osteotwin simulate --json``: one Scenario in, one Trajectory out (no record is touched).
    Through the web API the horizon is 1-240 months, at most 8 bone agents of at most 1,000 doses
    each (2,000 in all); numbers must be JSON numbers. Rate limited per account."""
    strict = WebScenario.model_validate_json(raw, strict=True)  # refuses true/false and "1" as numbers
    check_engine_work(strict)
    return await run_compute(request, viewer.user_id, _simulate, Scenario.model_validate(strict.model_dump()))


def _assess(record: PatientRecord) -> dict[str, Any]:
    return services.as_json(assess_record(record))


@router.post("/assess")
async def assess(request: Request, viewer: ViewerDep, record: Annotated[dict[str, Any], Body()],
                 raw: RawBody) -> dict[str, Any]:
    """``osteotwin assess --json`` on a posted record (no record is stored). Rate limited per account."""
    parsed = PatientRecord.model_validate_json(raw, strict=True)
    return await run_compute(request, viewer.user_id, _assess, parsed)
