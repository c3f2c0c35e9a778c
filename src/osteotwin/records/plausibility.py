"""Cross-field plausibility of a record entry against the rest of the patient's record.

Each ``check_*`` function takes the stored patient, the validated entry (``osteotwin.records.schemas``)
and, for an edit, the id of the row it replaces; it raises :class:`~osteotwin.errors.InputError`
(naming the field, the value and what is allowed) for an impossible entry and returns the warnings
of an unusual but possible one. Every number comes from ``osteotwin.records.limits`` (one table,
with sources). The same checks run on a stored row (``records.patients.entry_warnings``), so the overview can show
the warnings of each stored entry next to it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from osteotwin.catalog import BISPHOSPHONATES, DAYS_PER_YEAR, ENDOCRINE_DRUGS
from osteotwin.errors import InputError
from osteotwin.records import limits
from osteotwin.records.models import Patient


class _Dated(Protocol):
    date: dt.date


def bound_warnings(key: str, value: float | None, field: str) -> list[str]:
    """The warning of a value outside the warning bounds of ``limits.LIMITS[key]`` (the refusal bounds
    are enforced by the input models)."""
    limit = limits.LIMITS[key]
    if value is None:
        return []
    if limit.refuse_below is not None and value < limit.refuse_below or (
            limit.refuse_above is not None and value > limit.refuse_above):
        raise InputError(field, value, f"{limit.refuse_below:g} to {limit.refuse_above:g} {limit.unit}")
    if limit.warn_below is not None and value < limit.warn_below:
        return [f"{field} = {value:g} {limit.unit} is below {limit.warn_below:g} {limit.unit}: unusual, please check "
                f"({limit.cite}; docs/records.md)"]
    if limit.warn_above is not None and value > limit.warn_above:
        return [f"{field} = {value:g} {limit.unit} is above {limit.warn_above:g} {limit.unit}: unusual, please check "
                f"({limit.cite}; docs/records.md)"]
    return []


def _others(rows: list[Any], row_id: int | None) -> list[Any]:
    """The stored rows other than the one being edited (rows not yet flushed have no id and count)."""
    return [row for row in rows if row_id is None or row.id != row_id]


def _after_birth(patient: Patient, day: dt.date, field: str) -> None:
    if day < patient.birth_date:
        raise InputError(field, day.isoformat(), f"on or after her birth date ({patient.birth_date.isoformat()})")


def _not_future(day: dt.date | None, field: str) -> None:
    if day is not None and day > dt.date.today():
        raise InputError(field, day.isoformat(), f"today ({dt.date.today().isoformat()}) or earlier")


# --- DXA ------------------------------------------------------------------------------------------

def _reference_g_cm2(site: str) -> tuple[float, float]:
    """Young-adult female reference mean and SD (g/cm2, Hologic/NHANES scale) of a DXA site: the engine's
    (docs/parameters.md) for the spine and hip, NHANES III for the femoral neck."""
    if site == "femoral_neck":
        return limits.FEMORAL_NECK_REFERENCE_G_CM2
    from osteotwin.physiology.parameters import registry

    params = registry()
    return params.value(f"{site}_reference_mean_g_cm2"), params.value(f"{site}_reference_sd_g_cm2")


def implied_t_score(site: str, device: str, bmd_g_cm2: float) -> float:
    """The T-score a BMD implies on the young-adult reference, converted to the device's scale."""
    mean, sd = _reference_g_cm2(site)
    scale = limits.DEVICE_SCALE.get(site, {}).get(device, 1.0)
    return (bmd_g_cm2 / scale - mean) / sd


def derived_z_score(site: str, t_score: float, age_years: float) -> float | None:
    """Z = T - mean T of women of that age (osteotwin.physiology.fracture.expected_t_score, NHANES means);
    ``None`` for the femoral neck (no age table)."""
    if site not in ("lumbar_spine", "total_hip"):
        return None
    from osteotwin.physiology.fracture import expected_t_score

    mean, sd = _reference_g_cm2(site)
    expected = float(expected_t_score(age_years, 0 if site == "lumbar_spine" else 1, mean, sd))
    return round(t_score - expected, 1)


