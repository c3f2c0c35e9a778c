"""The plan a patient takes home: the planner's plan and the clinic's assessment in plain words, and its PDF.

``take_home_context`` turns the ``osteotwin plan --json`` output and the ``assess --json`` output of
one stored record into what the printable plan shows (templates/plan.html): amounts with their units
("adds 187 mg calcium"), the bone-drug decision read from the assessment (``bone_drug_decision``),
the next DXA as a date, supplements, the exercise week within the safety rules
(``lifestyle.exercise.exercise_limits``) and the clinician's name. Evidence tags ([V], [S], [R]) are
written out in words (``in_words``), so the reader sees how well each number is sourced without codes.

``plan_pdf`` renders the same page to an A4 PDF with WeasyPrint (HTML and CSS to PDF in Python;
it needs the Pango library, which Debian ships as libpango-1.0-0 and libpangoft2-1.0-0).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any

from osteotwin.clinic.decision import add_months
from osteotwin.lifestyle.foods import NUTRIENT_UNITS

NUTRIENT_WORDS: dict[str, str] = {
    "calcium_mg": "calcium", "vitamin_d_iu": "vitamin D", "magnesium_mg": "magnesium", "vitamin_k_ug": "vitamin K",
    "protein_g": "protein", "energy_kcal": "energy", "fiber_g": "fibre",
}
"""The nutrient keys of the planner (lifestyle.foods.NUTRIENT_KEYS) as a patient reads them."""

UNIT_WORDS: dict[str, str] = {"ug": "µg"}

_EVIDENCE = {"V": "checked against the source", "S": "from secondary sources only", "R": "recalled, not verified"}
_TAG = re.compile(r"\[(V|S|R)(?:\s+([^\];]*))?((?:;[^\]]*)?)\]")
_NAMED_TAG = re.compile(r"\[(V|S|R)\]\s+([A-Z][A-Za-z]+)(?=;|$)")  # "[S] IOM; [V] BHOF": a tag per named source


def in_words(text: str) -> str:
    """Evidence tags written out: "[V]" -> "(checked against the source)", "[R dose]" -> "(dose recalled,
    not verified)", "[S] IOM; [V] BHOF" -> "(IOM from secondary sources only); ..."."""

    def replace(match: re.Match[str]) -> str:
        tag, what, rest = match.group(1), (match.group(2) or "").strip(), match.group(3)
        words = _EVIDENCE[tag]
        if what and tag == "V":
            words = f"checked against the {what}"
        elif what:
            words = f"{what} {words}"
        if rest:
            words += rest.replace("; dose detail R", "; dose detail recalled, not verified")
        return f"({words})"

    text = _NAMED_TAG.sub(lambda m: f"({m.group(2)}: {_EVIDENCE[m.group(1)]})", text)
    return _TAG.sub(replace, text)


_NUTRIENT_KEY = re.compile(r"\b(" + "|".join(NUTRIENT_WORDS) + r")\b")


def plain(text: str) -> str:
    """Planner text for the patient: nutrient keys as words ("vitamin_k_ug" -> "vitamin K") and evidence in words."""
    return in_words(re.sub(r"(?<=\d )ug\b", "µg", _NUTRIENT_KEY.sub(lambda m: NUTRIENT_WORDS[m.group(1)], text)))


def quantity(nutrient: str, value: float) -> str:
    """An amount with its unit: ``quantity("calcium_mg", 187.2)`` is "187 mg" (one decimal below 10)."""
    unit = NUTRIENT_UNITS.get(nutrient, "")
    digits = 1 if abs(value) < 10 and value != int(value) else 0
    return f"{value:,.{digits}f} {UNIT_WORDS.get(unit, unit)}"


def amount(nutrient: str, value: float) -> str:
    """An amount with its unit and name: ``amount("calcium_mg", 187.2)`` is "187 mg calcium"."""
    return f"{quantity(nutrient, value)} {NUTRIENT_WORDS.get(nutrient, nutrient)}"


