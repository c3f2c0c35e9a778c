"""Lifestyle planner commands: `nutrients`, `foods search`, `plan`, `exercise library` and `exercise next-week`."""

from __future__ import annotations

import argparse
import json
import sys
import time

from osteotwin.errors import InputError, describe_document, load_json_file, wrong_document
from osteotwin.lifestyle import make_plan, nutrient_totals, search_foods
from osteotwin.lifestyle.exercise import EXERCISE_LIBRARY, ScreeningInput, exercise_limits
from osteotwin.lifestyle.foods import DATA_RELEASE, NUTRIENT_KEYS, NUTRIENT_UNITS
from osteotwin.lifestyle.intake import read_food_log
from osteotwin.lifestyle.progression import NextWeek, next_week, read_exercise_log

PROFILE_EXAMPLE = "examples/profiles/vegan_low_spine.json"
NOT_PROFILES = ("a FHIR", "a patient record", "a scenario", "a food log", "an exercise log")


def register(subparsers: argparse._SubParsersAction) -> None:
    nutrients = subparsers.add_parser("nutrients", help="nutrient totals per day and on average for a food log")
    nutrients.add_argument("log", help="food log: CSV with date,food_id,grams (or JSON list of the same)")
    nutrients.add_argument("--json", action="store_true", help="print JSON")
    nutrients.set_defaults(handler=run_nutrients)

    foods = subparsers.add_parser("foods", help="USDA SR28 food composition")
    foods_sub = foods.add_subparsers(dest="foods_command", required=True)
    search = foods_sub.add_parser("search", help="find foods by words, e.g. 'greek yogurt'")
    search.add_argument("words", nargs="+", help="words to look for")
    search.add_argument("--limit", type=int, default=20, help="most results to show (default 20)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=run_search)

    plan = subparsers.add_parser("plan", help="a diet, supplement and exercise plan for a profile")
    plan.add_argument("profile", help="profile JSON, e.g. examples/profiles/vegan_low_spine.json")
    plan.add_argument("--json", action="store_true", help="print JSON")
    plan.set_defaults(handler=run_plan)

    exercise = subparsers.add_parser("exercise", help="exercise library and progression from an exercise log")
    exercise_sub = exercise.add_subparsers(dest="exercise_command", required=True)
    library = exercise_sub.add_parser("library", help="exercises with the sites they load and their loading class")
    library.add_argument("--json", action="store_true", help="print JSON")
    library.set_defaults(handler=run_library)
    progress = exercise_sub.add_parser("next-week", help="next week's loads and last week's doses from a log")
    progress.add_argument("log", help="exercise log: CSV date,exercise,sets,reps,load_kg[,minutes,arm_symptoms] or JSON")
    progress.add_argument("--high-intensity", action="store_true", help="LIFTMOR 5 x 5 plan")
    progress.add_argument("--arm-caution", action="store_true", help="lymphoedema or axillary surgery (PAL rule)")
    progress.add_argument("--lowest-t-score", type=float, metavar="T",
                          help="lowest T-score of any site: applies the exercise safety rules (e.g. -2.6 stops deadlifts)")
    progress.add_argument("--vertebral-fracture", action="store_true", help="applies the safety rules for it")
    progress.add_argument("--bone-metastases", action="store_true", help="applies the safety rules for them")
    progress.add_argument("--json", action="store_true", help="print JSON")
    progress.set_defaults(handler=run_next_week)


def _fmt(value: float | None, key: str) -> str:
    return "n/r" if value is None else f"{value:.1f} {NUTRIENT_UNITS[key]}"


def run_nutrients(args: argparse.Namespace) -> int:
    report = nutrient_totals(read_food_log(args.log))
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
        return 0
    print(f"Source: {DATA_RELEASE}")
    header = "date        " + "".join(f"{key:>14}" for key in NUTRIENT_KEYS) + f"{'abs. Ca mg':>14}"
    print(header)
    for day in report.per_day:
        print(f"{day.date}  " + "".join(f"{day.nutrients[k]:14.1f}" for k in NUTRIENT_KEYS) + f"{day.absorbable_calcium_mg:14.1f}")
    print("average     " + "".join(f"{report.average[k]:14.1f}" for k in NUTRIENT_KEYS)
          + f"{report.average_absorbable_calcium_mg:14.1f}")
    print("coverage    " + "".join(f"{report.coverage[k]:14.0%}" for k in NUTRIENT_KEYS))
    print(f"vitamin D: {report.average_vitamin_d_ug:.2f} ug/day (1 ug = 40 IU)")
    for note in report.notes:
        print(f"note: {note}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    words = " ".join(args.words)
    started = time.perf_counter()
    foods = search_foods(words, limit=args.limit)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if not foods:
        print(f"no food matches {words!r}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps([food.model_dump(mode="json") for food in foods], indent=2))
        return 0
    if not foods:
        return 0
    for food in foods:
        values = ", ".join(f"{k} {_fmt(food.per_100g[k], k)}" for k in ("calcium_mg", "vitamin_d_iu", "protein_g", "energy_kcal"))
        print(f"{food.food_id}  {food.name}\n        per 100 g: {values}")
    print(f"({len(foods)} shown, {elapsed_ms:.1f} ms; n/r = not reported in {DATA_RELEASE})")
    return 0


def run_plan(args: argparse.Namespace) -> int:
    data = load_json_file(args.profile, "profile")
    if not isinstance(data, dict) or describe_document(data).startswith(NOT_PROFILES):
        raise wrong_document(data, "profile", args.profile, "a lifestyle profile", PROFILE_EXAMPLE)
    plan = make_plan(data)
    if args.json:
        print(json.dumps(plan.model_dump(mode="json"), indent=2))
        return 0
    print("Targets (per day):")
    for target in plan.targets:
        limit = f"; upper limit {target.upper_limit:g} ({target.upper_limit_scope})" if target.upper_limit else ""
        print(f"  {target.nutrient:<14} {target.amount:>7g} {target.unit:<8} {target.source} {target.evidence}{limit}")
    print("Gaps:")
    for gap in plan.gaps:
        status = "met" if gap.met_by_food else f"short {gap.gap_after_foods:g}"
        print(f"  {gap.nutrient:<14} log {gap.from_log:>8.1f}  after foods {gap.after_foods:>8.1f}  {status}  {gap.reason}")
    print(f"Suggested foods (energy {plan.energy_kcal_after_foods:.0f} of {plan.energy_kcal_budget:.0f} kcal):")
    for food in plan.suggested_foods:
        tags = f" [{', '.join(food.tags)}]" if food.tags else ""
        print(f"  {food.food_id}  {food.portion} ({food.grams:g} g)  {food.name}{tags}")
    print(f"  absorbable calcium after foods: about {plan.absorbable_calcium_mg_after_foods:.0f} mg/day "
          "(calcium x fractional absorption, Weaver et al. 1999 AJCN; docs/lifestyle.md)")
    print("Supplements:" if plan.supplements else "Supplements: none needed")
    for item in plan.supplements:
        print(f"  {item.product}: {item.amount_per_day:g} {item.unit}, {item.how_to_take}. {item.reason}")
    print("Exercise (weekly):")
    for session in plan.exercise.sessions:
        sup = ", supervised" if session.supervised else ""
        names = "; ".join(
            f"{e.name}" + (f" {e.sets}x{e.reps}" if e.sets else "") + f" ({e.intensity})" for e in session.exercises
        )
        print(f"  {session.per_week} x {session.minutes:g} min {session.name}{sup}: {names}  [{session.source}]")
    option = plan.exercise.option
    if option is not None:
        names = "; ".join(f"{e.name} {e.sets}x{e.reps} ({e.intensity})" for e in option.exercises)
        print(f"  {option.per_week} x {option.minutes:g} min {option.name}, supervised, instead of the resistance "
              f"and impact sessions if she chooses it: {names}  [{option.source}]")
    print(f"  progression: {plan.exercise.progression_rule}")
    for note in plan.exercise.safety_notes:
        print(f"  safety: {note}")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    for note in plan.notes:
        print(f"note: {note}")
    return 0


def run_library(args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps([exercise.model_dump(mode="json") for exercise in EXERCISE_LIBRARY], indent=2))
        return 0
    for exercise in EXERCISE_LIBRARY:
        sites = ", ".join(exercise.sites) or "-"
        print(f"{exercise.id:<30} {exercise.kind:<17} {exercise.loading_class:<9} sites: {sites:<35} {exercise.loading_basis}")
    return 0


def run_next_week(args: argparse.Namespace) -> int:
    screened = args.lowest_t_score is not None or args.vertebral_fracture or args.bone_metastases
    if args.lowest_t_score is not None and not -7 <= args.lowest_t_score <= 7:
        raise InputError("--lowest-t-score", args.lowest_t_score, "a T-score from -7 to 7")
    limits = exercise_limits(ScreeningInput(
        min_t_score=args.lowest_t_score, vertebral_fracture=args.vertebral_fracture,
        bone_metastases=args.bone_metastases, axillary_surgery=args.arm_caution)) if screened else None
    result = next_week(read_exercise_log(args.log), high_intensity=args.high_intensity, arm_caution=args.arm_caution,
                       limits=limits)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
        return 0
    print(next_week_text(result))
    return 0


def next_week_text(result: NextWeek) -> str:
    """next-week as text: the loads table, last week's doses for ``simulate`` and the notes."""
    lines = [f"Next week's loads (from the log's last session of each resistance exercise; week of {result.week_start}):"]
    if result.loads:
        width = max(len("exercise"), *(len(load.exercise) for load in result.loads))
        lines.append(f"  {'exercise':<{width}}  {'last kg':>8}  {'next kg':>8}  {'sets x reps':<11}  rule")
        for load in result.loads:
            following = "stop" if load.next_load_kg is None else f"{load.next_load_kg:g}"
            lines.append(f"  {load.exercise:<{width}}  {load.last_load_kg:>8g}  {following:>8}  "
                         f"{f'{load.sets} x {load.reps}':<11}  {load.rule}")
        sources = sorted({load.source for load in result.loads})
        lines.append("  sources: " + "; ".join(sources))
    else:
        lines.append("  no resistance exercise in the log: no loads to progress")
    dose = result.weekly_dose
    lines += [
        f"Week of {result.week_start}, as weekly doses for the engine (the exercise block of a scenario):",
        f"  walking                 {dose.walking_minutes_per_week:g} min/week",
        f"  impact sessions         {dose.impact_sessions_per_week:g} per week",
        f"  resistance sessions     {dose.resistance_sessions_per_week:g} per week ({dose.resistance_intensity} intensity)",
        f"  balance sessions        {dose.balance_sessions_per_week:g} per week",
    ]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)
