"""Calibration suite of the engine core: natural postmenopausal loss and aromatase inhibitors.

Rows used (calibration_targets.csv): ATAC bone substudy on- and off-treatment, both arms
(S1-001..S1-018); the anastrozole compliance substudy (S1-061..S1-064); SWAN, Michigan, SOF,
CaMos and Rochester natural-loss rows (S1-065..S1-081); the modern AI cohorts with untreated
comparators: IBIS-II bone substudy anastrozole and placebo at 3 years and off treatment from year 5
to 7 (S1-019..S1-025), MA.17B letrozole and placebo after tamoxifen (S1-026..S1-029) and the IES
switch from tamoxifen to exemestane (S1-036..S1-043). Scenarios are built at the engine level
(``physiology.engine.PatientArrays``) because natural-loss cohorts start before the final
menstrual period (negative years since menopause), which the user-facing Scenario refuses.

Assumptions for the cohorts (ours, stated in each result's scenario text): every woman's FMP at
age 51 (years since FMP = age - 51); ATAC bone substudy women aged 64; one untreated woman
followed from FMP-5 y (T-score 0) gives every SWAN, Michigan and CaMos row on its own window (the
CaMos row is the stratum of women aged 50-54 in transition, Berger 2008, not the mixed-sex
cohort); SOF women at the stated ages and hip T-scores; femoral-neck rows are compared with the
model's total hip (no femoral-neck instance); absolute rows use a baseline BMD from the stated
T-score. One issue-goal check row (ISSUE2-HIP-FLAT: hip flat after stopping the AI) is added.
S1-079 (current estrogen users) and S1-082 (no single mean) are listed but not evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from osteotwin.catalog import AGE_AT_MENOPAUSE_YEARS
from osteotwin.physiology import bone, engine, estrogen
from osteotwin.physiology.lifestyle import LifestyleDrives
from osteotwin.physiology.options import EngineOptions
from osteotwin.physiology.parameters import ParameterTable, registry
from osteotwin.population.calibration.targets import TargetResult, confidence_interval, target

ATAC_TOLERANCE_PP = 1.0  # issue 2 goal: every ATAC point within 1.0 percentage point
DEFAULT_TOLERANCE_PP = 1.5  # ours for the other percentage rows
ANNUAL_TOLERANCE_PP = 0.5  # ours for annualised %/yr rows
ABSOLUTE_TOLERANCE_G = 0.005  # ours for g/cm2/yr rows


@dataclass(frozen=True)
class Cohort:
    """One simulated arm: a representative patient and what she receives."""

    key: str
    description: str
    months: int
    age_years: float = 64.0
    years_since_menopause: float = 15.0
    endocrine: str = "none"
    endocrine_start_month: float = 0.0
    endocrine_stop_month: float = np.inf
    adherence: float = 1.0
    lumbar_spine_t_score: float = -1.0
    total_hip_t_score: float = -1.0
    doses: tuple[tuple, ...] = field(default_factory=tuple)  # engine.DoseSchedule items


# integrator tolerance for calibration: tighter than the default so that residuals are smooth in
# the parameters (finite-difference Jacobians of the fit)
CALIBRATION_OPTIONS = EngineOptions(rtol=2e-5)


def cohort_arrays(cohorts: Sequence[Cohort], params: ParameterTable) -> engine.PatientArrays:
    """The engine's arrays of the cohorts (one patient each), months to the longest cohort's."""
    months = max(c.months for c in cohorts)
    n = len(cohorts)
    code = np.zeros((months, n), dtype=np.int64)
    adherence = np.ones((months, n))
    mid = np.arange(months) + 0.5
    for i, c in enumerate(cohorts):
        on = (mid >= c.endocrine_start_month) & (mid < c.endocrine_stop_month)
        code[on, i] = estrogen.ENDOCRINE_DRUG_CODES[c.endocrine]
        adherence[on, i] = c.adherence
        if c.key in SWITCH_TO:
            code[mid >= c.endocrine_stop_month, i] = estrogen.ENDOCRINE_DRUG_CODES[SWITCH_TO[c.key]]
    return engine.PatientArrays(
        months=months,
        age_years=np.array([c.age_years for c in cohorts]),
        years_since_menopause=np.array([c.years_since_menopause for c in cohorts]),
        baseline_bmd_g_cm2=np.vstack([[bone.bmd_from_t_score(c.lumbar_spine_t_score, 0, params) for c in cohorts],
                                      [bone.bmd_from_t_score(c.total_hip_t_score, 1, params) for c in cohorts]]),
        endocrine_code=code,
        adherence=adherence,
        drives=LifestyleDrives.baseline(n),
        schedule=engine.DoseSchedule.from_items([list(c.doses) for c in cohorts]),
    )


def run_cohorts(cohorts: Sequence[Cohort], params: ParameterTable | None = None,
                options: EngineOptions = CALIBRATION_OPTIONS) -> dict[str, dict[str, np.ndarray]]:
    """Simulate all cohorts in one batch; returns per cohort key the monthly BMD relative per site
    (``lumbar_spine``, ``total_hip``), ``bmd_g_cm2_<site>``, ``ctx`` (relative resorption), ``denosumab`` (serum ug/mL) and ``sclerostin`` (relative, spine)."""
    params = params if params is not None else registry()
    arrays = cohort_arrays(cohorts, params)
    raw = engine.run(arrays, params=params, options=options, outputs=("lumbar_spine_bmd_relative", "total_hip_bmd_relative",
                                                     "lumbar_spine_resorption_relative", "total_hip_resorption_relative",
                                                     "denosumab_serum_ug_per_ml", "sclerostin_relative"))
    result = {}
    for i, c in enumerate(cohorts):
        result[c.key] = {
            "lumbar_spine": raw["lumbar_spine_bmd_relative"][i],
            "total_hip": raw["total_hip_bmd_relative"][i],
            "bmd_g_cm2_lumbar_spine": arrays.baseline_bmd_g_cm2[0, i] * raw["lumbar_spine_bmd_relative"][i],
            "bmd_g_cm2_total_hip": arrays.baseline_bmd_g_cm2[1, i] * raw["total_hip_bmd_relative"][i],
            "ctx": 0.5 * (raw["lumbar_spine_resorption_relative"][i] + raw["total_hip_resorption_relative"][i]),
            "denosumab": raw["denosumab_serum_ug_per_ml"][i],
            "sclerostin": raw["sclerostin_relative"][i],
        }
    return result


def pct_change(series: np.ndarray, month: float, baseline_month: float = 0.0) -> float:
    """% change of a monthly series between two (whole) months."""
    return float(100.0 * (series[int(round(month))] / series[int(round(baseline_month))] - 1.0))


SITE_OF = {"LS": "lumbar_spine", "TH": "total_hip", "FN": "total_hip", "hip": "total_hip"}

# Ours, one assumption for every cohort: natural menopause (FMP) at the catalog's population age; years since the FMP = age - 51.
AGE_AT_FMP_YEARS = AGE_AT_MENOPAUSE_YEARS
ATAC = "ATAC bone substudy cohort (ours: age 64 (ATAC median age), 13 y since the FMP)"
# One untreated woman followed through the menopausal transition serves every SWAN, Michigan and CaMos row, each
# read off its own window: the engine's burn-in settles the cells on the month-0 drive with bone volume held,
# which is exact only where the drive is flat, so cohorts that started mid-transition (as before) lost the
# mineral and volume deficit already built up and under-read the peri-FMP loss. Month m is y = m/12 - 5 years
# from the FMP (FMP = month 60).
FMP_MONTH = 60
TRANSITION = ("untreated, from 5 y before the FMP (age 46; FMP at 51) for 144 months; "
              "baseline T-score 0 at both sites (ours: SWAN/Michigan women are pre- or early perimenopausal at entry, BMD near the "
              "young-adult mean); FMP = month 60")
COHORTS = (
    Cohort("atac_anastrozole", f"{ATAC}; anastrozole 1 mg/d months 0-60, then off to month 84", 84, years_since_menopause=64 - AGE_AT_FMP_YEARS,
           endocrine="anastrozole", endocrine_stop_month=60),
    Cohort("atac_tamoxifen", f"{ATAC}; tamoxifen 20 mg/d months 0-60, then off to month 84", 84, years_since_menopause=64 - AGE_AT_FMP_YEARS,
           endocrine="tamoxifen", endocrine_stop_month=60),
    Cohort("transition", TRANSITION, 144, age_years=AGE_AT_FMP_YEARS - 5, years_since_menopause=-5, lumbar_spine_t_score=0.0, total_hip_t_score=0.0),
    Cohort("sof_68", "untreated, age 68, 17 y since the FMP; total hip T-score -1.3 (ours)", 12, age_years=68, years_since_menopause=68 - AGE_AT_FMP_YEARS,
           total_hip_t_score=-1.3),
    Cohort("sof_86", "untreated, age 86, 35 y since the FMP; total hip T-score -2.3 (ours)", 12, age_years=86, years_since_menopause=86 - AGE_AT_FMP_YEARS,
           total_hip_t_score=-2.3),
    Cohort("sof_nonusers", "untreated, age 73 (ours: SOF mean age), 22 y since the FMP; total hip T-score -1.6 (ours)", 12, age_years=73,
           years_since_menopause=73 - AGE_AT_FMP_YEARS, total_hip_t_score=-1.6),
    Cohort("rochester", "untreated, age 62 (ours), 11 y since the FMP, 12 months", 12, age_years=62, years_since_menopause=62 - AGE_AT_FMP_YEARS),
)
# Modern AI cohorts with untreated comparators, all advised calcium and vitamin D (ages ours, FMP at 51):
# IBIS-II bone substudy women aged 59 (entry 40-70, most 45-60; Sestak 2014), strata I-II (T-score >= -2.5) for
# the anastrozole and placebo rows, stratum I (normal BMD) for the off-treatment rows (Sestak 2021); MA.17B women
# aged 62 starting letrozole or placebo after 5 y of tamoxifen (Perez 2006); IES women aged 62 switching to
# exemestane after 2.5 y of tamoxifen or staying on it (Coleman 2007).
IBIS = "IBIS-II bone substudy cohort (ours: age 59, 8 y since the FMP)"
MA17 = "MA.17B cohort (ours: tamoxifen from age 57, 6 y since the FMP, for 5 y; month 60 = start of letrozole or placebo at 62)"
IES = "IES cohort (ours: tamoxifen from age 59.5 for 30 months; month 30 = the switch at 62)"
COHORTS = COHORTS + (
    Cohort("ibis_placebo", f"{IBIS}; placebo (untreated) for 84 months", 84, age_years=59, years_since_menopause=59 - AGE_AT_FMP_YEARS,
           lumbar_spine_t_score=-0.8, total_hip_t_score=-0.8),
    Cohort("ibis_anastrozole", f"{IBIS}; anastrozole 1 mg/d months 0-60, then off to month 84", 84, age_years=59,
           years_since_menopause=59 - AGE_AT_FMP_YEARS, endocrine="anastrozole", endocrine_stop_month=60,
           lumbar_spine_t_score=-0.8, total_hip_t_score=-0.8),
    Cohort("ma17_letrozole", f"{MA17}; tamoxifen months 0-60, letrozole 2.5 mg/d months 60-84", 84, age_years=57,
           years_since_menopause=57 - AGE_AT_FMP_YEARS, endocrine="tamoxifen", endocrine_stop_month=60),
    Cohort("ma17_placebo", f"{MA17}; tamoxifen months 0-60, then placebo (untreated) to month 84", 84, age_years=57,
           years_since_menopause=57 - AGE_AT_FMP_YEARS, endocrine="tamoxifen", endocrine_stop_month=60),
    Cohort("ies_exemestane", f"{IES}; tamoxifen months 0-30, exemestane 25 mg/d months 30-54", 54, age_years=59.5,
           years_since_menopause=59.5 - AGE_AT_FMP_YEARS, endocrine="tamoxifen", endocrine_stop_month=30),
    Cohort("ies_tamoxifen", f"{IES}; tamoxifen months 0-54 (continued)", 54, age_years=59.5,
           years_since_menopause=59.5 - AGE_AT_FMP_YEARS, endocrine="tamoxifen"),
)
# A cohort that switches from one endocrine therapy to another at ``endocrine_stop_month``: what follows.
SWITCH_TO = {"ma17_letrozole": "letrozole", "ies_exemestane": "exemestane"}
COHORT_BY_KEY = {c.key: c for c in COHORTS}


def _results(runs: dict[str, dict[str, np.ndarray]]) -> list[TargetResult]:
    results: list[TargetResult] = []

    def add_pct(row_id: str, key: str, month: float, tolerance: float, baseline_month: float = 0.0, note: str = "",
                interval: tuple[float, float] | None = None) -> None:
        row = target(row_id)
        site = SITE_OF[row.site.split()[0]]
        if row.site.startswith("FN"):
            note = (note + "; " if note else "") + "femoral neck compared with the model's total hip"
        model = pct_change(runs[key][site], month, baseline_month)
        text = COHORT_BY_KEY[key].description + (f"; change from month {baseline_month:g} to {month:g}" if baseline_month else f"; change at month {month:g}")
        results.append(TargetResult.of(row, model, tolerance, text, note=note, interval=interval, cohort=key,
                                       months=(baseline_month, month)))

    # ATAC on treatment and after stopping (baseline = end of therapy)
    for row_id, key, month in [("S1-001", "atac_anastrozole", 12), ("S1-002", "atac_anastrozole", 12),
                               ("S1-003", "atac_anastrozole", 24), ("S1-004", "atac_anastrozole", 24),
                               ("S1-005", "atac_tamoxifen", 24), ("S1-006", "atac_tamoxifen", 24),
                               ("S1-007", "atac_anastrozole", 60), ("S1-008", "atac_anastrozole", 60),
                               ("S1-009", "atac_tamoxifen", 60), ("S1-010", "atac_tamoxifen", 60)]:
        add_pct(row_id, key, month, ATAC_TOLERANCE_PP, note="median" if target(row_id).dispersion == "median" else "")
    for row_id, key, month in [("S1-011", "atac_anastrozole", 72), ("S1-012", "atac_anastrozole", 84),
                               ("S1-013", "atac_anastrozole", 72), ("S1-014", "atac_anastrozole", 84),
                               ("S1-015", "atac_tamoxifen", 72), ("S1-016", "atac_tamoxifen", 84),
                               ("S1-017", "atac_tamoxifen", 72), ("S1-018", "atac_tamoxifen", 84)]:
        add_pct(row_id, key, month, ATAC_TOLERANCE_PP, baseline_month=60)
    # issue 2's shape goal "hip staying flat" after stopping the AI, held as a check row like the drug suite's
    # issue-3 CTX row: without it the fit trades the ex-anastrozole hip (+1.1% by month 84) for the ex-tamoxifen hip
    hip_after_ai = pct_change(runs["atac_anastrozole"]["total_hip"], 84, 60)
    results.append(TargetResult.check("ISSUE2-HIP-FLAT", "issue 2 goal (hip staying flat after stopping the AI)",
                                      "ex-anastrozole, off-treatment", 24.0, "TH", 0.0, hip_after_ai, ATAC_TOLERANCE_PP,
                                      COHORT_BY_KEY["atac_anastrozole"].description + "; change from month 60 to 84",
                                      note="not a row of the targets CSV; |change| within 1.0 pp (ours; ATAC S1-014 is +0.5)"))
    # compliance substudy (compliant arm = full adherence)
    for row_id, month in [("S1-061", 12), ("S1-062", 24), ("S1-063", 12), ("S1-064", 24)]:
        add_pct(row_id, "atac_anastrozole", month, DEFAULT_TOLERANCE_PP,
                note="n = 21; order of values inferred from the abstract; conflicts with ATAC S1-003 (LS -4.1 at 24 months)")
    # SWAN cumulative FMP-5 y to FMP+5 y and transmenopause FMP-1 y to FMP+2 y (Greendale 2012)
    add_pct("S1-065", "transition", FMP_MONTH + 60, DEFAULT_TOLERANCE_PP, baseline_month=0.0)
    add_pct("S1-067", "transition", FMP_MONTH + 60, DEFAULT_TOLERANCE_PP, baseline_month=0.0)
    add_pct("S1-066", "transition", FMP_MONTH + 24, DEFAULT_TOLERANCE_PP, baseline_month=FMP_MONTH - 12)
    add_pct("S1-068", "transition", FMP_MONTH + 24, DEFAULT_TOLERANCE_PP, baseline_month=FMP_MONTH - 12)
    # Michigan annualised %/yr: 2 y before the FMP, 2 y after, 2-7 y after (Sowers 2010)
    for row_id, start, stop in [("S1-069", FMP_MONTH - 24, FMP_MONTH), ("S1-070", FMP_MONTH, FMP_MONTH + 24),
                                ("S1-071", FMP_MONTH + 24, FMP_MONTH + 84)]:
        row = target(row_id)
        series = runs["transition"]["lumbar_spine"]
        model = pct_change(series, stop, start) / ((stop - start) / 12.0)
        results.append(TargetResult.of(row, model, ANNUAL_TOLERANCE_PP,
                                       TRANSITION + f"; mean %/yr from month {start} to {stop}", unit="%/yr"))
    # SWAN absolute g/cm2/yr (Finkelstein 2008): late perimenopause (ours: 3-11 months without menses places a woman
    # within about a year of her FMP; we take the year before it) and early postmenopause (ours: 0.5-1.5 y after the FMP)
    for row_id, start, stage in [("S1-072", FMP_MONTH + 6, "early postmenopause"), ("S1-073", FMP_MONTH + 6, "early postmenopause"),
                                 ("S1-074", FMP_MONTH - 12, "late perimenopause"), ("S1-075", FMP_MONTH - 12, "late perimenopause")]:
        row = target(row_id)
        site = SITE_OF[row.site.split()[0]]
        series = runs["transition"][f"bmd_g_cm2_{site}"]
        results.append(TargetResult.of(row, float(series[start + 12] - series[start]), ABSOLUTE_TOLERANCE_G,
                                       TRANSITION + f"; {stage}: g/cm2 change from month {start} to {start + 12}", unit="g/cm2/yr"))
    # SOF absolute mg/cm2/yr, total hip
    for row_id, key, interval in [("S1-076", "sof_68", (-2.9, -2.0)), ("S1-077", "sof_86", (-12.4, -8.4)), ("S1-078", "sof_nonusers", None)]:
        row = target(row_id)
        series = runs[key]["bmd_g_cm2_total_hip"]
        model = 1000.0 * float(series[12] - series[0])
        results.append(TargetResult.of(row, model, 1.5, COHORT_BY_KEY[key].description + "; mg/cm2 change over 12 months",
                                       unit="mg/cm2/yr", interval=interval,
                                       note="within the reported 95% CI counts as met" if interval else "tolerance 1.5 mg/cm2/yr (ours)"))
    # CaMos 5-y total hip (women 50-54), Rochester femoral neck %/yr
    results.append(TargetResult.of(target("S1-081"), pct_change(runs["transition"]["total_hip"], FMP_MONTH + 60, FMP_MONTH),
                                   DEFAULT_TOLERANCE_PP, TRANSITION + f"; CaMos women aged 50-54 transitioning to postmenopause (Berger "
                                   f"2008 stratum; ours: from her FMP at 51 for 5 y): change from month {FMP_MONTH} to {FMP_MONTH + 60}",
                                   interval=(-7.5, -4.9),
                                   note="women aged 50-54 transitioning from pre- to postmenopause (Berger 2008 abstract; the stratum with the greatest total-hip loss), not the whole mixed-sex cohort; within the reported 95% CI counts as met"))
    results.append(TargetResult.of(target("S1-080"), pct_change(runs["rochester"]["total_hip"], 12), ANNUAL_TOLERANCE_PP,
                                   COHORT_BY_KEY["rochester"].description + "; %/yr", unit="%/yr",
                                   note="femoral neck compared with the model's total hip; both sexes"))
    # Modern AI cohorts: IBIS-II (3 y on treatment; off-treatment from year 5 to 7), MA.17B (2 y after tamoxifen), IES
    for row_id, key, month, baseline in [("S1-019", "ibis_anastrozole", 36, 0), ("S1-020", "ibis_anastrozole", 36, 0),
                                         ("S1-021", "ibis_placebo", 36, 0), ("S1-022", "ibis_placebo", 36, 0),
                                         ("S1-023", "ibis_anastrozole", 84, 60), ("S1-024", "ibis_placebo", 84, 60),
                                         ("S1-025", "ibis_placebo", 84, 60),
                                         ("S1-026", "ma17_letrozole", 84, 60), ("S1-027", "ma17_letrozole", 84, 60),
                                         ("S1-028", "ma17_placebo", 84, 60), ("S1-029", "ma17_placebo", 84, 60),
                                         ("S1-036", "ies_exemestane", 36, 30), ("S1-037", "ies_exemestane", 36, 30),
                                         ("S1-038", "ies_exemestane", 54, 42), ("S1-039", "ies_exemestane", 54, 42),
                                         ("S1-040", "ies_exemestane", 42, 30), ("S1-041", "ies_tamoxifen", 42, 30),
                                         ("S1-042", "ies_exemestane", 42, 30), ("S1-043", "ies_tamoxifen", 42, 30)]:
        row = target(row_id)
        interval = confidence_interval(row)
        add_pct(row_id, key, month, DEFAULT_TOLERANCE_PP, baseline_month=baseline, interval=interval,
                note="within the reported 95% CI counts as met" if interval else "")
    # Sestak 2021 (abstract): "At the hip, BMD remained unchanged between years 5 and 7 for those previously on anastrozole"
    hip_after_ibis = pct_change(runs["ibis_anastrozole"]["total_hip"], 84, 60)
    results.append(TargetResult.check("IBIS-HIP-OFF", "IBIS-II bone substudy (off-treatment), Sestak 2021 abstract",
                                      "ex-anastrozole, hip unchanged years 5-7 (no number given)", 24.0, "TH", 0.0, hip_after_ibis,
                                      ATAC_TOLERANCE_PP, COHORT_BY_KEY["ibis_anastrozole"].description + "; change from month 60 to 84",
                                      note="not a row of the targets CSV; |change| within 1.0 pp (ours)"))
    return results


# Rows the model misses, with the reason (docs/calibration.md prints it beside the row; each is a strict xfail in
# tests/physiology/test_calibration.py, so meeting one fails the test until the entry goes).
KNOWN_MISSES: dict[str, str] = {
    "S1-008": ("ATAC's hip loses 7.2% in 5 years on anastrozole, IBIS-II's 4.0% in 3 (S1-020) and MA.17B's 3.6% in 2 on letrozole "
               "(S1-027): one AI effect, weighed by precision, sits between them; ATAC women took no routine calcium/vitamin D "
               "(the modern cohorts did), which the engine does not carry into the AI effect"),
    "S1-012": ("ATAC's spine recovers 4.0% in the 2 years after anastrozole, IBIS-II's 1.25% (S1-023, 95% CI 0.73-1.77) in women "
               "5 years younger; the declining set point gives one recovery between them"),
    "S1-070": ("Michigan's 3.3 %/yr in the 2 years after the FMP and SWAN's 7.4% over FMP-1 to FMP+2 y (S1-066) cannot both be "
               "met (Michigan implies more than 8%)"),
    "S1-072": ("SWAN's early-postmenopausal spine loss (0.022 g/cm2/yr): the set-point fall that gives SWAN's 10.6% from FMP-5 y "
               "to FMP+5 y (S1-065) front-loads the loss into the first postmenopausal year"),
    "S1-080": ("Rochester's femoral neck (both sexes, ages mixed; compared with the model's total hip) loses 1 %/yr at our age 62; "
               "the fitted hip ageing (set-point decline at its 2 %/yr bound, age drive from ~58 y) gives 0.1 %/yr in the first year, "
               "as bone follows the declining set point with a lag"),
}

NOT_EVALUATED = {
    "S1-079": "current estrogen users: hormone therapy is not an input of the engine",
    "S1-082": "no single mean reported (range across sites)",
}


def evaluate(params: ParameterTable | None = None) -> list[TargetResult]:
    """Every core target row against the model with ``params`` (default: the shipped registry)."""
    return _results(run_cohorts(COHORTS, params))
