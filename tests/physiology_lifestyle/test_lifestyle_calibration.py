"""Each row of the lifestyle calibration suite within its stated tolerance (issue 13: the row's own tolerance,
lifestyle.tolerance: half its 95% CI, else 30% of the target). A row the model misses is a strict xfail with its
reason here and in the report (docs/physiology_lifestyle.md); it never passes on a bound chosen from today's error."""

from __future__ import annotations

import pytest

from osteotwin.population.calibration import lifestyle as suite

# Misses and why (model after the issue-13 refit; scripts/calibrate_lifestyle.py). Strict: a row that starts to pass
# fails here until it is taken off the list.
KNOWN_MISSES = {
    "S4-012": "LIFTMOR's control arm lost 1.2-2.5% in 8 months (2-4%/yr), several times the 0.35-0.6%/yr of the IBIS-II and MA.17B placebo arms at that age: beyond ageing; the model's untreated 8-month change is ~0",
    "S4-013": "LIFTMOR's control arm lost 1.2-2.5% in 8 months (2-4%/yr), several times the 0.35-0.6%/yr of the IBIS-II and MA.17B placebo arms at that age: beyond ageing; the model's untreated 8-month change is ~0",
    "S4-015": "LIFTMOR's control arm lost 1.2-2.5% in 8 months (2-4%/yr), several times the 0.35-0.6%/yr of the IBIS-II and MA.17B placebo arms at that age: beyond ageing; the model's untreated 8-month change is ~0",
    "S4-017": "LIFTMOR's control arm lost 1.2-2.5% in 8 months (2-4%/yr), several times the 0.35-0.6%/yr of the IBIS-II and MA.17B placebo arms at that age: beyond ageing; the model's untreated 8-month change is ~0",
    "S4-011": "LIFTMOR HiRIT femoral-neck arm (+0.3%, evaluated only) vs the model's total hip: the exercise refit on the issue-13 core with detraining (the route without its absorption cap) gives +1.0 (fitted hip gain +1.1 over a ~0 untreated drift)",
    "S4-101-S4-102": "EFOPS spine +2.5 at 14 months: the exercise refit on the issue-13 core with detraining gives +3.3; the route no longer stops when the bone absorbs the load, so the gain grows until accommodation (onset ~11.5 months), and the precision-weighted fit trades this row against LIFTMOR's +4.1 at 8 months; within the row's 95% interval from the SDs (+-1.1) but not its stated tolerance (30%: 0.75)",
    "S4-014": "interim HiRIT arm (n=12): the model's arm = fitted exercise gain + the core's ~0 untreated drift",
    "S4-016": "interim HiRIT arm (n=12): the fitted spine gain (2.3 pp over control, precision-weighted against EFOPS and Shojaa) + the core's ~0 drift",
    "S4-010-S4-012": "LIFTMOR spine 4.1 pp at 8 months conflicts, under one programme mapping, with EFOPS 2.5 at 14 months and the meta-analyses' ~1 pp (Shojaa, SE 0.18 pp); the precision-weighted fit gives 2.3",
    "S4-011-S4-013": "LIFTMOR femoral neck 2.2 pp at 8 months conflicts with EFOPS's hip 0.5 at 14 months for a programme with more impact; the fit gives 1.1",
    "S4-103-S4-104": "EFOPS hip +0.5 at 14 months: the model's hip keeps gaining from 8 to 14 months (modelling, then mineralisation of the new bone) and cannot give LIFTMOR's FN gain and EFOPS's small hip gain together; model 2.2",
    "S4-105-S4-106": "EFOPS femoral neck +1.0 (evaluated against the model's total hip, as S4-103/104): model 2.2",
    "S4-028": "calcium/vitamin D act on fracture only through BMD in the model (no sourced non-BMD route); Tang's RR 0.88 needs more",
    "S4-029": "WHI hip at 84 months (recalled, standard error doubled): model 0.74 vs 1.06; the calcium exponent refit on the merged core (ageing landed, session 5) settles between Tang's rows and this one",
    "S4-033": "WHI vertebral rows vs the model's MOF: BMD route only",
    "S4-034": "Weaver RR 0.85: BMD route only (as S4-028)",
    "S4-035": "Weaver hip RR 0.70: BMD route only (as S4-028)",
    "S4-040": "ELBOW tibia arm vs model total hip: the core's untreated drift (-1.2 vs -1.9)",
    "S4-042": "ELBOW tibia arm vs the model's total hip, evaluated only: the merged core's untreated course at 76 (-0.79 vs -1.29)",
    "S4-043": "placebo arm value, evaluated only: the merged core's untreated spine course for this cohort with its supplements (+0.71 vs -0.01)",
    "S4-044": "placebo arm value, evaluated only: the merged core's untreated hip course for this cohort (0.00 vs -0.72)",
    "S5-001": "AI vs tamoxifen HR: the model's tamoxifen arm keeps more risk than ATAC (fracture module, not lifestyle)",
    "S5-003": "ATAC tamoxifen cumulative fractures (recalled): model's all-site ratio (van Geel) overstates them",
    "S5-005": "as S5-003 at 5 years",
    "S5-008": "ATAC off-treatment rates fall while the model's rise with age (QFracture baseline)",
    "S5-009": "as S5-008, tamoxifen arm",
    "S5-029": "Marshall 1.5 per SD: the model uses Johnell 2005's 1.38 by choice (fracture.py)",
    "S5-030": "no vertebral outcome; spine BMD does not enter the risk (as FRAX)",
    "S5-035": "Bouxsein MOF 66% at a 6 pp gain: the turnover term saturates; conflicts with the 2 pp row and HORIZON",
    "S5-038": "share of the zoledronate vertebral effect carried by BMD: no vertebral outcome in the model",
    "S5-040": "HORIZON hip relative risk reduction 28% vs 41% (CI 17-58%): the drug-fracture refit on the merged core sets the hip turnover exponent against the Bouxsein hip rows",
}


