"""The one error type for bad user input, shared by every part and interface, and the file readers
that turn an unreadable input file into it.

The CLI turns ``InputError`` into exit code 2 and one line on stderr; the web API into HTTP 422.
``read_input_text`` and ``load_json_file`` refuse, in one line naming the file, what is not a usable
text file: a folder, a missing file, an image, a ZIP archive, UTF-16 or other non-UTF-8 bytes, JSON
that is malformed, nested too deeply, or holds NaN. ``describe_document`` says what a JSON document
looks like (a scenario, a patient record, a FHIR Patient resource, ...) so a command given the
wrong file can say which file it was given instead of listing missing fields.
"""

from __future__ import annotations

import json
from pathlib import Path


class InputError(ValueError):
    """Input that is refused: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r}: {allowed}")


class FileInputError(InputError):
    """An input file that cannot be used: names the file, what it is, and what was expected."""

    def __init__(self, what: str, path: str | Path, problem: str) -> None:
        super().__init__(what, str(path), problem)
        self.args = (f"{what} file {str(path)!r}: {problem}",)


MAX_INPUT_BYTES = 20_000_000
"""Largest input file read (ours: 20 MB; the shipped examples are below 20 kB)."""

MAX_JSON_DEPTH = 64
"""Deepest JSON nesting accepted (ours: the deepest shipped input, a FHIR Bundle, nests 9 levels)."""

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx, .docx or .zip file)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (.xls or .doc)"),
)


def read_input_text(path: str | Path, what: str, expected: str = "UTF-8 JSON text") -> str:
    """The text of an input file, or FileInputError naming the file and what is wrong with it.

    ``what`` names the file's role ("scenario", "patient record", "food log"); ``expected`` is
    said when the bytes are not text.
    """
    file = Path(path)
    try:
        if file.is_dir():
            raise FileInputError(what, path, f"is a folder, not a file; give a {expected} file")
        if not file.exists():
            raise FileInputError(what, path, "no such file")
        if not file.is_file():
            raise FileInputError(what, path, f"is not a regular file; give a {expected} file")
        size = file.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise FileInputError(what, path, f"is {size / 1e6:.0f} MB; at most {MAX_INPUT_BYTES / 1e6:.0f} MB allowed")
        data = file.read_bytes()
    except PermissionError:
        raise FileInputError(what, path, "cannot be read (permission denied)") from None
    except OSError as error:
        raise FileInputError(what, path, f"cannot be read ({error.strerror or error})") from None
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            raise FileInputError(what, path, f"is {kind}, not {expected}")
    sample = data[:200]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(sample) >= 4 and (not any(sample[1::2]) or not any(sample[0::2]))
    ):
        raise FileInputError(what, path, f"is UTF-16 text, not {expected}; save it as UTF-8")
    if b"\x00" in data:
        raise FileInputError(what, path, f"is binary data (it contains NUL bytes), not {expected}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start]
        raise FileInputError(
            what, path, f"is not UTF-8 text (byte 0x{bad:02x} at offset {error.start}); save it as UTF-8"
        ) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _depth(data: object) -> int:
    """Nesting depth of parsed JSON (1 for a scalar), without recursion."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
    return deepest


def parse_json_text(text: str, what: str, path: str | Path) -> object:
    """Parsed JSON, or FileInputError: malformed, NaN/Infinity, absurd numbers or nesting."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise FileInputError(
            what, path, f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise FileInputError(what, path, f"is JSON nested too deeply; at most {MAX_JSON_DEPTH} levels allowed") from None
    except ValueError as error:  # NaN/Infinity, or an integer beyond Python's digit limit
        raise FileInputError(what, path, f"is not usable JSON: {str(error).split(';')[0]}") from None
    depth = _depth(data)
    if depth > MAX_JSON_DEPTH:
        raise FileInputError(what, path, f"is JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} allowed")
    return data


def load_json_file(path: str | Path, what: str) -> object:
    """Read and parse a JSON input file; every failure is a one-line FileInputError."""
    return parse_json_text(read_input_text(path, what), what, path)


_RECORD_ONLY = frozenset({"risk_factors", "cancer", "dxa", "facility_precision", "labs", "frax", "planned_ai_years"})
"""Top-level keys of a patient record (``osteotwin.clinic.record.PatientRecord``) that no other input has."""
_PROFILE_ONLY = frozenset({"diet_pattern", "energy_kcal_per_day", "dislikes", "food_log", "exercise_log", "probiotic",
                           "vitamin_d_25_oh_ng_ml"})
"""Top-level keys of a lifestyle profile (``osteotwin.lifestyle.plan.Profile``) that no other input has."""
_SCENARIO_ONLY = frozenset({"months", "endocrine_therapy", "bone_agents", "diet", "supplements", "exercise", "gut"})
"""Top-level keys of a scenario (``osteotwin.scenario.Scenario``) that no other input has."""


def describe_document(data: object) -> str:
    """What a parsed JSON document looks like, in words ("a FHIR Patient resource", "a scenario")."""
    if isinstance(data, dict):
        resource_type = data.get("resourceType")
        if resource_type == "Bundle":
            return "a FHIR Bundle"
        if isinstance(resource_type, str) and resource_type:
            return f"a FHIR {resource_type[:40]} resource"
        if resource_type is not None:
            return "a JSON object with a resourceType that is not a string"
        keys = set(data)
        record, profile, scenario = keys & _RECORD_ONLY, keys & _PROFILE_ONLY, keys & _SCENARIO_ONLY
        if "patient" in keys and record and not profile and not scenario:
            return "a patient record"
        if profile and not record and not scenario:
            return "a lifestyle profile"
        if scenario and not record and not profile:
            return "a scenario"
        if "patient" in keys:
            return "a JSON object with a patient block"
        return "a JSON object" if keys else "an empty JSON object"
    if isinstance(data, list):
        if not data:
            return "an empty JSON list"
        first = data[0]
        if isinstance(first, dict) and {"food_id", "food_name", "grams"} & set(first):
            return "a food log"
        if isinstance(first, dict) and {"exercise", "sets", "reps"} & set(first):
            return "an exercise log"
        return "a JSON list"
    if data is None:
        return "JSON null"
    if isinstance(data, bool):
        return "a JSON true/false"
    if isinstance(data, int | float):
        return "a JSON number"
    return "a JSON string"


def wrong_document(data: object, what: str, path: str | Path, wanted: str, example: str) -> FileInputError:
    """The error for a readable JSON file of the wrong kind: says what it is and what was wanted."""
    return FileInputError(what, path, f"is {describe_document(data)}, not {wanted} (for example {example})")


def check_output_file(path: str | Path, option: str, suffix: str | None = None) -> Path:
    """An output path that can be written: its folder exists, it is not a folder, the suffix fits.

    Checked before any work, so a refused option writes nothing; a missing folder is not created.
    """
    file = Path(path)
    if file.is_dir():
        raise InputError(option, str(path), "a file name, not a folder")
    folder = file.parent
    if not folder.is_dir():
        raise InputError(option, str(path), f"a file in an existing folder ({str(folder)!r} does not exist)")
    if suffix is not None and file.suffix.lower() != suffix:
        raise InputError(option, str(path), f"a file name ending in {suffix}")
    return file
