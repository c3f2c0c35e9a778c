"""Apply the rules to a patient record: facts, WHO category, risk factors, rules fired, Assessment.

The evaluator holds no clinical content of its own beyond the derivation of facts; every line of
advice comes from a rule in ``rules.py`` and carries that rule's source.
"""

from __future__ import annotations

import string
from datetime import date, timedelta
from typing import Any

from osteotwin.clinic.assessment import (
    Alert,
    Assessment,
    Classification,
    Disagreement,
    DxaInterval,
    Position,
    Recommendation,
)
from osteotwin.clinic.decision import decide
from osteotwin.clinic.fracture_risk import assess_fracture_risk
from osteotwin.clinic.monitoring import dxa_changes
from osteotwin.clinic.record import (
    AROMATASE_INHIBITORS,
    BISPHOSPHONATES,
    BONE_AGENTS,
    OVARIAN_SUPPRESSION,
    DxaMeasurement,
    Medication,
    PatientRecord,
    record_warnings,
)
from osteotwin.clinic.rules import RULES, TOPIC_WORDS, URGENCY_WORDS, Rule
from osteotwin.clinic.sources import SOURCES, cite

SITES = ("lumbar_spine", "total_hip", "femoral_neck")
#: NHANES III femoral neck young-adult reference, white women 20-29 (Looker 1998 via secondary code [S]).
FN_REFERENCE_MEAN_G_CM2 = 0.858
FN_REFERENCE_SD_G_CM2 = 0.120
#: Default lower limit of total serum calcium when the lab gives none (ours: common adult reference
#: interval 2.10-2.60 mmol/L; always prefer the reporting lab's own limit).
DEFAULT_CALCIUM_LOW_MMOL_L = 2.10
#: Injection/infusion intervals that count as "current" (denosumab label: every 6 months [V];
#: zoledronic acid: 12 months covers the 6-monthly 4 mg and yearly schedules, ours).
CURRENT_WINDOW_DAYS = {"denosumab": 183, "zoledronic_acid": 366}
#: Bisphosphonates taken by mouth (Hadji 2011 advises a switch to an IV agent when they fail).
ORAL_BISPHOSPHONATES = frozenset(BISPHOSPHONATES - {"zoledronic_acid"})

#: The AIBL risk factors (Hadji 2017) with the ids of issue 5; cut-offs and their evidence.
RISK_FACTOR_DEFINITIONS: dict[str, tuple[str, str]] = {
    "age_over_65": ("age over 65 years", "R"),
    "low_bmi": ("BMI below 20 kg/m2", "R"),
    "smoking": ("current or past smoking", "S"),
    "family_history_hip_fracture": ("parental/family history of hip fracture", "S"),
    "prior_fragility_fracture": ("fragility fracture after age 50", "S"),
    "oral_glucocorticoids": ("oral glucocorticoids for more than 6 months", "S"),
    "t_score_below_minus_1_5": ("T-score below -1.5", "S"),
}
#: Recommendations on these topics say the same thing from several sources: shown once, the others
#: listed under ``also`` (issue 16: calcium and vitamin D were advised three times). Recommendations
#: on any other topic are merged when they take the same position (e.g. two sources: baseline DXA now).
MERGED_TOPICS = ("calcium_intake", "vitamin_d_target", "exercise")


def _merge_key(rule: Rule) -> str | None:
    if rule.kind != "recommendation" or rule.topic is None:
        return None
    return rule.topic if rule.topic in MERGED_TOPICS else f"{rule.topic}: {rule.position}" if rule.position else None


def latest_per_site(dxa: list[DxaMeasurement]) -> dict[str, DxaMeasurement]:
    latest: dict[str, DxaMeasurement] = {}
    for item in sorted(dxa, key=lambda d: d.date):
        latest[item.site] = item
    return latest


