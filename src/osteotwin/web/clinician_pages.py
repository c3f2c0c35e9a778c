"""Clinician pages: patient list and search, new patient, overview (DXA history with LSC band,
T-scores, medications, labs, alerts), assessment, projection, printable plan, FHIR import/export,
and the audit trail of a record."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.accounts import create_user, issue_link, may_invite, utcnow
from osteotwin.records.audit import audit, audit_trail
from osteotwin.records.models import AlertAcknowledgement, OneTimeLink, Patient, User
from osteotwin.records.patients import (
    ENTRY_ADDERS,
    ENTRY_KINDS,
    completed_years,
    create_patient,
    current_medications,
    delete_entry,
    entry_for,
    entry_warnings,
    latest_t_scores,
    list_patients,
    patient_for,
    readable_dxa,
    update_entry,
)
from osteotwin.records.schemas import PatientIn
from osteotwin.web import services
from osteotwin.web.charts import FALLBACK_LSC_SOURCE, dxa_history_figure, lsc_by_site, projection_figures
from osteotwin.web.compute import in_thread, run_compute
from osteotwin.web.deps import (
    ClinicianDep,
    FormDep,
    PatientId,
    RowId,
    Tx,
    Viewer,
    ViewerDep,
    check_form_csrf,
    load_record,
    read_patient,
)
from osteotwin.web.forms import ENTRY_FORMS, field_errors, form_fields, form_values, parse_form
from osteotwin.web.rendering import render
from osteotwin.web.take_home import plan_pdf, take_home_context

router = APIRouter(include_in_schema=False)
MAX_FHIR_UPLOAD_BYTES = 5_000_000


@router.get("/patients")
def patient_list(request: Request, session: Tx, viewer: ClinicianDep,
                 q: Annotated[str, Query(max_length=100)] = "") -> Response:
    patients = list_patients(session, viewer.user, q[:100])
    rows = [{"patient": p, "age": completed_years(p.birth_date), "t_scores": latest_t_scores(p),
             "last_dxa": max((r.date for r in p.dxa_results), default=None)} for p in patients]
    return render(request, "patients.html", {"rows": rows, "q": q[:100]})


@router.get("/patients/new")
def new_patient_page(request: Request, viewer: ClinicianDep) -> Response:
    return render(request, "patient_new.html", {})


@router.post("/patients/new")
def new_patient(request: Request, session: Tx, viewer: ClinicianDep, form: FormDep) -> Response:
    """Create a patient; a refused form comes back as typed with the error next to each field (422)."""
    check_form_csrf(viewer, form)
    try:
        data = parse_form(PatientIn, form)
    except ValidationError as error:
        errors = field_errors(error, PatientIn)
        audit(session, viewer.user_id, "denied", None, f"patient: refused ({', '.join(sorted(errors))})")
        values = {name: value[:200] for name, value in form.items() if name in PatientIn.model_fields}
        return render(request, "patient_new.html", {"values": values, "errors": errors}, status_code=422)
    patient = create_patient(session, viewer.user, data)
    return RedirectResponse(f"/patients/{patient.id}", status_code=303)  # her overview confirms it


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
    warnings = entry_warnings(patient)
    return render(request, "patient_overview.html", {
        "patient": patient, "age": completed_years(patient.birth_date), "t_scores": latest_t_scores(patient),
        "current": current_medications(patient), "assessment": assessment,
        "card_alerts": card_alerts(assessment, patient),
        "monitoring": monitoring, "lsc": lsc, "fallback_lsc_source": FALLBACK_LSC_SOURCE,
        "dxa_figure": dxa_history_figure(patient, lsc, personal) if patient.dxa_results else None,
        "personal": personal,
        "forms": {kind: form_fields(kind) for kind in ("dxa", "labs", "medications")},
        "entry_warnings": warnings, "record_notes": readable_dxa(patient)[1],
        "confirmation": _confirmation(request, warnings),
        "recent_logs": _recent_logs(patient),
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


_ENTRY_REFERENCE = re.compile(r"^([a-z-]{3,20})-([0-9]{1,10})$")


def _confirmation(request: Request, warnings: dict[str, list[str]]) -> dict[str, Any] | None:
    """What the overview confirms after a save (``?saved=dxa-12``) or a deletion (``?deleted=...``),
    with the warnings of the saved entry."""
    for action in ("saved", "deleted"):
        match = _ENTRY_REFERENCE.match(request.query_params.get(action, ""))
        if match and match.group(1) in ENTRY_FORMS:
            title = ENTRY_FORMS[match.group(1)].title
            return {"text": f"{title[:1].upper() + title[1:]} {action} (entry {match.group(2)}).",
                    "warnings": warnings.get(match.group(0), []) if action == "saved" else []}
    return None


def _recent_logs(patient: Patient, days: int = 28) -> list[dict[str, Any]]:
    """Her food and exercise entries of the last ``days`` days, newest first, for edit or delete."""
    since = dt.date.today() - dt.timedelta(days=days)
    rows = [{"kind": "food-log", "row": e, "text": f"{e.food_name or e.food_id}: {e.grams:g} g"}
            for e in patient.food_log if e.date >= since]
    rows += [{"kind": "exercise-log", "row": e, "text": e.exercise.replace("_", " ") + "".join(
        part for part in (f", {e.minutes:g} min" if e.minutes else "", f", {e.sets} x {e.reps}" if e.sets and e.reps
                          else "", f" at {e.load_kg:g} kg" if e.load_kg else ""))}
             for e in patient.exercise_log if e.date >= since]
    return sorted(rows, key=lambda item: (item["row"].date, item["kind"], item["row"].id), reverse=True)


def _entry_page(request: Request, patient: Patient, kind: str, values: dict[str, str], errors: dict[str, str],
                entry_id: int | None = None, status_code: int = 200) -> Response:
    """The form of one entry (new after a refusal, or an edit), as typed, with errors next to the fields."""
    title = ENTRY_FORMS[kind].title
    base = f"/patients/{patient.id}/{kind}"
    return render(request, "record_form.html", {
        "patient": patient, "title": title[:1].upper() + title[1:],
        "heading": f"Edit {title} (entry {entry_id})" if entry_id else f"Add a {title}",
        "action": f"{base}/{entry_id}/edit" if entry_id else base,
        "delete_action": f"{base}/{entry_id}/delete" if entry_id else None,
        "fields": form_fields(kind), "values": values, "errors": errors,
        "submit_label": "Save changes" if entry_id else f"Save {title}",
    }, status_code=status_code)


def _entry_write(request: Request, session: Session, viewer: Viewer, patient_id: int, kind: str,
                 form: dict[str, str], entry_id: int | None = None) -> Response:
    """Save a new entry (``entry_id`` None) or an edit. A refused form comes back as typed with the
    error next to its field (422; the refusal is audited with the field name only, nothing is
    written); a saved one redirects to the overview, which confirms it and shows its warnings."""
    check_form_csrf(viewer, form)
    entry = ENTRY_FORMS[kind]
    what = ENTRY_KINDS[kind][0]
    patient = patient_for(session, viewer.user, patient_id, f"{what} form", lock=True)
    values = {f.name: form.get(f.name, "")[:100] for f in entry.fields}
    try:
        data = parse_form(entry.model, form)
        extra = services.entry_extra(kind, data)
        saved = (update_entry(session, viewer.user, patient, kind, entry_id, data, **extra) if entry_id
                 else ENTRY_ADDERS[kind](session, viewer.user, patient, data, **extra))
    except (InputError, ValidationError) as error:  # refused before anything was written
        errors = field_errors(error, entry.model)
        audit(session, viewer.user_id, "denied", patient_id, f"{what}: refused ({', '.join(sorted(errors))})")
        return _entry_page(request, patient, kind, values, errors, entry_id, status_code=422)
    return RedirectResponse(f"/patients/{patient_id}?saved={kind}-{saved.id}#saved", status_code=303)


def _entry_routes(kind: str) -> None:
    """New, edit and delete of one kind of entry, each at its own path (``/patients/{id}/dxa`` ...)."""
    what = ENTRY_KINDS[kind][0]
    base = f"/patients/{{patient_id}}/{kind}"

    def post_entry(request: Request, patient_id: PatientId, session: Tx, viewer: ClinicianDep,
                   form: FormDep) -> Response:
        return _entry_write(request, session, viewer, patient_id, kind, form)

    def edit_page(request: Request, patient_id: PatientId, entry_id: RowId, session: Tx,
                  viewer: ClinicianDep) -> Response:
        patient = patient_for(session, viewer.user, patient_id, what)
        row = entry_for(session, patient, kind, entry_id)
        return _entry_page(request, patient, kind, form_values(row, kind), {}, entry_id)

    def edit(request: Request, patient_id: PatientId, entry_id: RowId, session: Tx, viewer: ClinicianDep,
             form: FormDep) -> Response:
        return _entry_write(request, session, viewer, patient_id, kind, form, entry_id)

    def delete(patient_id: PatientId, entry_id: RowId, session: Tx, viewer: ClinicianDep,
               form: FormDep) -> Response:
        check_form_csrf(viewer, form)
        patient = patient_for(session, viewer.user, patient_id, what, action="update")
        delete_entry(session, viewer.user, patient, kind, entry_id)
        return RedirectResponse(f"/patients/{patient_id}?deleted={kind}-{entry_id}#saved", status_code=303)

    router.post(base)(post_entry)
    router.get(base + "/{entry_id}/edit")(edit_page)
    router.post(base + "/{entry_id}/edit")(edit)
    router.post(base + "/{entry_id}/delete")(delete)


for _kind in ENTRY_FORMS:
    _entry_routes(_kind)


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
    return {"patient": patient, "plan": plan, "assessment": assessment, "age": completed_years(patient.birth_date),
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
