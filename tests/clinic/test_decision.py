"""The decision card (clinic/decision.py): one action given current treatment, its reason, its guideline
and its rules; alerts by urgency; duplicate advice merged; numbers in the usual notation (issue 16)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from tests.clinic.test_vignettes import NORMAL_LABS, TODAY, record, scan

from osteotwin.clinic import assess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "patients"
FRACTURE = {"prior_fragility_fracture": True, "fragility_fracture_sites": ["wrist"]}


def decision_of(rec: dict, today: date = TODAY):
    return assess(rec, today=today, project=False)


def test_untreated_low_risk_no_agent_with_dated_dxa() -> None:
    a = decision_of(record(t={"lumbar_spine": -0.5, "total_hip": 0.1}, ai_start="2023-01-01", labs=NORMAL_LABS))
    d = a.decision
    assert d.action == "no_agent_now"
    assert d.text == "No bone agent now; next DXA in 24 months (2028-03-01)."
    assert "AIBL joint position statement 2017" in d.guideline and "ASCO 2019" in d.guideline
    assert {r.id for r in d.rules} == {"hadji2017_no_risk_factor_monitor", "asco2019_defer_below_threshold"}


def test_untreated_two_risk_factors_start() -> None:
    a = decision_of(record(t={"lumbar_spine": -1.6}, rf={"former_smoker": True}, labs=NORMAL_LABS))
    d = a.decision
    assert d.action == "start"
    assert d.text == "Start a bone agent after a dental review (see the alerts)."
    assert d.reason == ("2 AIBL risk factors (T < -1.5 counts as one) on an aromatase inhibitor. ASCO 2019 (bone "
                        "health in cancer survivors) would defer: T > -2.5, FRAX below threshold.")
    assert d.guideline.startswith("AIBL joint position statement 2017")
    assert [r.id for r in d.rules] == ["hadji2017_two_or_more_risk_factors"]
    assert d.risk_factors == ["current or past smoking", "T-score below -1.5"]


def test_untreated_fragility_fracture_treat() -> None:
    a = decision_of(record(t={"lumbar_spine": -1.2}, rf=FRACTURE, labs=NORMAL_LABS))
    assert a.decision.action == "treat_after_fracture"
    assert a.decision.text == "Start a bone agent: she has had a fragility fracture."
    assert "aus2019_fragility_fracture" in {r.id for r in a.decision.rules}
    assert not a.deferred_by


def test_fracture_on_zoledronic_acid_continue_with_next_infusion_date() -> None:
    meds = [{"drug": "zoledronic_acid", "dose_mg": 4, "dates": ["2025-07-01", "2026-01-05"]}]
    a = decision_of(record(t={"lumbar_spine": -1.2}, rf=FRACTURE, meds=meds, labs=NORMAL_LABS))
    d = a.decision
    assert d.action == "continue"
    # 2026-01-05 + 6 months (Hadji 2017 Table 3: 4 mg every 6 months)
    assert d.next_dose_due == date(2026, 7, 5)
    assert d.text == "Continue zoledronic acid 4 mg every 6 months; next dose due 2026-07-05."
    assert "defer" not in (d.text + d.reason).lower()
    assert not a.deferred_by, "no deferral for a woman already treated after a fracture (issue 16)"
    assert "dental_review_before_antiresorptive" not in {x.id for x in a.alerts}


def test_zoledronic_acid_next_dose_due_within_30_days() -> None:
    meds = [{"drug": "zoledronic_acid", "dose_mg": 4, "dates": ["2025-09-10"]}]
    d = decision_of(record(t={"lumbar_spine": -2.2}, meds=meds, labs=NORMAL_LABS)).decision
    assert d.action == "next_dose_due"
    assert d.next_dose_due == date(2026, 3, 10)
    assert "due on 2026-03-10" in d.text


def test_fracture_on_denosumab_continue_never_stop() -> None:
    meds = [{"drug": "denosumab", "dose_mg": 60, "dates": ["2025-06-20", "2025-12-15"]}]
    a = decision_of(record(t={"lumbar_spine": -1.2}, rf=FRACTURE, meds=meds, labs=NORMAL_LABS))
    d = a.decision
    assert d.action == "continue"
    assert d.next_dose_due == date(2026, 6, 15)  # 2025-12-15 + 6 months (Prolia label: every 6 months)
    assert d.text == ("Continue denosumab 60 mg every 6 months; next dose due 2026-06-15. "
                      "Never stop it without a follow-on bisphosphonate.")
    assert "hba2021_do_not_pause_denosumab" in {r.id for r in d.rules}
    assert not a.deferred_by


def test_denosumab_planned_stop() -> None:
    meds = [{"drug": "denosumab", "dose_mg": 60, "dates": ["2026-01-01"], "planned_stop_date": "2026-07-01"}]
    d = decision_of(record(t={"lumbar_spine": -2.0}, meds=meds, labs=NORMAL_LABS)).decision
    assert d.action == "do_not_stop_denosumab"
    assert d.text.startswith("Do not stop denosumab on 2026-07-01 without a follow-on bisphosphonate")


def test_denosumab_overdue_example() -> None:
    rec = json.loads((EXAMPLES / "denosumab_overdue.json").read_text())
    a = decision_of(rec, today=date(2026, 3, 1))
    d = a.decision
    assert d.action == "give_denosumab_now"
    assert d.text == ("Give denosumab now (last dose 2025-04-03, 11 months ago; it was due 2025-10-03), "
                      "or switch to a bisphosphonate.")
    assert a.alerts[0].id == "denosumab_discontinuation_rebound" and a.alerts[0].urgency == 1
    assert "asco2019_defer_below_threshold" not in a.fired_rules
    assert "dental_review_before_antiresorptive" not in {x.id for x in a.alerts}


def test_failing_oral_bisphosphonate_switch() -> None:
    meds = [{"drug": "alendronate", "dose_mg": 70, "start_date": "2024-11-01"}]
    rec = record(dxa=[scan("2025-01-10", "lumbar_spine", 0.900, t=-1.6), scan("2026-01-10", "lumbar_spine", 0.860, t=-1.9)],
                 meds=meds, labs=NORMAL_LABS)
    d = decision_of(rec).decision
    assert d.action == "switch"
    assert "switch to an intravenous agent" in d.text
    assert d.guideline.startswith("Hadji 2011")


def test_alerts_ordered_by_urgency_bmd_loss_above_dental_review() -> None:
    rec = record(dxa=[scan("2025-01-10", "lumbar_spine", 0.900, t=-2.0), scan("2026-01-10", "lumbar_spine", 0.850, t=-2.4)],
                 labs=[*NORMAL_LABS[1:], {"date": "2026-02-01", "test": "vitamin_d_25_oh", "value": 15, "unit": "ng/mL"}])
    a = decision_of(rec)
    ids = [x.id for x in a.alerts]
    assert ids.index("significant_bmd_loss") < ids.index("dental_review_before_antiresorptive")
    assert [x.urgency for x in a.alerts] == sorted(x.urgency for x in a.alerts)


def test_calcium_and_vitamin_d_advice_once() -> None:
    a = decision_of(record(age=64, t={"lumbar_spine": -1.6}, rf={"former_smoker": True}, labs=NORMAL_LABS))
    calcium_lines = [r for r in a.recommendations if "calcium" in r.text.lower() and "mg/day" in r.text]
    assert len(calcium_lines) == 1
    assert sorted(calcium_lines[0].also) == ["BHOF 2022 (clinician's guide): 1200 mg/day",
                                             "Hadji 2017 (AIBL joint position statement): >= 1200 mg/day"]
    fired = set(a.fired_rules)
    assert {"asco2019_calcium_vitamin_d", "bhof2022_calcium_1200", "hadji2017_calcium_vitamin_d"} <= fired


def test_headline_has_no_rule_ids_and_usual_number_notation() -> None:
    from osteotwin.clinic.text import summary_text

    a = decision_of(record(t={"lumbar_spine": -1.6}, rf={"former_smoker": True}, labs=NORMAL_LABS))
    glance = summary_text(a).split("\n\n")[1]
    assert not re.search(r"\b[a-z0-9]+_[a-z0-9_]+\b", glance), glance
    assert "minus" not in glance and "T-score below -1.5" in glance


def test_every_recommendation_names_the_version_it_follows() -> None:
    a = decision_of(record(t={"lumbar_spine": -2.2}, cancer={"adjuvant_systemic_therapy_candidate": True,
                                                           "recurrence_risk": "high"}, labs=NORMAL_LABS))
    follows = {r.id: r.follows for r in a.recommendations}
    assert follows["hadji2017_t_below_minus_2"].startswith("AIBL joint position statement 2017")
    assert follows["hadji2025_assess_fracture_risk"] == "AIBL joint position statement 2025 update"
    assert follows["asco_oh2022_discuss_adjuvant_bp"].startswith("ASCO-OH")


def test_premenopausal_on_ovarian_suppression_gets_fracture_risk_assessment_2025() -> None:
    a = decision_of(record(age=44, meno="premenopausal", ai="letrozole", z={"lumbar_spine": -0.4},
                           meds=[{"drug": "goserelin", "start_date": "2024-05-01"}], labs=NORMAL_LABS))
    assert "hadji2025_assess_fracture_risk" in a.fired_rules


def test_start_names_the_steps_before_the_first_dose() -> None:
    d = decision_of(record(t={"lumbar_spine": -2.8}, labs=[NORMAL_LABS[0]])).decision
    assert d.text == "Start a bone agent after the missing labs and a dental review (see the alerts)."


def test_baseline_dxa_advised_once_with_both_sources() -> None:
    a = decision_of(record(rf={"family_history_hip_fracture": True, "oral_glucocorticoid_months": 12}))
    baseline = [r for r in a.recommendations if "DXA" in r.text and ("now" in r.text or "offer central" in r.text)]
    assert [r.id for r in baseline] == ["nccn2009_baseline_dxa"]
    assert baseline[0].also == ["ASCO 2019 (bone health in cancer survivors): now (baseline)"]


def test_bone_metastases_out_of_scope_and_consider() -> None:
    metastatic = decision_of(record(t={"lumbar_spine": -2.2}, cancer={"bone_metastases": True}, labs=NORMAL_LABS))
    assert metastatic.decision.action == "out_of_scope"
    assert metastatic.decision.guideline.startswith("ESMO 2020")
    consider = decision_of(record(t={"lumbar_spine": -1.6}, labs=NORMAL_LABS)).decision
    assert consider.action == "consider"
    assert consider.reason == ("T-score -1.6 between -2.0 and -1.5 on an AI. ASCO 2019 (bone health in cancer "
                               "survivors) would defer: T > -2.5, FRAX below threshold.")


def test_no_dxa_yet_no_risk_factor_baseline_dxa_first() -> None:
    d = decision_of(record(labs=NORMAL_LABS)).decision
    assert d.action == "no_agent_now" and d.text == "No bone agent now; DXA now."
    assert d.reason == ("On an aromatase inhibitor without a DXA in the record; Postmenopausal status is a risk "
                        "factor for osteoporotic fracture.")
    assert {r.id for r in d.rules} == {"nccn2009_baseline_dxa", "asco2019_offer_central_dxa"}
