"""``osteotwin calibrate``: a real refit comes back to the shipped value, a user's targets CSV changes the
rows fitted, and every refusal exits 2 naming the option and value, with nothing written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from osteotwin.cli import main
from osteotwin.physiology.parameters import registry
from osteotwin.population.calibration.targets import COLUMNS, shipped_targets

SOURCE = Path(__file__).resolve().parents[2] / "src" / "osteotwin"
SHIPPED_CSV = SOURCE / "data" / "calibration_targets.csv"
PARAMETER = "total_hip_turnover_scale"  # core suite; identified (half-width 0.05 of its prior range at the shipped values)


def _tree_digest() -> str:
    """Digest of every parameter declaration file: --write must not touch them when refused."""
    digest = hashlib.sha256()
    for path in sorted((SOURCE / "physiology").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["calibrate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_refit_from_a_moved_start_comes_back_within_its_interval(tmp_path, capsys):
    shipped = registry().value(PARAMETER)
    start = tmp_path / "start.txt"
    start.write_text(f"{PARAMETER} = {2.0 * shipped}\n", encoding="utf-8")  # moved to twice the shipped value
    code, out, err = _run(capsys, "--suite", "core", "--parameters", PARAMETER, "--starts", "1", "--budget-minutes", "1",
                          "--start", str(start), "--json")
    assert code == 0, err
    result = json.loads(out)
    (fitted,) = result["parameters"]
    assert fitted["name"] == PARAMETER and fitted["shipped"] == shipped
    assert abs(fitted["value"] - shipped) < 0.5 * abs(2.0 * shipped - shipped)  # it moved back towards the shipped value
    low, high = fitted["ci95"]
    assert low <= shipped <= high  # ... and the shipped value lies inside the reported approximate 95% interval
    assert fitted["identified"] and fitted["half_width_share"] < 0.25
    assert result["starts"][0]["cost"] == pytest.approx(result["cost"])
    assert result["rows"] == 59  # core rows and checks, every one of the shipped CSV


def test_a_targets_csv_fits_only_its_rows(tmp_path, capsys):
    rows = [row for row in csv.DictReader(io.StringIO(SHIPPED_CSV.read_text(encoding="utf-8"))) if row["id"].startswith("S1-0")][:18]
    path = tmp_path / "atac.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    code, out, err = _run(capsys, str(path), "--suite", "core", "--parameters", PARAMETER, "--starts", "1",
                          "--max-evaluations", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["rows"] == 18 + 2  # its 18 ATAC rows and the two issue-goal checks that are not CSV rows


def _csv(tmp_path, text: str) -> str:
    path = tmp_path / "targets.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _bad_value_csv(tmp_path) -> str:
    text = SHIPPED_CSV.read_text(encoding="utf-8").replace("S1-001,ATAC bone substudy,anastrozole (median),anastrozole 1 mg/d,12,LS,-2.6",
                                                           "S1-001,ATAC bone substudy,anastrozole (median),anastrozole 1 mg/d,12,LS,minus two")
    return _csv(tmp_path, text)


REFUSALS = {
    "unknown suite": (lambda tmp: ["--suite", "lifestyle"], "--suite = 'lifestyle': one of all, core, drugs"),
    "unknown parameter": (lambda tmp: ["--parameters", "bone_speed"], "--parameters = 'bone_speed': an engine parameter"),
    "not calibratable": (lambda tmp: ["--suite", "core", "--parameters", "denosumab_rankl_ic50_ng_per_ml"],
                         "--parameters = 'denosumab_rankl_ic50_ng_per_ml': not calibratable by the core suite"),
    "missing columns": (lambda tmp: [_csv(tmp, "id,trial,site\nS1-001,ATAC,LS\n")], "columns = ['id', 'trial', 'site']: missing arm"),
    "bad number": (lambda tmp: [_bad_value_csv(tmp)], "line 2 (S1-001) pct_change_mean = 'minus two': a finite number, or empty"),
    "repeated id": (lambda tmp: [_csv(tmp, SHIPPED_CSV.read_text(encoding="utf-8") + SHIPPED_CSV.read_text(encoding="utf-8").splitlines()[1] + "\n")],
                    "id = 'S1-001': a non-empty id used once"),
    "changed site": (lambda tmp: [_csv(tmp, SHIPPED_CSV.read_text(encoding="utf-8").replace(",12,LS,-2.6,", ",12,TH,-2.6,", 1))],
                     "S1-001 site = 'TH': 'LS' as in the shipped CSV"),
    "not a file": (lambda tmp: [str(tmp)], "is a folder, not a file"),
    "empty value of a fitted row": (lambda tmp: [_csv(tmp, SHIPPED_CSV.read_text(encoding="utf-8").replace(",12,LS,-2.6,", ",12,LS,,", 1)),
                                                 "--suite", "core", "--parameters", PARAMETER, "--starts", "1"],
                                    "target S1-001 pct_change_mean = '': a number: a calibration suite compares the model with this row"),
    "zero starts": (lambda tmp: ["--starts", "0"], "--starts = 0: a whole number >= 1"),
    "write with petab": (lambda tmp: ["--write", "--petab", str(tmp / "p")], "--write = True: not with --petab"),
    "start out of range": (lambda tmp: ["--parameters", PARAMETER, "--start", _csv(tmp, f"{PARAMETER} = 7\n")],
                           f"{PARAMETER} = 7.0: a value in the prior range [0.05, 1]"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_input_exits_2_naming_it_and_writes_nothing(case, tmp_path, capsys):
    argv, message = REFUSALS[case]
    before = _tree_digest()
    code, out, err = _run(capsys, *argv(tmp_path), "--write" if case not in ("write with petab",) else "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert message in err, err
    assert _tree_digest() == before
    assert not (tmp_path / "p").exists()


def test_shipped_csv_parses_strictly():
    assert len(shipped_targets()) == 168
