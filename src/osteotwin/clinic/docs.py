"""Render docs/clinic.md from the rule data (``scripts/clinic_docs.py`` writes it; a test checks it is current)."""

from __future__ import annotations

import re

from osteotwin.clinic.fhir import DXA_IMPORT, DXA_PANELS, LAB_IMPORT, RXNORM_CODES, UNIT_FACTORS
from osteotwin.clinic.monitoring import DEFAULT_CV_PCT, LSC_FACTOR
from osteotwin.clinic.rules import FACTS, RULES
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
  cut-offs are recalled (age > 65, BMI < 20); when a decision depends on them an alert says so.
"""


def _escape(text: str) -> str:
    text = re.sub(r"\{(\w+)(:[^}]*)?\}", r"<\1>", text)
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """docs/clinic.md as a string."""
    lines = [HEADER, "## Evidence tags", "", "| tag | meaning |", "|---|---|"]
    lines += [f"| {tag} | {meaning} |" for tag, meaning in TAG_MEANING.items() if tag != "R"]
    lines += ["", f"## Rules ({len(RULES)})", "",
              "| id | kind | condition | recommendation / alert | source | strength | evidence |",
              "|---|---|---|---|---|---|---|"]
    for rule in RULES:
        kind = rule.kind + (f" (`{rule.alert_id}`)" if rule.alert_id and rule.kind == "alert" else "")
        if rule.dxa_months is not None:
            kind += f"; DXA in {rule.dxa_months} mo"
        text = rule.text + (f" *Note: {rule.note}*" if rule.note else "")
        lines.append(
            f"| `{rule.id}` | {kind} | `{_escape(str(rule.when))}` | {_escape(text)} | "
            f"{_escape(SOURCES[rule.source].short)}, {_escape(rule.section)} | {_escape(rule.strength)} | {rule.evidence} |"
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
