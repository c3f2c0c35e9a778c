"""Exercise log -> next week's loads (progressive overload) and the weekly doses for the engine.

Safety first: with the person's ``ExerciseLimits`` (``exercise.exercise_limits``, the one set of
contraindication rules), a logged exercise the rules exclude gets no next load ("stop"), with the
reason and the library exercise to do instead; a LIFTMOR lift is progressed only where the rules
offer the supervised option.

Rules (progressive overload; sources as in ``exercise.py``):
- Too Fit To Fracture 2014 8-12RM window: when every set of the last session reached 12 reps,
  raise the load; when a set fell below 8 reps, lower it; otherwise keep it.
- LIFTMOR: prescribed 5 x 5; when all 5 sets of 5 were done, raise the load.
- PAL trial: for a person with lymphoedema or axillary surgery, upper-body loads rise by the smallest
  increment only when the sets were done without arm symptoms; with symptoms the load is reduced.
Increments: PAL upper body 0.5 kg, i.e. the PAL protocol's 1 lb steps "after a week or two with no
change in arm symptoms", starting from 1 lb or no weight (Schmitz, PAL Q&A on OncoLink [S]); lower
body 2.5 kg and upper body 1 kg (common plate and dumbbell steps) and 10% reductions are OURS. Intensity class of a resistance set from its reps (ours, after
LIFTMOR's arms): <= 6 reps "high" (about 80-85% 1RM), 7-12 "moderate", > 12 "low" (the LIFTMOR
control arm did 10-15 reps at < 60% 1RM).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from osteotwin.errors import InputError
from osteotwin.lifestyle.exercise import LIBRARY, SAFE_ALTERNATIVE, ExerciseLimits
from osteotwin.lifestyle.intake import read_log_rows
from osteotwin.scenario import Exercise

LOWER_BODY_INCREMENT_KG = 2.5
UPPER_BODY_INCREMENT_KG = 1.0
PAL_INCREMENT_KG = 0.5
REDUCTION_FRACTION = 0.10
PAL_DAYS_AT_LOAD = 7
"""PAL: the next 1 lb step only "after a week or two with no changes in arm symptoms" [S]; we use one week."""


class ExerciseLogEntry(BaseModel):
    """One logged exercise: date, exercise id (from the library), sets, reps per set, load, minutes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    exercise: str
    sets: int = Field(0, ge=0, le=20)
    reps: int = Field(0, ge=0, le=200, description="Repetitions completed in each set (the lowest set).")
    load_kg: float = Field(0.0, ge=0, le=500)
    minutes: float = Field(0.0, ge=0, le=600)
    arm_symptoms: bool = False


class NextLoad(BaseModel):
    """Next week's prescription for one exercise and the rule that set it."""

    exercise: str
    last_load_kg: float
    next_load_kg: float | None = Field(description="None: stop this exercise (the safety rules exclude it).")
    sets: int
    reps: str
    rule: str
    source: str


class NextWeek(BaseModel):
    """Next week's loads and the weekly doses of the last logged week (the engine's Exercise block)."""

    loads: list[NextLoad]
    weekly_dose: Exercise
    week_start: dt.date
    notes: list[str]


def _parse(entries: list[dict] | list[ExerciseLogEntry]) -> list[ExerciseLogEntry]:
    parsed = []
    for number, raw in enumerate(entries, start=1):
        if isinstance(raw, ExerciseLogEntry):
            entry = raw
        elif not isinstance(raw, dict):
            raise InputError(f"exercise_log[{number}]", raw, "an object with date, exercise, sets, reps, load_kg")
        else:
            entry = ExerciseLogEntry.model_validate(raw)
        if entry.exercise not in LIBRARY:
            raise InputError(f"exercise_log[{number}].exercise", entry.exercise, f"one of {', '.join(sorted(LIBRARY))}")
        parsed.append(entry)
    return parsed


