"""An exercise programme with a start and a stop month (issue 13: detraining must be expressible).

The Scenario's Exercise block takes ``start_month`` and ``stop_month``; bad windows are refused naming the field, the
value and what is allowed (exit 2 from ``osteotwin simulate``, nothing written); the engine loads the sites only
inside the window and counts osteocyte accommodation from the programme's start.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pydantic import ValidationError

from osteotwin import simulate_batch
from osteotwin.cli import main
from osteotwin.population.calibration import lifestyle as suite
from osteotwin.scenario import Scenario, format_validation_error
from osteotwin.twin.lifestyle_inputs import lifestyle_inputs

PROGRAMME = suite.EFOPS_PROGRAMME
SITE_FIELDS = ("lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change")


def _scenario(months: float = 36, **exercise) -> dict:
    return {"patient": suite.LIFTMOR_PATIENT, "months": months, "exercise": {**PROGRAMME, **exercise}}


@pytest.mark.parametrize(
    ("exercise", "months", "message"),
    [
        ({"start_month": 12, "stop_month": 6}, 36, "exercise: stop_month = 6: must be after start_month = 12"),
        ({"start_month": 12, "stop_month": 12}, 36, "exercise: stop_month = 12: must be after start_month = 12"),
        ({"stop_month": 48}, 36, "exercise.stop_month = 48: must be at most the horizon months = 36"),
        ({"start_month": 36}, 36, "exercise.start_month = 36: must be before the horizon months = 36"),
    ],
)
def test_a_bad_window_is_refused_naming_the_field_value_and_allowed(exercise, months, message):
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(_scenario(months, **exercise))
    assert format_validation_error(caught.value) == message


@pytest.mark.parametrize(("field", "value"), [("start_month", -1), ("stop_month", -3)])
def test_a_negative_month_is_refused(field, value):
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(_scenario(**{field: value}))
    assert f"exercise.{field} = {value}" in format_validation_error(caught.value)


def test_simulate_refuses_a_stop_after_the_horizon_with_exit_2_and_one_line(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(_scenario(36, stop_month=40)), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["simulate", str(path), "--json"])
    assert code == 2
    assert out.getvalue() == ""
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "exercise.stop_month = 40" in lines[0] and "Traceback" not in err.getvalue()


def test_the_window_reaches_the_inputs():
    inputs = lifestyle_inputs([Scenario.model_validate(_scenario(start_month=3, stop_month=20)),
                               Scenario.model_validate(_scenario())])
    np.testing.assert_array_equal(inputs.exercise_start_month, [3.0, 0.0])
    np.testing.assert_array_equal(inputs.exercise_stop_month, [20.0, np.inf])


def test_nothing_changes_before_the_start_and_a_late_start_is_the_same_course_shifted():
    """Before start_month the woman is untrained; from it the gain over her untrained course follows the same path as a
    programme started at month 0 (accommodation counts from the programme's start), up to her ageing in between."""
    control, late, early = simulate_batch([Scenario.model_validate({"patient": suite.LIFTMOR_PATIENT, "months": 36}),
                                           Scenario.model_validate(_scenario(start_month=12)),
                                           Scenario.model_validate(_scenario())])
    for field in SITE_FIELDS:
        c, lt, e = (np.asarray(getattr(t, field)) for t in (control, late, early))
        np.testing.assert_allclose(lt[:13], c[:13], atol=1e-9)
        late_gain, early_gain = lt[12 + 12] - c[12 + 12], e[12] - c[12]
        assert late_gain == pytest.approx(early_gain, rel=0.1), (field, late_gain, early_gain)


def test_until_the_stop_the_course_is_that_of_the_continued_programme():
    stopped, continued = simulate_batch([Scenario.model_validate(_scenario(stop_month=18)),
                                         Scenario.model_validate(_scenario())])
    for field in SITE_FIELDS:
        np.testing.assert_allclose(np.asarray(getattr(stopped, field))[:19], np.asarray(getattr(continued, field))[:19],
                                   atol=1e-9)


def test_a_window_warns_that_muscle_and_falls_ignore_it():
    from osteotwin.scenario import scenario_warnings

    warnings = scenario_warnings(Scenario.model_validate(_scenario(stop_month=18)))
    assert any(w.startswith("exercise: months 0-18 act on bone") for w in warnings), warnings
    assert not any(w.startswith("exercise:") for w in scenario_warnings(Scenario.model_validate(_scenario())))