def classify(record: PatientRecord) -> Classification:
    """WHO category on the lowest T-score of spine, total hip and femoral neck (Z-score when ISCD says so)."""
    latest = latest_per_site(record.dxa)
    notes: list[str] = []
    on_z = record.patient.menopausal_status != "postmenopausal"
    t_scores: dict[str, float] = {}
    z_scores: dict[str, float] = {}
    for site, item in latest.items():
        if item.t_score is not None:
            t_scores[site] = item.t_score
        elif site == "femoral_neck" and item.bmd_g_cm2 is not None:
            t_scores[site] = round((item.bmd_g_cm2 - FN_REFERENCE_MEAN_G_CM2) / FN_REFERENCE_SD_G_CM2, 2)
            notes.append("Femoral-neck T-score computed from BMD with the NHANES III reference 0.858/0.120 g/cm2 "
                         "(secondary source; Hologic-scale BMD assumed).")
        elif item.bmd_g_cm2 is not None:
            notes.append(f"{site}: BMD without a device T-score is not classified (reference values for this "
                         "site are not verified; device-reported T-scores are preferred).")
        if item.z_score is not None:
            z_scores[site] = item.z_score
    if on_z:
        notes.append("Not postmenopausal: classified on the Z-score (ISCD); Z <= -2.0 is below the expected range for age.")
        if not z_scores:
            return Classification(who_category="unknown", uses="none", lowest_score=None, lowest_site=None,
                                  sites={}, source=cite("iscd2006"), notes=[*notes, "No Z-score in the record."])
        site = min(z_scores, key=z_scores.__getitem__)
        category = "below_expected_range_for_age" if z_scores[site] <= -2.0 else "within_expected_range_for_age"
        return Classification(who_category=category, uses="z_score", lowest_score=z_scores[site], lowest_site=site,
                              sites=z_scores, source=cite("iscd2006"), notes=notes)
    if not t_scores:
        return Classification(who_category="unknown", uses="none", lowest_score=None, lowest_site=None, sites={},
                              source=cite("who_racgp"), notes=[*notes, "No T-score in the record."])
    site = min(t_scores, key=t_scores.__getitem__)
    lowest = t_scores[site]
    category = "osteoporosis" if lowest <= -2.5 else "low_bone_mass" if lowest < -1.0 else "normal"
    if record.patient.age_years < 50:
        notes.append("Postmenopausal and under 50: T-score used (ISCD); the Australian statement uses the Z-score under 50.")
    return Classification(who_category=category, uses="t_score", lowest_score=lowest, lowest_site=site,
                          sites=t_scores, source=cite("who_racgp"), notes=notes)


def risk_factors(record: PatientRecord, lowest_t: float | None) -> list[str]:
    """AIBL risk-factor ids present in the record (Hadji 2017 list; T < -1.5 counts as one)."""
    rf = record.risk_factors
    found = []
    if record.patient.age_years > 65:
        found.append("age_over_65")
    if record.patient.bmi_kg_m2 < 20:
        found.append("low_bmi")
    if rf.current_smoker or rf.former_smoker:
        found.append("smoking")
    if rf.family_history_hip_fracture:
        found.append("family_history_hip_fracture")
    if rf.prior_fragility_fracture:
        found.append("prior_fragility_fracture")
    if rf.oral_glucocorticoid_months > 6:
        found.append("oral_glucocorticoids")
    if lowest_t is not None and lowest_t < -1.5:
        found.append("t_score_below_minus_1_5")
    return found


def course_current(m: Medication, today: date) -> bool:
    """A course (start/stop dates) that has started and not stopped by ``today``."""
    return m.start_date is not None and m.start_date <= today and (m.stop_date is None or m.stop_date > today)


def agent_current(m: Medication, today: date) -> bool:
    """A bone agent in effect today: an injection/infusion within CURRENT_WINDOW_DAYS of its last dose,
    or a current oral course."""
    if m.drug in CURRENT_WINDOW_DAYS and m.dates:
        past = [d for d in m.dates if d <= today]
        return bool(past) and (today - max(past)).days <= CURRENT_WINDOW_DAYS[m.drug] and (
            m.stop_date is None or m.stop_date > today)
    return course_current(m, today)


def current_bone_agents(record: PatientRecord, today: date) -> list[Medication]:
    """The bone agents in effect today (see :func:`agent_current`)."""
    return [m for m in record.medications if m.drug in BONE_AGENTS and agent_current(m, today)]


