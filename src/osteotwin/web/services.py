"""The web app's calls into the engine, the clinic and the planner, on a stored record.

Each function takes a stored :class:`~osteotwin.records.models.Patient` and returns plain
JSON-shaped dicts (the CLI's JSON contracts), so pages and the API show the same numbers.
The engine, the clinic and the planner are hard dependencies of the package, imported here directly.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import time
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from osteotwin import simulate_batch
from osteotwin.catalog import AROMATASE_INHIBITORS, DAYS_PER_MONTH
from osteotwin.clinic import PatientRecord, assess
from osteotwin.clinic.fhir import record_to_bundle
from osteotwin.clinic.monitoring import dxa_changes
from osteotwin.clinic.projection import (
    FRACTURE_FIELDS,
    HORIZON_MONTHS,
    Comparison,
    comparison,
    cumulative_fracture_risk_pct,
    scenario_patient,
)
from osteotwin.errors import InputError
from osteotwin.lifestyle import get_food, make_plan, nutrient_totals, search_foods, targets_for
from osteotwin.lifestyle.exercise import EXERCISE_LIBRARY
from osteotwin.lifestyle.names import MEDICATIONS as PLANNER_MEDICATIONS
from osteotwin.lifestyle.names import known_dislike
from osteotwin.records.fhir_import import import_fhir_bundle
from osteotwin.records.models import Patient
from osteotwin.records.patients import (
    current_medications,
    latest_t_scores,
    record_dict,
)
from osteotwin.web.compute import BACKGROUND, PAGE_FIRST_DELAY_S

PROJECTION_MONTHS = HORIZON_MONTHS  # 5 years, as the assessment's projection

def as_json(value: Any) -> Any:
    """A pydantic model (or list of them) as JSON-shaped data; dicts pass through."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


class _ResultCache:
    """A small thread-safe LRU of results keyed by their complete JSON input.

    ``make_plan`` and ``simulate_batch`` are deterministic functions of their input, so a result
    computed for the same profile or scenarios is reused (the key is the whole input: any change to
    the record changes the key). Bounded to ``size`` entries; holds no data beyond what the pages show.
    """

    def __init__(self, size: int = 256) -> None:
        import collections
        import threading

        self.size = size
        self.items: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self.lock = threading.Lock()

    def get_or_compute(self, key: str, compute) -> Any:  # noqa: ANN001
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def peek(self, key: str) -> Any:
        """The cached value, or None when it was never computed (or fell out of the LRU)."""
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None


_CACHE = _ResultCache()


def _key(kind: str, inputs: Any) -> str:
    import hashlib
    import json

    return kind + hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _cached(kind: str, inputs: Any, compute) -> Any:  # noqa: ANN001
    return copy.deepcopy(_CACHE.get_or_compute(_key(kind, inputs), compute))


def _shared(kind: str, inputs: Any, compute) -> Any:  # noqa: ANN001
    """As :func:`_cached` without the copy: the caller only reads the value (the projection's trajectories and
    the fit, whose deep copy took two thirds of a cached projection page)."""
    return _CACHE.get_or_compute(_key(kind, inputs), compute)


# --- clinic -------------------------------------------------------------------------------------

def assessment(patient: Patient) -> dict[str, Any]:
    """``assess`` on the stored record (the `osteotwin assess --json` output).

    The clinic's own engine projection is skipped (``project=False``): the projection page runs
    the engine for all regimens in one batch instead."""
    raw = record_dict(patient)
    today = dt.date.today()
    return _cached("assessment", [raw, today.isoformat()],
                   lambda: as_json(assess(PatientRecord.model_validate(raw), today=today, project=False)))


def scenario_patient_block(patient: Patient, today: dt.date | None = None) -> dict[str, Any]:
    """The Scenario ``patient`` block of the stored record (the clinic maps a record to the engine:
    ``clinic/projection.scenario_patient``)."""
    return scenario_patient(PatientRecord.model_validate(record_dict(patient, today)))


def dxa_monitoring(patient: Patient) -> list[dict[str, Any]]:
    """Per-site series with least significant change (``osteotwin.clinic.monitoring.dxa_changes``)."""
    return as_json(dxa_changes(record_dict(patient)["dxa"]))


