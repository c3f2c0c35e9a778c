"""The product cites papers and its own files, never research notes kept outside the repository.

Every tracked text file under src/, docs/, scripts/, benchmarks/ and tests/, and README.md, is
searched for references to the team's working notes (the model, guidelines and stack notes, the
design note, the shared research folder). The one allowed form is ``docs/model.md``, the model
description the repository ships. A reader of the docs or the code must be able to follow every
citation without files the repository does not contain.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCOPE = ("src", "docs", "scripts", "benchmarks", "tests", "README.md")

# Built from pieces so that this file does not match itself.
_MD = r"\.md"
FORBIDDEN: dict[str, re.Pattern[str]] = {
    "model notes (other than docs/model.md)": re.compile(r"(?<!docs/)\bmodel" + _MD),
    "guidelines notes": re.compile(r"\bguidelines" + _MD),
    "stack notes": re.compile(r"\bstack" + _MD),
    "design note": re.compile(r"\bDESIGN" + _MD),
    "shared research folder": re.compile("shared" + "/research"),
    "shared folder beside the repository": re.compile(r"\.\./" + "shared"),
}


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", "--", *SCOPE], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_scope_is_tracked() -> None:
    files = _tracked_files()
    assert any(path.name == "README.md" and path.parent == ROOT for path in files)
    assert any(path.suffix == ".py" and "src" in path.parts for path in files)


def test_no_citation_of_files_outside_the_repository() -> None:
    offences = []
    for path in _tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (images, compiled data)
        for number, line in enumerate(text.splitlines(), start=1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    offences.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()[:120]}")
    assert not offences, "cites files outside the repository:\n" + "\n".join(offences)