def _latest_lab(record: PatientRecord, test: str):
    labs = [lab for lab in record.labs if lab.test == test]
    return max(labs, key=lambda lab: lab.date) if labs else None


def compute_facts(record: PatientRecord, today: date, classification: Classification, rf_ids: list[str],
                  monitoring: list) -> dict[str, Any]:
    """The facts the rules test (names and meanings in ``rules.FACTS``)."""
    meds = record.medications
    year_ago = today - timedelta(days=365)

    ai_current = [m for m in meds if m.drug in AROMATASE_INHIBITORS and course_current(m, today)]
    ovarian_suppression = any(m.drug in OVARIAN_SUPPRESSION and course_current(m, today) for m in meds)
    bone_current = current_bone_agents(record, today)
    bone_started_recent = any(m.drug in BONE_AGENTS and year_ago <= m.first_date <= today for m in meds)
    deno = [m for m in meds if m.drug == "denosumab"]
    deno_dates = sorted(d for m in deno for d in m.dates if d <= today)
    last_deno = deno_dates[-1] if deno_dates else None
    bp_after = last_deno is not None and any(
        m.drug in BISPHOSPHONATES and m.first_date >= last_deno for m in meds)
    on_deno = last_deno is not None and (today - last_deno).days <= CURRENT_WINDOW_DAYS["denosumab"] and not any(
        m.stop_date is not None and m.stop_date <= today for m in deno)
    deno_overdue = last_deno is not None and not on_deno and not bp_after
    deno_stop_planned = any(m.planned_stop_date is not None for m in deno) and not bp_after

    latest = latest_per_site(record.dxa)
    t_all = [item.t_score for item in latest.values() if item.t_score is not None]
    if classification.uses == "t_score":
        lowest_t = classification.lowest_score
    else:
        lowest_t = min(t_all) if t_all else None
    z_all = [item.z_score for item in latest.values() if item.z_score is not None]
    lowest_z = min(z_all) if z_all else None
    under_50 = record.patient.age_years < 50
    lowest_t_or_z = lowest_z if under_50 else lowest_t

    vitd = _latest_lab(record, "vitamin_d_25_oh")
    crcl = _latest_lab(record, "creatinine_clearance")
    calcium = _latest_lab(record, "calcium")
    calcium_low = None
    if calcium is not None:
        limit = calcium.reference_low_in_standard_unit() or DEFAULT_CALCIUM_LOW_MMOL_L
        calcium_low = calcium.value_in_standard_unit() < limit

    annual = [s.annual_loss_pct_per_year for s in monitoring if s.annual_loss_pct_per_year is not None]
    frax = record.frax
    rf = record.risk_factors
    postmenopausal = record.patient.menopausal_status == "postmenopausal" or ovarian_suppression
    return {
        "age_years": record.patient.age_years,
        "bmi_kg_m2": record.patient.bmi_kg_m2,
        "postmenopausal": postmenopausal,
        "classify_on_z_score": classification.uses == "z_score",
        "has_dxa": bool(record.dxa),
        "lowest_t_score": lowest_t,
        "lowest_z_score": lowest_z,
        "lowest_t_or_z_score": lowest_t_or_z,
        "aibl_risk_factor_count": len(rf_ids),
        "aibl_clinical_risk_factor_count": len([r for r in rf_ids if r != "t_score_below_minus_1_5"]),
        "on_aromatase_inhibitor": bool(ai_current),
        "ai_started_within_12_months": any(year_ago <= m.start_date <= today for m in ai_current),
        "on_bone_agent": bool(bone_current),
        "on_oral_bisphosphonate": any(m.drug in ORAL_BISPHOSPHONATES for m in bone_current),
        "bone_agent_started_within_12_months": bone_started_recent,
        "on_denosumab": on_deno,
        "denosumab_overdue_or_stopped": deno_overdue,
        "denosumab_stop_planned": deno_stop_planned,
        "prior_fragility_fracture": rf.prior_fragility_fracture,
        "prior_hip_or_vertebral_fracture": bool({"hip", "vertebra"} & set(rf.fragility_fracture_sites)),
        "frax_mof_pct": frax.major_osteoporotic_10y_pct if frax else None,
        "frax_hip_pct": frax.hip_10y_pct if frax else None,
        "frax_over_us_threshold": (frax.major_osteoporotic_10y_pct >= 20 or frax.hip_10y_pct >= 3) if frax else None,
        "max_annual_loss_pct": max(annual) if annual else None,
        "significant_loss": any(s.latest_is_significant_loss for s in monitoring),
        "creatinine_clearance_ml_min": crcl.value_in_standard_unit() if crcl else None,
        "vitamin_d_ng_ml": round(vitd.value_in_standard_unit(), 1) if vitd else None,
        "calcium_below_reference": calcium_low,
        "calcium_known": calcium is not None,
        "bone_agent_indicated": None,
        "antiresorptive_considered": None,
        "starting_antiresorptive": None,
        "current_smoker": rf.current_smoker,
        "alcohol_units_per_day": rf.alcohol_units_per_day,
        "falls_last_12_months": rf.falls_last_12_months,
        "adjuvant_candidate": record.cancer.adjuvant_systemic_therapy_candidate,
        "recurrence_risk_intermediate_or_high": record.cancer.recurrence_risk in ("intermediate", "high"),
        "bone_metastases": record.cancer.bone_metastases,
        "height_loss_cm_historical": rf.height_loss_cm_historical,
        "height_loss_cm_prospective": rf.height_loss_cm_prospective,
        "acute_back_pain": rf.acute_back_pain,
    }


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "n/a"
        return super().format_field(value, format_spec)


