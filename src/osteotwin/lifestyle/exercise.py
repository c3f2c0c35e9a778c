"""Exercise prescription: a library of exercises, safety screening, and a weekly plan.

Sources (ids used in the output; docs/lifestyle.md lists them with their prescriptions):
- X1 ESSA 2017 (Beck et al., J Sci Med Sport 20:438-45) [V abstract; dose detail R]
- X2 LIFTMOR (Watson et al., JBMR 2018;33:211-20): 5 x 5 at > 80-85% 1RM, twice weekly, supervised [V]
- X3 Too Fit To Fracture 2014 (Giangregorio et al., Osteoporos Int 25:821-35) [V]; X3b its 2015 update [V]
- X4 WHO 2020 (Bull et al., BJSM 54:1451-62) [V]
- X5 ACSM 2019 cancer-survivor roundtable (Campbell et al., MSSE 51:2375-90) [V]
- X7 PAL trial (Schmitz et al., NEJM 2009;361:664-73) [V]; protocol detail (1 lb steps) [S]
- X8 Bone metastases: IBMEWG (Campbell et al., JCO Oncol Pract 2022) [V abstract]
Ground-reaction forces: walking about 1.0-1.5 body weights (BW) [R]; Hutchinson 1995 classes
< 1.5 BW "low", >= 2 BW "high" [V]; jogging 2.5-3 BW [R]; jumps and drop landings 4-5 BW [R].
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from osteotwin.scenario import Exercise

Site = Literal["lumbar_spine", "hip", "wrist_forearm", "upper_limb", "whole_body"]
LoadingClass = Literal["low", "moderate", "high"]
Kind = Literal["aerobic", "impact", "resistance", "balance", "spinal_extension"]

SOURCES = {
    "X1": "ESSA position statement, Beck et al., J Sci Med Sport 2017;20:438-45",
    "X2": "LIFTMOR RCT, Watson et al., JBMR 2018;33:211-20",
    "X3": "Too Fit To Fracture, Giangregorio et al., Osteoporos Int 2014;25:821-35",
    "X3b": "Too Fit To Fracture 2015 update, Osteoporos Int 2015;26:891-910",
    "X4": "WHO 2020 guidelines, Bull et al., BJSM 2020;54:1451-62",
    "X5": "ACSM cancer-survivor roundtable, Campbell et al., MSSE 2019;51:2375-90",
    "X7": "PAL trial, Schmitz et al., NEJM 2009;361:664-73",
    "X8": "IBMEWG bone-metastases recommendations, Campbell et al., JCO Oncol Pract 2022",
    "H95": "Hutchinson et al., MSSE 1995 (loading classes < 1.5 BW low, >= 2 BW high)",
}


class LibraryExercise(BaseModel):
    """An exercise: what it trains, which sites it loads, how hard, and what it needs to be safe."""

    id: str
    name: str
    kind: Kind
    sites: list[Site]
    loading_class: LoadingClass
    loading_basis: str
    upper_body: bool = False
    lower_body: bool = False
    impact: bool = False
    loaded_spinal_flexion: bool = False
    needs_supervision: bool = False


EXERCISE_LIBRARY: tuple[LibraryExercise, ...] = (
    LibraryExercise(id="brisk_walking", name="Brisk walking", kind="aerobic", sites=["hip"], loading_class="low",
                    loading_basis="about 1.0-1.5 BW [R]; < 1.5 BW = low (H95)", lower_body=True),
    LibraryExercise(id="stair_climbing", name="Stair climbing", kind="aerobic", sites=["hip", "lumbar_spine"],
                    loading_class="moderate", loading_basis="between walking and jogging (ours)", lower_body=True),
    LibraryExercise(id="jogging", name="Jogging", kind="aerobic", sites=["hip", "lumbar_spine"], loading_class="high",
                    loading_basis="about 2.5-3 BW [R]; >= 2 BW = high (H95)", lower_body=True, impact=True),
    LibraryExercise(id="heel_drops", name="Heel drops", kind="impact", sites=["hip", "lumbar_spine"],
                    loading_class="moderate", loading_basis="low-level impact (ESSA progression by impact level, X1)",
                    lower_body=True, impact=True),
    LibraryExercise(id="jumps", name="Jumps (about 50 a session)", kind="impact", sites=["hip", "lumbar_spine"],
                    loading_class="high", loading_basis="about 4-5 BW [R]; ESSA ~50 jumps/session [R] (X1)",
                    lower_body=True, impact=True),
    LibraryExercise(id="jumping_chin_up_drop_landing", name="Jumping chin-up with drop landing", kind="impact",
                    sites=["hip", "lumbar_spine", "upper_limb"], loading_class="high",
                    loading_basis="drop landing about 4-5 BW [R]; LIFTMOR (X2)", upper_body=True, lower_body=True,
                    impact=True, needs_supervision=True),
    LibraryExercise(id="deadlift", name="Deadlift", kind="resistance", sites=["hip", "lumbar_spine"], loading_class="high",
                    loading_basis="LIFTMOR 5 x 5 at > 80-85% 1RM (X2)", lower_body=True, needs_supervision=True),
    LibraryExercise(id="back_squat", name="Back squat", kind="resistance", sites=["hip", "lumbar_spine"],
                    loading_class="high", loading_basis="LIFTMOR 5 x 5 at > 80-85% 1RM (X2)", lower_body=True,
                    needs_supervision=True),
    LibraryExercise(id="overhead_press", name="Overhead press", kind="resistance",
                    sites=["lumbar_spine", "upper_limb"], loading_class="high",
                    loading_basis="LIFTMOR 5 x 5 at > 80-85% 1RM (X2)", upper_body=True, needs_supervision=True),
    LibraryExercise(id="goblet_squat", name="Goblet squat (or sit-to-stand)", kind="resistance",
                    sites=["hip", "lumbar_spine"], loading_class="moderate", loading_basis="8-12RM (X3)",
                    lower_body=True),
    LibraryExercise(id="lunge", name="Lunge / step-up", kind="resistance", sites=["hip"], loading_class="moderate",
                    loading_basis="8-12RM (X3)", lower_body=True),
    LibraryExercise(id="hip_hinge", name="Hip hinge with dumbbells (neutral spine)", kind="resistance",
                    sites=["hip", "lumbar_spine"], loading_class="moderate",
                    loading_basis="8-12RM (X3); spine neutral, no flexion (X3b)", lower_body=True),
    LibraryExercise(id="seated_row", name="Seated row / band row", kind="resistance",
                    sites=["upper_limb", "lumbar_spine"], loading_class="moderate", loading_basis="8-12RM (X3)",
                    upper_body=True),
    LibraryExercise(id="wall_push_up", name="Push-up (wall, bench or floor)", kind="resistance",
                    sites=["upper_limb", "wrist_forearm"], loading_class="moderate", loading_basis="8-12RM (X3)",
                    upper_body=True),
    LibraryExercise(id="dumbbell_press", name="Dumbbell shoulder press", kind="resistance",
                    sites=["upper_limb", "lumbar_spine"], loading_class="moderate", loading_basis="8-12RM (X3)",
                    upper_body=True),
    LibraryExercise(id="sit_up", name="Sit-up / crunch", kind="resistance", sites=["lumbar_spine"],
                    loading_class="low", loading_basis="loaded spinal flexion: avoid in osteoporosis (X1, X3b)",
                    loaded_spinal_flexion=True),
    LibraryExercise(id="back_extension", name="Spinal extensor endurance (prone extension, 3-5 s holds)",
                    kind="spinal_extension", sites=["lumbar_spine"], loading_class="low",
                    loading_basis="TTF 2015: daily 5-10 min, 3-5 s holds (X3b)"),
    LibraryExercise(id="static_balance", name="Static balance (tandem stance, single-leg stance)", kind="balance",
                    sites=[], loading_class="low", loading_basis="TTF: 15-20 min/day, static to dynamic (X3)"),
    LibraryExercise(id="dynamic_balance", name="Dynamic balance (tandem walk, tai chi)", kind="balance", sites=[],
                    loading_class="low", loading_basis="TTF: progress static to dynamic (X3)"),
)
LIBRARY = {exercise.id: exercise for exercise in EXERCISE_LIBRARY}


class Restriction(BaseModel):
    """A change to the plan made by the safety screening, with its reason and source."""

    condition: str
    action: str
    source: str


class ScreeningInput(BaseModel):
    """What the screening needs: lowest T-score and the conditions of the profile."""

    min_t_score: float | None = None
    vertebral_fracture: bool = False
    bone_metastases: bool = False
    bone_metastases_sites: list[str] = []
    lymphedema: bool = False
    axillary_surgery: bool = False
    falls_last_12_months: int = 0
    poor_balance: bool = False
    osteoarthritis_or_frailty: bool = False


class PlannedExercise(BaseModel):
    """One exercise in a session."""

    exercise_id: str
    name: str
    sets: int | None = None
    reps: str | None = None
    intensity: str
    minutes: float | None = None
    sites: list[str]


class Session(BaseModel):
    """One kind of session, done ``per_week`` times a week."""

    name: str
    per_week: int
    minutes: float
    supervised: bool
    exercises: list[PlannedExercise]
    source: str


class ExercisePrescription(BaseModel):
    """The weekly plan, its restrictions and the engine's weekly dose block."""

    sessions: list[Session]
    restrictions: list[Restriction]
    safety_notes: list[str]
    avoid: list[str]
    progression_rule: str
    weekly_dose: Exercise
    qualifies_for_high_intensity: bool


