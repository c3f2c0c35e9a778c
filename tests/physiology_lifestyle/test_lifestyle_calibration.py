"""Each row of the lifestyle calibration suite within its stated tolerance (issue 13: the row's own tolerance,
lifestyle.tolerance: half its 95% CI, else 30% of the target). A row the model misses is a strict xfail with its
reason here and in the report (docs/physiology_lifestyle.md); it never passes on a bound chosen from today's error."""

from __future__ import annotations

import pytest

from osteotwin.population.calibration import lifestyle as suite

# Misses and why: the suite's KNOWN_MISSES (shown beside each row in docs/calibration.md). Strict: a row that starts to
# pass fails here until it is taken off the list.
KNOWN_MISSES = suite.KNOWN_MISSES


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
