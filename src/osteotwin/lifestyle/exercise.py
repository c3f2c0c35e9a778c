"""Exercise prescription: a library of exercises, one set of safety rules, and a weekly plan.

One function decides what is contraindicated, ``exercise_limits``; the weekly prescription
(``prescribe``), the progression of logged loads (``progression.next_week``), the plan pages and the
compare tool's programme (``guideline_programme``) all follow its verdict:

| condition | rule | source |
|---|---|---|
| T-score <= -2.5 at any site, or a vertebral fracture | spine sparing (no loaded, rapid or end-range flexion or twisting, no lifting from the floor); resistance at moderate intensity (8-12RM), supervised at first; no impact | Too Fit To Fracture 2014 and 2015 |
| vertebral fracture | also moderate (not vigorous) aerobic exercise in shorter bouts | Too Fit To Fracture 2014 |
| bone metastases | referral and clearance first; no impact, no high-intensity loading, no unsupervised loading of the site | IBMEWG 2022 |
| falls, poor balance, osteoarthritis or frailty | low-level impact only (heel drops) | WHO 2020; ESSA 2017 |
| lowest T-score < -1.0 and none of the above, nor arm lymphoedema | supervised high-intensity resistance and impact training (HiRIT) offered as an option, never the default | LIFTMOR |

No impact at T <= -2.5 is our conservative reading: Too Fit To Fracture recommends resistance and balance
training and leaves impact to an individual assessment; LIFTMOR's impact was supervised drop landings.

Sources (evidence: V checked against the paper or its abstract, S secondary sources only, R recalled):
- ESSA 2017 (Beck et al., J Sci Med Sport 20:438-45) [V abstract; dose detail R]
- LIFTMOR (Watson et al., JBMR 2018;33:211-20): 101 postmenopausal women with T < -1.0; 5 x 5 at
  > 80-85% 1RM, twice weekly, 30-minute supervised sessions after about a month of familiarisation;
  one minor adverse event [V abstract]
- Too Fit To Fracture 2014 (Giangregorio et al., Osteoporos Int 25:821-35) [V]; its 2015 update
  (Osteoporos Int 26:891-910) [V]
- WHO 2020 (Bull et al., BJSM 54:1451-62) [V]
- ACSM 2019 cancer-survivor roundtable (Campbell et al., MSSE 51:2375-90) [V]
- PAL trial (Schmitz et al., NEJM 2009;361:664-73) [V]; protocol detail (1 lb steps) [S]
- Bone metastases: IBMEWG (Campbell et al., JCO Oncol Pract 2022) [V abstract]
Ground-reaction forces: walking about 1.0-1.5 body weights (BW) [R]; Hutchinson 1995 classes
< 1.5 BW "low", >= 2 BW "high" [V]; jogging 2.5-3 BW [R]; jumps and drop landings 4-5 BW [R].
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from osteotwin.scenario import Exercise

Site = Literal["lumbar_spine", "hip", "wrist_forearm", "upper_limb", "whole_body"]
LoadingClass = Literal["low", "moderate", "high"]
Kind = Literal["aerobic", "impact", "resistance", "balance", "spinal_extension"]

SOURCES = {
    "ESSA 2017": "ESSA position statement, Beck et al., J Sci Med Sport 2017;20:438-45",
    "LIFTMOR": "LIFTMOR trial, Watson et al., JBMR 2018;33:211-20",
    "Too Fit To Fracture 2014": "Giangregorio et al., Osteoporos Int 2014;25:821-35",
    "Too Fit To Fracture 2015": "Giangregorio et al., Osteoporos Int 2015;26:891-910",
    "WHO 2020": "WHO guidelines on physical activity, Bull et al., BJSM 2020;54:1451-62",
    "ACSM 2019": "ACSM cancer-survivor roundtable, Campbell et al., MSSE 2019;51:2375-90",
    "PAL trial": "Schmitz et al., NEJM 2009;361:664-73",
    "IBMEWG 2022": "bone-metastases exercise recommendations, Campbell et al., JCO Oncol Pract 2022",
    "Hutchinson 1995": "Hutchinson et al., MSSE 1995 (loading classes < 1.5 BW low, >= 2 BW high)",
}
"""The sources the rules name, by the short name shown to the reader, with the full citation."""


def cite(*names: str) -> str:
    """Short names with their citations: ``cite("LIFTMOR")`` is "LIFTMOR (Watson et al., JBMR 2018;...)"."""
    return "; ".join(f"{name} ({SOURCES[name]})" for name in names)



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
    lifts_from_floor: bool = False
    needs_supervision: bool = False


EXERCISE_LIBRARY: tuple[LibraryExercise, ...] = (
    LibraryExercise(id="brisk_walking", name="Brisk walking", kind="aerobic", sites=["hip"], loading_class="low",
                    loading_basis="about 1.0-1.5 BW [R]; < 1.5 BW = low (H95)", lower_body=True),
    LibraryExercise(id="stair_climbing", name="Stair climbing", kind="aerobic", sites=["hip", "lumbar_spine"],
                    loading_class="moderate", loading_basis="between walking and jogging (ours)", lower_body=True),
    LibraryExercise(id="jogging", name="Jogging", kind="aerobic", sites=["hip", "lumbar_spine"], loading_class="high",
                    loading_basis="about 2.5-3 BW [R]; >= 2 BW = high (H95)", lower_body=True, impact=True),
    LibraryExercise(id="heel_drops", name="Heel drops", kind="impact", sites=["hip", "lumbar_spine"],
                    loading_class="moderate", loading_basis="low-level impact (ESSA 2017: progression by impact level)",
                    lower_body=True, impact=True),
    LibraryExercise(id="jumps", name="Jumps (about 50 a session)", kind="impact", sites=["hip", "lumbar_spine"],
                    loading_class="high", loading_basis="about 4-5 BW [R]; ESSA 2017: ~50 jumps/session [R]",
                    lower_body=True, impact=True),
    LibraryExercise(id="jumping_chin_up_drop_landing", name="Jumping chin-up with drop landing", kind="impact",
                    sites=["hip", "lumbar_spine", "upper_limb"], loading_class="high",
                    loading_basis="drop landing about 4-5 BW [R] (LIFTMOR)", upper_body=True, lower_body=True,
                    impact=True, needs_supervision=True),
    LibraryExercise(id="deadlift", name="Deadlift", kind="resistance", sites=["hip", "lumbar_spine"], loading_class="high",
                    loading_basis="LIFTMOR 5 x 5 at > 80-85% 1RM", lower_body=True, lifts_from_floor=True,
                    needs_supervision=True),
    LibraryExercise(id="back_squat", name="Back squat", kind="resistance", sites=["hip", "lumbar_spine"],
                    loading_class="high", loading_basis="LIFTMOR 5 x 5 at > 80-85% 1RM", lower_body=True,
                    needs_supervision=True),
    LibraryExercise(id="overhead_press", name="Overhead press", kind="resistance",
                    sites=["lumbar_spine", "upper_limb"], loading_class="high",
                    loading_basis="LIFTMOR 5 x 5 at > 80-85% 1RM", upper_body=True, needs_supervision=True),
    LibraryExercise(id="goblet_squat", name="Goblet squat (or sit-to-stand)", kind="resistance",
                    sites=["hip", "lumbar_spine"], loading_class="moderate", loading_basis="8-12RM (Too Fit To Fracture 2014)",
                    lower_body=True),
    LibraryExercise(id="lunge", name="Lunge / step-up", kind="resistance", sites=["hip"], loading_class="moderate",
                    loading_basis="8-12RM (Too Fit To Fracture 2014)", lower_body=True),
    LibraryExercise(id="hip_hinge", name="Hip hinge with dumbbells (neutral spine)", kind="resistance",
                    sites=["hip", "lumbar_spine"], loading_class="moderate",
                    loading_basis="8-12RM (Too Fit To Fracture 2014); spine neutral, no flexion (2015)", lower_body=True),
    LibraryExercise(id="seated_row", name="Seated row / band row", kind="resistance",
                    sites=["upper_limb", "lumbar_spine"], loading_class="moderate", loading_basis="8-12RM (Too Fit To Fracture 2014)",
                    upper_body=True),
    LibraryExercise(id="wall_push_up", name="Push-up (wall, bench or floor)", kind="resistance",
                    sites=["upper_limb", "wrist_forearm"], loading_class="moderate", loading_basis="8-12RM (Too Fit To Fracture 2014)",
                    upper_body=True),
    LibraryExercise(id="dumbbell_press", name="Dumbbell shoulder press", kind="resistance",
                    sites=["upper_limb", "lumbar_spine"], loading_class="moderate", loading_basis="8-12RM (Too Fit To Fracture 2014)",
                    upper_body=True),
    LibraryExercise(id="sit_up", name="Sit-up / crunch", kind="resistance", sites=["lumbar_spine"],
                    loading_class="low", loading_basis="loaded spinal flexion: avoid in osteoporosis (ESSA 2017; Too Fit To Fracture 2015)",
                    loaded_spinal_flexion=True),
    LibraryExercise(id="back_extension", name="Spinal extensor endurance (prone extension, 3-5 s holds)",
                    kind="spinal_extension", sites=["lumbar_spine"], loading_class="low",
                    loading_basis="Too Fit To Fracture 2015: daily 5-10 min, 3-5 s holds"),
    LibraryExercise(id="static_balance", name="Static balance (tandem stance, single-leg stance)", kind="balance",
                    sites=[], loading_class="low", loading_basis="Too Fit To Fracture 2014: 15-20 min/day, static to dynamic"),
    LibraryExercise(id="dynamic_balance", name="Dynamic balance (tandem walk, tai chi)", kind="balance", sites=[],
                    loading_class="low", loading_basis="Too Fit To Fracture 2014: progress static to dynamic"),
)
LIBRARY = {exercise.id: exercise for exercise in EXERCISE_LIBRARY}


OSTEOPOROSIS_T_SCORE = -2.5
"""WHO osteoporosis: T-score <= -2.5 at any site (WHO 1994); Too Fit To Fracture's population [V]."""
LIFTMOR_T_SCORE_BELOW = -1.0
"""LIFTMOR enrolled postmenopausal women with a T-score below -1.0 (Watson et al. 2018, abstract) [V]."""