def _planned(exercise_id: str, sets: int | None, reps: str | None, intensity: str, minutes: float | None = None) -> PlannedExercise:
    exercise = LIBRARY[exercise_id]
    return PlannedExercise(exercise_id=exercise_id, name=exercise.name, sets=sets, reps=reps, intensity=intensity,
                           minutes=minutes, sites=list(exercise.sites))


def screen(inputs: ScreeningInput) -> list[Restriction]:
    """Safety restrictions from the profile, each naming its source (the X ids of this module's docstring)."""
    restrictions: list[Restriction] = []
    low_bmd = inputs.min_t_score is not None and inputs.min_t_score <= -2.5
    if inputs.vertebral_fracture or low_bmd:
        condition = "vertebral fracture" if inputs.vertebral_fracture else f"T-score {inputs.min_t_score:g} <= -2.5"
        restrictions.append(Restriction(
            condition=condition,
            action="no loaded, rapid or end-range spinal flexion or twisting (no sit-ups, no lifting from the floor "
                   "with a rounded back); see a physiotherapist before weighted exercise",
            source=f"X3b ({SOURCES['X3b']}); X1 ({SOURCES['X1']})",
        ))
    if inputs.vertebral_fracture:
        restrictions.append(Restriction(
            condition="vertebral fracture",
            action="moderate (not vigorous) aerobic exercise, shorter bouts; resistance at moderate intensity, "
                   "supervised; no high-intensity (LIFTMOR-type) training and no jumping",
            source=f"X3 ({SOURCES['X3']}); X3b",
        ))
    elif low_bmd:
        restrictions.append(Restriction(
            condition=f"T-score {inputs.min_t_score:g} <= -2.5",
            action="high-intensity resistance and impact only supervised, after screening for vertebral fracture "
                   "and a physiotherapist's assessment",
            source=f"X2 ({SOURCES['X2']}); X3",
        ))
    if inputs.bone_metastases:
        sites = ", ".join(inputs.bone_metastases_sites) or "site(s) not given"
        restrictions.append(Restriction(
            condition=f"bone metastases ({sites})",
            action="refer to the oncology team and an exercise professional for skeletal-complication screening "
                   "before starting; no unsupervised loading of the affected site; no impact and no high-intensity "
                   "loading until cleared; emphasise posture, controlled movement and technique",
            source=f"X8 ({SOURCES['X8']})",
        ))
    if inputs.lymphedema or inputs.axillary_surgery:
        restrictions.append(Restriction(
            condition="lymphoedema" if inputs.lymphedema else "axillary surgery (lymphoedema risk)",
            action="upper-body resistance allowed: start at minimal load, raise by the smallest increment only when "
                   "all sets are completed without arm symptoms, reduce or pause if symptoms change; wear a fitted "
                   "compression garment if lymphoedema is present",
            source=f"X7 ({SOURCES['X7']}); protocol: start at 1 lb or no weight, +1 lb after 1-2 weeks without arm-symptom change [S]",
        ))
    if inputs.falls_last_12_months > 0 or inputs.poor_balance:
        why = f"{inputs.falls_last_12_months} fall(s) in 12 months" if inputs.falls_last_12_months else "poor balance"
        restrictions.append(Restriction(
            condition=why,
            action="balance training at least 3 days a week (here: daily, 15-20 min); impact only low-level, "
                   "near a support; consider a falls assessment",
            source=f"X4 ({SOURCES['X4']}); X3",
        ))
    if inputs.osteoarthritis_or_frailty:
        restrictions.append(Restriction(
            condition="osteoarthritis or frailty", action="modify impact: low-level impact (heel drops) only",
            source=f"X1 ({SOURCES['X1']})",
        ))
    return restrictions


