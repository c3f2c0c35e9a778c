"""Calibration suite of the bone drugs: zoledronic acid, denosumab and stopping denosumab.

Rows used (calibration_targets.csv): ZO-FAST (S2-015..S2-023), HORIZON-PFT and its extension
(S2-085, S2-086), ABCSG-18 BMD (S3-005..S3-007), FREEDOM and its extension (S3-020..S3-025) and
the phase-2 denosumab discontinuation (S3-026, S3-027); the IBIS-II bone substudy's risedronate
strata at 3 years (S2-066..S2-073: osteopenic women on anastrozole with risedronate or placebo,
osteoporotic women on risedronate with anastrozole or placebo). Fracture rows (S3-008..S3-010,
S3-017..S3-019, S3-028..S3-031) belong to the fracture module and are not evaluated here.
Extra checks of bone turnover (not CSV rows): CTX about -80% one month after the first denosumab
dose (issue 3); CTX still reduced by 45-80% at the end of every 6-month interval (Prolia label
section 12.2, read on a third-party copy of the label: "CTX ... from a maximal reduction of
>= 87% to approximately >= 45% (range 45% to 80%)" at the end of each dosing interval); and
zoledronic acid 5 mg yearly in the HORIZON-PFT marker subset (Delmas et al. 2009 JBMR [volume recalled],
abstract read on scienceopen): median beta-CTX decrease of 50%, and 60% within 9-11 days of the third infusion.
Serum sclerostin on denosumab (Gatti D et al. J Bone Miner Res 2012;27:2259-63 [journal recalled], abstract
read on iris.univr.it: +28-32% over 36 months of 60 mg every 6 months, unchanged on placebo): the check of
the mechanostat's disuse side, which raises sclerostin as the bone gains (mechanostat.py).

Cohorts (ours, stated in each scenario text): ZO-FAST women aged 58, 8 y past menopause, on
letrozole, the delayed arm starting zoledronic acid when the spine T-score falls below -2.0 from a
baseline of -1.0; HORIZON and FREEDOM women aged 73, 23 y past menopause, no AI; ABCSG-18 women
aged 64, 15 y past menopause, on an AI (anastrozole). Femoral-neck rows are compared with the
model's total hip.
"""

from __future__ import annotations

import numpy as np

from osteotwin.physiology import engine
from osteotwin.physiology.parameters import ParameterTable
from osteotwin.physiology.solve import DAYS_PER_MONTH
from osteotwin.population.calibration.core import SITE_OF, Cohort, pct_change, run_cohorts
from osteotwin.population.calibration.targets import TargetResult, TargetRow, confidence_interval, target

TOLERANCE_PP = 1.5  # issue 3 goal: within 1.5 percentage points or inside the reported interval
M = DAYS_PER_MONTH
NO_RULE = engine.NO_RULE


def _q6m(drug: str, dose: float, months: float, start: float = 0.0) -> tuple:
    return (drug, dose, 6 * M, start * M, months * M, NO_RULE, 0.0)


def _weekly(drug: str, dose: float, months: float) -> tuple:
    return (drug, dose, 7.0, 0.0, months * M, NO_RULE, 0.0)


ZO = dict(age_years=58, years_since_menopause=8, endocrine="letrozole", lumbar_spine_t_score=-1.0, total_hip_t_score=-0.8)
OP = dict(age_years=73, years_since_menopause=23, lumbar_spine_t_score=-2.8, total_hip_t_score=-1.9)
# IBIS-II bone substudy strata (Sestak 2014; ages ours as in core.py): II osteopenic (lowest T-score -2.5 to -1.0),
# III osteoporotic (below -2.5); the percent changes do not depend on the baseline T-score chosen within a stratum.
IB2 = dict(age_years=59, years_since_menopause=8, endocrine="anastrozole", lumbar_spine_t_score=-1.7, total_hip_t_score=-1.3)
IB3 = dict(age_years=59, years_since_menopause=8, endocrine="anastrozole", lumbar_spine_t_score=-2.8, total_hip_t_score=-2.0)
AB = dict(age_years=64, years_since_menopause=15, endocrine="anastrozole", lumbar_spine_t_score=-1.2, total_hip_t_score=-0.9)

