"""Virtual patients with known parameters, for validating the personal fit (scripts/personal_twin_validation.py,
tests/twin/): a woman starting anastrozole at her first scan, her true turnover scales, and her DXA scans
simulated by the engine with the measurement error of a Hologic device (monitoring.DEFAULT_CV_PCT: lumbar
spine 1.08%, total hip 1.3%, Hologic white paper), log-normal as in fit.py's likelihood; optionally her serum
CTX and P1NP at given months, the engine's relative change times her own level with the markers'
within-subject variability (markers.py MARKER_ERROR), log-normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from osteotwin.clinic.monitoring import DEFAULT_CV_PCT
from osteotwin.clinic.record import LAB_UNITS, PatientRecord
from osteotwin.physiology import bone
from osteotwin.physiology.parameters import registry
from osteotwin.physiology.solve import DAYS_PER_MONTH
from osteotwin.twin.personal.fit import history_scenario, relative_at
from osteotwin.twin.personal.inputs import SITES, personal_inputs
from osteotwin.twin.personal.markers import MARKER_ERROR, MARKER_FIELD
from osteotwin.twin.simulation import simulate_batch

FIRST_SCAN = date(2023, 1, 10)  # any date; ours
#: Her untreated marker levels: inside the postmenopausal reference intervals (CTX 104-1008 ng/L, P1NP 16-96 ug/L,
#: records/limits.py); any level gives the same fit, which reads only her change (ours).
MARKER_LEVEL = {"ctx": 400.0, "p1np": 50.0}


@dataclass(frozen=True)
class VirtualPatient:
    record: PatientRecord
    truth: dict[str, float]
    true_bmd_pct_change_from_latest: dict[str, np.ndarray]  # month 0..months after the latest scan, noise-free


def virtual_patient(truth: dict[str, float], scan_months: tuple[float, ...], rng: np.random.Generator,
                    months_after: int = 60, age_years: float = 64.0, t_scores: tuple[float, float] = (-1.2, -0.9),
                    marker_months: tuple[float, ...] = ()) -> VirtualPatient:
    """Her record (scans at ``scan_months`` from the first, CTX and P1NP at ``marker_months``, with noise) and her
    true course after the latest scan."""
    table = registry()
    dates = [FIRST_SCAN + timedelta(days=round(m * DAYS_PER_MONTH)) for m in scan_months]
    baseline = {site: float(bone.bmd_from_t_score(t, i, table)) for i, (site, t) in enumerate(zip(SITES, t_scores, strict=True))}
    skeleton = {
        "patient": {"age_years": age_years, "years_since_menopause": age_years - 52.0, "weight_kg": 66, "height_cm": 162},
        "dxa": [{"date": d.isoformat(), "site": site, "bmd_g_cm2": baseline[site], "t_score": t, "device": "hologic"}
                for d in dates for site, t in zip(SITES, t_scores, strict=True)],
        "medications": [{"drug": "anastrozole", "start_date": FIRST_SCAN.isoformat()}],
    }
    inputs = personal_inputs(PatientRecord.model_validate(skeleton))
    start = int(round(inputs.latest_month))
    horizon = int(np.ceil(max(inputs.latest_month, *marker_months, 0.0))) + months_after
    batch = simulate_batch([history_scenario(inputs, horizon, truth)])
    dxa = []
    truth_after: dict[str, np.ndarray] = {}
    for index, site in enumerate(SITES):
        series = batch.series(f"{site}_bmd_pct_change")
        relative = relative_at(series, inputs.sites[site].months)[0]
        cv = DEFAULT_CV_PCT[site]["hologic"] / 100.0
        measured = baseline[site] * relative * np.exp(rng.standard_normal(relative.size) * cv)
        for d, value in zip(dates, measured, strict=True):
            dxa.append({"date": d.isoformat(), "site": site, "bmd_g_cm2": round(float(value), 4),
                        "t_score": round(float(bone.t_score(value, index, table)), 2), "device": "hologic"})
        r = 1.0 + series[0, start:start + months_after + 1] / 100.0
        truth_after[site] = 100.0 * (r / r[0] - 1.0)
    labs = []
    marker_dates = [FIRST_SCAN + timedelta(days=round(m * DAYS_PER_MONTH)) for m in marker_months]
    for test, field in MARKER_FIELD.items():
        if not marker_months:
            break
        relative = relative_at(batch.series(field), np.array([(d - FIRST_SCAN).days / DAYS_PER_MONTH for d in marker_dates]))[0]
        measured = MARKER_LEVEL[test] * relative * np.exp(rng.standard_normal(relative.size) * MARKER_ERROR[test].cv_pct / 100.0)
        labs += [{"date": d.isoformat(), "test": test, "value": round(float(v), 1), "unit": LAB_UNITS[test][0]}
                 for d, v in zip(marker_dates, measured, strict=True)]
    record = PatientRecord.model_validate({**skeleton, "dxa": dxa, "labs": labs})
    return VirtualPatient(record, dict(truth), truth_after)


__all__ = ["VirtualPatient", "virtual_patient"]