def fhir_bundle(patient: Patient) -> dict[str, Any]:
    return as_json(record_to_bundle(PatientRecord.model_validate(record_dict(patient, with_identity=True))))


_FHIR_FAILURES = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError)


def _fhir_refusal(error: Exception) -> InputError:
    return InputError("bundle", "(FHIR Bundle)", "a FHIR R4 Bundle in the shape `osteotwin` exports "
                      f"(reading it failed: {type(error).__name__})")


def import_bundle(session: Session, clinician: Any, bundle: dict[str, Any], name: str = "") -> tuple[Any, bool, Any]:
    """Import a FHIR Bundle (``records.fhir_import.import_fhir_bundle``: a new patient or the one with the
    same MRN updated, and the import report); anything the converter cannot read (a context Observation
    whose valueString is not JSON, a resource of the wrong type) is refused as input."""
    try:
        return import_fhir_bundle(session, clinician, bundle, name=name)
    except (InputError, ValidationError):
        raise
    except _FHIR_FAILURES as error:
        raise _fhir_refusal(error) from None


_SEARCH_WORD = re.compile(r"[a-z0-9]")  # the USDA index's words (osteotwin.lifestyle.foods) are a-z, 0-9


def searchable(words: str) -> bool:
    """True when a food search has something to search for: a letter a-z or a digit (the USDA
    descriptions are English; a query of only other characters matches nothing)."""
    return _SEARCH_WORD.search(words.lower()) is not None


# --- planner ------------------------------------------------------------------------------------

def plan_profile(patient: Patient, today: dt.date | None = None) -> dict[str, Any]:
    """The `plan` input profile (``osteotwin plan --json``'s input, ``examples/profiles/``) built from the stored record and the last 7 days' food log."""
    today = today or dt.date.today()
    block = scenario_patient_block(patient, today)
    week_ago = today - dt.timedelta(days=7)
    profile: dict[str, Any] = {
        "patient": {k: block[k] for k in ("age_years", "weight_kg", "height_cm", "lumbar_spine_t_score",
                                           "total_hip_t_score") if k in block},
        "diet_pattern": patient.diet_pattern,
        # dislikes are checked when recorded (PatientIn); one stored before that check and unknown to the food
        # data is left out here, so that the plan of an older record stays readable
        "dislikes": [d for d in patient.dislikes or [] if known_dislike(d)],
        "food_log": [{"date": e.date.isoformat(), "food_id": e.food_id, "grams": e.grams}
                     for e in patient.food_log if week_ago < e.date <= today],
        "exercise_log": [
            {k: v for k, v in {"date": e.date.isoformat(), "exercise": e.exercise, "sets": e.sets, "reps": e.reps,
                               "load_kg": e.load_kg, "minutes": e.minutes}.items() if v is not None}
            for e in patient.exercise_log if today - dt.timedelta(days=28) < e.date <= today],
        "conditions": {"vertebral_fracture": patient.vertebral_fracture, "bone_metastases": patient.bone_metastases,
                       "lymphedema": patient.lymphedema, "falls_last_12_months": patient.falls_last_12_months},
        # Only the names the planner acts on; every medication is validated when it is recorded (lifestyle.names)
        "medications": sorted({m.drug for m in current_medications(patient, today)} & set(PLANNER_MEDICATIONS)),
    }
    if patient.energy_kcal_per_day:
        profile["energy_kcal_per_day"] = patient.energy_kcal_per_day
    femoral_neck = latest_t_scores(patient).get("femoral_neck")
    if femoral_neck is not None:  # the exercise safety rules use the lowest T-score of any site
        profile["femoral_neck_t_score"] = femoral_neck
    vitamin_d = [lab for lab in patient.labs if lab.test == "vitamin_d_25_oh" and lab.date <= today]
    if vitamin_d:  # recorded in ng/mL (records.schemas.LAB_UNITS); the same value the assessment reads
        profile["vitamin_d_25_oh_ng_ml"] = max(vitamin_d, key=lambda lab: lab.date).value
    return profile


