"""Render docs/clinic.md from the rule data (``scripts/clinic_docs.py`` writes it; a test checks it is current)."""

from __future__ import annotations

import re

from osteotwin.clinic.fhir import DXA_IMPORT, DXA_PANELS, LAB_IMPORT, RXNORM_CODES, UNIT_FACTORS
from osteotwin.clinic.monitoring import DEFAULT_CV_PCT, LSC_FACTOR
from osteotwin.clinic.rules import FACTS, RULES, URGENCY_BASIS, URGENCY_WORDS
from osteotwin.clinic.sources import SOURCES, TAG_MEANING

HEADER = """# Clinical decision support (`osteotwin assess`)

Generated from the rule data in `src/osteotwin/clinic/` by `scripts/clinic_docs.py`; do not edit by hand
(a test fails when this file is stale).

`osteotwin assess examples/patients/design_example.json [--json] [--today YYYY-MM-DD] [--fhir-out bundle.json]`
applies the rules below to a patient record (the PatientRecord JSON of `src/osteotwin/clinic/record.py`)
or a FHIR R4 Bundle (`examples/patients/fhir_bundle_anastrozole.json`) and prints a clinician's summary,
or the Assessment JSON with `--json`. `osteotwin fhir import examples/patients/fhir_bundle_anastrozole.json`
and `osteotwin fhir export examples/patients/design_example.json` convert records. Example records:
`examples/patients/`.

How the output is built:

- `bone_agent_indicated` is true when any rule of kind **indication** fires; `because` lists them.
  **consider** and **defer** rules are listed next to it (`considered_because`, `deferred_by`).
- Rules that share a topic and give different positions are reported under `disagreements`, each with
  its source; nothing is resolved silently.
- `next_dxa_months` is the shortest interval among the rules that fired (our choice); every interval is
  listed with its source under `dxa_intervals`.
- Items tagged recalled (R) in the research notes are not encoded as rules. Two AIBL risk-factor
  cut-offs are recalled (age over 65, BMI below 20); when a decision depends on them an alert says so.
- Recommendations that say the same thing from several sources (calcium and vitamin D intake, the
  vitamin D target, exercise, and any two with the same topic and position, such as "baseline DXA now"
  from NCCN and ASCO) are merged into one line; the other sources are listed under `also`.
- `alerts` are ordered by urgency (1 first), then by rule order; the levels and their basis are below.
  Each alert carries a `fingerprint` of its text (the web app keeps a clinician's acknowledgement while
  the text is the same).

## The decision card

The assessment and the patient overview open with one line of what to do now about a bone agent,
given what she takes today; `osteotwin assess --json` carries it as `decision`:

```json
"decision": {
  "action": "give_denosumab_now",
  "text": "Give denosumab now (last dose 2025-04-03, 11 months ago; it was due 2025-10-03), or switch to a bisphosphonate.",
  "reason": "Denosumab is overdue with no bisphosphonate since: ...",
  "guideline": "Healthy Bones Australia 2021 (denosumab discontinuation)",
  "rules": [{"id": "denosumab_discontinuation_rebound", "text": "...", "follows": "...", "source": "...", "evidence": "S"}],
  "current_agents": [], "next_dose_due": "2025-10-03",
  "risk_factors": ["parental/family history of hip fracture", "T-score below -1.5"],
  "basis": "ours: the first of, in order, ..."
}
```

(from `examples/patients/denosumab_overdue.json` assessed on 2026-03-01). `action` is one of
`out_of_scope` (bone metastases), `give_denosumab_now`, `do_not_stop_denosumab`, `next_dose_due`,
`continue`, `switch`, `treat_after_fracture`, `start`, `consider`, `no_agent_now`; the first that applies
wins, in that order (our choice, `src/osteotwin/clinic/decision.py`). The next dose date is the last dose
plus the labelled interval of the recorded dose in calendar months (`LABEL_DOSES` of
`src/osteotwin/physiology/drugs.py`: denosumab 60 mg every 6 months; zoledronic acid 4 mg every 6 months,
5 mg every 12 months);
"next dose due" replaces "continue" when that date is at most 30 days away or past (ours). `rules`
are the rules behind the decision (the "why" of the card), each with the guideline version it follows.
Deferral rules are advice about starting: they are not shown to a woman on a bone agent, overdue for
denosumab or after a fragility fracture (ours). When a rule indicates or considers a bone agent and
another source defers, the decision follows the indication and its reason names the deferring source
(for example "ASCO 2019 ... would defer: T > -2.5, FRAX below threshold").
"""

