"""Patient pages: today's nutrients against targets from her food log (with USDA food search),
the week's exercise against the plan with the next loads, and her bone density history and
projection in plain words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from osteotwin.errors import InputError
from osteotwin.records.audit import audit
from osteotwin.records.models import Patient
from osteotwin.records.patients import add_exercise, add_food, delete_food, latest_t_scores, own_patient
from osteotwin.records.schemas import ExerciseLogIn, FoodLogIn
from osteotwin.web import services
from osteotwin.web.charts import dxa_history_figure, lsc_by_site
from osteotwin.web.compute import in_thread, run_compute
from osteotwin.web.deps import Forbidden, FormDep, RowId, Tx, Viewer, ViewerDep, check_form_csrf, load_record
from osteotwin.web.forms import parse_form
from osteotwin.web.rendering import SITE_LABELS, render

router = APIRouter(include_in_schema=False)

# WHO 1994 diagnostic categories by T-score (Kanis et al., J Bone Miner Res 1994).
WHO_WORDS = [(-2.5, "in the osteoporosis range"), (-1.0, "in the low bone mass (osteopenia) range")]


def _me(session: Session, viewer: Viewer, what: str, action: str = "read") -> Patient:
    if viewer.is_clinician:
        raise Forbidden()
    patient = own_patient(session, viewer.user)
    if patient is None:
        raise Forbidden()
    audit(session, viewer.user.id, action, patient.id, what)
    return patient


@router.get("/me")
def today_page(request: Request, session: Tx, viewer: ViewerDep, q: str = "", day: str = "") -> Response:
    patient = _me(session, viewer, "food log and nutrients")
    try:
        date = dt.date.fromisoformat(day) if day else dt.date.today()
    except ValueError:
        raise InputError("day", day, "a date as YYYY-MM-DD") from None
    nutrients = services.day_nutrients(patient, date)
    results = services.food_search(q[:100]) if q.strip() else []
    entries = [e for e in patient.food_log if e.date == date]
    return render(request, "me_today.html", {"patient": patient, "date": date, "nutrients": nutrients,
                                             "entries": entries, "q": q[:100], "results": results})


@router.post("/me/food")
def log_food(session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    patient = _me(session, viewer, "food log", action="create")
    form = {"date": dt.date.today().isoformat(), **form}
    entry = parse_form(FoodLogIn, form)
    name = services.food_name(entry.food_id)
    add_food(session, viewer.user, patient, entry, food_name=name)
    return RedirectResponse(f"/me?day={entry.date.isoformat()}", status_code=303)


@router.post("/me/food/{entry_id}/delete")
def remove_food(entry_id: RowId, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    patient = _me(session, viewer, "food log", action="delete")
    delete_food(session, viewer.user, patient, entry_id)
    return RedirectResponse("/me", status_code=303)


def week_summary(patient: Patient, today: dt.date) -> dict[str, Any]:
    """The last 7 days' exercise by kind: sessions (days with that kind) and minutes."""
    start = today - dt.timedelta(days=6)
    rows = sorted((e for e in patient.exercise_log if start <= e.date <= today), key=lambda e: e.date)
    summary: dict[str, dict[str, float]] = {}
    for kind in ("aerobic", "impact", "resistance", "balance"):
        kind_rows = [e for e in rows if e.kind == kind]
        summary[kind] = {"sessions": len({e.date for e in kind_rows}), "minutes": sum(e.minutes for e in kind_rows)}
    return {"start": start, "rows": rows, "by_kind": summary}


def _read_me(request: Request, viewer: Viewer, what: str) -> Patient:
    """Her own record, read (and audited) in a short transaction, returned detached for computing."""
    with request.app.state.database.transaction() as session:
        return load_record(_me(session, viewer, what))


@router.get("/me/exercise")
async def exercise_page(request: Request, viewer: ViewerDep) -> Response:
    patient = await in_thread(_read_me, request, viewer, "exercise log")
    return await run_compute(request, viewer.user_id, _exercise_page, request, patient)


def _exercise_page(request: Request, patient: Patient) -> Response:
    today = dt.date.today()
    plan = services.lifestyle_plan(patient)
    planned = ((plan or {}).get("regimen") or {}).get("exercise") or {}
    loads = ((plan or {}).get("exercise_progression") or {}).get("loads") or []
    library = services.exercise_library()
    return render(request, "me_exercise.html", {"patient": patient, "week": week_summary(patient, today),
                                                "planned": planned, "plan": plan,
                                                "loads": loads, "library": library or []})


