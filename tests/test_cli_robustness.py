"""The command line never crashes: every malformed input gives exit code 2 and one line on stderr.

Fixed cases from issue 17 (binary, PNG and UTF-16 files, deep JSON, a folder, CSV rows with extra
cells, FHIR partial dates, a bare FHIR Patient, an unknown resourceType), then property tests
(hypothesis) that feed random bytes, random JSON and randomly damaged shipped examples to every
command that reads a file, in-process through ``osteotwin.cli.main``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osteotwin.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PNG = ROOT / "docs" / "figures" / "drug_scenarios.png"
TODAY = ["--today", "2026-06-01"]

# Every command that reads a file, the shipped example it is meant for, and its role in messages.
FILE_COMMANDS = {
    "simulate": (["simulate"], EXAMPLES / "anastrozole_5y.json", "scenario"),
    "simulate --compare": (["simulate", "--compare", "--json"], EXAMPLES / "anastrozole_5y.json", "scenario"),
    "assess": (["assess", "--no-projection", *TODAY], EXAMPLES / "patients" / "design_example.json", "patient record"),
    "assess bundle": (["assess", "--no-projection", *TODAY], EXAMPLES / "patients" / "fhir_bundle_anastrozole.json",
                      "patient record"),
    "fhir import": (["fhir", "import", *TODAY], EXAMPLES / "patients" / "fhir_bundle_anastrozole.json", "FHIR Bundle"),
    "fhir export": (["fhir", "export", *TODAY], EXAMPLES / "patients" / "design_example.json", "patient record"),
    "nutrients": (["nutrients", "--json"], EXAMPLES / "logs" / "food_log_3days.csv", "food log"),
    "plan": (["plan", "--json"], EXAMPLES / "profiles" / "vegan_low_spine.json", "profile"),
    "exercise next-week": (["exercise", "next-week"], EXAMPLES / "logs" / "exercise_log_week.csv", "exercise log"),
    "export sbml": (["export", "sbml"], EXAMPLES / "anastrozole_5y.json", "scenario"),
}


def run(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) in-process; an exception escaping main fails the calling test with its traceback."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, out: str, err: str) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert out == "", "nothing is printed (or written) on exit code 2"


def run_on_bytes(command: str, data: bytes, suffix: str) -> tuple[int, str, str]:
    argv, _, _ = FILE_COMMANDS[command]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        return run([*argv, str(path)])


# --- the malformed inputs of issue 17, one by one -------------------------------------------------

BAD_FILES = {
    "binary": (bytes(range(256)), ".json", "binary data"),
    "png": (PNG.read_bytes()[:4096], ".json", "is a PNG image"),
    "utf16": ('{"months": 12}'.encode("utf-16"), ".json", "UTF-16"),
    "latin1": ('{"note": "caf\xe9"}'.encode("latin-1"), ".json", "not UTF-8 text (byte 0xe9"),
    "deep list": (b"[" * 100_000 + b"]" * 100_000, ".json", "nested too deeply"),
    "deep object": (b'{"a":' * 200 + b"1" + b"}" * 200, ".json", "nested 201 levels deep"),
    "nan": (b'{"months": NaN}', ".json", "NaN is not a JSON number"),
    "truncated": (b'{"months": 12', ".json", "is not valid JSON"),
}


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_unreadable_files_are_named_in_one_line(command, case):
    data, suffix, expected = BAD_FILES[case]
    code, out, err = run_on_bytes(command, data, suffix)
    assert_clean(code, out, err)
    assert code == 2 and expected in err
    assert f"{FILE_COMMANDS[command][2]} file " in err


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_a_folder_or_a_missing_file_is_named(command, tmp_path):
    argv, _, role = FILE_COMMANDS[command]
    code, out, err = run([*argv, str(tmp_path)])
    assert_clean(code, out, err)
    assert code == 2 and f"{role} file '{tmp_path}': is a folder, not a file" in err
    code, out, err = run([*argv, str(tmp_path / "absent.json")])
    assert_clean(code, out, err)
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("command", ["nutrients", "exercise next-week"])
def test_a_csv_row_with_more_cells_than_the_header_is_refused(command, tmp_path):
    _, example, role = FILE_COMMANDS[command]
    lines = example.read_text(encoding="utf-8").splitlines()
    lines[2] += ",surplus,cells"
    code, out, err = run_on_bytes(command, ("\n".join(lines) + "\n").encode(), ".csv")
    assert_clean(code, out, err)
    header = lines[0].count(",") + 1
    assert code == 2 and f"line 3 has {header + 2} cells but the header has {header}" in err


@pytest.mark.parametrize(
    ("document", "assess_says", "simulate_says"),
    [
        ({"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1958-05-20"},
         "is a FHIR Patient resource, not a Bundle or patient record", "is a FHIR Patient resource, not a scenario"),
        ({"resourceType": "Banana"}, "is a FHIR Banana resource, not a Bundle or patient record",
         "is a FHIR Banana resource, not a scenario"),
        ({"months": 60, "bone_agents": []}, "is a scenario, not a patient record or a FHIR R4 Bundle", None),
        ({"patient": {"age_years": 60}, "diet_pattern": "vegan"}, "is a lifestyle profile, not a patient record", None),
        ([{"date": "2026-01-01", "food_id": "01117", "grams": 100}], "is a food log, not a patient record",
         "is a food log, not a scenario"),
    ],
)
def test_a_document_of_the_wrong_kind_is_named_as_what_it_is(tmp_path, document, assess_says, simulate_says):
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    for argv in (["assess", *TODAY], ["fhir", "export", *TODAY]):
        code, out, err = run([*argv, str(path)])
        assert_clean(code, out, err)
        assert code == 2 and assess_says in err and "examples/patients/" in err
    if simulate_says:
        code, out, err = run(["simulate", str(path)])
        assert_clean(code, out, err)
        assert code == 2 and simulate_says in err and "examples/anastrozole_5y.json" in err
    code, out, err = run(["fhir", "import", str(path)])
    assert code == 2 and "not a FHIR R4 Bundle" in err


@pytest.mark.parametrize("partial", ["2024", "2024-12", "2024-12-15T10:00:00+01:00", "", "15/12/2024"])
def test_fhir_partial_or_odd_dates_never_crash(tmp_path, partial):
    text = (EXAMPLES / "patients" / "fhir_bundle_anastrozole.json").read_text(encoding="utf-8")
    for original in ("1958-05-20", "2024-12-15", "2025-02-01", "2026-01-05"):
        path = tmp_path / "bundle.json"
        path.write_text(text.replace(f'"{original}"', json.dumps(partial)), encoding="utf-8")
        for argv in (["fhir", "import", *TODAY], ["assess", "--no-projection", *TODAY]):
            assert_clean(*run([*argv, str(path)]))


def test_fhir_out_into_a_missing_folder_is_refused_before_any_work(tmp_path):
    target = tmp_path / "missing" / "bundle.json"
    code, out, err = run(["assess", "--no-projection", *TODAY, str(FILE_COMMANDS["assess"][1]), "--fhir-out", str(target)])
    assert_clean(code, out, err)
    assert code == 2 and "--fhir-out" in err and "does not exist" in err
    assert not target.parent.exists()


def _empty_parameter_filter() -> tuple[str, str]:
    """A module and evidence tag with no parameter (drugs/R today; found, not assumed)."""
    from osteotwin.commands.parameters import EVIDENCE_MEANING, parameters_by_module
    from osteotwin.physiology.parameters import PARAMETER_MODULES

    modules = ["drugs"] + [name.rsplit(".", 1)[1] for name in PARAMETER_MODULES]
    for module in modules:
        for tag in ["R", *EVIDENCE_MEANING]:
            if not parameters_by_module(module, tag):
                return module, tag
    pytest.skip("every module has every evidence tag")


def test_empty_results_are_said_in_words():
    from osteotwin.commands.parameters import EVIDENCE_MEANING

    module, tag = _empty_parameter_filter()
    code, out, err = run(["parameters", "--module", module, "--evidence", tag])
    assert code == 0 and out.strip() == f"no parameters in module {module} with evidence tag {tag} ({EVIDENCE_MEANING[tag]})"
    code, out, err = run(["parameters", "--module", module, "--evidence", tag, "--json"])
    assert code == 0 and json.loads(out) == [] and f"no parameters in module {module}" in err
    code, out, err = run(["foods", "search", "zzqqxx", "--json"])
    assert code == 0 and json.loads(out) == [] and "no food matches 'zzqqxx'" in err
    code, out, err = run(["foods", "search", "zzqqxx"])
    assert code == 0 and out.strip() == "no food matches 'zzqqxx'"


def test_exercise_next_week_prints_a_table_and_json():
    log = str(FILE_COMMANDS["exercise next-week"][1])
    code, out, err = run(["exercise", "next-week", log])
    assert code == 0 and "{" not in out and "'walking_minutes_per_week'" not in out
    lines = out.splitlines()
    header = next(line for line in lines if line.split()[:3] == ["exercise", "last", "kg"])
    assert "next kg" in header and "sets x reps" in header
    squat = next(line for line in lines if line.split()[0] == "goblet_squat")
    assert squat.split()[1:3] == ["10", "12.5"] and "2 x 8-12" in squat
    assert any(line.split()[:2] == ["walking", "120"] for line in lines)
    assert any(line.split()[:4] == ["resistance", "sessions", "2", "per"] for line in lines)
    code, out, err = run(["exercise", "next-week", log, "--json"])
    data = json.loads(out)
    assert code == 0 and data["weekly_dose"]["walking_minutes_per_week"] == 120
    assert [load["exercise"] for load in data["loads"]] == ["goblet_squat", "lunge", "seated_row"]


# --- property tests ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@PROPERTY
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".json", ".csv", ""]))
def test_random_bytes_give_exit_0_or_2_and_no_traceback(command, data, suffix):
    assert_clean(*run_on_bytes(command, data, suffix))


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@PROPERTY
@given(value=JSON_VALUES)
def test_random_json_gives_exit_0_or_2_and_no_traceback(command, value):
    assert_clean(*run_on_bytes(command, json.dumps(value).encode(), ".json"))


def _leaf_paths(document, prefix=()):
    """Paths to every value inside a parsed JSON document."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaf_paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _leaf_paths(value, (*prefix, index))