def prescribe(inputs: ScreeningInput) -> ExercisePrescription:
    """A weekly multicomponent plan (TTF, ESSA, WHO, ACSM) changed by the safety screening."""
    restrictions = screen(inputs)
    vertebral = inputs.vertebral_fracture
    metastases = inputs.bone_metastases
    low_bmd = inputs.min_t_score is not None and inputs.min_t_score <= -2.5
    falls = inputs.falls_last_12_months > 0 or inputs.poor_balance
    arm_caution = inputs.lymphedema or inputs.axillary_surgery
    # LIFTMOR enrolled postmenopausal women with T < -1.0; offered only without vertebral fracture or metastases,
    # and without falls, frailty or arm lymphoedema (our conservative reading), always supervised.
    high_intensity = (
        inputs.min_t_score is not None and inputs.min_t_score < -1.0 and not vertebral and not metastases
        and not falls and not inputs.osteoarthritis_or_frailty and not arm_caution
    )
    impact_allowed = not vertebral and not metastases
    low_impact_only = falls or inputs.osteoarthritis_or_frailty or low_bmd
    sessions: list[Session] = []
    aerobic_minutes = 150.0
    bout = 20.0 if vertebral else 30.0
    sessions.append(Session(
        name="weight-bearing aerobic", per_week=int(aerobic_minutes // bout), minutes=bout, supervised=False,
        exercises=[_planned("brisk_walking", None, None, "moderate (RPE 5-6/10)" if vertebral else "moderate to vigorous (RPE 5-8/10)", bout)],
        source="X3/X3b: >= 150 min/week MVPA, >= 30 min bouts 5 days/week (moderate only and shorter bouts with vertebral fracture); X5",
    ))
    if high_intensity:
        sessions.append(Session(
            name="high-intensity resistance and impact (LIFTMOR, HiRIT)", per_week=2, minutes=30, supervised=True,
            exercises=[
                _planned("deadlift", 5, "5", "> 80-85% 1RM after ~1 month of familiarisation"),
                _planned("back_squat", 5, "5", "> 80-85% 1RM after ~1 month of familiarisation"),
                _planned("overhead_press", 5, "5", "> 80-85% 1RM after ~1 month of familiarisation"),
                _planned("jumping_chin_up_drop_landing", 5, "5", "body weight"),
            ],
            source="X2 LIFTMOR: twice weekly 30-min supervised sessions; T < -1.0 postmenopausal women",
        ))
    else:
        intensity = "moderate: 8-12RM, start lighter" if (vertebral or metastases or low_bmd) else "moderate to high: 8-12RM"
        exercises = [
            _planned("goblet_squat", 2, "8-12", intensity),
            _planned("lunge", 2, "8-12", intensity),
            _planned("hip_hinge", 2, "8-12", intensity),
            _planned("seated_row", 2, "8-12", "minimal load, smallest increments (PAL)" if arm_caution else intensity),
            _planned("wall_push_up", 2, "8-12", "minimal load, smallest increments (PAL)" if arm_caution else intensity),
        ]
        sessions.append(Session(
            name="progressive resistance", per_week=2, minutes=40,
            supervised=vertebral or metastases or low_bmd,
            exercises=exercises,
            source="X3: >= 2 days/week, 1 exercise per major muscle group, 2 sets of 8-12RM; X5: 2-3x/week, 2 sets of 8-12",
        ))
    if impact_allowed and not high_intensity:
        impact_id = "heel_drops" if low_impact_only else "jumps"
        sessions.append(Session(
            name="impact", per_week=4, minutes=10, supervised=False,
            exercises=[_planned(impact_id, None, "about 50 landings", "low-level impact" if low_impact_only else "progress by impact level")],
            source="X1 ESSA: impact 4-7 days/week, ~50 jumps/session, progressing by impact level [R dose]",
        ))
    sessions.append(Session(
        name="balance", per_week=7 if falls else 4, minutes=15, supervised=False,
        exercises=[_planned("static_balance", None, None, "progress static to dynamic", 8),
                   _planned("dynamic_balance", None, None, "progress static to dynamic", 7)],
        source="X3: 15-20 min/day, about 2 h/week; X4: >= 3 days/week with falls or poor mobility; X1: 4+ days/week [R]",
    ))
    sessions.append(Session(
        name="spinal extensor endurance", per_week=7, minutes=5, supervised=False,
        exercises=[_planned("back_extension", None, "3-5 s holds", "body weight", 5)],
        source="X3b: daily 5-10 min, 3-5 s holds",
    ))
    avoid = []
    if vertebral or low_bmd:
        avoid = [LIBRARY["sit_up"].name, "rapid, weighted, end-range spinal flexion or twisting", "lifting from the floor with a rounded back"]
    if metastases:
        avoid += ["impact and jumping until cleared", "unsupervised loading of the affected site(s)"]
    notes = [f"{r.condition}: {r.action} [{r.source}]" for r in restrictions]
    notes.append("Aerobic training must not replace resistance and balance training (X3, strong recommendation).")
    if not high_intensity and inputs.min_t_score is not None and inputs.min_t_score < -1.0 and not (vertebral or metastases):
        notes.append("LIFTMOR-type high-intensity training was not offered because of the restrictions above.")
    progression = (
        "LIFTMOR: 5 x 5 at > 80-85% 1RM; add the increment when all 5 x 5 are completed with good form (X2)"
        if high_intensity else
        "Too Fit To Fracture 8-12RM window: raise the load when 2 sets of 12 are completed; lower it if fewer than 8 (X3)"
    )
    if arm_caution:
        progression += "; upper body: smallest increment only without arm symptoms (X7 PAL)"
    weekly_dose = Exercise(
        walking_minutes_per_week=aerobic_minutes,
        impact_sessions_per_week=(2 if high_intensity else (4 if impact_allowed else 0)),
        resistance_sessions_per_week=2,
        resistance_intensity="high" if high_intensity else "moderate",
        balance_sessions_per_week=7 if falls else 4,
    )
    return ExercisePrescription(
        sessions=sessions, restrictions=restrictions, safety_notes=notes, avoid=avoid,
        progression_rule=progression, weekly_dose=weekly_dose, qualifies_for_high_intensity=high_intensity,
    )