COHORTS = (
    Cohort("zofast_immediate", "ZO-FAST immediate: letrozole + zoledronic acid 4 mg every 6 months from month 0 (age 58, 8 y past menopause)", 60,
           doses=(_q6m("zoledronic_acid", 4.0, 60),), **ZO),
    Cohort("zofast_delayed", "ZO-FAST delayed: letrozole; zoledronic acid 4 mg every 6 months once the spine T-score < -2.0 (baseline -1.0)", 60,
           doses=(("zoledronic_acid", 4.0, 6 * M, 0.0, 60 * M, 0, -2.0),), **ZO),
    Cohort("horizon_zol", "HORIZON: zoledronic acid 5 mg yearly, women aged 73, no AI", 72,
           doses=(("zoledronic_acid", 5.0, 12 * M, 0.0, 72 * M, NO_RULE, 0.0),), **OP),
    Cohort("horizon_zol_stop", "HORIZON extension: zoledronic acid 5 mg yearly for 3 doses, then stopped", 72,
           doses=(("zoledronic_acid", 5.0, 12 * M, 0.0, 36 * M - 1.0, NO_RULE, 0.0),), **OP),
    Cohort("op_placebo", "placebo: women aged 73, 23 y past menopause, no AI, untreated", 60, **OP),
    Cohort("freedom_dmab", "FREEDOM: denosumab 60 mg every 6 months, women aged 73, no AI", 60, doses=(_q6m("denosumab", 60.0, 60),), **OP),
    Cohort("freedom_crossover", "FREEDOM extension cross-over: untreated 36 months, then denosumab 60 mg every 6 months", 60,
           doses=(_q6m("denosumab", 60.0, 60, start=36),), **OP),
    Cohort("abcsg_dmab", "ABCSG-18: anastrozole + denosumab 60 mg every 6 months (age 64, 15 y past menopause)", 36,
           doses=(_q6m("denosumab", 60.0, 36),), **AB),
    Cohort("abcsg_placebo", "ABCSG-18 placebo: anastrozole alone", 36, **AB),
    Cohort("ibis_ii_ana_ris", "IBIS-II stratum II (osteopenic): anastrozole + risedronate 35 mg weekly (age 59, 8 y past menopause)", 36,
           doses=(_weekly("risedronate", 35.0, 36),), **IB2),
    Cohort("ibis_ii_ana", "IBIS-II stratum II (osteopenic): anastrozole + placebo", 36, **IB2),
    Cohort("ibis_iii_ana_ris", "IBIS-II stratum III (osteoporotic): anastrozole + risedronate 35 mg weekly (age 59, 8 y past menopause)", 36,
           doses=(_weekly("risedronate", 35.0, 36),), **IB3),
    Cohort("ibis_iii_ris", "IBIS-II stratum III (osteoporotic): placebo (no AI) + risedronate 35 mg weekly", 36,
           doses=(_weekly("risedronate", 35.0, 36),), **{**IB3, "endocrine": "none"}),
    Cohort("dmab_stop", "phase-2 discontinuation: denosumab 60 mg every 6 months for 24 months (4 doses), then stopped; age 73, no AI", 36,
           doses=(_q6m("denosumab", 60.0, 24),), **OP),
)
COHORT_BY_KEY = {c.key: c for c in COHORTS}