def _example_document(command: str):
    path = FILE_COMMANDS[command][1]
    if path.suffix == ".csv":
        lines = path.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_damaged_shipped_example_gives_exit_0_or_2_and_no_traceback(command, data):
    """One value anywhere inside the shipped example replaced by random JSON (or deleted)."""
    document = copy.deepcopy(_example_document(command))
    paths = [path for path in _leaf_paths(document) if path]
    path = data.draw(st.sampled_from(paths))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(JSON_VALUES)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    assert_clean(*run_on_bytes(command, json.dumps(document).encode(), ".json"))


@PROPERTY
@given(words=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4), limit=st.integers(-5, 500))
def test_food_search_with_random_words_never_crashes(words, limit):
    assert_clean(*run(["foods", "search", "--limit", str(limit), "--", *words]))


@PROPERTY
@given(today=st.text(max_size=30))
def test_random_today_gives_exit_0_or_2(today):
    assert_clean(*run(["assess", "--no-projection", f"--today={today}", str(FILE_COMMANDS["assess"][1])]))


# --- the README's commands ----------------------------------------------------------------------

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_commands() -> list[list[str]]:
    """Every `osteotwin ...` line of the README's bash blocks, as argv (comments dropped)."""
    import shlex

    commands = []
    for block in README.split("```bash")[1:]:
        for line in block.split("```")[0].splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("osteotwin "):
                commands.append(shlex.split(line)[1:])
    return commands


