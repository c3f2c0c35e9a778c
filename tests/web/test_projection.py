"""The projection page that decides (issue 16 items 3 and 8, issue 15 item 4 on the web): the table per regimen
against direct engine runs, the difference column, the CSV, the personal twin's bands and scan checks, the
plan and the fit off the page's path, and the chart fixes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest
from tests.web.conftest import add_patient, make_account

from osteotwin import simulate_batch
from osteotwin.clinic.projection import cumulative_fracture_risk_pct
from osteotwin.records.models import DxaResult, Medication, Patient
from osteotwin.web import services
from osteotwin.web.charts import projection_figures
from osteotwin.web.compute import BACKGROUND


def _add_on_denosumab(database, clinician) -> int:  # noqa: ANN001
    with database.transaction() as session:
        patient = Patient(clinician_id=clinician.user_id, name="Dora Denosumab", birth_date=dt.date(1958, 5, 1),
                          menopause_year=2009, weight_kg=58, height_cm=160)
        session.add(patient)
        session.flush()
        for date, ls, th in [(dt.date(2025, 1, 10), -2.3, -1.6)]:
            session.add(DxaResult(patient_id=patient.id, date=date, site="lumbar_spine",
                                  bmd_g_cm2=round(1.047 + 0.11 * ls, 3), t_score=ls, device="hologic"))
            session.add(DxaResult(patient_id=patient.id, date=date, site="total_hip",
                                  bmd_g_cm2=round(0.942 + 0.122 * th, 3), t_score=th, device="hologic"))
        session.add(Medication(patient_id=patient.id, drug="letrozole", start_date=dt.date(2024, 6, 1)))
        session.add(Medication(patient_id=patient.id, drug="denosumab", start_date=dt.date(2025, 2, 1),
                               dose_mg=60, every_months=6))
        return patient.id


def _add_fast_loser(database, clinician, with_ai: bool = True) -> int:  # noqa: ANN001
    """Lumbar spine down 4% in the first year on anastrozole, then 9% in the second: the twin, fitted to the first
    year, did not expect the second."""
    with database.transaction() as session:
        patient = Patient(clinician_id=clinician.user_id, name="Fay Fastloss", birth_date=dt.date(1961, 4, 1),
                          menopause_year=2012, weight_kg=62, height_cm=164)
        session.add(patient)
        session.flush()
        for date, ls_bmd, th_bmd in [(dt.date(2024, 1, 10), 0.93, 0.85), (dt.date(2025, 1, 10), 0.893, 0.835),
                                     (dt.date(2026, 1, 10), 0.813, 0.82)]:
            for site, bmd, reference in (("lumbar_spine", ls_bmd, (1.047, 0.11)), ("total_hip", th_bmd, (0.942, 0.122))):
                session.add(DxaResult(patient_id=patient.id, date=date, site=site, bmd_g_cm2=bmd,
                                      t_score=round((bmd - reference[0]) / reference[1], 1), device="hologic"))
        if with_ai:
            session.add(Medication(patient_id=patient.id, drug="anastrozole", start_date=dt.date(2024, 1, 15)))
        return patient.id


def test_cumulative_risk_of_a_constant_ten_year_risk():
    # a constant 20% 10-year risk is a constant hazard: within 5 years 1 - 0.8 ** 0.5
    assert cumulative_fracture_risk_pct([20.0] * 61, 60) == pytest.approx(100 * (1 - 0.8 ** 0.5), rel=1e-9)
    assert cumulative_fracture_risk_pct([20.0] * 120, 120) == pytest.approx(20.0, rel=1e-9)  # 10 years: itself
    assert cumulative_fracture_risk_pct([0.0] * 61, 60) == 0.0


def test_table_equals_direct_engine_runs_and_differences(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    names = list(data["regimens"])
    direct = simulate_batch([data["regimens"][n]["scenario"] for n in names])
    rows = {row["name"]: row for row in data["table"]}
    reference = data["reference"]
    assert reference == "continue" and rows["continue"]["difference"] is None
    for name, trajectory in zip(names, direct, strict=True):
        values = rows[name]["values"]
        assert values["lumbar_spine_t_score"] == pytest.approx(trajectory.lumbar_spine_t_score[60], abs=1e-6)
        assert values["total_hip_bmd_pct_change"] == pytest.approx(trajectory.total_hip_bmd_pct_change[60], abs=1e-6)
        assert values["hip_at_60_months"] == pytest.approx(trajectory.hip_fracture_10y_pct[60], abs=1e-6)
        hazard = sum(-math.log(1 - p / 100) / 10 for p in trajectory.major_osteoporotic_fracture_10y_pct[:60]) / 12
        assert values["major_osteoporotic_within_60_months"] == pytest.approx(100 * (1 - math.exp(-hazard)), rel=1e-9)
        if name != reference:
            for key, value in values.items():
                assert rows[name]["difference"][key] == pytest.approx(value - rows[reference]["values"][key], abs=1e-9)
    # denosumab: higher T-score, lower fracture risk than the AI alone, and the table says so
    assert rows["denosumab"]["difference"]["lumbar_spine_t_score"] > 0.3
    assert rows["denosumab"]["difference"]["major_osteoporotic_within_60_months"] < 0
    # the lifestyle row carries the plan's blocks
    assert "exercise" in data["regimens"]["lifestyle_plan"]["scenario"]


def test_on_denosumab_continue_comes_first_and_the_ai_alone_is_the_reference(client, database, clinician):
    patient_id = _add_on_denosumab(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    assert list(data["regimens"])[:2] == ["continue", "ai_alone"] and data["reference"] == "ai_alone"
    assert "denosumab" not in data["regimens"]  # she continues it: no separate "add denosumab"
    label = data["regimens"]["continue"]["label"]
    assert "letrozole" in label and "denosumab 60 mg every 6 months" in label
    agents = data["regimens"]["continue"]["scenario"]["bone_agents"]
    assert [a["drug"] for a in agents] == ["denosumab"]
    assert data["regimens"]["ai_alone"]["scenario"]["bone_agents"] == []
    assert data["personal"]["status"] == "population"  # one scan per site
    page = client.get(f"/patients/{patient_id}/projection").text
    assert "one scan per site" in page and "her range" not in page
    rows = {row["name"]: row for row in data["table"]}
    assert rows["continue"]["difference"]["total_hip_t_score"] > 0  # denosumab against stopping it


def test_no_ai_recorded_is_said_and_not_assumed(client, database, clinician):
    patient_id = _add_fast_loser(database, clinician, with_ai=False)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    assert all(r["scenario"]["endocrine_therapy"] == [] for r in data["regimens"].values())
    assert any("No aromatase inhibitor is recorded" in a for a in data["assumptions"])
    assert "No aromatase inhibitor is recorded" in client.get(f"/patients/{patient_id}/projection").text


def test_csv_download_matches_the_table(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    response = client.get(f"/patients/{patient_id}/projection.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert [line["regimen"] for line in lines] == [row["name"] for row in data["table"]]
    for line, row in zip(lines, data["table"], strict=True):
        assert float(line["total_hip_t_score_5y"]) == pytest.approx(row["values"]["total_hip_t_score"], abs=0.005)
        assert float(line["hip_within_60_months"]) == pytest.approx(row["values"]["hip_within_60_months"], abs=0.005)
        band = row["ranges"].get("lumbar_spine_t_score")  # two scans per site: the personal range is in the CSV
        if band is None:  # a regimen the twin does not project (denosumab for 2 years, then stopped)
            assert line["lumbar_spine_t_score_p10"] == "" and row["name"] == "denosumab_2y_then_stop"
            continue
        assert float(line["lumbar_spine_t_score_p10"]) == pytest.approx(band["p10"], abs=0.005)
        assert float(line["lumbar_spine_t_score_p90"]) == pytest.approx(band["p90"], abs=0.005)
    denosumab = next(line for line in lines if line["regimen"] == "denosumab")
    assert float(denosumab["lumbar_spine_t_score_difference_from_continue"]) > 0.3
    assert client.get(f"/patients/{patient_id + 999}/projection.csv").status_code == 404


def test_personal_bands_contain_the_median_and_widen_with_horizon(client, database, clinician):
    patient_id = add_patient(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    personal = data["personal"]
    assert personal["status"] == "fitted"
    assert set(personal["bands"]) >= {"continue", "denosumab", "zoledronic_acid", "lifestyle_plan"}
    for name, band in personal["bands"].items():
        for field in ("lumbar_spine_t_score", "total_hip_t_score", "osteoporotic_fracture_10y_pct",
                      "hip_fracture_10y_pct"):
            p10, p50, p90 = band[field]["p10"], band[field]["p50"], band[field]["p90"]
            assert all(a <= b <= c for a, b, c in zip(p10, p50, p90, strict=True)), (name, field)
        width = [hi - lo for lo, hi in zip(band["lumbar_spine_bmd_pct_change"]["p10"],
                                           band["lumbar_spine_bmd_pct_change"]["p90"], strict=True)]
        assert width[0] == pytest.approx(0.0, abs=1e-9)
        # The drug regimens' ranges widen with the horizon while the treatment runs (to month 36 here). After her
        # AI's planned end the mechanostat pulls every draw back towards the same declining set point, whatever
        # its turnover, so "continue" may narrow again (ageing model, issue 13). Not asserted for lifestyle_plan:
        # the twin composes it from a second pair of scenarios (twin/personal/projections.py).
        if name != "lifestyle_plan":
            assert width[12] < width[36], (name, width[::12])
    figures = projection_figures(data)
    band_traces = [t for t in figures["lumbar_spine"]["data"] if t.get("fill") == "tonexty"]
    assert len(band_traces) == len(personal["bands"])  # one shaded band per regimen with a fit
    page = client.get(f"/patients/{patient_id}/projection").text
    assert page.count("her range") >= 4 * len(personal["bands"])


def test_expected_against_observed_flags_a_fast_loser(client, database, clinician):
    patient_id = _add_fast_loser(database, clinician)
    client.cookies.update(clinician.cookies())
    personal = client.get(f"/api/v1/patients/{patient_id}/projection").json()["personal"]
    checks = {(c["date"], c["site"]): c for c in personal["scan_checks"]}
    last = checks["2026-01-10", "lumbar_spine"]
    assert last["outside"] and last["observed_bmd_g_cm2"] < last["expected_p10"]
    assert last["sentence"].startswith("faster loss than expected: check adherence")
    overview = client.get(f"/patients/{patient_id}").text
    assert 'id="expected-vs-observed"' in overview and "faster loss than expected" in overview
    assert "expected before the scan" in overview  # the expected ranges are drawn on the DXA chart
    # narrowing: one entry per scan date, the range after three scans narrower than after one
    steps = personal["narrowing"]
    assert [s["scans"] for s in steps] == [2, 4, 6]
    width = [s["total_hip"]["p90"] - s["total_hip"]["p10"] for s in steps]
    assert width[-1] < width[0], width


def test_the_page_never_waits_for_the_plan_or_the_fit(client, database, clinician, monkeypatch):
    patient_id = _add_fast_loser(database, clinician)
    client.cookies.update(clinician.cookies())
    BACKGROUND.wait()
    services._CACHE.items.clear()
    started = []
    monkeypatch.setattr(services, "_plan_json", lambda profile: started.append("plan") or {"regimen": None})
    first = client.get(f"/patients/{patient_id}/projection").text
    assert 'data-pending="1"' in first and 'data-regimen="lifestyle_plan"' not in first
    BACKGROUND.wait()
    assert started == ["plan"]  # computed once, in the background
    second = client.get(f"/patients/{patient_id}/projection").text
    assert 'data-pending="1"' not in second and "her range" in second


def test_chart_fixes_yearly_risk_open_ai_and_legend_room(client, database, clinician):
    patient_id = _add_on_denosumab(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    figures = projection_figures(data)
    for trace in figures["fracture_risk"]["data"]:
        assert trace["x"] == [0, 1, 2, 3, 4, 5]  # once a year: no month-1 drop from the first denosumab dose
    # letrozole from 2024-06 for 5 years runs past... only when it does: an open course has no last-month dip
    course = data["regimens"]["continue"]["scenario"]["endocrine_therapy"][0]
    risk = data["regimens"]["ai_alone"]["trajectory"]["major_osteoporotic_fracture_10y_pct"]
    if course["stop_month"] is None:
        assert risk[60] >= risk[59]
    else:
        assert 0 < course["stop_month"] < 60
    layout = figures["lumbar_spine"]["layout"]
    assert layout["height"] >= 340 + 22 * 3 and layout["margin"]["b"] >= 60 + 22 * 3  # room for the legend


def test_patient_sees_her_range_narrow_in_plain_words(client, database, clinician):
    patient = make_account(database, "patient", patient_of=clinician)
    with database.transaction() as session:
        for date, ls, th in [(dt.date(2024, 2, 1), -1.2, -0.9), (dt.date(2025, 2, 1), -1.5, -1.0),
                             (dt.date(2026, 2, 1), -1.7, -1.2)]:
            session.add(DxaResult(patient_id=patient.patient_id, date=date, site="lumbar_spine",
                                  bmd_g_cm2=round(1.047 + 0.11 * ls, 3), t_score=ls, device="hologic"))
            session.add(DxaResult(patient_id=patient.patient_id, date=date, site="total_hip",
                                  bmd_g_cm2=round(0.942 + 0.122 * th, 3), t_score=th, device="hologic"))
    client.cookies.update(patient.cookies())
    client.get("/me/bone")
    BACKGROUND.wait()
    page = client.get("/me/bone").text
    words = page[page.index('id="my-range"'):]
    assert "Your own range" in words and "8 times in 10" in words
    assert "after scan 1" in words and "after scan 3" in words and "narrowed" in words


def test_without_scans_of_both_sites_the_page_says_what_is_needed(client, database, clinician):
    patient_id = add_patient(database, clinician, name="Nora Noscan", with_dxa=False)
    client.cookies.update(clinician.cookies())
    page = client.get(f"/patients/{patient_id}/projection")
    assert page.status_code == 200 and "No projection yet" in page.text and "total-hip T-score" in page.text
    refused = client.get(f"/api/v1/patients/{patient_id}/projection")
    assert refused.status_code == 422 and "dxa" in refused.text
    overview = client.get(f"/patients/{patient_id}")
    assert overview.status_code == 200 and "Personal twin: not used" in overview.text


def test_a_refused_plan_leaves_the_lifestyle_row_out_and_says_why(client, database, clinician, monkeypatch):
    from osteotwin.errors import InputError

    patient_id = add_patient(database, clinician, name="Paula Planless")
    client.cookies.update(clinician.cookies())
    BACKGROUND.wait()
    services._CACHE.items.clear()

    def refuse(profile):  # noqa: ANN001, ANN202
        raise InputError("energy_kcal_per_day", 100, "800 to 5000")

    monkeypatch.setattr(services, "_plan_json", refuse)
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    assert "lifestyle_plan" not in data["regimens"] and data["pending"] == []
    assert any("lifestyle plan could not be made" in a and "energy_kcal_per_day" in a for a in data["assumptions"])
    services._CACHE.items.clear()


def test_without_a_personal_fit_the_table_shows_the_model_range(client, database, clinician):
    """One scan per site: each value carries the model's own range (the calibration's parameter uncertainty,
    twin/intervals.py, as ``simulate --intervals``), labelled as such, never as her range."""
    from osteotwin.twin.intervals import series_intervals

    patient_id = _add_on_denosumab(database, clinician)
    client.cookies.update(clinician.cookies())
    data = client.get(f"/api/v1/patients/{patient_id}/projection").json()
    assert data["personal"]["status"] == "population" and data["model_bands"] is not None
    rows = {row["name"]: row for row in data["table"]}
    for row in rows.values():
        assert row["range_label"] == "model range"
        band = row["ranges"]["lumbar_spine_t_score"]
        assert band["p10"] <= band["p50"] <= band["p90"] and band["p90"] - band["p10"] > 0
    scenario = data["regimens"]["continue"]["scenario"]
    expected = series_intervals(scenario, draws=services.MODEL_BAND_DRAWS)["total_hip_bmd_pct_change"]
    assert rows["continue"]["ranges"]["total_hip_bmd_pct_change"]["p90"] == pytest.approx(expected["p90"][60], abs=1e-6)
    page = client.get(f"/patients/{patient_id}/projection").text
    assert "model range" in page and "her range" not in page
