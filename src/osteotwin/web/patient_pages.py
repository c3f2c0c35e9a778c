"""Patient pages: a day's nutrients against her targets from her food log (USDA food search that
forgives typos, amounts in household measures or grams, any past day, entries she can change or
remove), the week's exercise against the plan with the next loads and sessions she can change or
remove, and her bone density history and projection in plain words.

Amounts: a food is logged as a number of one of its USDA SR28 household measures (1 cup = 244 g of
low-fat milk, ``data/usda_sr_legacy_portions.csv.gz``) or in grams; the log stores grams
(``Portion.grams_for``), and a stored amount is shown back in the measure it was most likely entered in.
A refused form is shown again with what she typed and the error next to the field (status 422);
nothing is written. Every read, write and refusal is audited (``records/audit.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from osteotwin.catalog import AROMATASE_INHIBITORS, DAYS_PER_YEAR
from osteotwin.clinic.record import PatientRecord
from osteotwin.clinic.sources import cite
from osteotwin.errors import InputError
from osteotwin.lifestyle import get_food
from osteotwin.lifestyle.foods import Food, spelling_corrections
from osteotwin.records.audit import audit
from osteotwin.records.models import ExerciseLogEntry, FoodLogEntry, Patient
from osteotwin.records.patients import (
    add_exercise,
    add_food,
    current_medications,
    delete_exercise_session,
    delete_food_entry,
    endocrine_therapy,
    latest_t_scores,
    own_patient,
    update_exercise_session,
    update_food_entry,
)
from osteotwin.records.schemas import BONE_AGENTS, ExerciseLogIn, FoodLogIn
from osteotwin.scenario import format_validation_error
from osteotwin.web import services
from osteotwin.web.charts import dxa_history_figure, lsc_by_site
from osteotwin.web.compute import in_thread, run_compute
from osteotwin.web.deps import Forbidden, FormDep, RowId, Tx, Viewer, ViewerDep, check_form_csrf, load_record
from osteotwin.web.forms import parse_form
from osteotwin.web.rendering import SITE_LABELS, render

router = APIRouter(include_in_schema=False)

SITE_WORDS = {"lumbar_spine": "spine (lower back)", "total_hip": "hip", "femoral_neck": "hip (thigh-bone neck)"}
"""The DXA sites in her words."""

# WHO 1994 diagnostic categories by T-score (Kanis et al., J Bone Miner Res 1994).
WHO_WORDS = [(-2.5, "in the osteoporosis range"), (-1.0, "in the low bone mass (osteopenia) range")]

GRAMS = "g"
"""The amount unit choice meaning plain grams (the other choices are indexes into ``Food.portions``)."""

UNUSUAL_GRAMS_PER_ENTRY = 1000.0
"""Above this, a food entry is accepted but marked "check the amount" (ours: a litre of milk or a kilogram of
one food at once is possible but more often a typo, e.g. grams typed as a number of cups)."""

UNUSUAL_SESSION_MINUTES = 180.0
"""Above this, a session is accepted but marked "check the minutes" (ours: 3 hours of one exercise is possible,
e.g. a long walk, but rare in a bone-health plan of 30-60 minute sessions)."""

SAVED_WORDS = {"added": "Saved: added to your log.", "updated": "Saved: your changes are in the log.",
               "removed": "Removed from your log."}
"""The confirmation shown after a write (``?saved=`` on the page the form returns to)."""


class FoodAmountForm(BaseModel):
    """The food form: which food, which day, and how much, as ``quantity`` of one household measure
    (``portion`` = its index in ``Food.portions``) or of grams (``portion`` = "g")."""

    model_config = ConfigDict(extra="ignore")

    date: dt.date
    food_id: str = Field(pattern=r"^[0-9]{4,6}$")
    quantity: float = Field(gt=0, le=3000, description="how many of the measure, or grams")
    portion: str = Field(GRAMS, pattern=r"^(g|[0-9]{1,3})$", description="'g' or the index of a USDA measure")


def portion_choices(food: Food) -> list[dict[str, str]]:
    """The amount units offered for a food: its USDA measures, one unit each with its weight, then grams."""
    choices = [{"value": str(i), "label": f"{p.measure} ({p.grams_per_unit:.4g} g)"}
               for i, p in enumerate(food.portions)]
    return [*choices, {"value": GRAMS, "label": "grams"}]


def grams_of(food: Food, portion: str, quantity: float) -> float:
    """Grams in ``quantity`` of the chosen unit (a USDA measure of this food, or grams)."""
    if portion == GRAMS:
        return quantity
    index = int(portion)
    if index >= len(food.portions):
        allowed = ", ".join(f"{i} ({p.measure})" for i, p in enumerate(food.portions)) or "none"
        raise InputError("portion", portion, f"'g' or a measure of {food.food_id}: {allowed}")
    return round(food.portions[index].grams_for(quantity), 1)


def amount_in_measure(food: Food, grams: float) -> tuple[str, float]:
    """The unit (portion index or "g") and quantity a stored amount was most likely entered in: the first
    USDA measure of which ``grams`` is a whole number of quarters (0.25 to 20) to within the 0.1 g that
    ``grams_of`` rounds to, else grams."""
    for i, portion in enumerate(food.portions):
        quantity = round(4 * grams / portion.grams_per_unit) / 4
        if 0.25 <= quantity <= 20 and abs(portion.grams_for(quantity) - grams) <= 0.051:
            return str(i), quantity
    return GRAMS, grams


def amount_words(food: Food, grams: float) -> str:
    """A logged amount in words: "2 cup (488 g)", or "150 g"."""
    portion, quantity = amount_in_measure(food, grams)
    if portion == GRAMS:
        return f"{grams:.4g} g"
    return f"{quantity:g} {food.portions[int(portion)].measure} ({grams:.4g} g)"


def _me(session: Session, viewer: Viewer, what: str, action: str = "read") -> Patient:
    if viewer.is_clinician:
        raise Forbidden()
    patient = own_patient(session, viewer.user)
    if patient is None:
        raise Forbidden()
    audit(session, viewer.user.id, action, patient.id, what)
    return patient


def _day(day: str) -> dt.date:
    """The day a page shows (default today): an ISO date not after today."""
    if not day:
        return dt.date.today()
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise InputError("day", day[:20], "a date as YYYY-MM-DD") from None
    if date > dt.date.today() or date.year < 1900:
        raise InputError("day", day, f"a date from 1900-01-01 to today ({dt.date.today().isoformat()})")
    return date


def _refusal(error: InputError | ValidationError, form: dict[str, str]) -> dict[str, Any]:
    """A refused form for the page: the field to mark, the message, and what was typed."""
    if isinstance(error, InputError):
        field, message = error.field, str(error)
    else:
        first = error.errors()[0]
        field, message = str(first["loc"][0]) if first["loc"] else "input", format_validation_error(error)
    return {"field": field, "message": message, "typed": {k: v[:100] for k, v in form.items() if k != "csrf_token"}}


# --- food ---------------------------------------------------------------------------------------

def _food_page(request: Request, patient: Patient, date: dt.date, q: str = "", edit: int | None = None,
               saved: str = "", refused: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    q = q[:100]
    results = []
    if q.strip() and services.searchable(q):
        for found in services.food_search(q):
            food = get_food(found["food_id"])
            results.append({**found, "choices": portion_choices(food)})
    entries = []
    for entry in sorted((e for e in patient.food_log if e.date == date), key=lambda e: e.id):
        food = get_food(entry.food_id)
        portion, quantity = amount_in_measure(food, entry.grams)
        unusual = (f"Unusually large ({entry.grams:,.0f} g, more than {UNUSUAL_GRAMS_PER_ENTRY:,.0f} g): check the "
                   "amount." if entry.grams > UNUSUAL_GRAMS_PER_ENTRY else "")
        entries.append({"entry": entry, "words": amount_words(food, entry.grams), "portion": portion,
                        "quantity": quantity, "choices": portion_choices(food), "unusual": unusual})
    today = dt.date.today()
    return render(request, "me_today.html", {
        "patient": patient, "date": date, "nutrients": services.day_nutrients(patient, date),
        "entries": entries, "q": q, "results": results,
        "corrections": spelling_corrections(q) if results else {},
        "previous_day": date - dt.timedelta(days=1), "next_day": date + dt.timedelta(days=1) if date < today else None,
        "edit": edit, "saved": SAVED_WORDS.get(saved, ""), "refused": refused,
    }, status_code=status_code)


@router.get("/me")
def today_page(request: Request, session: Tx, viewer: ViewerDep, q: str = "", day: str = "", edit: int = 0,
               saved: str = "") -> Response:
    patient = _me(session, viewer, "food log and nutrients")
    return _food_page(request, patient, _day(day), q, edit or None, saved)


MAX_GRAMS_PER_ENTRY = next(rule.le for rule in FoodLogIn.model_fields["grams"].metadata if hasattr(rule, "le"))
"""The food log's limit per entry (``records/schemas.FoodLogIn.grams``, where its source is given)."""