AIBL_2025 = """## The AIBL statement: 2017 and the 2025 update

The AIBL joint position statement (IOF, CABS, ECTS, IEG, ESCEO, IMS, SIOG) was updated in 2025
(Hadji et al., J Bone Oncol 2025;53:100694). Each rule from it shows the version it follows
(`version` and `follows` in the rule data; the `follows` of each recommendation).

What we could read of the 2025 update: its title and its PubMed abstract up to the start of the
results (background, methods, and that new evidence was combined with the existing recommendations).
The news release that lists its key updates (ecancer) was stored without the list itself. We did not
read the full text, its tables or its algorithm figure.

What this changes here:

- **Fracture-risk assessment** (`hadji2025_assess_fracture_risk`): the 2025 title and abstract address
  women with hormone-sensitive breast cancer on an AI, no longer only postmenopausal women; the rule
  applies to every woman on an AI (the 2017 rule asked for postmenopausal status). In practice this adds
  only a woman recorded as not postmenopausal and on an AI without ovarian suppression, which the record
  check already warns about (the lead author's quote in the news release still speaks of postmenopausal
  women). Vignette V16 follows the new rule.
- **Everything else from 2017 is kept**, tagged version 2017, because the abstract says the update
  builds on the 2017 recommendations and we could not read whether it changes the T-score and
  risk-factor thresholds, the agents and schedules (denosumab 60 mg every 6 months; zoledronic acid
  4 mg every 6 months in the 2017 Table 3, while news summaries of the 2017 statement speak of yearly
  zoledronic acid) or adjuvant bisphosphonates for women at significant risk of recurrence (already
  recommended in 2017).
- Not read, so not encoded: any change the 2025 text makes to thresholds, risk factors (the age over 65
  and BMI below 20 cut-offs remain unverified), schedules, durations, premenopausal women on ovarian
  suppression, denosumab discontinuation or anabolic agents.
"""