def bone_drug_decision(assessment: dict[str, Any]) -> dict[str, str]:
    """What to do about a bone-protecting drug, from the assessment: ``{"text", "reason", "guideline"}``.

    The assessment's decision card (clinic/decision.py) in the plan's words."""
    card = assessment["decision"]
    return {"text": card["text"], "reason": card["reason"], "guideline": card["guideline"]}


def next_dxa(assessment: dict[str, Any], has_scans: bool) -> dict[str, Any]:
    """The next DXA as a date: the assessment date plus the shortest interval its rules give
    (``next_dxa_months``; clinic monitoring rules), or now when no scan is on record."""
    months = assessment.get("next_dxa_months")
    assessed_on = dt.date.fromisoformat(str(assessment["assessed_on"]))
    if not has_scans or months == 0:
        return {"date": assessed_on, "text": "now: a first bone density scan is due"}
    if months is None:
        return {"date": None, "text": "no interval applies; ask your doctor"}
    due = add_months(assessed_on, months)
    return {"date": due, "text": f"{due.day} {due:%B %Y} (in {months} months)"}


def take_home_context(plan: dict[str, Any], assessment: dict[str, Any], *, has_scans: bool,
                      clinician_name: str) -> dict[str, Any]:
    """Everything the printable plan shows beyond the plan itself, in words and units."""
    gaps = {gap["nutrient"]: gap for gap in plan["gaps"]}
    targets = [{
        "nutrient": NUTRIENT_WORDS.get(t["nutrient"], t["nutrient"]),
        "target": f"{t['amount']:,.0f} {t['unit'].replace('ug', 'µg')}",
        "now": quantity(t["nutrient"], gaps[t["nutrient"]]["from_log"]) if t["nutrient"] in gaps else "–",
        "after": quantity(t["nutrient"], gaps[t["nutrient"]]["after_foods"]) if t["nutrient"] in gaps else "–",
        "source": in_words(f"{t['source']} {t['evidence']}"),
    } for t in plan["targets"]]
    foods = [{
        "name": f["name"], "portion": f["portion"], "grams": f["grams"], "food_id": f["food_id"],
        "adds": ", ".join(amount(k, v) for k, v in f["adds"].items() if v and k in NUTRIENT_WORDS and k != "energy_kcal"),
    } for f in plan["suggested_foods"]]
    supplements = [{**s, "source": plain(s["source"]), "reason": plain(s["reason"])} for s in plan["supplements"]]
    exercise = plan["exercise"]
    return {
        "decision": bone_drug_decision(assessment),
        "next_dxa": next_dxa(assessment, has_scans),
        "clinician_name": clinician_name,
        "targets": targets,
        "foods": foods,
        "supplements": supplements,
        "sessions": [{**s, "source": in_words(s["source"])} for s in exercise["sessions"]],
        "option": {**exercise["option"], "source": in_words(exercise["option"]["source"])} if exercise.get("option") else None,
        "restrictions": [{**r, "source": in_words(r["source"])} for r in exercise["restrictions"]],
        "avoid": exercise["avoid"],
        "progression": in_words(exercise["progression_rule"]),
        "loads": (plan.get("exercise_progression") or {}).get("loads") or [],
        "warnings": [plain(w) for w in plan["warnings"]],
        "notes": [plain(n) for n in plan["notes"]],
    }


STATIC = Path(__file__).parent / "static"


_HEAD_LINKS = re.compile(r"<link\b[^>]*>|<script\b[^>]*>\s*</script>")


def plan_pdf(html: str) -> bytes:
    """The printable plan page as an A4 PDF: WeasyPrint with the app's and the print stylesheets read from the
    package. The page's own stylesheet links and scripts are dropped first, so nothing is fetched; WeasyPrint's
    notes on the screen-only CSS it ignores (media queries, ``overflow``) are not logged."""
    # imported here: loading WeasyPrint and its fonts takes about 2 s once, paid by the first PDF download only
    from weasyprint import CSS, HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    sheets = [CSS(filename=str(STATIC / "app.css")), CSS(filename=str(STATIC / "print.css"))]
    return HTML(string=_HEAD_LINKS.sub("", html), media_type="print").write_pdf(stylesheets=sheets)