def _food_entry(form: dict[str, str]) -> tuple[FoodLogIn, str]:
    """The food log entry a form describes (grams from the chosen measure) and the food's name.
    A form without a date logs today; one with ``grams`` and no ``quantity`` logs grams."""
    defaults = {"date": dt.date.today().isoformat()}
    if "quantity" not in form and "grams" in form:
        defaults |= {"quantity": form["grams"], "portion": GRAMS}
    data = parse_form(FoodAmountForm, {**defaults, **form})
    food = get_food(data.food_id)
    grams = grams_of(food, data.portion, data.quantity)
    try:
        entry = FoodLogIn(date=data.date, food_id=food.food_id, grams=grams)
    except ValidationError as error:
        if any(e["loc"] == ("grams",) for e in error.errors()):
            raise InputError("quantity", f"{data.quantity:g} x {data.portion} = {grams:g} g",
                             f"at most {MAX_GRAMS_PER_ENTRY:g} g of one food per entry; log more as two entries") from None
        raise
    return entry, food.name


def _refused_food_page(request: Request, session: Tx, viewer: Viewer, form: dict[str, str],
                       error: InputError | ValidationError, edit: int | None = None) -> Response:
    patient = _me(session, viewer, "food log (refused entry)")
    try:
        date = _day(form.get("date", ""))
    except InputError:
        date = dt.date.today()
    return _food_page(request, patient, date, form.get("q", ""), edit, refused=_refusal(error, form),
                      status_code=422)