@router.post("/me/exercise")
def log_exercise(session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    patient = _me(session, viewer, "exercise log", action="create")
    entry = parse_form(ExerciseLogIn, {"date": dt.date.today().isoformat(), **form})
    add_exercise(session, viewer.user, patient, entry, services.exercise_kind(entry.exercise))
    return RedirectResponse("/me/exercise", status_code=303)


# Site names for the patient (her pages avoid vertebra codes such as "L1-L4").
PLAIN_SITE = {"lumbar_spine": "lower spine", "total_hip": "hip"}


def plain_words(patient: Patient, projection: dict[str, Any] | None) -> list[str]:
    """Her bone density and the projection in plain sentences."""
    sentences: list[str] = []
    for site, t in latest_t_scores(patient).items():
        words = next((w for limit, w in WHO_WORDS if t <= limit), "in the normal range")
        rows = sorted((r for r in patient.dxa_results if r.site == site), key=lambda r: r.date)
        change = ""
        if len(rows) > 1:
            pct = 100 * (rows[-1].bmd_g_cm2 / rows[0].bmd_g_cm2 - 1)
            years = max((rows[-1].date - rows[0].date).days / 365.25, 0.1)
            direction = "lower" if pct < 0 else "higher"
            change = (f" It is {abs(pct):.1f}% {direction} than at your first scan {years:.1f} years ago.")
        sentences.append(f"Your {SITE_LABELS[site].lower()} bone density (T-score {t:+.1f}) is {words}.{change}")
    if projection:
        regimens = projection["regimens"]
        current = regimens.get("continue")
        plan = regimens.get("lifestyle_plan")
        for site in ("lumbar_spine", "total_hip"):
            if current:
                a = current["trajectory"][f"{site}_bmd_pct_change"][-1]
                with_plan = (f", and by {plan['trajectory'][f'{site}_bmd_pct_change'][-1]:+.1f}% if you also follow "
                             "your diet and exercise plan" if plan else "")
                sentences.append(
                    f"For an average woman like you, the model expects your {PLAIN_SITE[site]} density to change by "
                    f"{a:+.1f}% over the "
                    f"next 5 years on your current treatment{with_plan}. These are estimates from a computer model, "
                    "not promises.")
    return sentences


def range_words(personal: dict[str, Any]) -> list[str]:
    """Her personal range in plain sentences: where her T-score is likely to be in 5 years on her current
    treatment (the personal twin's 80% range), and how that range narrowed with each scan."""
    if personal.get("status") == "pending":
        return ["Your own range is being worked out from your scans; this page updates itself in a moment."]
    if personal.get("status") != "fitted":
        return ["Your range is not personal yet: with one scan of each site, the estimate is for an average woman "
                "like you. After your next scan it will use your own rate of change."]
    sentences = []
    narrowing = personal.get("narrowing") or []
    for site in ("lumbar_spine", "total_hip"):
        steps = [step[site] for step in narrowing]
        if not steps:
            continue
        now = steps[-1]
        sentence = (f"Your own range, going by how your own scans have changed: 5 years after your latest scan, "
                    f"your {PLAIN_SITE[site]} T-score is likely to be between {now['p10']:+.1f} and {now['p90']:+.1f} (8 times in 10), most likely about "
                    f"{now['p50']:+.1f}.")
        widths = [step["p90"] - step["p10"] for step in steps]
        if len(widths) > 1:
            history = ", ".join(f"{w:.1f} after scan {i}" for i, w in enumerate(widths, start=1))
            trend = "narrowed" if widths[-1] < widths[0] else "did not narrow"
            sentence += (f" With each scan the range {trend} (its width in T-score points: {history}): "
                         "your own scans tell the model more about you.")
        sentences.append(sentence)
    return sentences


@router.get("/me/bone")
async def bone_page(request: Request, viewer: ViewerDep) -> Response:
    patient = await in_thread(_read_me, request, viewer, "bone density history and projection")
    return await run_compute(request, viewer.user_id, _bone_page, request, patient)


def _bone_page(request: Request, patient: Patient) -> Response:
    scanned = all(site in latest_t_scores(patient) for site in services.ENGINE_SITES)
    projection = services.projection(patient, ["continue", "lifestyle_plan"], narrowing=True) if scanned else None
    monitoring = services.dxa_monitoring(patient)
    return render(request, "me_bone.html", {
        "patient": patient, "sentences": plain_words(patient, projection), "projection": projection,
        "range_sentences": (range_words(projection["personal"]) if projection else
                            ["To look 5 years ahead, the model needs a scan of both your lower spine and your hip."]
                            if patient.dxa_results else []),
        "pending": bool(projection and projection["pending"]),
        "dxa_figure": dxa_history_figure(patient, lsc_by_site(monitoring)),
    })


@router.get("/me/plan")
def my_plan(session: Tx, viewer: ViewerDep) -> Response:
    patient = _me(session, viewer, "plan")
    return RedirectResponse(f"/patients/{patient.id}/plan", status_code=303)