def lifestyle_plan(patient: Patient, today: dt.date | None = None) -> dict[str, Any]:
    """``make_plan`` on the stored record (the `osteotwin plan --json` output)."""
    profile = plan_profile(patient, today)
    return _cached("plan", profile, lambda: _plan_json(profile))


def on_aromatase_inhibitor(patient: Patient, today: dt.date | None = None) -> bool:
    return any(m.drug in AROMATASE_INHIBITORS for m in current_medications(patient, today))


def nutrient_targets(patient: Patient, today: dt.date | None = None) -> list[dict[str, Any]]:
    from osteotwin.records.patients import age_years

    targets = targets_for(age_years(patient.birth_date, today), patient.weight_kg,
                          on_aromatase_inhibitor=on_aromatase_inhibitor(patient, today))
    return as_json(targets)


def day_nutrients(patient: Patient, day: dt.date) -> dict[str, Any]:
    """Totals of one day's food log against the targets (`nutrients` output for that day)."""
    entries = [{"date": e.date.isoformat(), "food_id": e.food_id, "grams": e.grams}
               for e in patient.food_log if e.date == day]
    targets = nutrient_targets(patient, day)
    totals: dict[str, float] = {}
    report: dict[str, Any] | None = None
    if entries:
        report = as_json(nutrient_totals(entries))
        totals = report["average"]
    rows = []
    for target in targets:
        key = target["nutrient"]
        amount = float(totals.get(key, 0.0))
        rows.append({**target, "eaten": round(amount, 1),
                     "percent": round(100 * amount / target["amount"]) if target["amount"] else None})
    return {"date": day.isoformat(), "totals": totals, "targets": rows, "report": report}


def food_search(words: str, limit: int = 15) -> list[dict[str, Any]]:
    if not searchable(words):
        return []
    return [{"food_id": f.food_id, "name": f.name, "per_100g": f.per_100g} for f in search_foods(words, limit)]


def exercise_library() -> list[dict[str, str]]:
    """The planner's exercise library: id, name and kind (aerobic, impact, resistance, balance)."""
    return [{"id": e.id, "name": e.name, "kind": e.kind} for e in EXERCISE_LIBRARY]


def exercise_kind(exercise_id: str) -> str:
    kinds = {e["id"]: e["kind"] for e in exercise_library()}
    if exercise_id not in kinds:
        raise InputError("exercise", exercise_id, f"one of {', '.join(sorted(kinds))}")
    return kinds[exercise_id]


def food_name(food_id: str) -> str:
    return get_food(food_id).name


def entry_extra(kind: str, data: Any) -> dict[str, Any]:
    """What a log entry stores beside its input: a food's USDA name, an exercise's library kind
    (both refuse an unknown id)."""
    if kind == "food-log":
        return {"food_name": food_name(data.food_id)}
    if kind == "exercise-log":
        return {"kind": exercise_kind(data.exercise)}
    return {}


# --- engine: the projection page -----------------------------------------------------------------
# The regimen keys a projection may hold (clinic/projection.comparison decides which apply to a record) and their
# short names for chart legends; the full label, built from what is recorded, comes with each regimen.
REGIMENS: dict[str, str] = {
    "continue": "Continue current treatment",
    "ai_alone": "AI alone",
    "lifestyle_plan": "+ lifestyle plan",
    "denosumab": "+ denosumab",
    "zoledronic_acid": "+ zoledronic acid",
    "denosumab_2y_then_stop": "denosumab 2 y, then stop",
}
TABLE_MONTHS = PROJECTION_MONTHS  # the table reads every regimen 5 years from today
ENGINE_SITES = ("lumbar_spine", "total_hip")


