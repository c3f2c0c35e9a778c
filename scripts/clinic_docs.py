"""Write docs/clinic.md from the clinic rule data: ``.venv/bin/python scripts/clinic_docs.py``."""

from __future__ import annotations

from pathlib import Path

from osteotwin.clinic.docs import render_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "clinic.md"
    target.write_text(render_markdown())
    print(f"wrote {target}")