def check_dxa(patient: Patient, data: Any, row_id: int | None = None) -> list[str]:
    """Refuse a scan in the future or before birth, a second result for the same site and date, and a
    T-score that contradicts the BMD (sign flips included); warn on unusual values."""
    _not_future(data.date, "date")
    _after_birth(patient, data.date, "date")
    for row in _others(patient.dxa_results, row_id):
        if row.date == data.date and row.site == data.site:
            raise InputError("date", data.date.isoformat(), (
                f"one result per site and date: {data.site.replace('_', ' ')} on {data.date.isoformat()} is "
                f"already stored (entry {row.id}: BMD {row.bmd_g_cm2:g} g/cm2, T-score {row.t_score:g}); "
                "edit or delete that entry instead"))
    warnings = bound_warnings("dxa.bmd_g_cm2", data.bmd_g_cm2, "bmd_g_cm2")
    warnings += bound_warnings("dxa.t_score", data.t_score, "t_score")
    warnings += bound_warnings("dxa.z_score", getattr(data, "z_score", None), "z_score")
    implied = implied_t_score(data.site, data.device, data.bmd_g_cm2)
    gap = abs(data.t_score - implied)
    if gap > limits.T_SCORE_MISMATCH_REFUSE_SD:
        flipped = abs(-data.t_score - implied) <= limits.T_SCORE_MISMATCH_WARN_SD and data.t_score != 0
        hint = f"; did you mean {-data.t_score:+.1f}?" if flipped else ""
        raise InputError("t_score", data.t_score, (
            f"a T-score near {implied:+.1f}, which a BMD of {data.bmd_g_cm2:g} g/cm2 implies at the "
            f"{data.site.replace('_', ' ')} ({data.device} reference; refused when they differ by more than "
            f"{limits.T_SCORE_MISMATCH_REFUSE_SD:g} SD){hint}"))
    if gap > limits.T_SCORE_MISMATCH_WARN_SD:
        warnings.append(f"t_score = {data.t_score:g} differs by {gap:.1f} SD from the {implied:+.1f} that BMD "
                        f"{data.bmd_g_cm2:g} g/cm2 implies on the reference; check the report "
                        f"({limits.T_SCORE_MISMATCH_CITE}; docs/records.md)")
    z_score = getattr(data, "z_score", None)
    if z_score is not None and z_score < data.t_score - 0.5 and (data.date - patient.birth_date).days > 50 * DAYS_PER_YEAR:
        warnings.append(f"z_score = {z_score:g} is below the T-score {data.t_score:g}: after 50 the Z-score is "
                        "usually above the T-score (the age-matched mean is lower than the young-adult mean)")
    return warnings


# --- labs -----------------------------------------------------------------------------------------

def check_lab(patient: Patient, data: Any, row_id: int | None = None) -> list[str]:
    """Refuse a second value of the same test on the same date and a date before birth; warn on
    unusual values (25(OH)D above 100 ng/mL)."""
    _not_future(data.date, "date")
    _after_birth(patient, data.date, "date")
    for row in _others(patient.labs, row_id):
        if row.date == data.date and row.test == data.test:
            raise InputError("date", data.date.isoformat(), (
                f"one value per test and date: {data.test.replace('_', ' ')} on {data.date.isoformat()} is already "
                f"stored (entry {row.id}: {row.value:g} {row.unit}); edit or delete that entry instead"))
    return bound_warnings(f"labs.{data.test}", data.value, "value")


# --- medications ----------------------------------------------------------------------------------

ANTIRESORPTIVES = ("denosumab", *BISPHOSPHONATES, "clodronate")


def _course(drug: str, start: dt.date, stop: dt.date | None, every_months: float | None,
            every_days: float | None) -> tuple[dt.date, dt.date]:
    """The dates a course covers: to its stop date; ongoing when open (a single dose of a bone agent
    without an interval covers its day only)."""
    if stop is not None:
        return start, stop
    if drug in ANTIRESORPTIVES and not every_months and not every_days:
        return start, start
    return start, dt.date.max