def _escape(text: str) -> str:
    text = re.sub(r"\{(\w+)(:[^}]*)?\}", r"<\1>", text)
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """docs/clinic.md as a string."""
    lines = [HEADER, "## Evidence tags", "", "| tag | meaning |", "|---|---|"]
    lines += [f"| {tag} | {meaning} |" for tag, meaning in TAG_MEANING.items() if tag != "R"]
    lines += ["", "## Alert urgency", "", URGENCY_BASIS, "", "| level | meaning |", "|---|---|"]
    lines += [f"| {level} | {words} |" for level, words in URGENCY_WORDS.items()]
    lines += ["", AIBL_2025]
    lines += ["", f"## Rules ({len(RULES)})", "",
              "| id | kind | condition | recommendation / alert | source (version) | strength | evidence |",
              "|---|---|---|---|---|---|---|"]
    for rule in RULES:
        kind = rule.kind + (f" (`{rule.alert_id}`, urgency {rule.urgency})" if rule.alert_id else "")
        if rule.dxa_months is not None:
            kind += f"; DXA in {rule.dxa_months} mo"
        text = rule.text + (f" *Note: {rule.note}*" if rule.note else "")
        lines.append(
            f"| `{rule.id}` | {kind} | `{_escape(str(rule.when))}` | {_escape(text)} | "
            f"{_escape(SOURCES[rule.source].short)}, {_escape(rule.section)}"
            + (f" (AIBL {rule.version})" if rule.version else "") + f" | {_escape(rule.strength)} | {rule.evidence} |"
        )
    lines += ["", "## Facts the rules test", "", "| fact | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {_escape(meaning)} |" for name, meaning in FACTS.items()]
    lines += ["", "## DXA monitoring", "",
              f"Least significant change = {LSC_FACTOR} x precision (ISCD). Facility precision (RMS-SD g/cm2 or %CV) "
              "is used when given; otherwise these typical published values (%CV, Hologic white paper):", "",
              "| site | Hologic | GE Lunar |", "|---|---|---|"]
    lines += [f"| {site} | {v['hologic']} | {v['ge_lunar']} |" for site, v in DEFAULT_CV_PCT.items()]
    lines += ["", "Scans from different device makes are not compared. Annual loss is annualised from the first "
              "scan on the latest scan's device, over at least 9 months (ours).", "",
              "## Fracture risk", "",
              "- The headline 10-year osteoporotic and hip fracture risk is the engine's one path "
              "(osteotwin.physiology.fracture.ten_year_fracture_risk, our combination, labelled as our extension): "
              "QFracture-2009 with the record's risk factors x BMD gradient of risk per SD of the total hip Z-score "
              "(Johnell 2005: 2.88 hip, 1.38 osteoporotic) x falls x an AI multiplier while on the AI (calibrated so "
              "that BMD loss and multiplier give Tseng 2018's RR 1.17). The projection starts from the same number "
              "at month 0.",
              "- QFracture-2009 as published (female osteoporotic and hip fracture, 10 years; coefficients from the "
              "2009 open release; no BMD input; reproduces 4.29% / 1.14% at age 65, BMI 25) is shown for reference.",
              "- Garvan nomogram (points approximation, secondary source) when a femoral-neck T-score is present.",
              "- A user-supplied FRAX result is compared with the US thresholds (MOF >= 20% or hip >= 3%).", "",
              "## FHIR R4 codes", "", "| item | code |", "|---|---|"]
    lines += [f"| DXA {site} {measure} | LOINC {code} |" for code, (site, measure) in DXA_IMPORT.items()]
    lines += [f"| DXA panel (results as components) | LOINC {code} ({name}) |" for code, name in DXA_PANELS.items()]
    lines += [f"| {test} | LOINC {code} |" for code, test in LAB_IMPORT.items()]
    lines += ["| body weight | LOINC 29463-7 |", "| body height | LOINC 8302-2 |"]
    lines += [f"| {drug} | RxNorm {code} ({display}) [{evidence}] |"
              for drug, codes in RXNORM_CODES.items() for code, display, evidence in codes]
    lines += ["", "The first code of each site, measure and drug is the one written on export; the left/right "
              "codes are read on import. LOINC has no femoral-neck code: the Femur codes stand for the femoral "
              "neck (export adds SNOMED bodySite 29627003). Denosumab (Prolia, Xgeva), risedronate, ibandronate, "
              "clodronate and the GnRH agonists travel by name (generic or brand), their RxNorm codes not being "
              "verified. Sources of each code: the docstring of `src/osteotwin/clinic/fhir.py`.", "",
              "Units read (UCUM code or common spelling) and what they are stored as:", "",
              "| quantity | units accepted -> stored |", "|---|---|"]
    lines += [f"| {kind} | " + ", ".join(f"`{unit}` -> {target or '(none)'} x {factor:g}"
                                         for unit, (target, factor) in table.items() if unit) + " |"
              for kind, table in UNIT_FACTORS.items()]
    lines += ["", "25(OH)D in nmol/L is kept in nmol/L and read as ng/mL by /2.496 (molar mass of 25(OH)D3); "
              "any other unit is refused with the field, the unit and the allowed list.", "",
              "Import report (`osteotwin fhir import` prints it on stderr; the web import shows it): every "
              "resource is **added**, used with a **note** (unit converted, partial date YYYY or YYYY-MM taken "
              "at the middle of its period, comparator such as `<20 ng/mL` kept as a flag on the lab, a date "
              "taken from `issued` or the Bundle's timestamp when the effective date is missing) or **skipped** "
              "with its reason (unknown code, no value, no date at all, status entered-in-error, a drug osteotwin "
              "does not use). The Patient's MRN (identifier typed `MR`, HL7 v2 table 0203) is kept; the web import "
              "updates the clinician's patient with the same MRN instead of creating a copy and lists what it "
              "**changed**. The export writes the name, the MRN and the birth date exactly as recorded."]
    lines += ["", "## Sources", ""]
    used = {rule.source for rule in RULES}
    lines += [f"- **{s.short}** (`{s.id}`): {s.citation}" for s in SOURCES.values() if s.id in used or s.id in
              {"qfracture2009", "johnell2005", "tseng2018", "garvan2008", "hologic_precision", "nhanes3_looker1998",
               "dxa_crossmake", "who_racgp", "iscd2006", "ours"}]
    lines += ["", "## Left out", "",
              "- Recalled items of the research notes: ESMO 2020 CTIBL and adjuvant details (E2, E3), the older "
              "Hadji 2008/2011 annual-loss thresholds (H10), BHOF very-high-risk wording, ASCO/CCO durations "
              "(B2-dur), zoledronic acid 5 mg yearly, total-hip and spine reference means, ISCD minimum precision, "
              "RxNorm codes for denosumab (Prolia, Xgeva), risedronate and ibandronate (not verified; these drugs travel "
              "by name in FHIR).",
              "- Anabolic agents (very-high-risk pathway): no verified rule for women with breast cancer.", ""]
    return "\n".join(lines)