def test_the_readme_uses_shipped_files_and_no_placeholders():
    for placeholder in ("SCENARIO.json", "PATIENT.json", "BUNDLE.json", "PROFILE.json", "LOG.csv"):
        assert placeholder not in README.split("## Set-up")[1], placeholder
    files = [arg for argv in _readme_commands() for arg in argv if arg.endswith((".json", ".csv"))]
    assert len(files) >= 10
    for name in files:
        assert (ROOT / name).is_file(), name
    for needed in ("not a medical device", "docs/calibration.md", "source .venv/bin/activate", ".venv/bin/osteotwin",
                   "make run", "make test"):
        assert needed in README, needed
    assert "![" in README and (ROOT / README.split("](")[1].split(")")[0]).is_file()


@pytest.mark.parametrize("argv", [a for a in _readme_commands() if a[0] not in ("serve",) and "--plot" not in a],
                         ids=" ".join)
def test_every_readme_command_runs(argv, monkeypatch, tmp_path):
    """Each command as written, from the repository root; what it writes (--out, --report) goes to a
    temporary folder, so the suite leaves the working tree as it found it."""
    monkeypatch.chdir(ROOT)
    argv = [str(tmp_path / Path(arg).name) if k and argv[k - 1] in ("--out", "--report") else arg
            for k, arg in enumerate(argv)]
    code, out, err = run(argv)
    assert code == 0, err
    assert out.strip()