def label_dose_text(drug: str) -> tuple[list[float], str] | None:
    """The labelled doses of a drug (mg) and their description, or ``None`` for a drug without one here."""
    if drug in limits.ENDOCRINE_LABEL_DOSES_MG:
        dose, source = limits.ENDOCRINE_LABEL_DOSES_MG[drug]
        return [dose], f"{dose:g} mg ({source})"
    from osteotwin.physiology.drugs import LABEL_DOSES

    if drug in LABEL_DOSES:
        labels = LABEL_DOSES[drug]
        return ([label.dose_mg for label in labels],
                "; ".join(f"{label.dose_mg:g} mg {label.route} every {label.interval_days:g} days ({label.indication}; "
                          f"{label.source})" for label in labels))
    return None


def check_medication(patient: Patient, data: Any, row_id: int | None = None) -> list[str]:
    """Refuse a dose far from the label, a course overlapping the same drug, and two antiresorptives
    at once; warn on a dose that is not a labelled one."""
    _not_future(data.start_date, "start_date")
    _after_birth(patient, data.start_date, "start_date")
    warnings: list[str] = []
    label = label_dose_text(data.drug)
    if data.dose_mg is not None and label is not None:
        doses, text = label
        low, high = limits.DOSE_WARN_BELOW_FACTOR * min(doses), limits.DOSE_REFUSE_ABOVE_FACTOR * max(doses)
        if not low <= data.dose_mg <= high:
            raise InputError("dose_mg", data.dose_mg, f"the label dose of {data.drug.replace('_', ' ')}: {text}")
        if not any(abs(data.dose_mg - dose) < 1e-9 for dose in doses):
            warnings.append(f"dose_mg = {data.dose_mg:g} mg is not a labelled dose of {data.drug.replace('_', ' ')} "
                            f"({text}); please check")
    start, stop = _course(data.drug, data.start_date, data.stop_date, data.every_months, data.every_days)
    for row in _others(patient.medications, row_id):
        other_start, other_stop = _course(row.drug, row.start_date, row.stop_date, row.every_months, row.every_days)
        if other_start > stop or start > other_stop:
            continue
        existing = (f"entry {row.id}: {row.drug.replace('_', ' ')} from {row.start_date.isoformat()} "
                    f"{'to ' + row.stop_date.isoformat() if row.stop_date else '(ongoing)'}")
        if row.drug == data.drug:
            raise InputError("start_date", data.start_date.isoformat(), (
                f"a course that does not overlap the stored {existing}; edit that course instead"))
        if data.drug in ANTIRESORPTIVES and row.drug in ANTIRESORPTIVES:
            raise InputError("drug", data.drug, (
                f"one antiresorptive at a time: {existing} overlaps; give that course a stop date first "
                "(ours [A]; docs/records.md)"))
        if data.drug in ENDOCRINE_DRUGS and row.drug in ENDOCRINE_DRUGS:
            warnings.append(f"drug = {data.drug}: overlaps the stored {existing}; two endocrine therapies at once "
                            "are unusual (a switch needs a stop date on the earlier course)")
    return warnings


# --- patient logs ---------------------------------------------------------------------------------

def check_exercise(patient: Patient, data: Any, row_id: int | None = None) -> list[str]:
    """Warn on long sessions, heavy loads and a load more than 20% above the last logged load of the
    same exercise; refuse impossible loads (limits table)."""
    _not_future(data.date, "date")
    _after_birth(patient, data.date, "date")
    warnings = bound_warnings("exercise.minutes", data.minutes, "minutes")
    warnings += bound_warnings("exercise.load_kg", data.load_kg, "load_kg")
    if data.load_kg:
        earlier = [row for row in _others(patient.exercise_log, row_id) if row.exercise == data.exercise
                   and row.load_kg and (row.date, row.id or 0) < (data.date, row_id or 1 << 62)]
        if earlier:
            last = max(earlier, key=lambda row: (row.date, row.id or 0)).load_kg
            if data.load_kg > last * (1 + limits.LOAD_JUMP_WARN_FRACTION):
                warnings.append(f"load_kg = {data.load_kg:g} kg is {100 * (data.load_kg / last - 1):.0f}% above the last "
                                f"logged {last:g} kg for this exercise ({limits.LOAD_JUMP_CITE}; docs/records.md)")
    return warnings


def check_food(patient: Patient, data: Any, row_id: int | None = None) -> list[str]:
    """Refuse a date before birth or in the future; warn on large portions."""
    _not_future(data.date, "date")
    _after_birth(patient, data.date, "date")
    return bound_warnings("food.grams", data.grams, "grams")
