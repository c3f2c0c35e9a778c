"""`osteotwin simulate`: table, JSON, plot, and refusal of bad input with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from osteotwin.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "anastrozole_5y.json"


def _write(tmp_path: Path, data) -> str:
    path = tmp_path / "scenario.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_table_and_plot(tmp_path, capsys):
    plot = tmp_path / "bmd.png"
    assert main(["simulate", str(EXAMPLE), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "LS g/cm2" in out and "TH T" in out and "CTX %chg" in out
    rows = [line for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    assert [int(r.split()[0]) for r in rows] == [0, 12, 24, 36, 48, 60]
    assert plot.exists() and plot.stat().st_size > 10_000
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_output_has_the_contract_fields(capsys):
    assert main(["simulate", str(EXAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for field in ("months", "lumbar_spine_bmd_pct_change", "total_hip_bmd_pct_change", "lumbar_spine_bmd_g_cm2",
                  "total_hip_bmd_g_cm2", "lumbar_spine_t_score", "total_hip_t_score", "ctx_pct_change",
                  "p1np_pct_change", "estradiol_pg_ml", "warnings"):
        assert field in data, field
    assert data["months"][0] == 0 and data["months"][-1] == 60 and len(data["months"]) == 61
    assert data["lumbar_spine_bmd_pct_change"][0] == 0.0
    assert data["lumbar_spine_bmd_pct_change"][-1] < -2.0  # anastrozole loses bone
    assert data["estradiol_pg_ml"][12] < 1.0


def test_warnings_go_to_stderr_in_table_mode_and_into_json(tmp_path, capsys):
    scenario = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    scenario["months"] = 120
    path = _write(tmp_path, scenario)
    assert main(["simulate", path]) == 0
    captured = capsys.readouterr()
    assert "calibrated up to" in captured.err and "calibrated up to" not in captured.out
    assert main(["simulate", path, "--json"]) == 0
    assert any("calibrated up to" in w for w in json.loads(capsys.readouterr().out)["warnings"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endocrine_therapy": [{"drug": "tamoxifenx"}]}, "endocrine_therapy.0.drug"),
        ({"bone_agents": [{"drug": "denosumab", "dose_mg": -60, "every_months": 6}]}, "bone_agents.0.dose_mg"),
        ({"patient": {"age_years": 250}}, "patient.age_years"),
        ({"endocrine_therapy": [{"drug": "anastrozole", "start_month": 24, "stop_month": 12}]}, "stop_month"),
        ({"bone_agents": [{"drug": "unobtainium", "every_months": 6}]}, "bone_agents.0.drug"),
        ({"bone_agents": [{"drug": "denosumab", "doses": [{"month": 3, "dose_mg": -1}]}]}, "dose_mg"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path, capsys, change, field):
    scenario = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    scenario.update(change)
    assert main(["simulate", _write(tmp_path, scenario)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0]


def test_malformed_json_exits_2(tmp_path, capsys):
    assert main(["simulate", _write(tmp_path, '{"patient": {"age_years": 64,')]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_dose_far_outside_label_is_accepted_with_a_warning(tmp_path, capsys):
    scenario = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    scenario["bone_agents"] = [{"drug": "denosumab", "dose_mg": 600, "every_months": 6}]
    assert main(["simulate", _write(tmp_path, scenario), "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("far outside the labelled doses" in w for w in warnings)


@pytest.mark.parametrize(
    ("plot", "expected"),
    [("missing/bmd.png", "does not exist"), (".", "not a folder"), ("bmd.txt", "ending in .png")],
)
def test_plot_into_a_missing_folder_or_a_bad_name_is_refused_and_nothing_is_written(tmp_path, capsys, plot, expected):
    target = tmp_path / plot
    assert main(["simulate", str(EXAMPLE), "--plot", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: --plot = ") and expected in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists() and not (tmp_path / "bmd.txt").exists()


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [({"every_days": 1e-9}, "every_days = 1e-09: allowed 1 to 3650 days"),
     ({"every_days": 0.5}, "every_days = 0.5: allowed 1 to 3650 days"),
     ({"every_days": 4000}, "every_days = 4000: allowed 1 to 3650 days"),
     ({"every_months": 0.001}, "every_months = 0.001: allowed 0.0329 to 120 months"),
     ({"every_months": 121}, "every_months = 121: allowed 0.0329 to 120 months")],
)
def test_absurd_dosing_intervals_are_refused_with_the_allowed_range(tmp_path, capsys, schedule, expected):
    scenario = {"months": 24, "bone_agents": [{"drug": "alendronate", "dose_mg": 70} | schedule]}
    assert main(["simulate", _write(tmp_path, scenario)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bone_agents.0: ") and expected in err and "more than once a day" in err


def test_a_daily_schedule_is_the_shortest_accepted(tmp_path, capsys):
    scenario = {"months": 12, "bone_agents": [{"drug": "alendronate", "dose_mg": 10, "every_days": 1}]}
    assert main(["simulate", _write(tmp_path, scenario), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["months"][-1] == 12


def test_a_refused_scenario_writes_no_plot(tmp_path, capsys):
    plot = tmp_path / "bmd.png"
    path = _write(tmp_path, {"months": 24, "bone_agents": [{"drug": "alendronate", "every_days": 1e-9}]})
    assert main(["simulate", path, "--plot", str(plot)]) == 2
    assert capsys.readouterr().out == "" and not plot.exists()


def test_plot_with_compare_is_refused(tmp_path, capsys):
    assert main(["simulate", str(EXAMPLE), "--compare", "--plot", str(tmp_path / "bmd.png")]) == 2
    assert "not with --compare" in capsys.readouterr().err and not (tmp_path / "bmd.png").exists()
