"""The decision card: one line of what to do now about a bone agent, given what she takes today.

The rules (rules.py) say what each guideline advises; this module picks the one action a clinician
needs first and names the rules behind it. The order of the checks is the basis of the choice (ours),
most pressing first:

1. bone metastases: the AIBL rules do not apply (ESMO: oncology doses);
2. denosumab more than 6 months after its last dose, or stopped, without a follow-on bisphosphonate:
   give it now or switch (rebound bone loss and vertebral fractures: Healthy Bones Australia 2021);
3. a planned denosumab stop without a follow-on: do not stop;
4. on a bone agent: continue, with the next dose date of its labelled schedule (physiology/drugs.py
   ``LABEL_DOSES``), "next dose due" within 30 days (ours), or switch a failing oral bisphosphonate
   (Hadji 2011);
5. not on a bone agent: treat after a fragility fracture, start when an indication rule fired,
   consider when only a "consider" rule fired, else no bone agent now with the next DXA date.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from typing import Any

from osteotwin.catalog import DAYS_PER_MONTH
from osteotwin.clinic.assessment import Decision, DecisionAction, DecisionRule
from osteotwin.clinic.record import Medication, PatientRecord
from osteotwin.clinic.rules import RULES_BY_ID, Rule
from osteotwin.clinic.sources import cite
from osteotwin.physiology.drugs import LABEL_DOSES, LabelDose

Render = Callable[[Rule], str]
#: "Next dose due" rather than "continue" when the next injection or infusion falls within this many days (ours).
DUE_SOON_DAYS = 30
BASIS = ("ours: the first of, in order, bone metastases; denosumab overdue or stopped without a follow-on; a "
         "planned denosumab stop; current treatment (continue, next dose due, switch); fragility fracture; "
         "indication; consider; none. An indication or a 'consider' outweighs another source's deferral, which "
         "the reason names (clinic/decision.py)")
DRUG_WORDS = {"zoledronic_acid": "zoledronic acid"}
#: Rules whose indication is a fragility fracture.
FRACTURE_RULES = ("aus2019_fragility_fracture", "bhof2022_hip_or_vertebral_fracture")


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (the last day of the month when it has fewer days)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def drug_words(drug: str) -> str:
    return DRUG_WORDS.get(drug, drug)


def label_dose(m: Medication) -> LabelDose | None:
    """The labelled regimen matching the recorded dose (the first labelled one when no dose is recorded)."""
    labels = LABEL_DOSES.get(m.drug, ())
    if not labels:
        return None
    if m.dose_mg is None:
        return labels[0]
    return min(labels, key=lambda label: abs(label.dose_mg - m.dose_mg))


def schedule_words(m: Medication) -> str:
    label = label_dose(m)
    if label is None:
        return drug_words(m.drug)
    months = label.interval_days / DAYS_PER_MONTH
    every = ("daily" if label.interval_days <= 1 else "weekly" if label.interval_days <= 7
             else "monthly" if months < 1.5 else f"every {months:.0f} months")
    return f"{drug_words(m.drug)} {label.dose_mg:g} mg {every}"


def next_dose_date(m: Medication) -> date | None:
    """Last dose + the labelled interval in calendar months, for injections and infusions with dated doses."""
    label = label_dose(m)
    if label is None or not m.dates or label.route == "oral":
        return None
    return add_months(max(m.dates), round(label.interval_days / DAYS_PER_MONTH))


def _rule_line(rule: Rule, render: Render) -> DecisionRule:
    return DecisionRule(id=rule.id, text=render(rule), follows=rule.follows,
                        source=f"{cite(rule.source)}, {rule.section}", evidence=rule.evidence)


def _reason(rules: list[Rule], render: Render) -> str:
    """The condition part of each rule's text (before its first ': '), without repeats."""
    parts: list[str] = []
    for rule in rules:
        head = render(rule).split(": ", 1)[0]
        if head not in parts:
            parts.append(head)
    return "; ".join(parts)


#: Steps before a first dose, named by the rules that ask for them.
FIRST_STEPS = (
    (("check_renal_function_before_bisphosphonate", "check_vitamin_d_before_antiresorptive",
      "check_calcium_before_denosumab"), "the missing labs"),
    (("correct_vitamin_d_before_antiresorptive", "correct_calcium_before_denosumab"), "correcting vitamin D or calcium"),
    (("dental_review_before_antiresorptive",), "a dental review"),
)


def _first_steps(fired_ids: set[str]) -> str:
    steps = [words for ids, words in FIRST_STEPS if fired_ids & set(ids)]
    if not steps:
        return ""
    listed = steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " and " + steps[-1]
    return f" after {listed} (see the alerts)"


def _guideline(rules: list[Rule]) -> str:
    return "; ".join(dict.fromkeys(rule.follows for rule in rules))


