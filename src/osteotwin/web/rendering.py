"""Jinja2 rendering with autoescaping; every page gets the viewer and her/his CSRF token."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

TEMPLATES_DIR = Path(__file__).with_name("templates")

SITE_LABELS = {"lumbar_spine": "Lumbar spine (L1-L4)", "total_hip": "Total hip", "femoral_neck": "Femoral neck"}
NUTRIENT_LABELS = {"calcium_mg": "Calcium", "vitamin_d_iu": "Vitamin D", "magnesium_mg": "Magnesium",
                   "vitamin_k_ug": "Vitamin K", "protein_g": "Protein", "fiber_g": "Fibre", "energy_kcal": "Energy",
                   "vitamin_d_25_oh": "25-OH vitamin D", "ctx": "CTX (serum beta-CrossLaps)", "p1np": "P1NP (serum)"}


def _label(value: str | None) -> str:
    if value is None:
        return ""
    text = SITE_LABELS.get(value) or NUTRIENT_LABELS.get(value) or value.replace("_", " ")
    return text[:1].upper() + text[1:]


def _number(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _json_attr(value: Any) -> Markup:
    """JSON for a data-* attribute (escaped by autoescape when printed through |e)."""
    return Markup.escape(json.dumps(value, separators=(",", ":"), default=str))


environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["label"] = _label
environment.filters["num"] = _number
environment.filters["json_attr"] = _json_attr


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    page = environment.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=viewer.csrf_token if viewer else "",
        today=dt.date.today(),
        **(context or {}),
    )
    return HTMLResponse(page, status_code=status_code, headers=headers)