@pytest.fixture(scope="module")
def results():
    return {result.row_id: result for result in suite.evaluate()}


ROW_IDS = (
    "S4-010", "S4-011", "S4-012", "S4-013", "S4-010-S4-012", "S4-011-S4-013", "S4-014", "S4-015", "S4-016", "S4-017",
    "S4-018", "S4-019", "S4-020", "S4-021", "S4-022", "S4-023", "SHERRINGTON-FX", "EX-CTX-12", "EX-P1NP-12",
    "S4-101-S4-102", "S4-103-S4-104", "S4-105-S4-106", "S4-107-S4-108", "S4-026", "S4-027", "S4-028", "S4-029",
    "S4-030", "S4-031", "S4-032", "S4-033", "S4-034", "S4-035", "S4-039", "S4-040", "S4-041", "S4-042", "S4-043",
    "S4-044", "S4-045", "S4-047", "S4-048", "S5-001", "S5-002", "S5-003", "S5-004", "S5-005", "S5-006", "S5-007",
    "S5-008", "S5-009", "S5-024", "S5-025", "S5-026", "S5-027", "S5-029", "S5-030", "S5-031", "S5-032", "S5-033",
    "S5-034", "S5-035", "S5-036", "S5-037", "S5-038", "S5-039", "S5-040", "S5-041",
)


def test_the_suite_evaluates_exactly_these_rows(results):
    assert tuple(results) == ROW_IDS


@pytest.mark.parametrize("row_id", [pytest.param(r, marks=pytest.mark.xfail(reason=KNOWN_MISSES[r], strict=True))
                                    if r in KNOWN_MISSES else r for r in ROW_IDS])
def test_row_within_its_tolerance(results, row_id):
    result = results[row_id]
    assert result.tolerance == pytest.approx(suite.tolerance(row_id))
    assert result.within_tolerance, (result.model, result.target, result.tolerance)
