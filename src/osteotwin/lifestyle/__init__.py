"""The lifestyle planner: USDA SR28 foods, intake, nutrient targets, meal optimisation, exercise prescription.

Public API (the web app and the CLI code against exactly this):
``search_foods``, ``get_food``, ``nutrient_totals``, ``targets_for``, ``make_plan``, ``next_week``,
``Profile``, ``Plan``, ``Food``, ``IntakeReport``, ``Target``.
"""

from osteotwin.lifestyle.foods import NUTRIENT_KEYS, Food, get_food, search_foods
from osteotwin.lifestyle.intake import IntakeReport, nutrient_totals
from osteotwin.lifestyle.plan import Plan, Profile, make_plan
from osteotwin.lifestyle.progression import NextWeek, next_week
from osteotwin.lifestyle.targets import Target, targets_for

__all__ = [
    "NUTRIENT_KEYS",
    "Food",
    "IntakeReport",
    "NextWeek",
    "Plan",
    "Profile",
    "Target",
    "get_food",
    "make_plan",
    "next_week",
    "nutrient_totals",
    "search_foods",
    "targets_for",
]