ImpactLevel = Literal["none", "low", "high"]

SAFE_ALTERNATIVE = {
    "deadlift": "hip_hinge", "back_squat": "goblet_squat", "overhead_press": "dumbbell_press",
    "jumping_chin_up_drop_landing": "seated_row", "jumps": "heel_drops", "jogging": "brisk_walking",
    "sit_up": "back_extension",
}
"""The library exercise that trains the same sites within the limits (ours)."""


class Restriction(BaseModel):
    """A change to the plan made by the safety rules, with its reason and source."""

    condition: str
    action: str
    source: str


class ScreeningInput(BaseModel):
    """What the safety rules need: the lowest T-score of any site and the conditions of the profile."""

    min_t_score: float | None = Field(None, description="Lowest T-score of any measured site.")
    vertebral_fracture: bool = False
    bone_metastases: bool = False
    bone_metastases_sites: list[str] = []
    lymphedema: bool = False
    axillary_surgery: bool = False
    falls_last_12_months: int = 0
    poor_balance: bool = False
    osteoarthritis_or_frailty: bool = False


class ExerciseLimits(BaseModel):
    """The verdict of the safety rules: the most any prescription or progression may ask for."""

    osteoporosis: bool = Field(description=f"lowest T-score <= {OSTEOPOROSIS_T_SCORE:g}")
    vertebral_fracture: bool
    bone_metastases: bool
    spine_sparing: bool = Field(description="no loaded spinal flexion, no lifting from the floor")
    max_resistance_intensity: Literal["moderate", "high"]
    impact: ImpactLevel
    high_intensity_option: bool = Field(description="supervised LIFTMOR-type training may be offered as an option")
    arm_caution: bool = Field(description="lymphoedema or axillary surgery: PAL upper-body progression")
    restrictions: list[Restriction]

    def allows(self, exercise_id: str, supervised_option: bool = False) -> tuple[bool, str]:
        """Whether the library exercise fits these limits, and if not, why (in words).

        ``supervised_option``: the person follows the supervised high-intensity option, which
        permits its own lifts (LIFTMOR) where ``high_intensity_option`` is true."""
        exercise = LIBRARY[exercise_id]
        option = supervised_option and self.high_intensity_option
        if self.spine_sparing and (exercise.loaded_spinal_flexion or exercise.lifts_from_floor):
            return False, "spine sparing: no loaded spinal flexion and no lifting from the floor (Too Fit To Fracture 2015)"
        if exercise.impact:
            level = "high" if exercise.loading_class == "high" else "low"
            if self.impact == "none":
                return False, "no impact exercise: " + self._why_no_impact()
            if self.impact == "low" and level == "high" and not option:
                return False, "low-level impact only (heel drops): WHO 2020; ESSA 2017"
        if exercise.kind == "resistance" and exercise.loading_class == "high" and not option:
            if self.max_resistance_intensity != "high":
                return False, "resistance at moderate intensity (8-12RM) only (Too Fit To Fracture 2014)"
            return False, "high-intensity lifts only in the supervised option (LIFTMOR)"
        return True, ""

    def _why_no_impact(self) -> str:
        if self.bone_metastases:
            return "bone metastases, until cleared (IBMEWG 2022)"
        if self.vertebral_fracture:
            return "vertebral fracture (Too Fit To Fracture 2014)"
        return f"T-score <= {OSTEOPOROSIS_T_SCORE:g} (Too Fit To Fracture 2014; our conservative reading)"