@router.post("/me/food")
def log_food(request: Request, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    try:
        entry, name = _food_entry(form)
    except (InputError, ValidationError) as error:
        return _refused_food_page(request, session, viewer, form, error)
    patient = _me(session, viewer, "food log", action="create")
    add_food(session, viewer.user, patient, entry, food_name=name)
    return RedirectResponse(f"/me?day={entry.date.isoformat()}&saved=added", status_code=303)


@router.post("/me/food/{entry_id}")
def edit_food(request: Request, entry_id: RowId, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    try:
        entry, name = _food_entry(form)
    except (InputError, ValidationError) as error:
        return _refused_food_page(request, session, viewer, form, error, edit=entry_id)
    patient = _me(session, viewer, "food log", action="update")
    update_food_entry(session, viewer.user, patient, entry_id, entry, food_name=name)
    return RedirectResponse(f"/me?day={entry.date.isoformat()}&saved=updated", status_code=303)


@router.post("/me/food/{entry_id}/delete")
def remove_food(entry_id: RowId, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    patient = _me(session, viewer, "food log", action="delete")
    day = session.get(FoodLogEntry, entry_id)
    date = day.date if day is not None else dt.date.today()
    delete_food_entry(session, viewer.user, patient, entry_id)
    return RedirectResponse(f"/me?day={date.isoformat()}&saved=removed", status_code=303)


# --- exercise -----------------------------------------------------------------------------------

def week_summary(patient: Patient, last_day: dt.date) -> dict[str, Any]:
    """The 7 days to ``last_day``: exercise by kind, sessions (days with that kind) and minutes."""
    start = last_day - dt.timedelta(days=6)
    rows = sorted((e for e in patient.exercise_log if start <= e.date <= last_day), key=lambda e: (e.date, e.id))
    summary: dict[str, dict[str, float]] = {}
    for kind in ("aerobic", "impact", "resistance", "balance"):
        kind_rows = [e for e in rows if e.kind == kind]
        summary[kind] = {"sessions": len({e.date for e in kind_rows}), "minutes": sum(e.minutes for e in kind_rows)}
    return {"start": start, "end": last_day, "rows": rows, "by_kind": summary}


def _read_me(request: Request, viewer: Viewer, what: str) -> Patient:
    """Her own record, read (and audited) in a short transaction, returned detached for computing."""
    with request.app.state.database.transaction() as session:
        return load_record(_me(session, viewer, what))


@router.get("/me/exercise")
async def exercise_page(request: Request, viewer: ViewerDep, day: str = "", edit: int = 0,
                        saved: str = "") -> Response:
    last_day = _day(day)
    patient = await in_thread(_read_me, request, viewer, "exercise log")
    return await run_compute(request, viewer.user_id, _exercise_page, request, patient, last_day, edit or None,
                             saved)


def _exercise_page(request: Request, patient: Patient, last_day: dt.date, edit: int | None = None,
                   saved: str = "", refused: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    today = dt.date.today()
    plan = services.lifestyle_plan(patient)
    planned = ((plan or {}).get("regimen") or {}).get("exercise") or {}
    loads = ((plan or {}).get("exercise_progression") or {}).get("loads") or []
    return render(request, "me_exercise.html", {
        "patient": patient, "week": week_summary(patient, last_day), "planned": planned, "plan": plan,
        "loads": loads, "library": services.exercise_library() or [],
        "previous_week": last_day - dt.timedelta(days=7),
        "next_week": min(last_day + dt.timedelta(days=7), today) if last_day < today else None,
        "edit": edit, "saved": SAVED_WORDS.get(saved, ""), "refused": refused,
        "unusual_minutes": UNUSUAL_SESSION_MINUTES,
    }, status_code=status_code)


def _exercise_entry(form: dict[str, str]) -> tuple[ExerciseLogIn, str]:
    """The session a form describes (a form without a date logs today) and its kind from the library."""
    entry = parse_form(ExerciseLogIn, {"date": dt.date.today().isoformat(), **form})
    return entry, services.exercise_kind(entry.exercise)


async def _refused_exercise_page(request: Request, viewer: Viewer, form: dict[str, str],
                                 error: InputError | ValidationError, edit: int | None = None) -> Response:
    patient = await in_thread(_read_me, request, viewer, "exercise log (refused entry)")
    try:
        last_day = dt.date.fromisoformat(_week_end(_day(form.get("date", ""))))
    except InputError:
        last_day = dt.date.today()
    return await run_compute(request, viewer.user_id, _exercise_page, request, patient, last_day, edit, "",
                             _refusal(error, form), 422)


def _write_exercise(request: Request, viewer: Viewer, entry: ExerciseLogIn, kind: str, entry_id: int | None) -> None:
    with request.app.state.database.transaction() as session:
        patient = _me(session, viewer, "exercise log", action="create" if entry_id is None else "update")
        if entry_id is None:
            add_exercise(session, viewer.user, patient, entry, kind)
        else:
            update_exercise_session(session, viewer.user, patient, entry_id, entry, kind)


@router.post("/me/exercise")
async def log_exercise(request: Request, viewer: ViewerDep, form: FormDep) -> Response:
    return await _save_exercise(request, viewer, form, None)


@router.post("/me/exercise/{entry_id}")
async def edit_exercise(request: Request, entry_id: RowId, viewer: ViewerDep, form: FormDep) -> Response:
    return await _save_exercise(request, viewer, form, entry_id)


async def _save_exercise(request: Request, viewer: Viewer, form: dict[str, str], entry_id: int | None) -> Response:
    check_form_csrf(viewer, form)
    try:
        entry, kind = _exercise_entry(form)
    except (InputError, ValidationError) as error:
        return await _refused_exercise_page(request, viewer, form, error, entry_id)
    await in_thread(_write_exercise, request, viewer, entry, kind, entry_id)
    saved = "added" if entry_id is None else "updated"
    return RedirectResponse(f"/me/exercise?day={_week_end(entry.date)}&saved={saved}", status_code=303)


def _week_end(date: dt.date) -> str:
    """The week shown after a write: the 7 days to today when the session is in them, else to its day."""
    today = dt.date.today()
    return (today if today - dt.timedelta(days=6) <= date else date).isoformat()


@router.post("/me/exercise/{entry_id}/delete")
def remove_exercise(entry_id: RowId, session: Tx, viewer: ViewerDep, form: FormDep) -> Response:
    check_form_csrf(viewer, form)
    patient = _me(session, viewer, "exercise log", action="delete")
    row = session.get(ExerciseLogEntry, entry_id)
    date = row.date if row is not None else dt.date.today()
    delete_exercise_session(session, viewer.user, patient, entry_id)
    return RedirectResponse(f"/me/exercise?day={_week_end(date)}&saved=removed", status_code=303)


# --- bone ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlainStatement:
    """A sentence for her page with the publication behind it (``clinic/sources.py``) and its evidence tag."""

    words: str
    source_id: str
    where: str
    tag: str

    def as_json(self) -> dict[str, str]:
        return {"words": self.words, "source": f"{cite(self.source_id)}, {self.where} [{self.tag}]"}


BONE_MEDICINES: tuple[tuple[str | None, tuple[str, ...], PlainStatement], ...] = (
    ("denosumab", ("denosumab",), PlainStatement(
        "Denosumab: an injection under the skin, 60 mg every 6 months.", "hadji2017", "Table 3", "V")),
    ("zoledronic_acid", ("zoledronic_acid",), PlainStatement(
        "Zoledronic acid: a drip into a vein, 4 mg every 6 months.", "hadji2017", "Table 3", "V")),
    (None, ("alendronate", "risedronate", "ibandronate"), PlainStatement(
        "Bisphosphonate tablets: risedronate 35 mg or alendronate 70 mg once a week, or ibandronate 150 mg once "
        "a month.", "hadji2017", "Table 3", "V")),
)
"""The bone medicines the guideline names for women on an aromatase inhibitor (the agents and schedules of
rule ``hadji2017_agent_choice``, docs/clinic.md): the personal twin's regimen that shows its estimate (None:
not projected), the catalog drugs it covers, and the words."""

WHEN_MEDICINE = PlainStatement(
    "The guideline your clinic follows advises a bone medicine for a woman on an aromatase inhibitor whose "
    "lowest T-score is below −2.0, or who has two or more risk factors for fracture. Whether you need one is "
    "decided by your doctor, with you.", "hadji2017", "treatment algorithm (rules hadji2017_t_below_minus_2 and "
    "hadji2017_two_or_more_risk_factors)", "S")
"""When the guideline advises a bone medicine (T < -2.0 is verified [V]; the risk-factor list only against
secondary pages [S], so the sentence carries the weaker tag)."""

DENOSUMAB_STOP = PlainStatement(
    "Denosumab must not be stopped or delayed without a follow-on medicine: bone is lost quickly once it wears "
    "off. Talk to your doctor before any change.", "hba2021", "position statement (rule "
    "hba2021_do_not_pause_denosumab)", "S")

TWIN_REGIMEN_WORDS = {"continue": "If you carry on as now", "lifestyle_plan": "If you follow your diet and exercise plan",
                      "denosumab": "With denosumab", "zoledronic_acid": "With zoledronic acid",
                      "stop_denosumab": "If denosumab were stopped without a follow-on medicine"}
"""The personal twin's regimens (``osteotwin fit``) in her words."""


def t_score_words(t: float) -> str:
    """The WHO 1994 category of a T-score in words."""
    return next((w for limit, w in WHO_WORDS if t <= limit), "in the normal range")


def plain_words(patient: Patient) -> list[str]:
    """Her bone density at each site in plain sentences: the WHO category and the change since her first scan."""
    sentences: list[str] = []
    for site, t in latest_t_scores(patient).items():
        rows = sorted((r for r in patient.dxa_results if r.site == site), key=lambda r: r.date)
        change = ""
        if len(rows) > 1:
            pct = 100 * (rows[-1].bmd_g_cm2 / rows[0].bmd_g_cm2 - 1)
            years = max((rows[-1].date - rows[0].date).days / 365.25, 0.1)
            direction = "lower" if pct < 0 else "higher"
            change = (f" It is {abs(pct):.1f}% {direction} than at your first scan {years:.1f} years ago.")
        sentences.append(f"Your {SITE_WORDS[site]} bone density (T-score {t:+.1f}) is {t_score_words(t)}."
                         f"{change}")
    return sentences


def range_words(twin: dict[str, Any], regimen: str) -> str:
    """One regimen of her personal twin in words: the expected change per site over 5 years with the
    range 8 in 10 of the model's estimates fall in (10th to 90th percentile), and where the T-score ends."""
    projection = twin["projections"][regimen]
    parts = []
    for site in ("lumbar_spine", "total_hip"):
        change = projection[f"{site}_bmd_pct_change"]
        t = projection[f"{site}_t_score"]["p50"][-1]
        parts.append(f"your {SITE_WORDS[site]} density would change by about {change['p50'][-1]:+.1f}% "
                     f"(most likely between {change['p10'][-1]:+.1f}% and {change['p90'][-1]:+.1f}%), ending "
                     f"{t_score_words(t)} (T-score about {t:+.1f})")
    return f"{TWIN_REGIMEN_WORDS[regimen]}: over the next 5 years {'; '.join(parts)}."


def population_words(projection: dict[str, Any] | None) -> list[str]:
    """Before her own scans can be fitted (one scan per site): what the model expects for an average woman like
    her over 5 years, on current treatment and with her plan (the projection page's regimens)."""
    sentences: list[str] = []
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
                    f"For an average woman like you, the model expects your {SITE_WORDS[site]} density to change by "
                    f"{a:+.1f}% over the "
                    f"next 5 years on your current treatment{with_plan}. These are estimates from a computer model, "
                    "not promises.")
    return sentences


def narrowing_words(personal: dict[str, Any]) -> list[str]:
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
                    f"your {SITE_WORDS[site]} T-score is likely to be between {now['p10']:+.1f} and {now['p90']:+.1f} (8 times in 10), most likely about "
                    f"{now['p50']:+.1f}.")
        widths = [step["p90"] - step["p10"] for step in steps]
        if len(widths) > 1:
            history = ", ".join(f"{w:.1f} after scan {i}" for i, w in enumerate(widths, start=1))
            trend = "narrowed" if widths[-1] < widths[0] else "did not narrow"
            sentence += (f" With each scan the range {trend} (its width in T-score points: {history}): "
                         "your own scans tell the model more about you.")
        sentences.append(sentence)
    return sentences


def hormone_tablet_words(patient: Patient) -> str:
    """When her aromatase inhibitor ends in the personal twin's projections: its recorded stop date, else its
    start plus the record's planned AI years (``clinic.record.PatientRecord.planned_ai_years``)."""
    course = endocrine_therapy(patient)
    if course is None or course.drug not in AROMATASE_INHIBITORS:
        return ""
    if course.stop_date is not None:
        end, why = course.stop_date, "as recorded"
    else:
        years = PatientRecord.model_fields["planned_ai_years"].default
        end = course.start_date + dt.timedelta(days=DAYS_PER_YEAR * years)
        why = f"{years:g} years after it started: the default when no end is recorded"
    return (f"The model assumes your hormone tablet ({course.drug}) ends in {end.strftime('%B %Y')} ({why}); "
            "bone loss slows and partly recovers after it ends.")


def fracture_words(twin: dict[str, Any]) -> str:
    """Her 10-year major osteoporotic fracture risk at month 0 of the twin (her latest scan), with its range."""
    risk = twin["projections"]["continue"]["osteoporotic_fracture_10y_pct"]
    return (f"The model puts your chance of a major osteoporotic fracture (spine, hip, wrist or shoulder) in the "
            f"next 10 years at about {risk['p50'][0]:.1f}% (most likely between {risk['p10'][0]:.1f}% and "
            f"{risk['p90'][0]:.1f}%).")


def medicine_options(patient: Patient, twin: dict[str, Any] | None) -> dict[str, Any]:
    """The bone medicines in plain words: when the guideline advises one, the options with the model's estimate
    for her, the one she takes now and, on denosumab, the warning about stopping it."""
    taking = [m.drug for m in current_medications(patient) if m.drug in BONE_AGENTS]
    options = []
    for regimen, drugs, statement in BONE_MEDICINES:
        estimate = range_words(twin, regimen) if twin and regimen in twin["projections"] else ""
        options.append({**statement.as_json(), "estimate": estimate, "taking": any(d in taking for d in drugs)})
    warnings = [DENOSUMAB_STOP.as_json()] if "denosumab" in taking else []
    if warnings and twin and "stop_denosumab" in twin["projections"]:
        warnings[0]["estimate"] = range_words(twin, "stop_denosumab")
    return {"when": WHEN_MEDICINE.as_json(), "options": options, "warnings": warnings,
            "taking": [drug.replace("_", " ") for drug in taking]}


def dxa_table(patient: Patient) -> list[dict[str, Any]]:
    """The scans behind the chart, as a table (the chart's text alternative)."""
    rows = sorted(patient.dxa_results, key=lambda r: (r.date, r.site))
    return [{"date": r.date, "site": SITE_LABELS[r.site], "bmd_g_cm2": r.bmd_g_cm2, "t_score": r.t_score,
             "words": t_score_words(r.t_score)} for r in rows]


@router.get("/me/bone")
async def bone_page(request: Request, viewer: ViewerDep) -> Response:
    patient = await in_thread(_read_me, request, viewer, "bone density history and projection")
    return await run_compute(request, viewer.user_id, _bone_page, request, patient)


def _bone_page(request: Request, patient: Patient) -> Response:
    personal = services.personal_twin(patient, narrowing=True)  # her own fit: every regimen's range
    twin = personal if personal.get("status") == "fitted" else None
    scanned = all(site in latest_t_scores(patient) for site in services.ENGINE_SITES)
    # without a fit, what the model expects for an average woman like her (the projection page's regimens)
    projection = services.projection(patient, ["continue", "lifestyle_plan"]) if scanned and twin is None else None
    monitoring = services.dxa_monitoring(patient)
    ranges = [range_words(twin, r) for r in ("continue", "lifestyle_plan") if r in twin["projections"]] if twin else []
    return render(request, "me_bone.html", {
        "patient": patient, "sentences": plain_words(patient) + (population_words(projection) if twin is None else []),
        "ranges": ranges, "range_sentences": narrowing_words(personal) if patient.dxa_results else [],
        "pending": personal.get("status") == "pending" or bool(projection and projection["pending"]),
        "fracture": fracture_words(twin) if twin else "", "twin": twin, "tablet": hormone_tablet_words(patient),
        "medicines": medicine_options(patient, twin), "scans": dxa_table(patient),
        "dxa_figure": dxa_history_figure(patient, lsc_by_site(monitoring)),
    })


@router.get("/me/plan")
def my_plan(session: Tx, viewer: ViewerDep) -> Response:
    patient = _me(session, viewer, "plan")
    return RedirectResponse(f"/patients/{patient.id}/plan", status_code=303)
