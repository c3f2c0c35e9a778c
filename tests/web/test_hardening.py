"""Issue 17 (hardening): inputs that used to answer 500, error bodies in the documented shape and
without the whole input, request size limits, strict numbers, and logs without personal data."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import text
from tests.web.conftest import add_patient, make_account

from osteotwin.web import api as api_module

SCENARIO = {"patient": {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162},
            "months": 24, "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0, "stop_month": 24}]}


def _signed_in(client, account) -> dict[str, str]:  # noqa: ANN001
    client.cookies.update(account.cookies())
    return {"X-CSRF-Token": account.csrf_token}


def _is_documented_422(response) -> bool:  # noqa: ANN001
    body = response.json()
    return (response.status_code == 422 and isinstance(body["detail"], list) and body["detail"]
            and all(isinstance(e["loc"], list) and isinstance(e["msg"], str) and isinstance(e["type"], str)
                    for e in body["detail"]))


@pytest.mark.parametrize("query", ["%", "%%", "_", "***", "   -  ", "'\"", "é", "²", "ß", "١"])
def test_food_search_without_letters_or_digits_is_refused_not_a_crash(client, database, clinician, query):
    _signed_in(client, clinician)
    response = client.get("/api/v1/foods/search", params={"q": query})
    assert _is_documented_422(response), response.text
    assert "letter a-z or digit" in response.json()["detail"][0]["msg"]
    patient = make_account(database, "patient", patient_of=clinician)
    client.cookies.update(patient.cookies())
    assert client.get("/me", params={"q": query}).status_code == 200  # the page shows no results


@pytest.mark.parametrize("bad_id", [str(2**31), str(2**63), str(2**64 + 5), "99999999999999999999999999"])
def test_ids_beyond_the_database_range_answer_422(client, database, clinician, bad_id):
    headers = _signed_in(client, clinician)
    for path in (f"/api/v1/patients/{bad_id}", f"/api/v1/patients/{bad_id}/assessment",
                 f"/api/v1/patients/{bad_id}/projection", f"/patients/{bad_id}"):
        response = client.get(path)
        assert response.status_code == 422, (path, response.status_code)
    response = client.post(f"/api/v1/patients/{bad_id}/labs", headers=headers,
                           json={"date": "2025-01-01", "test": "calcium", "value": 2.3})
    assert _is_documented_422(response)
    # a record number search beyond 32 bits is a name search, not a crash
    assert client.get("/api/v1/patients", params={"q": "9" * 30}).json() == []
    assert client.get("/patients", params={"q": "²³"}).status_code == 200


def test_a_fhir_context_observation_whose_value_string_is_not_json_is_refused(client, database, clinician):
    patient_id = add_patient(database, clinician)
    headers = _signed_in(client, clinician)
    bundle = client.get(f"/api/v1/patients/{patient_id}/fhir").json()
    contexts = [e for e in bundle["entry"] if "valueString" in e["resource"]]
    assert contexts, "the exported bundle carries its context Observation"
    contexts[0]["resource"]["valueString"] = "{not json"
    response = client.post("/api/v1/fhir/import", headers=headers, json=bundle)
    assert _is_documented_422(response), response.text
    assert "valueString" in response.json()["detail"][0]["msg"]  # names the field that cannot be read
    bad_birth = json.loads(json.dumps(bundle))
    contexts = [e for e in bad_birth["entry"] if "valueString" in e["resource"]]
    contexts[0]["resource"]["valueString"] = "{}"
    for entry in bad_birth["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["birthDate"] = "1960-13-45"
    assert client.post("/api/v1/fhir/import", headers=headers, json=bad_birth).status_code == 422


def test_every_422_has_the_documented_array_shape(client, database, clinician):
    patient_id = add_patient(database, clinician)
    headers = _signed_in(client, clinician)
    cases = [
        client.post("/api/v1/simulate", json={**SCENARIO, "months": 600}),  # pydantic bound (WebScenario)
        client.post("/api/v1/simulate", json={**SCENARIO, "bone_agents": [  # InputError from the work check
            {"drug": "alendronate", "dose_mg": 70, "every_days": 0.01}]}),
        client.post(f"/api/v1/patients/{patient_id}/dxa", headers=headers,  # model validator
                    json={"date": "2025-02-01", "site": "total_hip", "bmd_g_cm2": 0.7, "t_score": -20}),
        client.get(f"/api/v1/patients/{patient_id}/projection?regimens=bogus"),  # InputError on a query
        client.post("/api/v1/assess", json={"patient": {"age_years": "old"}}),  # ValidationError in a handler
        client.post("/api/v1/simulate", content=b"{not json", headers={"content-type": "application/json"}),
    ]
    for response in cases:
        assert _is_documented_422(response), response.text


def test_booleans_are_not_numbers(client, database, clinician):
    patient_id = add_patient(database, clinician)
    headers = _signed_in(client, clinician)
    dxa = {"date": "2025-02-01", "site": "total_hip", "bmd_g_cm2": 0.7, "t_score": False}
    response = client.post(f"/api/v1/patients/{patient_id}/dxa", headers=headers, json=dxa)
    assert _is_documented_422(response) and "t_score" in json.dumps(response.json())
    assert client.post(f"/api/v1/patients/{patient_id}/dxa", headers=headers,
                       json={**dxa, "t_score": "-1.0"}).status_code == 422  # strings are not numbers in JSON
    assert client.post(f"/api/v1/patients/{patient_id}/dxa", headers=headers,
                       json={**dxa, "t_score": -1}).status_code == 201  # an integer is a number
    simulate = client.post("/api/v1/simulate", json={**SCENARIO, "patient": {**SCENARIO["patient"],
                                                                             "lumbar_spine_t_score": False}})
    assert _is_documented_422(simulate) and "lumbar_spine_t_score" in json.dumps(simulate.json())
    form = client.post(f"/patients/{patient_id}/dxa", data={"csrf_token": clinician.csrf_token, "date": "2025-03-01",
                                                           "site": "total_hip", "bmd_g_cm2": "0.8", "t_score": "-1.2"})
    assert form.status_code == 200  # forms still send numbers as text


def test_request_size_limits_name_the_limit_and_echo_nothing(client, database, clinician):
    _signed_in(client, clinician)
    # 4,000 bone agents (the 234 KB body): refused at once, naming the agent limit
    agents = [{"drug": "denosumab", "dose_mg": 60, "every_months": 6}] * 4000
    body = json.dumps({**SCENARIO, "bone_agents": agents})
    assert len(body) < api_module.API_MAX_BONE_AGENTS * 10_000 + 300_000
    response = client.post("/api/v1/simulate", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (413, 422), response.status_code
    assert len(response.content) < 2_000
    # bodies above the limit: 413 naming it, before anything parses them
    huge = b'{"months": "' + b"x" * 10_000_000 + b'"}'
    response = client.post("/api/v1/simulate", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "262,144 bytes" in response.json()["detail"]
    assert response.headers["connection"] == "close"
    assert len(response.content) < 500
    # an invalid body under the limit is quoted as a short excerpt only
    long_text = "y" * 200_000
    response = client.post("/api/v1/simulate", json={**SCENARIO, "months": long_text})
    assert response.status_code == 422 and len(response.content) < 2_000
    response = client.post("/api/v1/assess", json={"patient": long_text})
    assert response.status_code == 422 and len(response.content) < 2_000
    # a form body above the limit
    response = client.post("/patients/new", data={"csrf_token": clinician.csrf_token, "name": "z" * 400_000})
    assert response.status_code == 413


def test_bone_agents_and_doses_are_bounded(client, database, clinician):
    _signed_in(client, clinician)
    nine = [{"drug": "denosumab", "dose_mg": 60, "every_months": 6}] * (api_module.API_MAX_BONE_AGENTS + 1)
    response = client.post("/api/v1/simulate", json={**SCENARIO, "bone_agents": nine})
    assert _is_documented_422(response) and "bone_agents" in json.dumps(response.json())
    doses = [{"month": i / 100, "dose_mg": 5} for i in range(api_module.API_MAX_DOSES + 1)]
    response = client.post("/api/v1/simulate", json={**SCENARIO, "bone_agents": [{"drug": "alendronate",
                                                                                  "doses": doses}]})
    assert _is_documented_422(response)
    weekly = {"drug": "alendronate", "dose_mg": 70, "every_days": 7}  # about 1,040 doses in 240 months
    response = client.post("/api/v1/simulate", json={**SCENARIO, "months": 240, "bone_agents": [weekly]})
    assert _is_documented_422(response) and "1000 doses" in json.dumps(response.json())
    three = [{**weekly, "every_days": 14}] * 3  # 520 each, 1,560 in all: accepted
    assert client.post("/api/v1/simulate", json={**SCENARIO, "months": 240, "bone_agents": three}).status_code == 200
    five = [{**weekly, "every_days": 14}] * 5  # 2,600 in all
    response = client.post("/api/v1/simulate", json={**SCENARIO, "months": 240, "bone_agents": five})
    assert _is_documented_422(response) and "2000 doses" in json.dumps(response.json())


def test_an_unexpected_error_logs_its_type_only_and_closes_the_connection(client, database, clinician, caplog,
                                                                          monkeypatch):
    patient_id = add_patient(database, clinician, name="Philippa Secretname")
    _signed_in(client, clinician)

    def broken(patient):  # noqa: ANN001
        raise RuntimeError(f"{patient.name} born {patient.birth_date.isoformat()}")

    monkeypatch.setattr("osteotwin.web.services.assessment", broken)
    caplog.set_level(logging.DEBUG)
    for path in (f"/api/v1/patients/{patient_id}/assessment", f"/patients/{patient_id}/assessment"):
        response = client.get(path)
        assert response.status_code == 500
        assert response.headers["connection"] == "close"
        request_id = response.headers["x-request-id"]
        assert request_id in response.text and "Philippa" not in response.text
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("osteotwin")]
    assert any("RuntimeError" in line and "/patients/{patient_id}/assessment" in line for line in lines)
    everything = "\n".join(record.getMessage() + str(record.exc_info or "") + str(record.exc_text or "")
                           for record in caplog.records)
    assert "Philippa" not in everything and "1960-02-01" not in everything and "Traceback" not in everything


def test_sql_errors_carry_no_parameters(database):
    secret = "Zelda Paramname 1957-03-19"
    with pytest.raises(Exception) as raised, database.engine.connect() as connection:
        connection.execute(text("SELECT no_such_column FROM patients WHERE name = :name"), {"name": secret})
    assert "Zelda" not in str(raised.value) and "1957" not in str(raised.value)