def weekly_doses(entries: list[ExerciseLogEntry], week_start: dt.date) -> Exercise:
    """Walking minutes and session counts in the 7 days from ``week_start`` (one session per kind per day)."""
    week = [e for e in entries if week_start <= e.date < week_start + dt.timedelta(days=7)]
    days_by_kind: dict[str, set[dt.date]] = defaultdict(set)
    walking = 0.0
    reps_seen: list[int] = []
    for entry in week:
        kind = LIBRARY[entry.exercise].kind
        if kind == "aerobic":
            walking += entry.minutes
        elif kind == "resistance":
            days_by_kind["resistance"].add(entry.date)
            if entry.reps:
                reps_seen.append(entry.reps)
        elif kind == "impact":
            days_by_kind["impact"].add(entry.date)
        elif kind == "balance":
            days_by_kind["balance"].add(entry.date)
    if reps_seen and min(reps_seen) <= 6:
        intensity = "high"
    elif reps_seen and min(reps_seen) > 12:
        intensity = "low"
    else:
        intensity = "moderate"
    return Exercise(
        walking_minutes_per_week=min(walking, 3000),
        impact_sessions_per_week=len(days_by_kind["impact"]),
        resistance_sessions_per_week=len(days_by_kind["resistance"]),
        resistance_intensity=intensity,
        balance_sessions_per_week=len(days_by_kind["balance"]),
    )


def _first_day_at_load(logged: list[ExerciseLogEntry], load: float) -> dt.date:
    """The first day of the current unbroken run of symptom-free sessions at this load."""
    first = max(e.date for e in logged)
    for entry in sorted(logged, key=lambda e: e.date, reverse=True):
        if entry.load_kg != load or entry.arm_symptoms:
            break
        first = entry.date
    return first