def test_the_readme_sample_output_is_the_command_s_real_table():
    sample = README.split("```text\n")[1].split("```")[0].splitlines()
    code, out, _ = run(["simulate", str(EXAMPLES / "anastrozole_5y.json")])
    real = out.splitlines()
    assert code == 0 and sample[:2] == real[:2]  # title and column header
    assert [line.split()[0] for line in sample[2:]] == [line.split()[0] for line in real[2:]]


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"resourceType": "Bundle", "entry": []}, "a FHIR Bundle"),
        ({"resourceType": "Observation"}, "a FHIR Observation resource"),
        ({"resourceType": 5}, "a JSON object with a resourceType that is not a string"),
        ({"patient": {}, "dxa": [], "medications": []}, "a patient record"),
        ({"patient": {}, "diet_pattern": "vegan", "medications": []}, "a lifestyle profile"),
        ({"patient": {}, "months": 12}, "a scenario"),
        ({"patient": {}, "medications": [], "conditions": {}}, "a JSON object with a patient block"),
        ({"patient": {}, "dxa": [], "food_log": []}, "a JSON object with a patient block"),
        ([{"exercise": "lunge"}], "an exercise log"),
        ([], "an empty JSON list"),
        ("text", "a JSON string"),
    ],
)
def test_describe_document_names_each_kind_of_input(document, kind):
    from osteotwin.errors import describe_document

    assert describe_document(document) == kind


def test_a_minimal_profile_sharing_keys_with_a_patient_record_is_planned(tmp_path):
    """patient, conditions and medications belong to both a profile and a record: not refused as a record."""
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"patient": {"age_years": 66, "weight_kg": 60, "height_cm": 160},
                                "medications": ["omeprazole"], "conditions": {}}))
    code, out, err = run(["plan", "--json", str(path)])
    assert code == 0, err
    assert json.loads(out)["targets"]


def test_a_huge_value_is_cut_in_the_one_line_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("date,food_id,grams\n2026-01-01," + "9" * 100_000 + ",100\n")
    code, out, err = run(["nutrients", str(path)])
    assert_clean(code, out, err)
    assert code == 2 and err.startswith("error: food_log[1].food_id = ") and "characters cut" in err
    assert len(err) < 1100