def exercise_limits(inputs: ScreeningInput) -> ExerciseLimits:
    """The safety rules (table in this module's docstring) applied to one person."""
    restrictions: list[Restriction] = []
    osteoporosis = inputs.min_t_score is not None and inputs.min_t_score <= OSTEOPOROSIS_T_SCORE
    vertebral, metastases = inputs.vertebral_fracture, inputs.bone_metastases
    falls = inputs.falls_last_12_months > 0 or inputs.poor_balance
    arm_caution = inputs.lymphedema or inputs.axillary_surgery
    if vertebral or osteoporosis:
        condition = "vertebral fracture" if vertebral else f"T-score {inputs.min_t_score:g} (osteoporosis range)"
        restrictions.append(Restriction(
            condition=condition,
            action="protect the spine: no sit-ups, no rapid, weighted or end-range bending or twisting, no lifting "
                   "from the floor; strength training at moderate intensity (8-12 repetitions), supervised at "
                   "first by a physiotherapist; no jumping or other impact",
            source=cite("Too Fit To Fracture 2014", "Too Fit To Fracture 2015"),
        ))
    if vertebral:
        restrictions.append(Restriction(
            condition="vertebral fracture",
            action="moderate (not vigorous) aerobic exercise in shorter bouts; no high-intensity (LIFTMOR-type) "
                   "training",
            source=cite("Too Fit To Fracture 2014"),
        ))
    if metastases:
        sites = ", ".join(inputs.bone_metastases_sites) or "site(s) not given"
        restrictions.append(Restriction(
            condition=f"bone metastases ({sites})",
            action="see the oncology team and an exercise professional before starting; no unsupervised loading "
                   "of the affected site; no impact and no high-intensity loading until cleared; posture, "
                   "controlled movement and technique first",
            source=cite("IBMEWG 2022"),
        ))
    if arm_caution:
        restrictions.append(Restriction(
            condition="lymphoedema" if inputs.lymphedema else "axillary surgery (lymphoedema risk)",
            action="upper-body strength training allowed: start at minimal load, raise by the smallest step only "
                   "when all sets are done without arm symptoms, reduce or pause if symptoms change; wear a "
                   "fitted compression sleeve if lymphoedema is present",
            source=cite("PAL trial") + "; protocol: start at 1 lb or no weight, +1 lb after 1-2 weeks without "
                   "arm-symptom change (secondary source)",
        ))
    if falls:
        why = f"{inputs.falls_last_12_months} fall(s) in 12 months" if inputs.falls_last_12_months else "poor balance"
        restrictions.append(Restriction(
            condition=why,
            action="balance training every day, 15-20 minutes; impact only low-level, near a support; ask for a "
                   "falls assessment",
            source=cite("WHO 2020", "Too Fit To Fracture 2014"),
        ))
    if inputs.osteoarthritis_or_frailty:
        restrictions.append(Restriction(
            condition="osteoarthritis or frailty", action="low-level impact only (heel drops)", source=cite("ESSA 2017"),
        ))
    if vertebral or metastases or osteoporosis:
        impact: ImpactLevel = "none"
    elif falls or inputs.osteoarthritis_or_frailty:
        impact = "low"
    else:
        impact = "high"
    option = (
        inputs.min_t_score is not None and inputs.min_t_score < LIFTMOR_T_SCORE_BELOW and not osteoporosis
        and not vertebral and not metastases and not falls and not inputs.osteoarthritis_or_frailty and not arm_caution
    )
    return ExerciseLimits(
        osteoporosis=osteoporosis, vertebral_fracture=vertebral, bone_metastases=metastases,
        spine_sparing=vertebral or osteoporosis,
        max_resistance_intensity="moderate" if (vertebral or metastases or osteoporosis) else "high",
        impact=impact, high_intensity_option=option, arm_caution=arm_caution, restrictions=restrictions,
    )