def render_text(rule: Rule, facts: dict[str, Any]) -> str:
    """The rule's text with the record's facts filled in."""
    return _Formatter().format(rule.text, **facts)


def _source_line(rule: Rule) -> str:
    return f"{cite(rule.source)}, {rule.section}"


def _recommendations(fired: list[Rule], facts: dict[str, Any]) -> list[Recommendation]:
    """Recommendations in the order indication, consider, defer, other; duplicates merged (``_merge_key``)."""
    order = {"indication": 0, "consider": 1, "defer": 2, "recommendation": 3}
    out: list[Recommendation] = []
    by_topic: dict[str, Recommendation] = {}
    for rule in sorted((r for r in fired if r.kind in order), key=lambda r: order[r.kind]):
        key = _merge_key(rule)
        merged = by_topic.get(key) if key else None
        if merged is not None:
            merged.also.append(f"{cite(rule.source)}: {rule.position or render_text(rule, facts)}")
            continue
        rec = Recommendation(id=rule.id, text=render_text(rule, facts), source=_source_line(rule),
                             strength=rule.strength, evidence=rule.evidence, citation=SOURCES[rule.source].citation,
                             follows=rule.follows)
        if key:
            by_topic[key] = rec
        out.append(rec)
    return out


def assess_record(record: PatientRecord, today: date) -> Assessment:
    """Evaluate every rule on one record and assemble the Assessment (without the engine projection)."""
    classification = classify(record)
    monitoring = dxa_changes(record.dxa, record.facility_precision)
    t_for_rf = classification.lowest_score if classification.uses == "t_score" else min(
        (d.t_score for d in latest_per_site(record.dxa).values() if d.t_score is not None), default=None)
    rf_ids = risk_factors(record, t_for_rf)
    facts = compute_facts(record, today, classification, rf_ids, monitoring)

    def fired(kind: str | None = None) -> list[Rule]:
        return [r for r in RULES if (kind is None or r.kind == kind) and r.when.holds(facts)]

    indications = fired("indication")
    considers = fired("consider")
    indicated = bool(indications)
    adjuvant = facts["adjuvant_candidate"] and facts["postmenopausal"]
    facts["bone_agent_indicated"] = indicated
    facts["antiresorptive_considered"] = indicated or bool(considers) or facts["on_bone_agent"] or adjuvant
    facts["starting_antiresorptive"] = ((indicated or adjuvant) and not facts["on_bone_agent"]
                                        and not facts["denosumab_overdue_or_stopped"])
    all_fired = fired()

    recommendations = _recommendations(all_fired, facts)
    alerts = [
        Alert(id=r.alert_id or r.id, text=render_text(r, facts), source=_source_line(r), rule_id=r.id,
              evidence=r.evidence, urgency=r.urgency or 4, urgency_words=URGENCY_WORDS[r.urgency or 4])
        for r in all_fired if r.kind in ("alert", "caveat")
    ]
    rf_notes = [f"{rid}: {RISK_FACTOR_DEFINITIONS[rid][0]}"
                + (" (cut-off recalled, not verified)" if RISK_FACTOR_DEFINITIONS[rid][1] == "R" else "")
                for rid in rf_ids]
    recalled_present = [r for r in rf_ids if RISK_FACTOR_DEFINITIONS[r][1] == "R"]
    two_rf = any(r.id == "hadji2017_two_or_more_risk_factors" for r in indications)
    only_by_two_rf = two_rf and len(indications) == 1
    if only_by_two_rf and len(rf_ids) - len(recalled_present) < 2:
        alerts.append(Alert(
            id="decision_depends_on_recalled_cut_off",
            text="The Hadji 2017 count reaches 2 only with "
                 + ", ".join(RISK_FACTOR_DEFINITIONS[r][0] for r in recalled_present)
                 + ", whose cut-offs (age > 65, BMI < 20) are recalled, not verified against the statement.",
            source=f"{cite('ours')}: evidence check", rule_id="hadji2017_two_or_more_risk_factors", evidence="ours",
            urgency=4, urgency_words=URGENCY_WORDS[4]))
    alerts.sort(key=lambda alert: alert.urgency)  # stable: rule order within a level

    disagreements: list[Disagreement] = []
    topics: dict[str, list[Rule]] = {}
    for rule in all_fired:
        if rule.topic and rule.position and rule.topic != "dxa_interval":
            topics.setdefault(rule.topic, []).append(rule)
    for topic, rules in topics.items():
        if topic == "bone_agent":
            # Treat vs consider is a difference of strength, not of direction; a disagreement is a
            # source deferring while another treats or considers.
            stances = {r.kind for r in rules}
            differ = "defer" in stances and bool(stances & {"indication", "consider"})
        else:
            differ = len({r.position for r in rules}) > 1
        if differ and len({r.source for r in rules}) > 1:
            disagreements.append(Disagreement(topic=topic, title=TOPIC_WORDS[topic], positions=[
                Position(rule_id=r.id, source=cite(r.source), says=r.position or "", evidence=r.evidence)
                for r in rules]))

    intervals = [DxaInterval(rule_id=r.id, months=r.dxa_months, source=_source_line(r), text=render_text(r, facts))
                 for r in all_fired if r.dxa_months is not None]
    next_dxa = min((i.months for i in intervals), default=None)
    decision = decide(record, today, facts, all_fired, current_bone_agents(record, today),
                      lambda rule: render_text(rule, facts), [RISK_FACTOR_DEFINITIONS[r][0] for r in rf_ids], next_dxa)
    interval_rules = [r for r in all_fired if r.dxa_months is not None]
    if len({r.dxa_months for r in interval_rules}) > 1 and len({r.source for r in interval_rules}) > 1:
        disagreements.append(Disagreement(topic="dxa_interval", title=TOPIC_WORDS["dxa_interval"], positions=[
            Position(rule_id=r.id, source=cite(r.source),
                     says="now" if r.dxa_months == 0 else f"{r.dxa_months} months" + (f" ({r.position})" if r.position else ""),
                     evidence=r.evidence) for r in interval_rules]))
    return Assessment(
        assessed_on=today,
        who_category=classification.who_category,
        classification=classification,
        bone_agent_indicated=indicated,
        because=[r.id for r in indications],
        considered_because=[r.id for r in considers],
        deferred_by=[r.id for r in all_fired if r.kind == "defer"],
        risk_factors=rf_ids,
        risk_factor_notes=rf_notes,
        next_dxa_months=next_dxa,
        dxa_intervals=intervals,
        decision=decision,
        recommendations=recommendations,
        alerts=alerts,
        disagreements=disagreements,
        fracture_risk=assess_fracture_risk(record, today),
        monitoring=monitoring,
        fired_rules=[r.id for r in all_fired],
        warnings=record_warnings(record, today),
    )