def next_week(
    log_entries: list[dict] | list[ExerciseLogEntry],
    high_intensity: bool = False,
    arm_caution: bool = False,
    limits: ExerciseLimits | None = None,
) -> NextWeek:
    """Apply the progression rule to the last session of each resistance exercise in the log.

    ``high_intensity``: the person follows the LIFTMOR 5 x 5 plan for every lift; ``arm_caution``:
    lymphoedema or axillary surgery (PAL rule for upper-body exercises). ``limits``: the safety rules'
    verdict; excluded exercises are stopped, LIFTMOR lifts (high loading class) follow the 5 x 5 rule
    where the supervised option is offered, and ``arm_caution`` is taken from the limits.
    """
    if not log_entries:
        raise InputError("exercise_log", "[]", "at least one entry {date, exercise, sets, reps, load_kg}")
    if limits is not None:
        if high_intensity and not limits.high_intensity_option:
            reasons = "; ".join(r.condition for r in limits.restrictions) or "lowest T-score not below -1.0"
            raise InputError("high_intensity", True, f"false: the supervised LIFTMOR option is not offered ({reasons})")
        arm_caution = arm_caution or limits.arm_caution
    entries = _parse(log_entries)
    last_date = max(e.date for e in entries)
    week_start = last_date - dt.timedelta(days=last_date.weekday())
    by_exercise: dict[str, list[ExerciseLogEntry]] = defaultdict(list)
    for entry in entries:
        if LIBRARY[entry.exercise].kind == "resistance":
            by_exercise[entry.exercise].append(entry)
    loads = []
    notes = []
    for exercise_id, logged in sorted(by_exercise.items()):
        last_day = max(e.date for e in logged)
        last = [e for e in logged if e.date == last_day]
        load = max(e.load_kg for e in last)
        sets = sum(e.sets for e in last)
        min_reps = min(e.reps for e in last)
        symptoms = any(e.arm_symptoms for e in last)
        library = LIBRARY[exercise_id]
        upper = library.upper_body and not library.lower_body
        increment = LOWER_BODY_INCREMENT_KG if library.lower_body else UPPER_BODY_INCREMENT_KG
        allowed, why = limits.allows(exercise_id, supervised_option=True) if limits else (True, "")
        liftmor = high_intensity or (limits is not None and library.loading_class == "high")
        if not allowed:
            instead = LIBRARY[SAFE_ALTERNATIVE[exercise_id]].name if exercise_id in SAFE_ALTERNATIVE else None
            loads.append(NextLoad(
                exercise=exercise_id, last_load_kg=load, next_load_kg=None, sets=2, reps="8-12",
                rule=f"stop: {why}" + (f"; instead: {instead}, at a load you can lift 8-12 times" if instead else ""),
                source="the safety rules of the exercise plan (osteotwin.lifestyle.exercise)",
            ))
            continue
        if upper and arm_caution:
            if symptoms:
                next_load = round(load * (1 - REDUCTION_FRACTION), 1)
                rule = "arm symptoms: load reduced by 10%; pause and see the team if symptoms persist"
            elif min_reps < (5 if liftmor else 12):
                next_load = load
                rule = "keep the load until all sets are completed without symptoms"
            elif (last_day - _first_day_at_load(logged, load)).days < PAL_DAYS_AT_LOAD:
                next_load = load
                rule = f"hold: at least {PAL_DAYS_AT_LOAD} days at this load without arm-symptom change before the next step"
            else:
                next_load = load + PAL_INCREMENT_KG
                rule = (f"{PAL_DAYS_AT_LOAD}+ days at this load without arm symptoms: smallest increment "
                        f"(+{PAL_INCREMENT_KG:g} kg)")
            source = "PAL trial (Schmitz et al., NEJM 2009); 1 lb (0.5 kg) steps per the PAL protocol (secondary source)"
            reps = "5" if liftmor else "8-12"
        elif liftmor:
            reps = "5"
            if sets >= 5 and min_reps >= 5:
                next_load, rule = load + increment, f"all 5 x 5 completed: +{increment:g} kg"
            elif min_reps < 3:
                next_load, rule = round(load * (1 - REDUCTION_FRACTION), 1), "fewer than 3 reps in a set: load reduced by 10%"
            else:
                next_load, rule = load, "5 x 5 not yet completed: keep the load"
            source = "LIFTMOR (Watson et al., JBMR 2018); increments ours"
        else:
            reps = "8-12"
            if min_reps >= 12:
                next_load, rule = load + increment, f"12 reps reached in every set: +{increment:g} kg"
            elif min_reps < 8:
                next_load, rule = round(load * (1 - REDUCTION_FRACTION), 1), "fewer than 8 reps: load reduced by 10%"
            else:
                next_load, rule = load, "within 8-12 reps: keep the load, add reps"
            source = "Too Fit To Fracture 2014 8-12RM (Giangregorio et al. 2014); increments ours"
        if library.needs_supervision:
            notes.append(f"{exercise_id}: supervised sessions only (LIFTMOR)")
        loads.append(NextLoad(
            exercise=exercise_id, last_load_kg=load, next_load_kg=round(next_load, 2),
            sets=5 if liftmor else 2, reps=reps, rule=rule, source=source,
        ))
    return NextWeek(loads=loads, weekly_dose=weekly_doses(entries, week_start), week_start=week_start, notes=notes)


def read_exercise_log(path: str | Path) -> list[dict]:
    """Read an exercise log: CSV (date,exercise,sets,reps,load_kg[,minutes,arm_symptoms]) or a JSON list."""
    raw, fields = read_log_rows(path, "exercise_log", "{date, exercise, sets, reps, load_kg}",
                                "examples/logs/exercise_log_week.csv")
    if fields is None:
        return raw
    if "date" not in fields or "exercise" not in fields:
        raise InputError("header", fields, "a CSV header with date,exercise,sets,reps,load_kg[,minutes,arm_symptoms]")
    rows = []
    for row in raw:
        cleaned = {key: value for key, value in row.items() if value not in ("", None)}
        if "arm_symptoms" in cleaned:
            cleaned["arm_symptoms"] = cleaned["arm_symptoms"].strip().lower() in {"1", "true", "yes", "y"}
        rows.append(cleaned)
    return rows
