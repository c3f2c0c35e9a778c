"""Guideline rules as data: every rule has an id, a condition, a text, a source, a section,
the strength as the guideline writes it and our evidence tag (``sources.py``; docs/clinic.md).

``kind`` says what a rule does in the assessment:

- ``indication``: the source says to give / offer / treat with a bone agent; decides ``bone_agent_indicated``.
- ``consider``: the source says to *consider* a bone agent; shown, does not decide alone.
- ``defer``: the source says to defer a bone agent; shown next to indications when they disagree.
- ``recommendation``: any other advice (intake, exercise, tests, agent choice).
- ``alert``: a safety or monitoring alert; ``alert_id`` is the stable id in the output.
- ``caveat``: a scope limit the clinician must see.

Rules with ``dxa_months`` also propose the next DXA interval. Rules sharing a ``topic`` are compared:
where sources give different ``position``s, the assessment lists each with its source.

Texts may contain ``{fact}`` placeholders, filled from the facts of the record (see ``FACTS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from osteotwin.catalog import (
    VITAMIN_D_INADEQUATE_BELOW_NG_ML,
    VITAMIN_D_TARGET_FROM_AGE_YEARS,
    VITAMIN_D_TARGET_NG_ML,
)
from osteotwin.clinic.conditions import Always, Condition, F
from osteotwin.clinic.sources import SOURCES, EvidenceTag

RuleKind = Literal["indication", "consider", "defer", "recommendation", "alert", "caveat"]
AiblVersion = Literal["2017", "2025"]
#: Alert urgency, 1 most urgent; the basis is URGENCY_BASIS.
Urgency = Literal[1, 2, 3, 4]
URGENCY_BASIS = (
    "Alerts are ordered by clinical urgency (ours): how soon harm follows if the alert is ignored. A lapsed "
    "denosumab, hypocalcaemia before a dose, a renal contraindication or bone metastases (rules that do not "
    "apply) harm within weeks; BMD loss beyond the least significant change is disease progressing now; the "
    "dental review and vitamin D repletion are steps before the next dose (the dental review before the first), "
    "and osteonecrosis of the jaw is rare, so that alert stands below 'BMD fell'; an evidence caveat changes no "
    "action.")
URGENCY_WORDS: dict[int, str] = {
    1: "act today: harm within weeks if ignored",
    2: "act at this visit: bone loss is progressing",
    3: "before the next dose is given",
    4: "evidence caveat",
}
#: Topics that rules share (``Rule.topic``), in words for the reader.
TOPIC_WORDS: dict[str, str] = {
    "bone_agent": "bone agent", "adjuvant": "adjuvant bisphosphonate", "calcium_intake": "calcium intake",
    "vitamin_d_target": "vitamin D target", "dxa_interval": "DXA interval", "exercise": "exercise",
    "renal": "renal function",
}
#: Which version of the AIBL joint position statement a rule follows (sources.py: hadji2017, hadji2025).
#: The 2025 update was read in its abstract only: it says new evidence was combined with the existing
#: (2017) recommendations, so a 2017 rule is kept unless the update's verified text changes it.
AIBL_VERSION_OF_SOURCE: dict[str, AiblVersion] = {"hadji2017": "2017", "hadji2025": "2025"}
AIBL_VERSION_WORDS: dict[str, str] = {
    "2017": "AIBL joint position statement 2017 (kept in the 2025 update as far as its abstract shows)",
    "2025": "AIBL joint position statement 2025 update",
}

#: Facts the rules may test, computed from a PatientRecord by ``evaluate.compute_facts``.
FACTS: dict[str, str] = {
    "age_years": "age at the visit (years)",
    "bmi_kg_m2": "body-mass index (kg/m2)",
    "postmenopausal": "postmenopausal, naturally or by ovarian suppression",
    "classify_on_z_score": "premenopausal (without ovarian suppression) or under 50: classify on the Z-score (ISCD)",
    "has_dxa": "the record holds at least one DXA result (spine, total hip or femoral neck)",
    "lowest_t_score": "lowest T-score of lumbar spine, total hip and femoral neck at each site's latest scan",
    "lowest_z_score": "lowest Z-score of the same sites",
    "lowest_t_or_z_score": "Z-score when classify_on_z_score, else T-score (Australian 2019 wording)",
    "aibl_risk_factor_count": "number of AIBL risk factors, with T < -1.5 counting as one (Hadji 2017)",
    "aibl_clinical_risk_factor_count": "number of AIBL risk factors other than T < -1.5",
    "on_aromatase_inhibitor": "an aromatase inhibitor is current (started, not stopped)",
    "ai_started_within_12_months": "an aromatase inhibitor started in the last 12 months",
    "on_bone_agent": "a bone agent is current (oral course not stopped, or last injection/infusion in its interval)",
    "bone_agent_started_within_12_months": "a bone agent started in the last 12 months",
    "on_oral_bisphosphonate": "an oral bisphosphonate course is current (alendronate, risedronate, ibandronate, clodronate)",
    "on_denosumab": "last denosumab dose within 6 months",
    "denosumab_overdue_or_stopped": "denosumab given before, last dose more than 6 months ago, no bisphosphonate since",
    "denosumab_stop_planned": "a stop date is planned for denosumab without a follow-on bisphosphonate",
    "prior_fragility_fracture": "a prior fragility (minimal-trauma) fracture",
    "prior_hip_or_vertebral_fracture": "a prior hip or vertebral fragility fracture",
    "frax_mof_pct": "user-supplied FRAX 10-year major osteoporotic fracture probability (%)",
    "frax_hip_pct": "user-supplied FRAX 10-year hip fracture probability (%)",
    "max_annual_loss_pct": "largest annualised BMD loss at any site over at least 9 months, same device (%/year)",
    "significant_loss": "a BMD decrease larger than the least significant change at any site",
    "creatinine_clearance_ml_min": "latest creatinine clearance (mL/min)",
    "vitamin_d_ng_ml": "latest serum 25(OH)D (ng/mL)",
    "calcium_below_reference": "latest serum calcium below the lab's lower limit (default 2.10 mmol/L: ours)",
    "calcium_known": "a serum calcium result is in the record",
    "bone_agent_indicated": "an indication rule fired (second pass)",
    "antiresorptive_considered": "a bone agent is indicated or considered, current, or adjuvant therapy is a candidate",
    "starting_antiresorptive": "antiresorptive_considered, no bone agent is current and denosumab is not overdue",
    "current_smoker": "current smoker",
    "alcohol_units_per_day": "alcohol (units/day)",
    "falls_last_12_months": "falls in the last 12 months",
    "adjuvant_candidate": "candidate for adjuvant systemic therapy for early breast cancer",
    "recurrence_risk_intermediate_or_high": "recurrence risk stated as intermediate or high",
    "bone_metastases": "known bone metastases",
    "height_loss_cm_historical": "height loss vs tallest adult height (cm)",
    "height_loss_cm_prospective": "measured height loss between visits (cm)",
    "acute_back_pain": "acute back pain",
    "frax_over_us_threshold": "FRAX MOF >= 20% or hip >= 3%",
}


@dataclass(frozen=True)
class Rule:
    id: str
    kind: RuleKind
    when: Condition
    text: str
    source: str
    section: str
    strength: str
    evidence: EvidenceTag
    topic: str | None = None
    position: str | None = None
    alert_id: str | None = None
    dxa_months: int | None = None
    note: str | None = None
    urgency: Urgency | None = None

    @property
    def version(self) -> AiblVersion | None:
        """The AIBL statement version a rule follows, from its source; None for other guidelines."""
        return AIBL_VERSION_OF_SOURCE.get(self.source)

    @property
    def follows(self) -> str:
        """The guideline (and, for the AIBL statement, the version) this rule follows, as shown to the user."""
        if self.version is None:
            return SOURCES[self.source].short
        return AIBL_VERSION_WORDS[self.version]

    def as_dict(self) -> dict:
        """The rule as JSON-ready data (condition printed in the fact language), with its full citation."""
        return {
            "id": self.id, "kind": self.kind, "condition": str(self.when), "text": self.text,
            "source": SOURCES[self.source].short, "citation": SOURCES[self.source].citation,
            "section": self.section, "strength": self.strength, "evidence": self.evidence,
            "topic": self.topic, "position": self.position, "alert_id": self.alert_id,
            "dxa_months": self.dxa_months, "note": self.note, "version": self.version,
            "follows": self.follows, "urgency": self.urgency,
        }


ON_AI = F("on_aromatase_inhibitor").true
FRAX_OVER = F("frax_over_us_threshold").true
NOT_GRADED = "not graded in the source"
#: A deferral is advice about starting a bone agent: it is not given to a woman already on one (or overdue
#: for denosumab, which must not lapse), nor after a fragility fracture, which the Australian 2019 statement treats (ours: issue 16, a woman on zoledronic acid
#: or denosumab after a fracture was told to defer).
NOT_STARTING_DECISION = (F("on_bone_agent").false & F("prior_fragility_fracture").false
                         & F("denosumab_overdue_or_stopped").false)
DEFER_NOTE = ("Not shown to a woman already on a bone agent, overdue for denosumab or after a fragility fracture "
              "(ours: a deferral is advice about starting).")

RULES: tuple[Rule, ...] = (
    # ---------------------------------------------------------------- bone agent: indications
    Rule(
        "hadji2017_t_below_minus_2", "indication", ON_AI & (F("lowest_t_score") < -2.0),
        "Lowest T-score {lowest_t_score:.1f} < -2.0 on an aromatase inhibitor: give bone-directed therapy for "
        "as long as the AI is taken.",
        "hadji2017", "treatment algorithm; Table 3", "denosumab (I, A); bisphosphonates (III-IV, A)", "V",
        topic="bone_agent", position="treat (T < -2.0 on an AI)",
    ),
    Rule(
        "hadji2017_two_or_more_risk_factors", "indication", ON_AI & (F("aibl_risk_factor_count") >= 2),
        "{aibl_risk_factor_count} AIBL risk factors (T < -1.5 counts as one) on an aromatase inhibitor: give "
        "bone-directed therapy for the AI duration.",
        "hadji2017", "treatment algorithm", NOT_GRADED, "S",
        topic="bone_agent", position="treat (>= 2 risk factors on an AI)",
        note="The age > 65 and BMI < 20 cut-offs of this list are recalled, not verified; the assessment "
             "says so when the count depends on them.",
    ),
    Rule(
        "asco2019_t_le_minus_2_5", "indication", F("lowest_t_score") <= -2.5,
        "T-score {lowest_t_score:.1f} <= -2.5 at femoral neck, total hip or lumbar spine: offer an oral "
        "bisphosphonate, an IV bisphosphonate or subcutaneous denosumab at osteoporosis doses; avoid "
        "estrogens in hormone-responsive cancer.",
        "asco2019", "recommendation 3.4", NOT_GRADED, "V",
        topic="bone_agent", position="treat (T <= -2.5)",
    ),
    Rule(
        "asco2019_frax_threshold", "indication", FRAX_OVER,
        "US-FRAX 10-year major osteoporotic fracture {frax_mof_pct:g}% / hip {frax_hip_pct:g}% reaches a "
        "treatment threshold (MOF >= 20% or hip >= 3%): offer a bone-modifying agent. ASCO notes that FRAX "
        "is not validated in patients with cancer.",
        "asco2019", "recommendations 1.3 and 3.4", "Moderate; EB-B-I (1.3)", "V",
        topic="bone_agent", position="treat (FRAX over US threshold)",
    ),
    Rule(
        "bhof2022_t_le_minus_2_5", "indication", F("lowest_t_score") <= -2.5,
        "T-score {lowest_t_score:.1f} <= -2.5 at femoral neck, total hip or lumbar spine: pharmacologic "
        "treatment.",
        "bhof2022", "treatment indications", NOT_GRADED, "S",
        topic="bone_agent", position="treat (T <= -2.5)",
    ),
    Rule(
        "bhof2022_low_bone_mass_frax", "indication",
        (F("lowest_t_score") > -2.5) & (F("lowest_t_score") < -1.0) & FRAX_OVER,
        "Low bone mass (T {lowest_t_score:.1f}) with US-adapted FRAX hip >= 3% or MOF >= 20%: treat.",
        "bhof2022", "treatment indications", NOT_GRADED, "S",
        topic="bone_agent", position="treat (low bone mass + FRAX over US threshold)",
    ),
    Rule(
        "aus2019_fragility_fracture", "indication", F("prior_fragility_fracture").true,
        "Prevalent or incident fragility fracture: give antiresorptive treatment.",
        "aus2019", "abstract, recommendations", NOT_GRADED, "V",
        topic="bone_agent", position="treat (fragility fracture)",
    ),
    Rule(
        "hadji2017_adjuvant_bp_recurrence", "indication",
        F("postmenopausal").true & F("recurrence_risk_intermediate_or_high").true & F("adjuvant_candidate").true,
        "Postmenopausal (natural or by ovarian suppression) early breast cancer at intermediate or high "
        "recurrence risk: adjuvant bisphosphonate irrespective of fracture risk (I, A): zoledronic acid 4 mg IV "
        "every 6 months or clodronate 1600 mg orally daily (I, A), started with adjuvant therapy (II, A), for "
        "3-5 years (II, A); on ovarian suppression, not longer than the suppression lasts (I, A).",
        "hadji2017", "Table 3 (adjuvant)", "(I, A); start and duration (II, A)", "V",
        topic="adjuvant", position="give an adjuvant bisphosphonate",
    ),
    # ---------------------------------------------------------------- bone agent: consider / defer
    Rule(
        "aus2019_t_or_z_below_minus_2", "consider", F("lowest_t_or_z_score") < -2.0,
        "T-score (or Z-score under 50) {lowest_t_or_z_score:.1f} < -2.0: consider antiresorptive treatment, "
        "taking baseline BMD and other risk factors into account.",
        "aus2019", "abstract, recommendations", NOT_GRADED, "V",
        topic="bone_agent", position="consider (T or Z < -2.0)",
    ),
    Rule(
        "aus2019_annual_loss_5pct", "consider", F("max_annual_loss_pct") >= 5.0,
        "Annual bone loss {max_annual_loss_pct:.1f}%/year (>= 5%): consider antiresorptive treatment.",
        "aus2019", "abstract, recommendations", NOT_GRADED, "V",
        topic="bone_agent", position="consider (annual loss >= 5%)",
    ),
    Rule(
        "bhof2022_hip_or_vertebral_fracture", "consider", F("prior_hip_or_vertebral_fracture").true,
        "Hip or vertebral fragility fracture: consider pharmacologic treatment.",
        "bhof2022", "treatment indications", NOT_GRADED, "S",
        topic="bone_agent", position="consider (hip or vertebral fracture)",
    ),
    Rule(
        "sg_t_minus_1_5_to_minus_2", "consider",
        ON_AI & (F("lowest_t_score") >= -2.0) & (F("lowest_t_score") < -1.5),
        "T-score {lowest_t_score:.1f} between -2.0 and -1.5 on an AI: check 25(OH)D and consider a "
        "bisphosphonate according to risk factors.",
        "sg_algorithm", "algorithm", NOT_GRADED, "S",
        topic="bone_agent", position="consider (T -2.0 to -1.5)",
    ),
    Rule(
        "hadji2017_no_risk_factor_monitor", "defer",
        ON_AI & F("has_dxa").true & (F("lowest_t_score") >= -1.5) & (F("aibl_clinical_risk_factor_count") <= 0)
        & NOT_STARTING_DECISION,
        "T-score >= -1.5 and no AIBL risk factor: no bone agent now; manage according to BMD loss over the "
        "first year and local postmenopausal osteoporosis guidelines.",
        "hadji2017", "treatment algorithm", NOT_GRADED, "S",
        topic="bone_agent", position="defer (T >= -1.5, no risk factor)", note=DEFER_NOTE,
    ),
    Rule(
        "asco2019_defer_below_threshold", "defer",
        F("has_dxa").true & (F("lowest_t_score") > -2.5) & ~FRAX_OVER & NOT_STARTING_DECISION,
        "Below the ASCO treatment thresholds (T {lowest_t_score:.1f} > -2.5; no FRAX over threshold): defer the "
        "bone-modifying agent and repeat DXA in 2 years (1 year if medically indicated).",
        "asco2019", "Figure 1 algorithm", NOT_GRADED, "V",
        topic="bone_agent", position="defer (T > -2.5, FRAX below threshold)", dxa_months=24,
        note=DEFER_NOTE,
    ),
    # ---------------------------------------------------------------- agent choice
    Rule(
        "hadji2017_agent_choice", "recommendation",
        ON_AI & F("bone_agent_indicated").true,
        "Agent choice on an AI: denosumab 60 mg s.c. every 6 months has the strongest fracture evidence (I, A) "
        "and suits a woman whose fracture risk is the dominant concern; zoledronic acid 4 mg IV every 6 months "
        "(II, A) when recurrence reduction is the priority; oral options "
        "risedronate 35 mg weekly (III, A), ibandronate 150 mg monthly (IV, A), alendronate 70 mg weekly (IV, A). "
        "Check adherence regularly.",
        "hadji2017", "Table 3; text", "as given per agent", "V",
        note="Doses, schedules and grades from Table 3 [V]; 'fracture risk dominant' vs 'recurrence the priority' "
             "from news summaries of the statement (Oncology Nurse Advisor, JNCCN 360) [S].",
    ),
    Rule(
        "asco_oh2022_discuss_adjuvant_bp", "recommendation",
        F("postmenopausal").true & F("adjuvant_candidate").true,
        "Candidate for adjuvant systemic therapy, postmenopausal (natural or induced): discuss an adjuvant "
        "bisphosphonate whatever the HR/HER2 status (oral clodronate, oral ibandronate or IV zoledronic acid), "
        "started early. Adjuvant denosumab is not recommended to prevent recurrence.",
        "asco_oh2022", "recommendations (abstract)", NOT_GRADED, "V",
        topic="adjuvant", position="discuss an adjuvant bisphosphonate",
    ),
    Rule(
        "ebctcg2015_adjuvant_benefit", "recommendation",
        F("postmenopausal").true & F("adjuvant_candidate").true,
        "Evidence for the discussion: in postmenopausal women adjuvant bisphosphonates reduced bone recurrence "
        "(RR 0.72, 0.60-0.86) and breast-cancer mortality (RR 0.82, 0.73-0.93); no effect was seen before "
        "menopause.",
        "ebctcg2015", "abstract", "meta-analysis of individual patient data (18,766 women)", "V",
    ),
    # ---------------------------------------------------------------- safety before an antiresorptive
    Rule(
        "renal_contraindication_bisphosphonate", "alert",
        F("antiresorptive_considered").true & (F("creatinine_clearance_ml_min") < 35),
        "Creatinine clearance {creatinine_clearance_ml_min:g} mL/min (< 35): zoledronic acid and alendronate "
        "are not to be used; risedronate and ibandronate are not recommended below 30 mL/min. Denosumab needs "
        "no renal dose change but hypocalcaemia is more frequent in severe renal impairment.",
        "bp_labels", "contraindications / dosage in renal impairment", "drug label", "S",
        alert_id="renal_contraindication_bisphosphonate", urgency=1, topic="renal",
    ),
    Rule(
        "check_renal_function_before_bisphosphonate", "recommendation",
        F("starting_antiresorptive").true & ~(F("creatinine_clearance_ml_min") >= 0),
        "No creatinine clearance in the record: measure renal function before a bisphosphonate.",
        "asco_cco2017", "abstract (assess renal function)", NOT_GRADED, "V",
    ),
    Rule(
        "correct_vitamin_d_before_antiresorptive", "alert",
        F("antiresorptive_considered").true & (F("vitamin_d_ng_ml") < VITAMIN_D_INADEQUATE_BELOW_NG_ML),
        "25(OH)D {vitamin_d_ng_ml:g} ng/mL is below 20 ng/mL (IOM 2011: inadequate; below 12 deficient): "
        "replete vitamin D before starting an antiresorptive or giving its next dose (risk of hypocalcaemia).",
        "iom2011", "25(OH)D cut-points", "dietary reference report", "S",
        alert_id="correct_vitamin_d_before_antiresorptive", urgency=3, topic="vitamin_d_target", position="adequate at >= 20 ng/mL",
    ),
    Rule(
        "bhof2022_vitamin_d_target_30", "recommendation",
        (F("vitamin_d_ng_ml") < VITAMIN_D_TARGET_NG_ML) & (F("age_years") >= VITAMIN_D_TARGET_FROM_AGE_YEARS),
        "25(OH)D {vitamin_d_ng_ml:g} ng/mL: BHOF 2022 aims at >= 30 ng/mL (and <= 50) in people aged 50 and "
        "over; supplement vitamin D 800-1000 IU/day as needed.",
        "bhof2022", "universal recommendations", NOT_GRADED, "V",
        topic="vitamin_d_target", position="aim at >= 30 ng/mL",
    ),
    Rule(
        "endo2024_no_vitamin_d_threshold", "recommendation",
        (F("vitamin_d_ng_ml") < 30),
        "The Endocrine Society 2024 endorses no 25(OH)D sufficiency threshold and advises against routine "
        "25(OH)D testing without an indication; its advice does not replace the dietary reference intakes.",
        "endo2024", "recommendations", NOT_GRADED, "V",
        topic="vitamin_d_target", position="no threshold endorsed",
    ),
    Rule(
        "check_vitamin_d_before_antiresorptive", "recommendation",
        F("starting_antiresorptive").true & ~(F("vitamin_d_ng_ml") >= 0),
        "No 25(OH)D in the record: check 25(OH)D before starting a bone agent.",
        "sg_algorithm", "algorithm (check 25(OH)D)", NOT_GRADED, "S",
    ),
    Rule(
        "correct_calcium_before_denosumab", "alert",
        F("calcium_below_reference").true & (F("on_denosumab").true | F("antiresorptive_considered").true),
        "Serum calcium below the reference range: correct hypocalcaemia before denosumab (and before "
        "zoledronic acid); supplement calcium and vitamin D.",
        "prolia_label", "5.1 hypocalcaemia", "drug label", "S",
        alert_id="correct_calcium_before_denosumab", urgency=1,
        note="Default lower limit 2.10 mmol/L when the lab gives none (ours); total calcium, not albumin-corrected.",
    ),
    Rule(
        "check_calcium_before_denosumab", "recommendation",
        F("starting_antiresorptive").true & F("calcium_known").false,
        "No serum calcium in the record: check calcium before denosumab; pre-existing hypocalcaemia must be "
        "corrected first.",
        "prolia_label", "5.1 hypocalcaemia", "drug label", "S",
    ),
    Rule(
        "dental_review_before_antiresorptive", "alert", F("starting_antiresorptive").true,
        "Before the first dose of a bone agent: assess the risk of osteonecrosis of the jaw, do a dental "
        "review and treat dental problems first.",
        "asco_cco2017", "abstract (assess ONJ risk, dental problems first)", NOT_GRADED, "V",
        alert_id="dental_review_before_antiresorptive", urgency=3,
    ),
    # ---------------------------------------------------------------- denosumab
    Rule(
        "denosumab_discontinuation_rebound", "alert",
        F("denosumab_overdue_or_stopped").true | F("denosumab_stop_planned").true,
        "Denosumab stopped, overdue (> 6 months since the last dose) or planned to stop without a follow-on "
        "bisphosphonate: rapid rebound bone loss and multiple vertebral fractures can follow. Give the next "
        "dose, or switch to a bisphosphonate (e.g. zoledronic acid, or >= 12 months of an oral bisphosphonate).",
        "hba2021", "position statement", NOT_GRADED, "S",
        alert_id="denosumab_discontinuation_rebound", urgency=1,
    ),
    Rule(
        "hadji2011_switch_failing_oral_bisphosphonate", "recommendation",
        F("on_oral_bisphosphonate").true & F("significant_loss").true,
        "BMD fell by more than the least significant change on an oral bisphosphonate: check adherence; poor "
        "adherence or falling BMD after 12-24 months of oral treatment is a reason to switch to an intravenous agent.",
        "hadji2011", "abstract, conclusions", NOT_GRADED, "S",
        note="The abstract read is cut after 'switch to i.v.'; the agent it names is not shown.",
    ),
    Rule(
        "hba2021_do_not_pause_denosumab", "recommendation", F("on_denosumab").true,
        "On denosumab: keep the 6-monthly schedule; do not pause or stop it without a follow-on bisphosphonate.",
        "hba2021", "position statement", NOT_GRADED, "S",
    ),
    # ---------------------------------------------------------------- monitoring
    Rule(
        "significant_bmd_loss", "alert", F("significant_loss").true,
        "BMD fell by more than the least significant change since the previous scan (a real change at 95% "
        "confidence): look for secondary causes and adherence, and review the bone-agent decision.",
        "iscd_precision", "LSC = 2.77 x precision", "ISCD official position", "V",
        alert_id="significant_bmd_loss", urgency=2,
    ),
    Rule(
        "annual_loss_5pct_or_more", "alert", F("max_annual_loss_pct") >= 5.0,
        "Annualised BMD loss {max_annual_loss_pct:.1f}%/year is 5% or more.",
        "aus2019", "abstract, recommendations", NOT_GRADED, "V",
        alert_id="annual_loss_5pct_or_more", urgency=2,
    ),
    Rule(
        "nccn2009_baseline_dxa", "recommendation", ON_AI & F("has_dxa").false,
        "On an aromatase inhibitor without a DXA in the record: baseline DXA now.",
        "nccn2009", "Figure 2", NOT_GRADED, "V",
        topic="dxa_interval", position="now (baseline)", dxa_months=0,
    ),
    Rule(
        "asco2019_offer_central_dxa", "recommendation", F("has_dxa").false & F("postmenopausal").true,
        "Postmenopausal status is a risk factor for osteoporotic fracture: offer central DXA (QUS or "
        "calcaneal DXA if central DXA is unavailable).",
        "asco2019", "recommendations 1.1 and 2.1", "Moderate; EB-B-I", "V",
        topic="dxa_interval", position="now (baseline)", dxa_months=0,
    ),
    Rule(
        "hadji2017_dxa_on_bone_agent", "recommendation",
        F("has_dxa").true & (F("on_bone_agent").true | F("bone_agent_indicated").true),
        "On (or starting) a bone agent: repeat BMD every 12-24 months and check adherence.",
        "hadji2017", "follow-up", NOT_GRADED, "S",
        topic="dxa_interval", position="12-24 months", dxa_months=12,
    ),
    Rule(
        "nccn2009_dxa_after_major_change", "recommendation",
        F("has_dxa").true & (F("ai_started_within_12_months").true | F("bone_agent_started_within_12_months").true),
        "A major change in the last 12 months (AI or bone agent started): repeat DXA at 1 year.",
        "nccn2009", "Figure 2", NOT_GRADED, "V",
        topic="dxa_interval", position="1 year after a major change", dxa_months=12,
    ),
    Rule(
        "sg_dxa_yearly_t_minus1_to_minus1_5", "recommendation",
        ON_AI & (F("lowest_t_score") >= -1.5) & (F("lowest_t_score") < -1.0),
        "T-score {lowest_t_score:.1f} between -1.5 and -1.0 on an AI: DXA yearly.",
        "sg_algorithm", "algorithm", NOT_GRADED, "S",
        topic="dxa_interval", position="yearly (T -1.5 to -1.0)", dxa_months=12,
    ),
    Rule(
        "nccn2009_spine_imaging", "recommendation",
        (F("height_loss_cm_historical") > 4.0) | (F("height_loss_cm_prospective") > 2.0) | F("acute_back_pain").true,
        "Height loss (> 4 cm historical or > 2 cm measured) or acute back pain: lateral thoracic and lumbar "
        "spine X-ray for vertebral fracture.",
        "nccn2009", "Figure 2", NOT_GRADED, "V",
    ),
    Rule(
        "hadji2025_assess_fracture_risk", "recommendation", ON_AI,
        "Starting or taking an aromatase inhibitor: assess fracture risk from clinical risk factors, with DXA BMD.",
        "hadji2025", "title and abstract", NOT_GRADED, "V",
        note="2017 limited this to postmenopausal women; the 2025 update addresses all women with hormone-sensitive "
             "breast cancer on an AI (its title and abstract), so the rule no longer asks for postmenopausal status.",
    ),
    # ---------------------------------------------------------------- everybody: intake, exercise, habits
    Rule(
        "asco2019_calcium_vitamin_d", "recommendation", Always(),
        "Calcium 1000-1200 mg/day and vitamin D 800-1000 IU/day or more; diet first, supplements to fill the gap.",
        "asco2019", "recommendation 3.1", "Moderate; EB-B-I", "V",
        topic="calcium_intake", position="1000-1200 mg/day",
    ),
    Rule(
        "bhof2022_calcium_1200", "recommendation", F("age_years") >= 51,
        "Women aged 51 and over: total calcium 1200 mg/day (diet plus supplement if needed); vitamin D "
        "800-1000 IU/day as needed.",
        "bhof2022", "universal recommendations", NOT_GRADED, "V",
        topic="calcium_intake", position="1200 mg/day",
    ),
    Rule(
        "hadji2017_calcium_vitamin_d", "recommendation", ON_AI,
        "On an AI: calcium (at least 1200 mg/day was quoted) and vitamin D 800-1000 IU/day.",
        "hadji2017", "recommendations", NOT_GRADED, "S",
        topic="calcium_intake", position=">= 1200 mg/day",
    ),
    Rule(
        "asco2019_exercise", "recommendation", Always(),
        "Multicomponent exercise: balance, flexibility/stretching, endurance and progressive resistance, "
        "tailored to the person; refer for rehabilitation if gait or balance is impaired.",
        "asco2019", "recommendation 3.2", "Moderate; EB-B-L", "V", topic="exercise",
    ),
    Rule(
        "aus2019_weight_bearing_exercise", "recommendation", ON_AI,
        "Weight-bearing exercise and vitamin D and calcium sufficiency for all women on an AI.",
        "aus2019", "abstract, recommendations", NOT_GRADED, "V", topic="exercise",
    ),
    Rule(
        "asco2019_smoking_alcohol", "recommendation", F("current_smoker").true | (F("alcohol_units_per_day") > 0),
        "Stop smoking; limit alcohol.",
        "asco2019", "recommendation 3.3", "Moderate; EB-B-L", "V",
    ),
    Rule(
        "bhof2022_falls", "recommendation", F("falls_last_12_months") >= 1,
        "{falls_last_12_months} fall(s) in the last 12 months: address fall risks; train balance and muscle "
        "strength and teach safe movement.",
        "bhof2022", "universal recommendations", NOT_GRADED, "V",
    ),
    # ---------------------------------------------------------------- scope
    Rule(
        "bone_metastases_out_of_scope", "caveat", F("bone_metastases").true,
        "Bone metastases: these rules are for non-metastatic disease. In the metastatic setting ESMO "
        "advises zoledronic acid or denosumab at oncology doses (I, A).",
        "esmo_mets", "metastatic setting (summary)", "(I, A)", "S",
        alert_id="bone_metastases_out_of_scope", urgency=1,
    ),
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


def check_rules() -> None:
    """Every rule has a known source, known facts and a unique id; raised at import (a test also runs it)."""
    if len(RULES_BY_ID) != len(RULES):
        raise ValueError("duplicate rule id")
    for rule in RULES:
        if rule.source not in SOURCES:
            raise ValueError(f"{rule.id}: unknown source {rule.source}")
        unknown = rule.when.fact_names() - set(FACTS)
        if unknown:
            raise ValueError(f"{rule.id}: unknown facts {sorted(unknown)}")
        if rule.kind in ("alert", "caveat") and not (rule.alert_id and rule.urgency):
            raise ValueError(f"{rule.id}: an alert needs alert_id and urgency")
        if rule.topic is not None and rule.topic not in TOPIC_WORDS:
            raise ValueError(f"{rule.id}: topic {rule.topic!r} has no words in TOPIC_WORDS")
        if rule.evidence == "R":
            raise ValueError(f"{rule.id}: recalled items are not encoded as rules")


check_rules()