def screen(inputs: ScreeningInput) -> list[Restriction]:
    """The safety restrictions for the profile, each naming its source (``exercise_limits(...).restrictions``)."""
    return exercise_limits(inputs).restrictions


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
    """The weekly plan, the safety rules' verdict, the supervised option and the engine's weekly dose."""

    sessions: list[Session]
    restrictions: list[Restriction]
    safety_notes: list[str]
    avoid: list[str]
    progression_rule: str
    weekly_dose: Exercise
    limits: ExerciseLimits
    option: Session | None = Field(None, description="Supervised high-intensity training (LIFTMOR), if the rules allow it.")
    option_weekly_dose: Exercise | None = Field(None, description="The weekly dose if the option replaces the resistance and impact sessions.")
    qualifies_for_high_intensity: bool = Field(description="The LIFTMOR option is offered (never the default).")


def _planned(exercise_id: str, sets: int | None, reps: str | None, intensity: str, minutes: float | None = None) -> PlannedExercise:
    exercise = LIBRARY[exercise_id]
    return PlannedExercise(exercise_id=exercise_id, name=exercise.name, sets=sets, reps=reps, intensity=intensity,
                           minutes=minutes, sites=list(exercise.sites))


AEROBIC_MINUTES_PER_WEEK = 150.0
"""At least 150 min/week of moderate-to-vigorous activity (Too Fit To Fracture 2014; WHO 2020) [V]."""
IMPACT_SESSIONS_PER_WEEK = 4
"""ESSA 2017: impact 4-7 days a week, about 50 landings a session [R dose]."""
LIFTMOR_SESSIONS_PER_WEEK = 2
"""LIFTMOR: two supervised 30-minute sessions a week [V abstract]."""