def _results(runs: dict[str, dict[str, np.ndarray]]) -> list[TargetResult]:
    results: list[TargetResult] = []

    def site_of(row: TargetRow) -> str:
        return SITE_OF[row.site.split()[0]]

    def note_of(row: TargetRow) -> str:
        return "femoral neck compared with the model's total hip" if row.site.startswith("FN") else ""

    def difference(row_id: str, treated: str, control: str, month: float, baseline: float = 0.0, text: str = "") -> None:
        row = target(row_id)
        site = site_of(row)
        model = pct_change(runs[treated][site], month, baseline) - pct_change(runs[control][site], month, baseline)
        results.append(TargetResult.of(row, model, TOLERANCE_PP, text or f"{COHORT_BY_KEY[treated].description} minus {COHORT_BY_KEY[control].description}; month {month:g}",
                                       interval=confidence_interval(row), note=note_of(row)))

    def single(row_id: str, key: str, month: float, baseline: float = 0.0) -> None:
        row = target(row_id)
        model = pct_change(runs[key][site_of(row)], month, baseline)
        text = COHORT_BY_KEY[key].description + (f"; change from month {baseline:g} to {month:g}" if baseline else f"; change at month {month:g}")
        results.append(TargetResult.of(row, model, TOLERANCE_PP, text, interval=confidence_interval(row), note=note_of(row)))

    for row_id, month in [("S2-015", 12), ("S2-016", 12), ("S2-017", 12), ("S2-018", 24), ("S2-019", 36)]:
        difference(row_id, "zofast_immediate", "zofast_delayed", month)
    single("S2-020", "zofast_immediate", 36)
    single("S2-021", "zofast_delayed", 36)
    single("S2-022", "zofast_immediate", 60)
    single("S2-023", "zofast_delayed", 60)
    difference("S2-085", "horizon_zol", "op_placebo", 36)
    difference("S2-086", "horizon_zol", "horizon_zol_stop", 72, baseline=36,
               text="HORIZON extension: zoledronic acid yearly for 6 doses minus 3 doses then stop; change from month 36 to 72")
    for row_id in ("S3-005", "S3-006", "S3-007"):
        difference(row_id, "abcsg_dmab", "abcsg_placebo", 36)
    for row_id in ("S3-020", "S3-021"):
        difference(row_id, "freedom_dmab", "op_placebo", 36)
    single("S3-022", "freedom_dmab", 60)
    single("S3-023", "freedom_dmab", 60)
    single("S3-024", "freedom_crossover", 60, baseline=36)
    single("S3-025", "freedom_crossover", 60, baseline=36)
    single("S3-026", "dmab_stop", 36, baseline=24)
    single("S3-027", "dmab_stop", 36, baseline=24)
    for row_id, key in [("S2-066", "ibis_ii_ana_ris"), ("S2-067", "ibis_ii_ana_ris"), ("S2-068", "ibis_ii_ana"), ("S2-069", "ibis_ii_ana"),
                        ("S2-070", "ibis_iii_ana_ris"), ("S2-071", "ibis_iii_ana_ris"), ("S2-072", "ibis_iii_ris"), ("S2-073", "ibis_iii_ris")]:
        single(row_id, key, 36)
    def ctx_pct(key: str) -> np.ndarray:
        series = runs[key]["ctx"]
        return 100.0 * (series / series[0] - 1.0)

    dmab, zol = ctx_pct("freedom_dmab"), ctx_pct("horizon_zol")
    freedom, horizon = COHORT_BY_KEY["freedom_dmab"], COHORT_BY_KEY["horizon_zol"]
    # issue 3 check (not a CSV row): CTX about -80% one month after the first dose
    results.append(TargetResult.check("ISSUE3-CTX", "issue 3 goal (denosumab label/Chen 2018: CTX -80% within days)",
                                      "denosumab 60 mg", 1.0, "CTX", -80.0, float(dmab[1]), 10.0,
                                      freedom.description + "; CTX % change at month 1",
                                      note="not a row of the targets CSV; tolerance 10 pp (ours)"))
    # Prolia label 12.2: at the end of each interval CTX is still reduced by 45-80%. The model's
    # least suppressed pre-dose trough (months 6, 12, ..., 60) must lie in that range.
    worst = float(max(dmab[m] for m in range(6, freedom.months + 1, 6)))
    results.append(TargetResult.check("LABEL-CTX-TROUGH", "Prolia label 12.2 (third-party copy): CTX at the end of each dosing interval",
                                      "denosumab 60 mg every 6 months", 6.0, "CTX", -62.5, worst, 17.5,
                                      freedom.description + "; least suppressed pre-dose CTX trough, months 6-60",
                                      note="not a row of the targets CSV; met inside the label range -80% to -45%",
                                      interval=(-80.0, -45.0)))
    # HORIZON-PFT markers (Delmas 2009, abstract): CTX -50% (median decrease; compared with the model's
    # mean over months 6-36, our reading of the summary figure) and -60% 9-11 days after the third infusion
    # (month 24 + 10 days ~ the month-24 dose seen at month 24.33: the model's month-25 value is the nearest
    # monthly output, a few weeks later, so it is a lower bound of the suppression; tolerance 10 pp, ours).
    results.append(TargetResult.check("HORIZON-CTX-MEAN", "HORIZON-PFT marker subset (Delmas 2009): median beta-CTX decrease",
                                      "zoledronic acid 5 mg yearly", 36.0, "CTX", -50.0, float(np.mean(zol[6:37])), 10.0,
                                      horizon.description + "; mean CTX % change over months 6-36",
                                      note="not a row of the targets CSV; tolerance 10 pp (ours)"))
    results.append(TargetResult.check("HORIZON-CTX-3RD", "HORIZON-PFT marker subset (Delmas 2009): beta-CTX after the third infusion",
                                      "zoledronic acid 5 mg yearly", 25.0, "CTX", -60.0, float(zol[25]), 10.0,
                                      horizon.description + "; CTX % change at month 25 (third infusion at month 24)",
                                      note="not a row of the targets CSV; trial measured at 9-11 days; tolerance 10 pp (ours)"))
    # Gatti 2012: serum sclerostin +28-32% over 36 months of denosumab (placebo unchanged); the model's
    # spine sclerostin (its mechanostat output) averaged over months 6-36; tolerance 10 pp (ours).
    scl = 100.0 * (runs["freedom_dmab"]["sclerostin"] / runs["freedom_dmab"]["sclerostin"][0] - 1.0)
    results.append(TargetResult.check("GATTI-SCL", "Gatti 2012: serum sclerostin on denosumab (36-month placebo-controlled trial)",
                                      "denosumab 60 mg every 6 months", 36.0, "sclerostin", 30.0, float(np.mean(scl[6:37])), 10.0,
                                      freedom.description + "; mean sclerostin % change over months 6-36 (model: spine osteocytes)",
                                      note="not a row of the targets CSV; reported +28% to +32%; tolerance 10 pp (ours)",
                                      interval=(28.0, 32.0)))
    return results