def record_version(raw: dict[str, Any]) -> str:
    """A key for one version of a stored record: any change to what the engine, the fit or the planner read
    (the ``assess`` input and the plan profile) gives a new key."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _plan_json(profile: dict[str, Any]) -> dict[str, Any]:
    return as_json(make_plan(profile))


def _ready_plan(patient: Patient, today: dt.date) -> tuple[dict[str, Any] | None, bool]:
    """(the lifestyle plan if computed for this record version, pending?). Never runs the optimiser here: when
    missing, it is started in the background (``compute.BACKGROUND``) and the page says so."""
    profile = plan_profile(patient, today)
    key = _key("plan", profile)
    plan = _CACHE.peek(key)
    if plan is None:
        BACKGROUND.submit(key, _CACHE.get_or_compute, key, lambda: _plan_or_refusal(profile),
                          delay_s=PAGE_FIRST_DELAY_S)
        return None, True
    return plan, False  # read only: the cached plan is shared


def _plan_or_refusal(profile: dict[str, Any]) -> dict[str, Any]:
    """The plan, or ``{"error": ...}`` when the planner refuses the stored profile (the projection then leaves out
    the lifestyle row and says why; the plan page shows the planner's own message)."""
    try:
        return _plan_json(profile)
    except (InputError, ValidationError, ValueError) as error:
        return {"error": str(error)[:300]}


# --- the personal twin (twin/personal: fit_record) ---------------------------------------------------

def scans_per_site(raw: dict[str, Any]) -> dict[str, int]:
    """Scan dates per engine site in an ``assess`` record."""
    return {site: len({d["date"] for d in raw["dxa"] if d["site"] == site}) for site in ENGINE_SITES}


def fit_eligible(raw: dict[str, Any]) -> bool:
    """The fit is used when the record has two or more scans at a site (issue 15); with one scan per site the
    pages fall back to the population model and say so."""
    return max(scans_per_site(raw).values(), default=0) >= 2


def _prefix(raw: dict[str, Any], until: str) -> dict[str, Any]:
    return {**raw, "dxa": [d for d in raw["dxa"] if d["date"] <= until]}


WAIT_S = 30.0  # the API and the CSV wait this long at most for the plan and the fit, then answer with "pending" (ours)
NARROWING_SCANS = 5  # her range after each of the last 5 scan dates at most (ours: bounds the background work)


def _twin_json(raw: dict[str, Any]) -> dict[str, Any]:
    """The fit (``fit_record``) of the record as JSON, or the reason the fit refuses it."""
    from osteotwin.twin.personal import fit_record

    try:
        return fit_record(raw, months=PROJECTION_MONTHS).as_json()
    except (InputError, ValidationError, ValueError, FloatingPointError, ArithmeticError) as error:
        return {"error": f"{type(error).__name__}: {str(error)[:300]}"}


def _five_year_range(twin: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The fit's 5-year T-score band (p10, p50, p90) per site on current treatment."""
    band = twin["projections"]["continue"]
    last = len(band["months"]) - 1
    return {site: {k: band[f"{site}_t_score"][k][last] for k in ("p10", "p50", "p90")} for site in ENGINE_SITES}


def _narrowing_json(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Her 5-year range as it stood after each earlier scan date (the record cut at that date, fitted again): how
    the range narrowed with each scan. The latest date is the full fit's, added by :func:`personal_twin`."""
    dates = sorted({d["date"] for d in raw["dxa"] if d["site"] in ENGINE_SITES})[-NARROWING_SCANS:-1]
    steps = []
    for when in dates:
        twin = _twin_json(_prefix(raw, when))
        if "error" in twin:
            continue
        steps.append({"after_scan": when, "scans": _scans_until(raw, when), **_five_year_range(twin)})
    return steps


def _scans_until(raw: dict[str, Any], when: str) -> int:
    return sum(d["date"] <= when for d in raw["dxa"] if d["site"] in ENGINE_SITES)


def personal_twin(patient: Patient, today: dt.date | None = None, *, wait: bool = False,
                  narrowing: bool = False) -> dict[str, Any]:
    """Her personal twin for the pages: ``{"status": "fitted" | "pending" | "population", ...}``.

    ``fitted``: the fit's JSON (``osteotwin fit --json`` shape), with ``narrowing`` (her 5-year range after each
    scan date) when asked for and ready; ``pending``: being computed in the background for this record version
    (the page reloads); ``population``: one scan per site (or a fit that could not run), so the pages use the
    population model and say why. Cached per record version; the fit (0.3-0.8 s) and the narrowing (one fit per
    earlier scan date) run on the background worker, never inside a database transaction or a page request
    (``wait=True``, for the API, the CSV and tests, waits for them).
    """
    raw = record_dict(patient, today)
    if not fit_eligible(raw):
        return {"status": "population", "reason": "one scan per site: the population model is used until a "
                                                   "follow-up scan lets the twin learn her own rate"}
    key, steps_key = _key("twin", raw), _key("twin-narrowing", raw)
    twin, steps = _CACHE.peek(key), _CACHE.peek(steps_key)
    delay_s = 0.0 if wait else PAGE_FIRST_DELAY_S
    if twin is None:
        BACKGROUND.submit(key, _CACHE.get_or_compute, key, lambda: _twin_json(raw), delay_s=delay_s)
    if narrowing and steps is None:
        BACKGROUND.submit(steps_key, _CACHE.get_or_compute, steps_key, lambda: _narrowing_json(raw), delay_s=delay_s)
    if wait and (twin is None or (narrowing and steps is None)):
        BACKGROUND.wait(WAIT_S, [key, steps_key])
        twin, steps = _CACHE.peek(key), _CACHE.peek(steps_key)
    if twin is None or (narrowing and steps is None):
        return {"status": "pending"}
    if "error" in twin:
        return {"status": "population", "reason": f"the personal fit could not run ({twin['error']})"}
    result: dict[str, Any] = {"status": "fitted", **twin}  # read only: the cached fit is shared
    if narrowing:
        latest = max(d["date"] for d in raw["dxa"] if d["site"] in ENGINE_SITES)
        result["narrowing"] = [*steps, {"after_scan": latest, "scans": _scans_until(raw, latest),
                                                       **_five_year_range(twin)}]
    return result


def warm(patient: Patient, today: dt.date | None = None) -> None:
    """Start the lifestyle plan, the personal fit and its narrowing for this record version in the background
    (the overview calls it, so that the projection and bone pages find them ready)."""
    today = today or dt.date.today()
    _ready_plan(patient, today)
    personal_twin(patient, today, narrowing=True)


def projection_scenarios(patient: Patient, regimen_blocks: dict[str, Any] | None, today: dt.date | None = None,
                         months: int = PROJECTION_MONTHS) -> Comparison | str:
    """The comparison regimens of the stored record (``clinic/projection.comparison``: the one set the
    assessment uses too), or the reason none can be built."""
    today = today or dt.date.today()
    return comparison(PatientRecord.model_validate(record_dict(patient, today)), today, regimen_blocks, months)


def _at(series: list[float], month: int) -> float:
    return float(series[min(month, len(series) - 1)])


def _band_at(band: dict[str, list[float]] | None, month: int) -> dict[str, float] | None:
    if not band:
        return None
    return {k: _at(v, month) for k, v in band.items()}


def projection_table(result: dict[str, Any], month: int = TABLE_MONTHS) -> list[dict[str, Any]]:
    """One row per regimen at ``month``: T-score and BMD % change per site, the 10-year major osteoporotic and
    hip fracture risk then, the risk of a fracture within those months (``cumulative_fracture_risk_pct``), each
    with its difference from the reference regimen, and her personal 80% range where the twin is fitted."""
    personal_bands = (result.get("personal") or {}).get("bands")
    bands = personal_bands or result.get("model_bands") or {}
    range_label = "her range" if personal_bands else "model range"
    rows: list[dict[str, Any]] = []
    values: dict[str, dict[str, float]] = {}
    for name, item in result["regimens"].items():
        t = item["trajectory"]
        v: dict[str, float] = {}
        for site in ENGINE_SITES:
            v[f"{site}_t_score"] = _at(t[f"{site}_t_score"], month)
            v[f"{site}_bmd_pct_change"] = _at(t[f"{site}_bmd_pct_change"], month)
        for short, field in FRACTURE_FIELDS.items():
            v[f"{short}_at_{month}_months"] = _at(t[field], month)
            v[f"{short}_within_{month}_months"] = cumulative_fracture_risk_pct(t[field], month)
        values[name] = v
    reference = values.get(result["reference"])
    for name, item in result["regimens"].items():
        v = values[name]
        band = bands.get(name) or {}
        ranges = {f"{site}_t_score": _band_at(band.get(f"{site}_t_score"), month) for site in ENGINE_SITES}
        ranges |= {f"{site}_bmd_pct_change": _band_at(band.get(f"{site}_bmd_pct_change"), month) for site in ENGINE_SITES}
        ranges["major_osteoporotic_at"] = _band_at(band.get("osteoporotic_fracture_10y_pct"), month)
        ranges["hip_at"] = _band_at(band.get("hip_fracture_10y_pct"), month)
        rows.append({"name": name, "label": item["label"], "short": REGIMENS[name], "values": v, "range_label": range_label,
                     "difference": ({k: x - reference[k] for k, x in v.items()} if reference and name != result["reference"]
                                    else None),
                     "ranges": {k: r for k, r in ranges.items() if r is not None}})
    return rows


def projection(patient: Patient, regimens: list[str] | None = None, today: dt.date | None = None,
               *, wait: bool = False, narrowing: bool = False) -> dict[str, Any]:
    """BMD, T-score and fracture risk over 5 years under each comparison regimen, from one ``simulate_batch``
    call (cached per input), the table of :func:`projection_table`, and her personal twin's bands when fitted.

    The lifestyle plan (HiGHS, about 0.5 s) and the fit run in the background (``compute.BACKGROUND``): until they
    are ready the lifestyle row is left out and ``pending`` lists what is being computed (the page reloads);
    ``wait=True`` waits for them (the API, the CSV and tests); ``narrowing`` adds her range after each scan
    (:func:`personal_twin`)."""
    today = today or dt.date.today()
    plan, plan_pending = _ready_plan(patient, today)
    personal = personal_twin(patient, today, wait=wait, narrowing=narrowing)
    if wait and plan_pending:
        BACKGROUND.wait(WAIT_S, [_key("plan", plan_profile(patient, today))])
        plan, plan_pending = _ready_plan(patient, today)
    regimen_blocks = plan.get("regimen") if plan else None
    built = projection_scenarios(patient, regimen_blocks, today)
    if plan and "error" in plan and not isinstance(built, str):
        built.assumptions.append(f"The lifestyle plan could not be made ({plan['error']}), so its row is left out.")
    if isinstance(built, str):
        raise InputError("dxa", "(no lumbar-spine and total-hip T-scores)", f"a DXA scan of both sites ({built})")
    scenarios = built.scenarios()
    labels = {r.key: r.label for r in built.regimens}
    names = [n for n in (regimens or list(scenarios)) if n in scenarios]
    batch = [scenarios[n] for n in names]

    def compute() -> tuple[list[Any], float]:
        started = time.perf_counter()
        trajectories = as_json(list(simulate_batch(batch)))
        return trajectories, (time.perf_counter() - started) * 1000

    trajectories, engine_ms = _shared("projection", batch, compute)
    model_bands, model_pending = None, False
    if personal["status"] == "population":  # no personal range: the model's own uncertainty instead
        model_bands, model_pending = _model_bands(dict(zip(names, batch, strict=True)), wait)
    if personal["status"] == "fitted":
        personal["bands"] = {n: p for n, p in personal.pop("projections").items() if n in names}
        personal["months_since_month_0"] = round((today - dt.date.fromisoformat(personal["month_0_date"])).days
                                                 / DAYS_PER_MONTH, 2)
    result = {
        "months": PROJECTION_MONTHS,
        "engine_ms": round(engine_ms, 1),
        "start_t_scores": latest_t_scores(patient),
        "reference": built.reference if built.reference in names else (names[0] if names else built.reference),
        "assumptions": built.assumptions,
        "lifestyle_plan_used": plan is not None,
        "pending": [what for what, waiting in (("lifestyle plan", plan_pending),
                                               ("personal twin", personal["status"] == "pending"),
                                               ("the model's ranges", model_pending)) if waiting],
        "personal": personal,
        "model_bands": model_bands,
        "regimens": {n: {"label": labels[n], "short": REGIMENS[n], "scenario": scenarios[n], "trajectory": t}
                     for n, t in zip(names, trajectories, strict=True)},
    }
    result["table"] = projection_table(result)
    return result


MODEL_BAND_DRAWS = 100  # ours: per regimen, in the background; the 10th/90th percentiles move ~0.1 SD between seeds


def _model_bands(scenarios: dict[str, dict[str, Any]], wait: bool) -> tuple[dict[str, Any] | None, bool]:
    """(bands per regimen over the calibration's parameter uncertainty, pending?): twin/intervals.py, the same
    ranges as ``simulate --intervals``, computed on the background worker and cached per scenario set."""
    key = _key("model-bands", scenarios)
    bands = _CACHE.peek(key)
    if bands is None:
        BACKGROUND.submit(key, _CACHE.get_or_compute, key, lambda: _model_bands_json(scenarios),
                          delay_s=0.0 if wait else PAGE_FIRST_DELAY_S)
        if wait:
            BACKGROUND.wait(WAIT_S, [key])
            bands = _CACHE.peek(key)
    return bands, bands is None


def _model_bands_json(scenarios: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from osteotwin.twin.intervals import series_intervals

    bands = {}
    for name, scenario in scenarios.items():
        ranges = series_intervals(scenario, draws=MODEL_BAND_DRAWS)
        bands[name] = {**{f"{site}_{kind}": ranges[f"{site}_{kind}"] for site in ENGINE_SITES
                          for kind in ("t_score", "bmd_pct_change")},
                       "osteoporotic_fracture_10y_pct": ranges["major_osteoporotic_fracture_10y_pct"],
                       "hip_fracture_10y_pct": ranges["hip_fracture_10y_pct"]}
    return bands


TABLE_COLUMNS: list[tuple[str, str]] = [
    ("lumbar_spine_t_score", "lumbar spine T-score"), ("lumbar_spine_bmd_pct_change", "lumbar spine BMD change %"),
    ("total_hip_t_score", "total hip T-score"), ("total_hip_bmd_pct_change", "total hip BMD change %"),
    (f"major_osteoporotic_within_{TABLE_MONTHS}_months", "major osteoporotic fracture within 5 years %"),
    (f"hip_within_{TABLE_MONTHS}_months", "hip fracture within 5 years %"),
    (f"major_osteoporotic_at_{TABLE_MONTHS}_months", "10-year major osteoporotic fracture risk in 5 years %"),
    (f"hip_at_{TABLE_MONTHS}_months", "10-year hip fracture risk in 5 years %"),
]


def projection_csv(result: dict[str, Any]) -> str:
    """The projection table as CSV: one line per regimen, every value, its difference from the reference regimen
    and the personal 80% range (p10, p90) where fitted; units in the column names."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["regimen", "label"]
    for key, _ in TABLE_COLUMNS:
        header += [f"{key}_5y" if "within" not in key and "_at_" not in key else key,
                   f"{key}_difference_from_{result['reference']}"]
    range_keys = [f"{site}_{kind}" for site in ENGINE_SITES for kind in ("t_score", "bmd_pct_change")]
    range_keys += ["major_osteoporotic_at", "hip_at"]
    header += [f"{k}_p{p}" for k in range_keys for p in (10, 90)]
    writer.writerow(header)
    for row in result["table"]:
        line: list[Any] = [row["name"], row["label"]]
        for key, _ in TABLE_COLUMNS:
            diff = row["difference"][key] if row["difference"] else (0.0 if row["name"] == result["reference"] else "")
            line += [f"{row['values'][key]:.2f}", f"{diff:.2f}" if diff != "" else ""]
        for k in range_keys:
            band = row["ranges"].get(k)
            line += [f"{band['p10']:.2f}", f"{band['p90']:.2f}"] if band else ["", ""]
        writer.writerow(line)
    return out.getvalue()


def warm_up() -> None:
    """Compile the engine and load the food table once at start, so the first page is fast."""
    simulate_batch([{"patient": {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162},
                     "months": 12, "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0}]}])
    search_foods("milk", 1)