def liftmor_session() -> Session:
    """The supervised high-intensity session of LIFTMOR (Watson et al. 2018), as an option."""
    familiarised = "> 80-85% of one-repetition maximum after about a month of familiarisation"
    return Session(
        name="option: supervised high-intensity resistance and impact training (LIFTMOR)",
        per_week=LIFTMOR_SESSIONS_PER_WEEK, minutes=30, supervised=True,
        exercises=[
            _planned("deadlift", 5, "5", familiarised),
            _planned("back_squat", 5, "5", familiarised),
            _planned("overhead_press", 5, "5", familiarised),
            _planned("jumping_chin_up_drop_landing", 5, "5", "body weight"),
        ],
        source="LIFTMOR: two supervised 30-minute sessions a week in postmenopausal women with a T-score below -1.0; "
               "spine BMD +2.9% against -1.2% over 8 months; one minor adverse event (" + SOURCES["LIFTMOR"] + ")",
    )


def prescribe(inputs: ScreeningInput) -> ExercisePrescription:
    """A weekly multicomponent plan (Too Fit To Fracture, ESSA, WHO, ACSM) within ``exercise_limits``.

    The default is moderate progressive resistance (8-12RM), impact as the limits allow, balance, spinal
    extensor work and weight-bearing aerobic exercise; supervised high-intensity training (LIFTMOR) is
    returned as ``option`` where the rules allow it and never replaces the default by itself."""
    limits = exercise_limits(inputs)
    vertebral, metastases = limits.vertebral_fracture, limits.bone_metastases
    falls = inputs.falls_last_12_months > 0 or inputs.poor_balance
    careful = vertebral or metastases or limits.osteoporosis
    sessions: list[Session] = []
    bout = 20.0 if vertebral else 30.0
    sessions.append(Session(
        name="weight-bearing aerobic", per_week=int(AEROBIC_MINUTES_PER_WEEK // bout), minutes=bout, supervised=False,
        exercises=[_planned("brisk_walking", None, None,
                            "moderate (effort 5-6 out of 10)" if vertebral else "moderate to vigorous (effort 5-8 out of 10)",
                            bout)],
        source="Too Fit To Fracture 2014 and 2015: at least 150 minutes a week, in bouts of 30 minutes on 5 days "
               "(moderate only and shorter bouts after a vertebral fracture); ACSM 2019",
    ))
    intensity = "moderate: 8-12 repetitions, start lighter" if careful else "moderate to high: 8-12 repetitions"
    arm = "minimal load, smallest steps (PAL trial)"
    sessions.append(Session(
        name="progressive resistance", per_week=2, minutes=40, supervised=careful,
        exercises=[
            _planned("goblet_squat", 2, "8-12", intensity),
            _planned("lunge", 2, "8-12", intensity),
            _planned("hip_hinge", 2, "8-12", intensity),
            _planned("seated_row", 2, "8-12", arm if limits.arm_caution else intensity),
            _planned("wall_push_up", 2, "8-12", arm if limits.arm_caution else intensity),
        ],
        source="Too Fit To Fracture 2014: at least 2 days a week, one exercise per major muscle group, 2 sets of "
               "8-12 repetitions; ACSM 2019: 2-3 times a week",
    ))
    if limits.impact != "none":
        impact_id = "heel_drops" if limits.impact == "low" else "jumps"
        sessions.append(Session(
            name="impact", per_week=IMPACT_SESSIONS_PER_WEEK, minutes=10, supervised=False,
            exercises=[_planned(impact_id, None, "about 50 landings",
                                "low-level impact" if limits.impact == "low" else "progress by impact level")],
            source="ESSA 2017: impact 4-7 days a week, about 50 landings a session, progressing by impact level "
                   "(dose recalled, not verified)",
        ))
    sessions.append(Session(
        name="balance", per_week=7 if falls else 4, minutes=15, supervised=False,
        exercises=[_planned("static_balance", None, None, "progress static to dynamic", 8),
                   _planned("dynamic_balance", None, None, "progress static to dynamic", 7)],
        source="Too Fit To Fracture 2014: 15-20 minutes a day, about 2 hours a week; WHO 2020: at least 3 days a "
               "week after falls or with poor mobility; ESSA 2017: 4 or more days a week",
    ))
    sessions.append(Session(
        name="spinal extensor endurance", per_week=7, minutes=5, supervised=False,
        exercises=[_planned("back_extension", None, "3-5 s holds", "body weight", 5)],
        source="Too Fit To Fracture 2015: every day 5-10 minutes, 3-5 second holds",
    ))
    avoid = []
    if limits.spine_sparing:
        avoid = [LIBRARY["sit_up"].name, "rapid, weighted or end-range bending or twisting of the spine",
                 "lifting from the floor (deadlifts)"]
    if limits.impact == "none":
        avoid.append("jumping and other impact")
    if metastases:
        avoid.append("unsupervised loading of the affected site(s)")
    notes = [f"{r.condition}: {r.action} ({r.source})" for r in limits.restrictions]
    notes.append("Aerobic training must not replace strength and balance training (Too Fit To Fracture 2014, "
                 "strong recommendation).")
    option = liftmor_session() if limits.high_intensity_option else None
    if option is None and inputs.min_t_score is not None and inputs.min_t_score < LIFTMOR_T_SCORE_BELOW:
        notes.append("Supervised high-intensity training (LIFTMOR) is not offered because of the restrictions above.")
    progression = ("Raise the load when 2 sets of 12 repetitions are done with good form; lower it if fewer than 8 "
                   "(Too Fit To Fracture 2014)")
    if option is not None:
        progression += ("; in the supervised option, add a step when all 5 sets of 5 are done with good form "
                        "(LIFTMOR)")
    if limits.arm_caution:
        progression += "; upper body: the smallest step only without arm symptoms (PAL trial)"
    weekly_dose = Exercise(
        walking_minutes_per_week=AEROBIC_MINUTES_PER_WEEK,
        impact_sessions_per_week=IMPACT_SESSIONS_PER_WEEK if limits.impact != "none" else 0,
        resistance_sessions_per_week=2,
        resistance_intensity="moderate",
        balance_sessions_per_week=7 if falls else 4,
    )
    option_dose = weekly_dose.model_copy(update={
        "resistance_sessions_per_week": LIFTMOR_SESSIONS_PER_WEEK, "resistance_intensity": "high",
        "impact_sessions_per_week": LIFTMOR_SESSIONS_PER_WEEK}) if option else None
    return ExercisePrescription(
        sessions=sessions, restrictions=limits.restrictions, safety_notes=notes, avoid=avoid,
        progression_rule=progression, weekly_dose=weekly_dose, limits=limits, option=option,
        option_weekly_dose=option_dose, qualifies_for_high_intensity=option is not None,
    )


def guideline_programme(
    lumbar_spine_t_score: float | None = None,
    total_hip_t_score: float | None = None,
    vertebral_fracture: bool = False,
    bone_metastases: bool = False,
    femoral_neck_t_score: float | None = None,
) -> Exercise:
    """The Scenario ``exercise`` block the planner prescribes by default for these T-scores and conditions.

    The same rules as ``prescribe`` (no falls, frailty or lymphoedema assumed): at T <= -2.5 at any
    site, a vertebral fracture or bone metastases, moderate resistance and no impact."""
    t_scores = [t for t in (lumbar_spine_t_score, total_hip_t_score, femoral_neck_t_score) if t is not None]
    screening = ScreeningInput(min_t_score=min(t_scores) if t_scores else None,
                               vertebral_fracture=vertebral_fracture, bone_metastases=bone_metastases)
    return prescribe(screening).weekly_dose