# Rows the model misses, with the reason (as core.KNOWN_MISSES).
KNOWN_MISSES: dict[str, str] = {
    "S2-022": ("ZO-FAST immediate arm at 5 years: the slow mineral phase keeps the spine rising on 6-monthly zoledronic acid "
               "(+6.2 vs +4.3), the same phase that FREEDOM's extension needs on denosumab (S3-022)"),
    "S3-007": ("ABCSG-18 femoral neck difference (compared with the model's total hip): hip BMD rises too much per unit of "
               "suppressed turnover in the first 3 years of denosumab"),
    "S3-021": "FREEDOM total hip vs placebo at 3 years: as S3-007, the hip gains too much on denosumab",
    "S2-068": ("IBIS-II stratum II on anastrozole alone loses 2.6% at the spine in 3 years, strata I-II together 4.0% (S1-019, "
               "n = 310 against 73); one AI effect cannot give both"),
    "HORIZON-CTX-3RD": "the joint fit settles on too little CTX suppression by zoledronic acid just after the third infusion",
}

NOT_EVALUATED = {
    "S3-008": "fracture hazard ratio: fracture module", "S3-009": "fracture hazard ratio: fracture module",
    "S3-010": "fracture hazard ratio: fracture module", "S3-017": "fracture risk reduction: fracture module",
    "S3-018": "fracture risk reduction: fracture module", "S3-019": "fracture risk reduction: fracture module",
    "S3-028": "fracture rate after stopping: fracture module", "S3-029": "fracture rate: fracture module",
    "S3-030": "multiple vertebral fractures: fracture module", "S3-031": "multiple vertebral fractures: fracture module",
}


def evaluate(params: ParameterTable | None = None) -> list[TargetResult]:
    """Every drug target row against the model with ``params`` (default: the shipped registry)."""
    return _results(run_cohorts(COHORTS, params))
