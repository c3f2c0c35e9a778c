"""Calibration targets read from the shipped CSV; tolerances of issue 2 (ATAC within 1.0 pp).

Rows that the current model structure does not bring within 1.0 pp are listed in KNOWN_MISSES
with the bound they are held to instead (and shown as misses in docs/calibration.md); the test
fails if any of them gets worse or any other ATAC row leaves its tolerance.
"""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from osteotwin.population.calibration import core

# row id -> looser bound (pp) for ATAC rows outside 1.0 pp, and why. None today: every ATAC point is within
# 1.0 pp (joint core + drug fit, session 2). Keep the mechanism for rows a future change cannot bring back.
KNOWN_MISSES: dict[str, float] = {}

# Core rows other than ATAC that miss their tolerance, with the bound they are held to (in the row's unit) and why:
# S1-062 compliance substudy 24-month spine conflicts with ATAC S1-003; S1-070/S1-071 Michigan's 3.3 and 1.1 %/yr in
# the 2 and 2-7 y after the FMP cannot both be met with SWAN's 7.4% over FMP-1..+2 y (Michigan implies > 8%);
# S1-073 SWAN postmenopausal hip (-0.019 vs -0.013 g/cm2/yr): the same transmenopausal drive that stays short of
# Michigan's spine loss overshoots SWAN's hip; S1-078 SOF at 73: the age term that fits ATAC's hip at 64-71 (ATAC
# weighted 3, scripts/calibrate.py) overshoots the hip loss at 73; S1-080 Rochester FN 1 %/yr at our age 62, below
# the age term's onset (65).
CORE_KNOWN_MISSES = {"S1-062": 2.4, "S1-070": 1.0, "S1-071": 0.8, "S1-073": 0.008, "S1-078": 3.4, "S1-080": 1.0}
NON_ATAC_CORE_ROWS = [f"S1-{n:03d}" for n in range(61, 82) if n != 79]  # compliance + natural loss (S1-079 not evaluated)


@pytest.fixture(scope="module")
def results():
    return {r.row_id: r for r in core.evaluate()}


def _csv_rows():
    text = resources.files("osteotwin.data").joinpath("calibration_targets.csv").read_text(encoding="utf-8")
    return {row["id"]: row for row in csv.DictReader(text.splitlines())}


def test_targets_come_from_the_csv(results):
    rows = _csv_rows()
    for row_id, result in results.items():
        if row_id.startswith("ISSUE2-"):  # issue-goal check rows, not in the CSV
            continue
        assert float(rows[row_id]["pct_change_mean"]) == result.target


def test_atac_rows_within_one_percentage_point(results):
    rows = _csv_rows()
    atac = [row_id for row_id, row in rows.items() if row["trial"].startswith("ATAC bone substudy")]
    assert len(atac) == 18
    for row_id in atac:
        error = abs(results[row_id].error)
        assert error <= KNOWN_MISSES.get(row_id, 1.0), (row_id, results[row_id].model, results[row_id].target)


def test_atac_shapes(results):
    runs = core.run_cohorts([core.COHORT_BY_KEY["atac_anastrozole"], core.COHORT_BY_KEY["atac_tamoxifen"]])
    spine = runs["atac_anastrozole"]["lumbar_spine"]
    hip = runs["atac_anastrozole"]["total_hip"]
    first_year = core.pct_change(spine, 12)
    later_rate = core.pct_change(spine, 60, 24) / 3
    assert first_year < -2.0 and later_rate > first_year / 2  # fast early loss, then deceleration
    assert core.pct_change(spine, 84, 60) > 1.5  # spine recovers after stopping
    assert abs(core.pct_change(hip, 84, 60)) < 1.0  # hip stays flat
    assert core.pct_change(runs["atac_tamoxifen"]["lumbar_spine"], 24) > 1.0  # tamoxifen protects bone


def test_natural_loss_and_compliance_rows_within_recorded_bounds(results):
    for row_id in NON_ATAC_CORE_ROWS:
        result = results[row_id]
        if row_id in CORE_KNOWN_MISSES:
            assert abs(result.error) <= CORE_KNOWN_MISSES[row_id], (row_id, result.model, result.target)
        else:
            assert result.within_tolerance, (row_id, result.model, result.target)


def test_menopausal_transition_shape():
    """Loss is steepest from 1 y before to 2 y after the FMP, small before, slower after (Greendale 2012)."""
    spine = core.run_cohorts([core.COHORT_BY_KEY["transition"]])["transition"]["lumbar_spine"]
    fmp = core.FMP_MONTH
    annual = [core.pct_change(spine, m + 12, m) for m in range(0, len(spine) - 12, 12)]
    steepest_year_start = 12 * annual.index(min(annual))
    assert fmp - 12 <= steepest_year_start < fmp + 24
    assert core.pct_change(spine, fmp - 24, 0) / 3 > -0.5  # FMP-5 y to FMP-2 y: little loss
    transmenopause_rate = core.pct_change(spine, fmp + 24, fmp - 12) / 3
    postmenopause_rate = core.pct_change(spine, fmp + 60, fmp + 24) / 3
    assert transmenopause_rate < postmenopause_rate < 0.0  # decelerates but does not stop


def test_hip_loss_accelerates_in_old_age(results):
    assert results["S1-077"].model < 2.0 * results["S1-076"].model < 0.0  # SOF: >= 85 loses much faster than 67-69


# Drug rows and checks (issue 3: within 1.5 pp or inside the reported interval). Known misses and why:
# S2-023 ZO-FAST delayed arm at 5 y: the cohort's one representative patient (spine T -1.0) never reaches the
# rule's T < -2.0, while in the trial the women who did started zoledronic acid, lifting the arm's mean;
# S3-007/S3-021 (ABCSG-18 femoral neck, FREEDOM hip vs placebo): hip BMD rises too much per unit of suppressed
# turnover in the first 3 years, and the placebo hip at 73 loses too much (S1-078), widening the difference;
# S3-022 FREEDOM extension spine at 5 y: the slow mineral phase keeps adding, but 0.3 pp short of tolerance (the
# spine's resorption creeps up on denosumab through the disuse side of the mechanostat, held by Gatti's sclerostin);
# HORIZON-CTX-3RD: the joint fit settles on too little CTX suppression by zoledronic acid.
DRUG_KNOWN_MISSES = {"S2-023": 2.2, "S3-007": 2.8, "S3-021": 3.0, "S3-022": 2.0, "HORIZON-CTX-3RD": 14.5}
N_DRUG_RESULTS = 27  # 22 CSV rows + 5 checks (issue-3 month-1 CTX, label trough, two HORIZON CTX, Gatti sclerostin)


def test_drug_rows_within_tolerance():
    from osteotwin.population.calibration import drugs

    results = drugs.evaluate()
    assert len(results) == N_DRUG_RESULTS
    for result in results:
        bound = DRUG_KNOWN_MISSES.get(result.row_id)
        if bound is None:
            assert result.within_tolerance, (result.row_id, result.model, result.target)
        else:
            assert abs(result.error) <= bound, (result.row_id, result.model, result.target)
