"""Her bone turnover markers in the personal fit: serum beta-CTX and P1NP as her change from her own values.

The engine gives each marker relative to the untreated state (``ctx_pct_change``, ``p1np_pct_change``,
twin/simulation.py: the mean of the two sites' resorption or formation). Her absolute level depends on the assay
and on her (between-women CV of about 40%), so only her change is fitted: her k-th value is
y_k = A * r_k(theta) * exp(e_k), e_k ~ N(0, s^2), with A her unknown level and r_k = 1 + pct_k / 100. With a
flat prior on log A, A integrates out as her true baseline BMD does for the scans (fit.py): what is left compares
log(y_k / y_1) with log(r_k / r_1), the change from her first value against the model's change, with the first
value's own error counted. One value says nothing about change: a marker is fitted only with two or more values.

s is the marker's within-subject variability, analytical and biological together, from the critical difference
CD between two successive values: CD = 1.96 * sqrt(2) * CV = 2.77 * CV, and on the log scale a CV of c% is an
SD of about c/100 (as for the DXA precision, inputs.py):

- P1NP: CD 38% (within-subject CV 12.4% plus the assay's, 27 healthy pre- and postmenopausal women sampled 7
  times over 4-6 months; "Critical differences in the serial measurement of three biochemical markers of bone
  turnover in the sera of pre- and postmenopausal women", 2001, abstract read [S]) -> CV 13.7%.
- CTX: the least significant change of 30% of the Belgian Bone Club consensus on bone turnover markers for
  monitoring (the 30% read in its abstract [S]; Bergmann P et al., Int J Clin Pract 2009;63:19-26 [R]; serum CTX
  fasting, in the morning, as
  the IOF-IFCC reference marker, Vasikaran S et al., Osteoporos Int 2011;22:391-420 [R]) -> CV 10.8%.
  Reports of serum CTX variability range more widely (daily amplitudes up to 66% in non-fasting samples: Seibel MJ,
  Clin Biochem Rev 2005;26:97-122 [S]): a value not drawn fasting in the morning fits less well than this assumes.

Values dated before her first scan (the simulation starts there) and values reported as a limit ("<10") are left
out with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from osteotwin.clinic.record import LAB_UNITS, PatientRecord
from osteotwin.physiology.solve import DAYS_PER_MONTH

#: Two values differing by CD are different at 95%: CD = 1.96 * sqrt(2) * CV (the reference change value of
#: Fraser CG, Biological variation: from principles to practice, AACC Press 2001 [R]).
CRITICAL_DIFFERENCE_FACTOR = 1.96 * np.sqrt(2.0)


@dataclass(frozen=True)
class MarkerError:
    """A marker's within-subject variability: the critical difference it comes from, its source and evidence tag."""

    critical_difference_pct: float
    source: str
    evidence: str

    @property
    def cv_pct(self) -> float:
        return self.critical_difference_pct / CRITICAL_DIFFERENCE_FACTOR


MARKER_ERROR: dict[str, MarkerError] = {
    "ctx": MarkerError(30.0, "least significant change 30% (Bergmann et al., Int J Clin Pract 2009;63:19)", "S"),
    "p1np": MarkerError(38.0, "critical difference 38% (serial P1NP in pre- and postmenopausal women, 2001)", "S"),
}
#: The engine's Trajectory field of each marker (relative to the untreated state, %).
MARKER_FIELD: dict[str, str] = {"ctx": "ctx_pct_change", "p1np": "p1np_pct_change"}
MARKER_LABEL: dict[str, str] = {"ctx": "CTX", "p1np": "P1NP"}


@dataclass(frozen=True)
class MarkerSeries:
    """One marker's usable values: months from her first scan, values in the record's standard unit, log-scale SD."""

    test: str
    dates: tuple[date, ...]
    months: np.ndarray
    values: np.ndarray
    unit: str
    log_sd: float

    @property
    def field(self) -> str:
        return MARKER_FIELD[self.test]


def marker_series(record: PatientRecord, first: date, notes: list[str]) -> dict[str, MarkerSeries]:
    """Her CTX and P1NP series with two or more usable values (notes say what was left out and why)."""
    series: dict[str, MarkerSeries] = {}
    for test, error in MARKER_ERROR.items():
        labs = sorted((lab for lab in record.labs if lab.test == test), key=lambda lab: lab.date)
        if not labs:
            continue
        label = MARKER_LABEL[test]
        limits = [lab for lab in labs if lab.comparator is not None]
        early = [lab for lab in labs if lab.comparator is None and lab.date < first]
        usable = [lab for lab in labs if lab.comparator is None and lab.date >= first]
        if limits:
            notes.append(f"{label}: {len(limits)} value(s) reported as a limit (e.g. '<10') left out of the fit")
        if early:
            notes.append(f"{label}: {len(early)} value(s) before her first scan ({first}) left out (the simulation "
                         "starts at the first scan)")
        if len(usable) < 2:
            notes.append(f"{label}: {len(usable)} usable value(s); one value says nothing about her change, so "
                         f"{label} is not fitted (a second value, fasting and in the morning, is needed)")
            continue
        series[test] = MarkerSeries(
            test=test, dates=tuple(lab.date for lab in usable),
            months=np.array([(lab.date - first).days / DAYS_PER_MONTH for lab in usable]),
            values=np.array([lab.value_in_standard_unit() for lab in usable], dtype=float),
            unit=LAB_UNITS[test][0], log_sd=error.cv_pct / 100.0)
        notes.append(f"{label}: {len(usable)} values fitted as her change from her first value, {usable[0].date} "
                     f"(within-subject CV {error.cv_pct:.1f}%: {error.source} [{error.evidence}])")
    return series


__all__ = ["MARKER_ERROR", "MARKER_FIELD", "MARKER_LABEL", "MarkerError", "MarkerSeries", "marker_series"]
