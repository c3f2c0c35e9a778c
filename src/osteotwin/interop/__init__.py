"""Exchange formats for other modelling tools: SBML export of the bone-cell core (docs/interop.md)."""

from __future__ import annotations

from osteotwin.interop.sbml import (
    SbmlExportError,
    build_document,
    consistency_errors,
    engine_data,
    export_sbml,
)

__all__ = ["SbmlExportError", "build_document", "consistency_errors", "engine_data", "export_sbml"]
