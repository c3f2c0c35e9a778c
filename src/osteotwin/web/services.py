"""The web app's calls into the engine, the clinic and the planner, on a stored record.

Each function takes a stored :class:`~osteotwin.records.models.Patient` and returns plain
JSON-shaped dicts (the CLI's JSON contracts), so pages and the API show the same numbers.
The engine, the clinic and the planner are hard dependencies of the package, imported here directly.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from osteotwin import simulate_batch
from osteotwin.catalog import AROMATASE_INHIBITORS
from osteotwin.clinic import PatientRecord, assess
from osteotwin.clinic.fhir import record_to_bundle
from osteotwin.clinic.monitoring import dxa_changes
from osteotwin.errors import InputError
from osteotwin.lifestyle import get_food, make_plan, nutrient_totals, search_foods, targets_for
from osteotwin.lifestyle.exercise import EXERCISE_LIBRARY
from osteotwin.records.fhir_import import import_fhir_bundle
from osteotwin.records.models import Patient
from osteotwin.records.patients import (
    current_medications,
    endocrine_therapy,
    latest_t_scores,
    record_dict,
    simulate_patient_block,
)
from osteotwin.records.schemas import ENDOCRINE_DRUGS

PROJECTION_MONTHS = 60

# The regimens the projection page can toggle (label, what it adds to the patient's AI).
# Doses: denosumab 60 mg every 6 months (ABCSG-18, Gnant et al., Lancet 2015);
# zoledronic acid 4 mg every 6 months (ABCSG-12 / Z-FAST, Gnant 2009, Brufsky 2007);
# "stopping denosumab": the same denosumab course stopped after 24 months (ours: to show the rebound).
REGIMENS: dict[str, str] = {
    "ai_alone": "Aromatase inhibitor alone",
    "ai_lifestyle": "AI + lifestyle plan (diet, supplements, exercise)",
    "ai_denosumab": "AI + denosumab 60 mg every 6 months",
    "ai_zoledronic_acid": "AI + zoledronic acid 4 mg every 6 months",
    "ai_denosumab_stopped": "AI + denosumab, stopped after 2 years",
}


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


_CACHE = _ResultCache()


def _cached(kind: str, inputs: Any, compute) -> Any:  # noqa: ANN001
    import copy
    import hashlib
    import json

    key = kind + hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
    return copy.deepcopy(_CACHE.get_or_compute(key, compute))


# --- clinic -------------------------------------------------------------------------------------

def assessment(patient: Patient) -> dict[str, Any]:
    """``assess`` on the stored record (the `osteotwin assess --json` output).

    The clinic's own engine projection is skipped (``project=False``): the projection page runs
    the engine for all regimens in one batch instead."""
    raw = record_dict(patient)
    today = dt.date.today()
    return _cached("assessment", [raw, today.isoformat()],
                   lambda: as_json(assess(PatientRecord.model_validate(raw), today=today, project=False)))


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
    block = simulate_patient_block(patient, today)
    week_ago = today - dt.timedelta(days=7)
    profile: dict[str, Any] = {
        "patient": {k: block[k] for k in ("age_years", "weight_kg", "height_cm", "lumbar_spine_t_score",
                                           "total_hip_t_score") if k in block},
        "diet_pattern": patient.diet_pattern,
        "dislikes": list(patient.dislikes or []),
        "food_log": [{"date": e.date.isoformat(), "food_id": e.food_id, "grams": e.grams}
                     for e in patient.food_log if week_ago < e.date <= today],
        "exercise_log": [
            {k: v for k, v in {"date": e.date.isoformat(), "exercise": e.exercise, "sets": e.sets, "reps": e.reps,
                               "load_kg": e.load_kg, "minutes": e.minutes}.items() if v is not None}
            for e in patient.exercise_log if today - dt.timedelta(days=28) < e.date <= today],
        "conditions": {"vertebral_fracture": patient.vertebral_fracture, "bone_metastases": patient.bone_metastases,
                       "lymphedema": patient.lymphedema, "falls_last_12_months": patient.falls_last_12_months},
        "medications": sorted({m.drug for m in current_medications(patient, today)}),
    }
    if patient.energy_kcal_per_day:
        profile["energy_kcal_per_day"] = patient.energy_kcal_per_day
    return profile


def lifestyle_plan(patient: Patient, today: dt.date | None = None) -> dict[str, Any]:
    """``make_plan`` on the stored record (the `osteotwin plan --json` output)."""
    profile = plan_profile(patient, today)
    return _cached("plan", profile, lambda: as_json(make_plan(profile)))


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


# --- engine -------------------------------------------------------------------------------------

def _endocrine_block(patient: Patient, months: float) -> list[dict[str, Any]]:
    course = endocrine_therapy(patient)
    drug = course.drug if course is not None and course.drug in ENDOCRINE_DRUGS else "anastrozole"
    return [{"drug": drug, "start_month": 0, "stop_month": months, "adherence": 1.0}]


def projection_scenarios(patient: Patient, regimen_blocks: dict[str, Any] | None,
                         months: float = PROJECTION_MONTHS) -> dict[str, dict[str, Any]]:
    """One Scenario per toggleable regimen, starting today from the newest T-scores."""
    base = {"patient": simulate_patient_block(patient), "months": months,
            "endocrine_therapy": _endocrine_block(patient, months)}
    lifestyle = {k: v for k, v in (regimen_blocks or {}).items() if k in ("diet", "supplements", "exercise", "gut")
                 and v is not None}
    denosumab = {"drug": "denosumab", "dose_mg": 60, "every_months": 6, "start_month": 0, "stop_month": months}
    return {
        "ai_alone": dict(base),
        "ai_lifestyle": {**base, **lifestyle},
        "ai_denosumab": {**base, "bone_agents": [denosumab]},
        "ai_zoledronic_acid": {**base, "bone_agents": [
            {"drug": "zoledronic_acid", "dose_mg": 4, "every_months": 6, "start_month": 0, "stop_month": months}]},
        "ai_denosumab_stopped": {**base, "bone_agents": [{**denosumab, "stop_month": 24}]},
    }


def projection(patient: Patient, regimens: list[str] | None = None) -> dict[str, Any]:
    """BMD (and fracture risk where the engine models it) over 5 years under each regimen,
    from one ``simulate_batch`` call; reports the engine's wall time in ms."""
    regimen_blocks = lifestyle_plan(patient).get("regimen")
    scenarios = projection_scenarios(patient, regimen_blocks)
    names = [n for n in (regimens or list(REGIMENS)) if n in scenarios]
    batch = [scenarios[n] for n in names]

    def compute() -> tuple[list[Any], float]:
        started = time.perf_counter()
        result = as_json(list(simulate_batch(batch)))
        return result, (time.perf_counter() - started) * 1000

    trajectories, engine_ms = _cached("projection", batch, compute)
    return {
        "months": PROJECTION_MONTHS,
        "engine_ms": round(engine_ms, 1),
        "start_t_scores": latest_t_scores(patient),
        "lifestyle_plan_used": regimen_blocks is not None,
        "regimens": {n: {"label": REGIMENS[n], "scenario": scenarios[n], "trajectory": t}
                     for n, t in zip(names, trajectories, strict=True)},
    }


def warm_up() -> None:
    """Compile the engine and load the food table once at start, so the first page is fast."""
    simulate_batch([{"patient": {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162},
                     "months": 12, "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0}]}])
    search_foods("milk", 1)