def decide(record: PatientRecord, today: date, facts: dict[str, Any], fired: list[Rule], current: list[Medication],
           render: Render, risk_factor_words: list[str], next_dxa_months: int | None) -> Decision:
    """The decision card for one record (see the module docstring for the order of the checks).

    ``facts`` and ``fired`` are the evaluator's (evaluate.assess_record), ``current`` the bone agents in
    effect today, ``render`` fills a rule's text with the record's facts."""
    fired_ids = {r.id for r in fired}

    def card(action: DecisionAction, text: str, rules: list[Rule], reason: str | None = None,
             due: date | None = None) -> Decision:
        return Decision(action=action, text=text, reason=(reason or _reason(rules, render)).rstrip(".") + ".",
                        guideline=_guideline(rules), rules=[_rule_line(r, render) for r in rules],
                        current_agents=[drug_words(m.drug) for m in current], next_dose_due=due,
                        risk_factors=risk_factor_words, basis=BASIS)

    def rules(*ids: str) -> list[Rule]:
        return [RULES_BY_ID[i] for i in ids if i in fired_ids]

    indications = [r for r in fired if r.kind == "indication"]
    considers = [r for r in fired if r.kind == "consider"]
    if facts["bone_metastases"]:
        return card("out_of_scope", "Bone metastases: decide bone-agent doses for the metastatic setting; "
                    "the bone-loss rules do not apply.", rules("bone_metastases_out_of_scope"))

    deno_dates = sorted(d for m in record.medications if m.drug == "denosumab" for d in m.dates if d <= today)
    deno = max((m for m in record.medications if m.drug == "denosumab" and m.dates),
               key=lambda m: max(m.dates), default=None)
    if facts["denosumab_overdue_or_stopped"] and deno is not None:
        last = deno_dates[-1]
        due = next_dose_date(deno.model_copy(update={"dates": [last]}))
        months = (today - last).days / DAYS_PER_MONTH
        return card("give_denosumab_now",
                    f"Give denosumab now (last dose {last.isoformat()}, {months:.0f} months ago; it was due "
                    f"{due.isoformat() if due else 'at 6 months'}), or switch to a bisphosphonate.",
                    rules("denosumab_discontinuation_rebound"),
                    reason="Denosumab is overdue with no bisphosphonate since: bone loss rebounds within months "
                           "of a missed dose and multiple vertebral fractures can follow.", due=due)
    if facts["denosumab_stop_planned"] and deno is not None:
        planned = min(m.planned_stop_date for m in record.medications
                      if m.drug == "denosumab" and m.planned_stop_date is not None)
        return card("do_not_stop_denosumab",
                    f"Do not stop denosumab on {planned.isoformat()} without a follow-on bisphosphonate; "
                    f"next dose due {next_dose_date(deno).isoformat()}.",
                    rules("denosumab_discontinuation_rebound", "hba2021_do_not_pause_denosumab"),
                    reason="A stop of denosumab without a follow-on bisphosphonate is followed by rebound bone "
                           "loss and multiple vertebral fractures.", due=next_dose_date(deno))
    if current:
        agent = max(current, key=lambda m: m.drug == "denosumab")  # denosumab first when two are listed
        why = indications or considers
        reason_head = f"On {drug_words(agent.drug)}" + (f" for: {_reason(why, render)}" if why else "")
        if facts["on_oral_bisphosphonate"] and "hadji2011_switch_failing_oral_bisphosphonate" in fired_ids:
            switch = rules("hadji2011_switch_failing_oral_bisphosphonate", "significant_bmd_loss")
            return card("switch", f"Check adherence to {drug_words(agent.drug)}; switch to an intravenous agent if "
                        "she misses doses or BMD keeps falling.", [*switch, *why],
                        reason=f"{reason_head}. BMD fell by more than the least significant change on treatment")
        due = next_dose_date(agent)
        keep = rules("hba2021_do_not_pause_denosumab") if agent.drug == "denosumab" else []
        never_stop = " Never stop it without a follow-on bisphosphonate." if agent.drug == "denosumab" else ""
        if due is not None and (due - today).days <= DUE_SOON_DAYS:
            when = "overdue since" if due < today else "due on"
            return card("next_dose_due", f"Give the next dose of {schedule_words(agent)}: {when} {due.isoformat()}."
                        + never_stop, [*keep, *why], reason=reason_head, due=due)
        next_text = f"; next dose due {due.isoformat()}" if due else "; check adherence"
        return card("continue", f"Continue {schedule_words(agent)}{next_text}." + never_stop, [*keep, *why],
                    reason=reason_head, due=due)
    defer = [r for r in fired if r.kind == "defer"]
    overruled = "".join(f" {cite(r.source)} would defer: {(r.position or '').removeprefix('defer ').strip('()')}."
                        for r in defer)
    fracture = rules(*FRACTURE_RULES)
    if facts["prior_fragility_fracture"] and fracture:
        return card("treat_after_fracture", "Start a bone agent: she has had a fragility fracture.",
                    [*fracture, *[r for r in indications if r not in fracture]])
    if indications:
        return card("start", f"Start a bone agent{_first_steps(fired_ids)}.", indications,
                    reason=_reason(indications, render) + "." + overruled)
    if considers:
        return card("consider", "Consider a bone agent; no rule makes it mandatory.", considers,
                    reason=_reason(considers, render) + "." + overruled)
    if next_dxa_months is None:
        dxa = "no DXA interval applies"
    elif next_dxa_months == 0:
        dxa = "DXA now"
    else:
        dxa_date = add_months(today, next_dxa_months)
        dxa = f"next DXA in {next_dxa_months} months ({dxa_date.isoformat()})"
    baseline = [r for r in fired if r.dxa_months == 0]
    why = defer or baseline
    reason = _reason(why, render) if why else "No indication rule fired"
    return card("no_agent_now", f"No bone agent now; {dxa}.", why, reason=reason)
