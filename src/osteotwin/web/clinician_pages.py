"""Clinician pages: patient list and search, new patient, overview (DXA history with LSC band,
T-scores, medications, labs, alerts), assessment, projection, printable plan, FHIR import/export,
and the audit trail of a record."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.accounts import create_user, issue_link, may_invite, utcnow
from osteotwin.records.audit import audit, audit_trail
from osteotwin.records.models import AlertAcknowledgement, OneTimeLink, Patient, User
from osteotwin.records.patients import (
    add_dxa,
    add_lab,
    add_medication,
    age_years,
    create_patient,
    current_medications,
    latest_t_scores,
    list_patients,
    patient_for,
)
from osteotwin.records.schemas import LAB_UNITS, DxaIn, LabIn, MedicationIn, PatientIn
from osteotwin.web import services
from osteotwin.web.charts import FALLBACK_LSC_SOURCE, dxa_history_figure, lsc_by_site, projection_figures
from osteotwin.web.compute import in_thread, run_compute
from osteotwin.web.deps import (
    ClinicianDep,
    FormDep,
    PatientId,
    Tx,
    Viewer,
    ViewerDep,
    check_form_csrf,
    load_record,
    read_patient,
)
from osteotwin.web.forms import parse_form
from osteotwin.web.rendering import render
from osteotwin.web.take_home import plan_pdf, take_home_context

router = APIRouter(include_in_schema=False)
MAX_FHIR_UPLOAD_BYTES = 5_000_000


@router.get("/patients")
def patient_list(request: Request, session: Tx, viewer: ClinicianDep,
                 q: Annotated[str, Query(max_length=100)] = "") -> Response:
    patients = list_patients(session, viewer.user, q[:100])
    rows = [{"patient": p, "age": age_years(p.birth_date), "t_scores": latest_t_scores(p),
             "last_dxa": max((r.date for r in p.dxa_results), default=None)} for p in patients]
    return render(request, "patients.html", {"rows": rows, "q": q[:100]})


@router.get("/patients/new")
def new_patient_page(request: Request, viewer: ClinicianDep) -> Response:
    return render(request, "patient_new.html", {})


@router.post("/patients/new")
def new_patient(session: Tx, viewer: ClinicianDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    patient = create_patient(session, viewer.user, parse_form(PatientIn, form))
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)


@router.get("/patients/{patient_id}")
async def overview(request: Request, patient_id: PatientId, viewer: ClinicianDep) -> Response:
    patient = await in_thread(read_patient, request, viewer, patient_id, "overview")
    return await run_compute(request, viewer.user_id, _overview_page, request, patient)


def _overview_page(request: Request, patient: Patient) -> Response:
    assessment = services.assessment(patient)
    monitoring = services.dxa_monitoring(patient)
    lsc = lsc_by_site(monitoring)
    services.warm(patient)  # the plan, the fit and its narrowing of this record version, in the background
    personal = services.personal_twin(patient)
    invite = request.query_params.get("invite")
    return render(request, "patient_overview.html", {
        "patient": patient, "age": age_years(patient.birth_date), "t_scores": latest_t_scores(patient),
        "current": current_medications(patient), "assessment": assessment,
        "card_alerts": card_alerts(assessment, patient),
        "monitoring": monitoring, "lsc": lsc, "fallback_lsc_source": FALLBACK_LSC_SOURCE,
        "dxa_figure": dxa_history_figure(patient, lsc, personal), "lab_units": LAB_UNITS, "personal": personal,
        "invite_link": f"{request.app.state.public_url}/set-password/{invite}" if invite else None,
    })


def card_alerts(assessment: dict[str, Any], patient: Patient) -> list[dict[str, Any]]:
    """The assessment's alerts for the decision card: each with ``acknowledged_at`` (None when not
    acknowledged for its current text), the acknowledged ones last, each group by urgency."""
    seen = {(a.alert_id, a.fingerprint): a.acknowledged_at for a in patient.alert_acknowledgements}
    alerts = [{**alert, "acknowledged_at": seen.get((alert["id"], alert["fingerprint"]))}
              for alert in assessment["alerts"]]
    return sorted(alerts, key=lambda alert: alert["acknowledged_at"] is not None)


@router.post("/patients/{patient_id}/alerts/acknowledge")
def acknowledge_alert(patient_id: PatientId, session: Tx, viewer: ClinicianDep, form: FormDep) -> Response:
    """Mark an alert of the current assessment as seen (audited); it shows as new again when its text changes."""
    check_form_csrf(viewer, form)
    patient = patient_for(session, viewer.user, patient_id, "alert acknowledgement", action="create")
    alert_id, fingerprint = form.get("alert_id", "")[:80], form.get("fingerprint", "")[:16]
    current = {(a["id"], a["fingerprint"]) for a in services.assessment(load_record(patient))["alerts"]}
    if (alert_id, fingerprint) not in current:
        raise InputError("alert_id", alert_id, "an alert of this patient's current assessment (reload the page)")
    if (alert_id, fingerprint) not in {(a.alert_id, a.fingerprint) for a in patient.alert_acknowledgements}:
        session.add(AlertAcknowledgement(patient_id=patient.id, alert_id=alert_id, fingerprint=fingerprint,
                                         acknowledged_by=viewer.user_id))
    page = "/assessment" if form.get("page") == "assessment" else ""
    return RedirectResponse(f"/patients/{patient_id}{page}#decision", status_code=303)


def _write(request: Request, session: Session, viewer: Viewer, patient_id: int, form: dict[str, str],
           model: type, add) -> Response:  # noqa: ANN001
    check_form_csrf(viewer, form)
    patient = patient_for(session, viewer.user, patient_id, model.__name__, action="update")
    add(session, viewer.user, patient, parse_form(model, form))
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.post("/patients/{patient_id}/dxa")
def post_dxa(request: Request, patient_id: PatientId, session: Tx, viewer: ClinicianDep, form: FormDep) -> Response:
    return _write(request, session, viewer, patient_id, form, DxaIn, add_dxa)


@router.post("/patients/{patient_id}/labs")
def post_lab(request: Request, patient_id: PatientId, session: Tx, viewer: ClinicianDep, form: FormDep) -> Response:
    return _write(request, session, viewer, patient_id, form, LabIn, add_lab)


@router.post("/patients/{patient_id}/medications")
def post_medication(request: Request, patient_id: PatientId, session: Tx, viewer: ClinicianDep,
                    form: FormDep) -> Response:
    return _write(request, session, viewer, patient_id, form, MedicationIn, add_medication)


@router.post("/patients/{patient_id}/invite")
def invite_patient(request: Request, patient_id: PatientId, session: Tx, viewer: ClinicianDep,
                   form: FormDep) -> Response:
    """Create the patient's account (no password) and a one-time link for her to set one. A new link
    is issued only while the account was never activated (no password set, never signed in): a link
    for a working account would let whoever holds it take the account over."""
    check_form_csrf(viewer, form)
    patient = patient_for(session, viewer.user, patient_id, "patient account", action="update")
    if patient.account_user_id is None:
        account = create_user(session, email=form.get("email", ""), display_name=patient.name, role="patient")
        patient.account_user_id = account.id
    account = session.get(User, patient.account_user_id)
    if not may_invite(account):
        audit(session, viewer.user_id, "denied", patient.id, "invitation for an activated account")
        return render(request, "error.html", {"status": 409, "message": (
            "This patient already has a working account, so no new invitation link is issued (it would let "
            "whoever holds it take the account over). She can change her password when signed in.")},
            status_code=409)
    for old in session.scalars(select(OneTimeLink).where(OneTimeLink.user_id == account.id,
                                                         OneTimeLink.purpose == "set_password",
                                                         OneTimeLink.used_at.is_(None))):
        old.used_at = utcnow()  # only the newest invitation link works
    token = issue_link(session, "set_password", account.id)
    audit(session, viewer.user_id, "invite", patient.id, "patient account invitation")
    return RedirectResponse(f"/patients/{patient_id}?invite={token}", status_code=303)


@router.get("/patients/{patient_id}/assessment")
async def assessment_page(request: Request, patient_id: PatientId, viewer: ClinicianDep) -> Response:
    patient = await in_thread(read_patient, request, viewer, patient_id, "assessment")
    return await run_compute(request, viewer.user_id, _assessment_page, request, patient)


def _assessment_page(request: Request, patient: Patient) -> Response:
    assessment = services.assessment(patient)
    return render(request, "assessment.html", {"patient": patient, "a": assessment,
                                               "card_alerts": card_alerts(assessment, patient),
                                               "a_json": json.dumps(assessment, indent=2)})


@router.get("/patients/{patient_id}/projection")
async def projection_page(request: Request, patient_id: PatientId, viewer: ClinicianDep) -> Response:
    patient = await in_thread(read_patient, request, viewer, patient_id, "projection")
    return await run_compute(request, viewer.user_id, _projection_page, request, patient)


def _projection_page(request: Request, patient: Patient) -> Response:
    if not all(site in latest_t_scores(patient) for site in services.ENGINE_SITES):
        return render(request, "projection.html", {"patient": patient, "result": None})
    result = services.projection(patient)
    return render(request, "projection.html", {
        "patient": patient, "result": result, "figures": projection_figures(result),
        "columns": services.TABLE_COLUMNS})


@router.get("/patients/{patient_id}/projection.csv")
async def projection_csv(request: Request, patient_id: PatientId, viewer: ClinicianDep) -> Response:
    """The projection table as CSV (services.projection_csv), with the personal ranges once fitted."""
    patient = await in_thread(read_patient, request, viewer, patient_id, "projection csv")
    result = await run_compute(request, viewer.user_id, functools.partial(services.projection, wait=True), patient)
    return Response(services.projection_csv(result), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="osteotwin-projection-{patient_id}.csv"'})


def plan_context(patient: Patient, clinician_name: str) -> dict[str, Any]:
    plan = services.lifestyle_plan(patient)
    assessment = services.assessment(patient)
    take_home = take_home_context(plan, assessment, has_scans=bool(patient.dxa_results), clinician_name=clinician_name)
    return {"patient": patient, "plan": plan, "assessment": assessment, "age": age_years(patient.birth_date),
            "th": take_home, "plan_json": json.dumps(plan, indent=2)}


def _clinician_name(request: Request, patient: Patient) -> str:
    with request.app.state.database.transaction() as session:
        return session.get(User, patient.clinician_id).display_name


@router.get("/patients/{patient_id}/plan")
async def plan_page(request: Request, patient_id: PatientId, viewer: ViewerDep) -> Response:
    patient = await in_thread(read_patient, request, viewer, patient_id, "plan")
    name = await in_thread(_clinician_name, request, patient)
    return await run_compute(request, viewer.user_id, _plan_page, request, patient, name)


def _plan_page(request: Request, patient: Patient, clinician_name: str) -> Response:
    return render(request, "plan.html", plan_context(patient, clinician_name))


@router.get("/patients/{patient_id}/plan.pdf")
async def plan_pdf_download(request: Request, patient_id: PatientId, viewer: ViewerDep) -> Response:
    """The printable plan as an A4 PDF (audited as an export of the plan)."""
    patient = await in_thread(read_patient, request, viewer, patient_id, "plan pdf", "export")
    name = await in_thread(_clinician_name, request, patient)
    return await run_compute(request, viewer.user_id, _plan_pdf, request, patient, name)


def _plan_pdf(request: Request, patient: Patient, clinician_name: str) -> Response:
    page = render(request, "plan.html", plan_context(patient, clinician_name))
    return Response(plan_pdf(page.body.decode()), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="bone-health-plan-{patient.id}.pdf"'})


@router.get("/patients/{patient_id}/fhir")
def fhir_export(patient_id: PatientId, session: Tx, viewer: ViewerDep) -> Response:
    patient = patient_for(session, viewer.user, patient_id, "fhir bundle", action="export")
    bundle = services.fhir_bundle(patient)
    return JSONResponse(bundle, media_type="application/fhir+json", headers={
        "Content-Disposition": f'attachment; filename="osteotwin-patient-{patient_id}.fhir.json"'})


@router.post("/patients/import-fhir")
async def fhir_import(request: Request, viewer: ClinicianDep, form: FormDep,
                      file: UploadFile | None = None) -> Response:
    """Upload a FHIR Bundle: creates the patient (or updates the one with the same MRN) in one short
    transaction on a worker thread, and shows the import report."""
    check_form_csrf(viewer, form)
    if file is None:
        raise InputError("file", None, "a FHIR Bundle (JSON file)")
    raw = await file.read(MAX_FHIR_UPLOAD_BYTES + 1)
    if len(raw) > MAX_FHIR_UPLOAD_BYTES:
        raise InputError("file", f"{len(raw)} bytes", f"a FHIR Bundle of at most {MAX_FHIR_UPLOAD_BYTES} bytes")
    try:
        bundle = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise InputError("file", "(not JSON)", "a FHIR Bundle in JSON") from None
    if not isinstance(bundle, dict):
        raise InputError("file", "(not an object)", "a FHIR Bundle in JSON")
    patient, created, report = await in_thread(_import_bundle, request, viewer, bundle, form.get("name", ""))
    return render(request, "fhir_import.html", {"patient": patient, "created": created, "report": report})


def _import_bundle(request: Request, viewer: Viewer, bundle: dict[str, Any], name: str):
    with request.app.state.database.transaction() as session:
        patient, created, report = services.import_bundle(session, viewer.user, bundle, name=name[:200])
        audit(session, viewer.user_id, "import", patient.id, "fhir bundle")
        return {"id": patient.id, "name": patient.name}, created, report


@router.get("/patients/{patient_id}/audit")
def audit_page(request: Request, patient_id: PatientId, session: Tx, viewer: ClinicianDep) -> Response:
    patient = patient_for(session, viewer.user, patient_id, "audit trail")
    return render(request, "audit.html", {"patient": patient, "events": audit_trail(session, patient.id)})
