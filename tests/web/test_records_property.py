"""Property: any sequence of writes through the JSON API (DXA, labs, medications, exercise and food,
with edge values, edits and deletes) is either refused (422) or accepted, never a server error, and
leaves the overview, assessment, plan and FHIR export answering 200 (issue 16, item 4)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.web.conftest import add_patient

from osteotwin.web.compute import ComputeLimiter

TODAY = dt.date.today()
DATES = [TODAY - dt.timedelta(days=days) for days in (0, 1, 200, 400)] + [dt.date(1960, 2, 1), dt.date(1959, 12, 1),
                                                                          TODAY + dt.timedelta(days=2)]
dates = st.sampled_from(DATES).map(dt.date.isoformat)


def _optional(values: list) -> st.SearchStrategy:
    return st.one_of(st.none(), st.sampled_from(values))


dxa = st.fixed_dictionaries({
    "date": dates, "site": st.sampled_from(["lumbar_spine", "total_hip", "femoral_neck"]),
    "bmd_g_cm2": st.sampled_from([0.2, 0.25, 0.4, 0.62, 0.919, 1.6, 2.0, 2.5]),
    "t_score": st.sampled_from([-7.0, -3.4, -2.5, -1.3, 0.0, 1.3, 5.5, 7.0]),
    "device": st.sampled_from(["hologic", "ge_lunar", "other", "unknown"]),
}, optional={"z_score": st.sampled_from([-7.0, -2.1, 0.0, 7.0])})
lab = st.fixed_dictionaries({
    "date": dates, "test": st.sampled_from(["vitamin_d_25_oh", "creatinine_clearance", "calcium", "albumin"]),
    "value": st.sampled_from([0.0, 0.5, 1.0, 2.4, 18.0, 100.0, 240.0, 300.0, 301.0]),
})
medication = st.fixed_dictionaries({
    "drug": st.sampled_from(["anastrozole", "letrozole", "tamoxifen", "denosumab", "zoledronic_acid", "alendronate",
                             "warfarin"]),
    "start_date": dates,
}, optional={"stop_date": dates, "dose_mg": st.sampled_from([1.0, 2.5, 4.0, 5.0, 60.0, 70.0, 600.0]),
             "every_months": st.sampled_from([6.0, 12.0])})
exercise = st.fixed_dictionaries({
    "date": dates, "exercise": st.sampled_from(["goblet_squat", "deadlift", "brisk_walking"]),
}, optional={"minutes": st.sampled_from([0.0, 30.0, 600.0]), "sets": st.integers(1, 20), "reps": st.integers(1, 200),
             "load_kg": st.sampled_from([0.0, 20.0, 30.0, 200.0, 275.0])})
food = st.fixed_dictionaries({"date": dates, "food_id": st.sampled_from(["01117", "11233", "09210"]),
                              "grams": st.sampled_from([1.0, 150.0, 3000.0])})
BODIES = {"dxa": dxa, "labs": lab, "medications": medication, "exercise-log": exercise, "food-log": food}
operation = st.one_of(*[st.tuples(st.just("post"), st.just(kind), body, st.just(0)) for kind, body in BODIES.items()],
                      *[st.tuples(st.just("put"), st.just(kind), body, st.integers(0, 5)) for kind, body in BODIES.items()],
                      st.tuples(st.just("delete"), st.sampled_from(list(BODIES)), st.none(), st.integers(0, 5)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=8))
@example(operations=[("post", "labs", {"date": TODAY.isoformat(), "test": "albumin", "value": 18.0}, 0)])  # found by this test
def test_any_sequence_of_writes_leaves_the_record_readable(app, client, database, clinician, operations):
    app.state.compute_limiter = ComputeLimiter(burst=10_000, per_minute=10_000)  # the test reads many times a minute
    client.cookies.update(clinician.cookies())
    headers = {"X-CSRF-Token": clinician.csrf_token}
    patient_id = add_patient(database, clinician)  # born 1960-02-01, two scans, a lab, anastrozole
    stored: dict[str, list[int]] = {kind: [] for kind in BODIES}
    for method, kind, body, pick in operations:
        url = f"/api/v1/patients/{patient_id}/{kind}"
        if method == "post":
            response = client.post(url, json=body, headers=headers)
            if response.status_code == 201:
                stored[kind].append(response.json()["id"])
        elif not stored[kind]:
            continue
        elif method == "put":
            response = client.put(f"{url}/{stored[kind][pick % len(stored[kind])]}", json=body, headers=headers)
        else:
            entry = stored[kind].pop(pick % len(stored[kind]))
            response = client.delete(f"{url}/{entry}", headers=headers)
        assert response.status_code in (200, 201, 204, 422), (method, kind, body, response.text[:300])
        if response.status_code == 422:
            assert response.json()["detail"][0]["loc"][-1] in (*body, "body"), response.text[:300]
    for path in (f"/patients/{patient_id}", f"/api/v1/patients/{patient_id}/assessment",
                 f"/api/v1/patients/{patient_id}/plan", f"/api/v1/patients/{patient_id}/fhir"):
        response = client.get(path)
        assert response.status_code == 200, (path, operations, response.text[:300])
