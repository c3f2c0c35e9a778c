"""The one table of plausibility limits of the records: what a clinician or a patient may store.

Each limit names the field (with its unit), where a value is refused as impossible, where it is
accepted with a visible warning as unusual but possible, the source and the evidence tag:
[V] verified in the cited text, [S] from a secondary source, [R] recalled (not re-read), [A] ours
(an assumption, chosen as stated). ``docs/records.md`` prints this table (``limits_markdown``); the
checks that use it are in ``osteotwin.records.plausibility``.

Every refusal bound lies strictly inside what the assessment input accepts
(``osteotwin.clinic.record``: BMD in the open interval 0.2-2.5 g/cm2, T- and Z-scores -7 to 7), so
every stored value stays readable by the overview, assessment, plan and FHIR export.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """Bounds of one stored number: refused outside [refuse_below, refuse_above], warned outside
    [warn_below, warn_above]. ``None``: no bound on that side."""

    field: str
    unit: str
    refuse_below: float | None
    warn_below: float | None
    warn_above: float | None
    refuse_above: float | None
    source: str
    evidence: str
    cite: str = "ours [A]"  # the short citation a warning shows (the full source is in docs/records.md)


_OURS_BMD = ("ours: inside the assessment's open interval 0.2-2.5 g/cm2; T-scores of -7 to +7 on the "
             "young-adult references (spine 1.065 +/- 0.122, hip 0.942 +/- 0.122 g/cm2, docs/parameters.md) "
             "span about 0.25-1.9 g/cm2, so a value outside is a typo (e.g. 9.19 for 0.919)")

LIMITS: dict[str, Limit] = {limit.field: limit for limit in (
    Limit("dxa.bmd_g_cm2", "g/cm2", 0.25, 0.4, 1.6, 2.0, _OURS_BMD, "A"),
    Limit("dxa.t_score", "SD", -7.0, -5.0, 4.0, 7.0,
          "ours: the assessment's range -7 to +7; beyond -5 or +4 is rare enough to check the report", "A"),
    Limit("dxa.z_score", "SD", -7.0, -5.0, 4.0, 7.0, "ours: as the T-score", "A"),
    Limit("labs.vitamin_d_25_oh", "ng/mL", 1.0, 5.0, 100.0, 300.0,
          "warn above 100 ng/mL: Endocrine Society guideline (Holick et al., J Clin Endocrinol Metab 2011;"
          "96:1911), upper limit of the safe range [R]; refuse below 1 (below every assay's detection limit, "
          "about 4 ng/mL) and above 300 (ours: beyond reported intoxications, a unit or typing error)", "R"),
    Limit("labs.calcium", "mmol/L", 0.5, 1.9, 3.0, 5.0,
          "warn outside 1.9-3.0 mmol/L: severe hypo- or hypercalcaemia (ours, clinical convention); refuse "
          "outside 0.5-5.0 (ours: not compatible with life)", "A"),
    Limit("labs.creatinine_clearance", "mL/min", 0.0, 10.0, 200.0, 300.0,
          "ours: below 10 mL/min is end-stage kidney failure, above 200 is rare (check the unit)", "A"),
    Limit("labs.albumin", "g/L", 5.0, 20.0, 55.0, 80.0,
          "ours: outside 20-55 g/L is rare (check the unit: g/dL values are 10 times smaller)", "A"),
    Limit("labs.ctx", "ng/L", 1.0, 10.0, 1500.0, 6000.0,
          "serum beta-CTX: postmenopausal reference interval 104-1008 ng/L (Mayo Clinic Laboratories; 177-1015 at "
          "ARUP; laboratory test catalogues read [V]); warn above 1500 (about 1.5 x its upper limit: very high "
          "turnover, e.g. hyperparathyroidism, bone metastases, or a unit error) and below 10 (the lower end of the "
          "Roche Elecsys beta-CrossLaps measuring range, 10-6000 ng/L [R]; denosumab can suppress CTX that far); "
          "refuse below 1 (a value in ng/mL typed as ng/L) and above 6000 (beyond the measuring range; ours)", "V",
          "reference interval 104-1008 ng/L, Mayo Clinic Laboratories [V]"),
    Limit("labs.p1np", "ug/L", 1.0, 5.0, 200.0, 2000.0,
          "serum P1NP: postmenopausal reference interval 16-96 ug/L (Mayo Clinic Laboratories test PINP) and 20-115 "
          "ug/L (Roche Elecsys total P1NP, LabPLUS Auckland; test catalogues read [V]); warn above 200 (about twice "
          "the upper limit: Paget's disease, metastases, a healing fracture, teriparatide) and below 5 (the lower end "
          "of the Elecsys total P1NP measuring range, 5-1200 ug/L [R]); refuse below 1 and above 2000 (ours: a "
          "unit or typing error)", "V", "reference interval 16-96 ug/L, Mayo Clinic Laboratories [V]"),
    Limit("exercise.load_kg", "kg", 0.0, None, 100.0, 200.0,
          "ours: far above what postmenopausal women with low bone mass lift in supervised high-intensity "
          "training (LIFTMOR, Watson et al., J Bone Miner Res 2018;33:211 [R]); above 100 kg is warned, above "
          "200 kg (275 kg squats) is refused as a typing error", "A"),
    Limit("exercise.minutes", "min", 0.0, None, 240.0, 600.0, "ours: more than 4 hours in one session is rare", "A"),
    Limit("food.grams", "g", 0.0, None, 1500.0, 3000.0, "ours: up to 3 kg of one food per entry", "A"),
)}

# Cross-field rules, each a number with its source.
T_SCORE_MISMATCH_WARN_SD = 1.0
T_SCORE_MISMATCH_REFUSE_SD = 2.0
T_SCORE_MISMATCH_CITE = "ours [A]; device scales Genant 1994, Hanson 1997 [R]"
T_SCORE_MISMATCH_SOURCE = (
    "ours [A]: the reported T-score against the one implied by the BMD and the young-adult reference of the "
    "site, converted to the device's scale (spine: Genant et al., J Bone Miner Res 1994;9:1503 standardised "
    "BMD, Lunar about 1.13 x Hologic [R]; hip: Hanson, Osteoporos Int 1997;7:S134 [R]); manufacturers' "
    "reference populations differ by up to about 1 SD, so a difference above 1 SD is warned and above 2 SD "
    "refused (a sign flip, T +1.3 where the BMD implies -1.3, differs by 2.6 SD)")
# Device scale relative to the reference (Hologic-calibrated NHANES): g/cm2 on the device = factor x reference.
DEVICE_SCALE: dict[str, dict[str, float]] = {
    "lumbar_spine": {"ge_lunar": 1.0761 / 0.9522},  # Genant 1994 sBMD equations [R]
    "total_hip": {"ge_lunar": 1.008 / 0.979},  # Hanson 1997 sBMD equations, intercepts dropped [R]
    "femoral_neck": {"ge_lunar": 1.008 / 0.979},  # as the total hip (ours)
}
# Femoral neck young-adult reference (NHANES III white women 20-29, Looker 1998; clinic/sources.py) [R].
FEMORAL_NECK_REFERENCE_G_CM2 = (0.858, 0.120)

LOAD_JUMP_WARN_FRACTION = 0.20
LOAD_JUMP_CITE = "ours [A], issue 16"
LOAD_JUMP_SOURCE = ("ours [A], issue 16: a load more than 20% above the last logged load of the same exercise "
                    "is warned (ACSM progression for resistance training advises 2-10% steps [R])")

# Label doses of the endocrine therapies (mg per day); the bone agents' label doses are the engine's
# (osteotwin.physiology.drugs.LABEL_DOSES).
ENDOCRINE_LABEL_DOSES_MG: dict[str, tuple[float, str]] = {
    "anastrozole": (1.0, "Arimidex label: 1 mg once daily [R]"),
    "letrozole": (2.5, "Femara label: 2.5 mg once daily [R]"),
    "exemestane": (25.0, "Aromasin label: 25 mg once daily [R]"),
    "tamoxifen": (20.0, "tamoxifen label: 20 mg daily for early breast cancer [R]"),
}
DOSE_WARN_BELOW_FACTOR = 0.5
DOSE_REFUSE_ABOVE_FACTOR = 2.0
DOSE_SOURCE = ("ours [A]: a dose that is not a labelled dose is warned; below half the smallest or above twice "
               "the largest labelled dose it is refused as a typing error (denosumab 600 mg for 60 mg)")
ANTIRESORPTIVE_OVERLAP_SOURCE = (
    "ours [A]: denosumab and a bisphosphonate (or two bisphosphonates) are not given together; the guidelines "
    "(Hadji et al. 2017, Tsourdi et al. 2017) give one agent at a time, a bisphosphonate only after denosumab "
    "is stopped; the earlier course needs a stop date first")


def limits_markdown() -> str:
    """The limits as a Markdown table (docs/records.md)."""
    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:g}"

    lines = ["| field | unit | refused below | warned below | warned above | refused above | source | evidence |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for limit in LIMITS.values():
        lines.append(f"| `{limit.field}` | {limit.unit} | {fmt(limit.refuse_below)} | {fmt(limit.warn_below)} | "
                     f"{fmt(limit.warn_above)} | {fmt(limit.refuse_above)} | {limit.source} | {limit.evidence} |")
    rules = [
        ("T-score against BMD", f"warned above {T_SCORE_MISMATCH_WARN_SD:g} SD, refused above "
                                f"{T_SCORE_MISMATCH_REFUSE_SD:g} SD", T_SCORE_MISMATCH_SOURCE),
        ("exercise load jump", f"warned above {LOAD_JUMP_WARN_FRACTION:.0%} over the last load", LOAD_JUMP_SOURCE),
        ("dose against the label", f"warned if not a label dose; refused below {DOSE_WARN_BELOW_FACTOR:g} x the "
                                   f"smallest or above {DOSE_REFUSE_ABOVE_FACTOR:g} x the largest", DOSE_SOURCE),
        ("two antiresorptives at once", "refused", ANTIRESORPTIVE_OVERLAP_SOURCE),
    ]
    lines += ["", "| rule | limit | source |", "| --- | --- | --- |"]
    lines += [f"| {name} | {limit} | {source} |" for name, limit, source in rules]
    lines += ["", "| drug | label dose (mg) | source |", "| --- | --- | --- |"]
    lines += [f"| {drug} | {dose:g} | {source} |" for drug, (dose, source) in ENDOCRINE_LABEL_DOSES_MG.items()]
    return "\n".join(lines)
